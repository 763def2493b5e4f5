import type { QueryClient } from '@tanstack/react-query';

import { isApiError } from '../api/client';
import { api } from '../api/endpoints';
import type { Timeline, TimelineOp } from '../api/types';
import { opsProblem } from '../features/timeline/model';
import { qk } from './keys';

/** How timeline edits reach the server (the API, or a fake in tests). */
export interface TimelineTransport {
  get(): Promise<Timeline>;
  patch(revision: number, ops: TimelineOp[]): Promise<Timeline>;
}

export type EditOutcome =
  | {
      kept: true;
      /** the timeline the ops were applied to (the one we held, or the current one after a 409) */
      before: Timeline;
      after: Timeline;
      /** true when someone else's edit came first and ours was re-applied on top of it */
      rebased: boolean;
    }
  | {
      kept: false;
      /** why the edit no longer makes sense, in a sentence for people */
      reason: string;
      /** the current timeline (everyone else's edits) */
      current: Timeline;
    };

function currentFrom(error: unknown): Timeline | null {
  if (!isApiError(error) || error.status !== 409) return null;
  const current = error.body.current as Timeline | undefined;
  return current && typeof current.revision === 'number' && Array.isArray(current.segments) ? current : null;
}

/**
 * Apply timeline ops with the revision we hold. The ops say what the person meant ("put this
 * segment at position 3", "out point at frame 40"), so on a stale revision (409) they are
 * re-applied once on top of the current timeline that the 409 carries, instead of bothering
 * the person. When the re-applied edit no longer makes sense (the shot is gone, the pick got
 * shorter, another 409 or a refusal), the edit is dropped and the outcome says so — nothing
 * else is lost: the current timeline, with everyone else's edits, is what the caller shows.
 *
 * A refusal of the first attempt that is not a conflict (permission, validation) is thrown:
 * it is an error of the action, for the page's error banner.
 */
export async function commitTimelineOps(transport: TimelineTransport, base: Timeline, ops: TimelineOp[]): Promise<EditOutcome> {
  try {
    const after = await transport.patch(base.revision, ops);
    return { kept: true, before: base, after, rebased: false };
  } catch (error) {
    const current = currentFrom(error);
    if (!current) throw error;
    const problem = opsProblem(current, ops);
    if (problem) return { kept: false, reason: problem, current };
    try {
      const after = await transport.patch(current.revision, ops);
      return { kept: true, before: current, after, rebased: true };
    } catch (again) {
      let latest = currentFrom(again);
      if (!latest) {
        try {
          latest = await transport.get();
        } catch {
          latest = current;
        }
      }
      const reason = isApiError(again) ? again.detail : again instanceof Error ? again.message : 'The server refused it.';
      return { kept: false, reason, current: latest };
    }
  }
}

export function apiTransport(pid: string): TimelineTransport {
  return {
    get: () => api.projects.timeline(pid),
    patch: (revision, ops) => api.projects.patchTimeline(pid, revision, ops),
  };
}

/** An edit that could not be kept after someone else's change (see commitTimelineOps). */
export class TimelineEditLost extends Error {
  constructor(reason: string) {
    super(`Someone else changed the timeline first, so your edit could not be kept: ${reason}`);
    this.name = 'TimelineEditLost';
  }
}

/**
 * Apply ops from any page (the board's reorder buttons): the cache gets the answer (or, when
 * the edit could not be kept, the current timeline); a lost edit throws TimelineEditLost.
 */
export async function patchTimeline(qc: QueryClient, pid: string, ops: TimelineOp[]): Promise<Timeline> {
  const timeline = qc.getQueryData<Timeline>(qk.timeline(pid)) ?? (await api.projects.timeline(pid));
  const outcome = await commitTimelineOps(apiTransport(pid), timeline, ops);
  if (!outcome.kept) {
    qc.setQueryData(qk.timeline(pid), outcome.current);
    throw new TimelineEditLost(outcome.reason);
  }
  qc.setQueryData(qk.timeline(pid), outcome.after);
  return outcome.after;
}
