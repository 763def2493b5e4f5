import type { QueryClient } from '@tanstack/react-query';

import { isApiError } from '../api/client';
import { api } from '../api/endpoints';
import type { Timeline, TimelineOp } from '../api/types';
import { qk } from './keys';

/**
 * Apply timeline ops with the revision we hold. The ops say what the person meant ("put this
 * segment at position 3"), so on a stale revision they are re-applied once on top of the
 * current timeline that the 409 carries, instead of bothering the person.
 */
export async function patchTimeline(qc: QueryClient, pid: string, ops: TimelineOp[]): Promise<Timeline> {
  const timeline =
    qc.getQueryData<Timeline>(qk.timeline(pid)) ??
    (await api.projects.timeline(pid));
  try {
    const next = await api.projects.patchTimeline(pid, timeline.revision, ops);
    qc.setQueryData(qk.timeline(pid), next);
    return next;
  } catch (error) {
    const current = isApiError(error) && error.status === 409 ? (error.body.current as Timeline | undefined) : undefined;
    if (!current || typeof current.revision !== 'number') throw error;
    qc.setQueryData(qk.timeline(pid), current);
    const next = await api.projects.patchTimeline(pid, current.revision, ops);
    qc.setQueryData(qk.timeline(pid), next);
    return next;
  }
}
