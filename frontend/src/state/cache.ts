/**
 * The one module that changes the client-side store in answer to realtime events. Most
 * events invalidate the queries they affect (react-query refetches what is on screen);
 * a few are applied directly because they are frequent (job progress) or because waiting
 * for a refetch would show a stale owner (segment claims).
 */

import type { QueryClient } from '@tanstack/react-query';

import type { Export, ExportState, Job, Segment, SegmentStatus } from '../api/types';
import type { ProjectEvent, SegmentEvent } from '../realtime/protocol';
import { qk } from './keys';

/** Event types that the server writes to the activity feed (apps/projects/events.py). */
const NOT_IN_FEED = new Set(['presence.changed', 'job.progress', 'export.progress', 'timeline.changed', 'shot.updated']);

export function isFeedEvent(type: string): boolean {
  return !NOT_IN_FEED.has(type);
}

function patchSegment(qc: QueryClient, pid: string, event: SegmentEvent): void {
  const data = event.data;
  qc.setQueryData<Segment[]>(qk.segments(pid), (list) => {
    if (!list) return list;
    if (event.type === 'segment.deleted') return list.filter((s) => s.id !== data.id);
    return list.map((s) => {
      if (s.id !== data.id) return s;
      // An older event than what we hold must not roll the row back.
      if (typeof data.revision === 'number' && data.revision < s.revision) return s;
      return {
        ...s,
        ...(data.title !== undefined ? { title: data.title } : {}),
        ...(data.status !== undefined ? { status: data.status as SegmentStatus } : {}),
        ...(data.owner !== undefined ? { owner: data.owner } : {}),
        ...(typeof data.revision === 'number' ? { revision: data.revision } : {}),
      };
    });
  });
}

function patchJobProgress(qc: QueryClient, pid: string, id: string, fields: Partial<Job>): void {
  qc.setQueriesData<Job[]>({ queryKey: qk.allJobs(pid) }, (list) =>
    list ? list.map((job) => (job.id === id ? { ...job, ...fields } : job)) : list,
  );
}

const EXPORT_DONE = new Set<string>(['succeeded', 'failed', 'cancelled']);
const EXPORT_EVENT_STATE: Record<string, ExportState> = {
  'export.finished': 'succeeded',
  'export.failed': 'failed',
  'export.cancelled': 'cancelled',
};

/**
 * Apply an export event to the exports list at once (the progress bar moves without a
 * refetch). Returns whether the export was in the list. Progress never moves back within a
 * run, and a late progress event never revives a finished export.
 */
function patchExport(qc: QueryClient, pid: string, type: string, data: Record<string, unknown>): boolean {
  const id = typeof data.id === 'string' ? data.id : null;
  if (!id) return false;
  let found = false;
  qc.setQueryData<Export[]>(qk.exports(pid), (list) =>
    list?.map((e) => {
      if (e.id !== id) return e;
      found = true;
      const state = (EXPORT_EVENT_STATE[type] ?? (typeof data.state === 'string' ? data.state : e.state)) as ExportState;
      const progress = typeof data.progress === 'number' ? data.progress : e.progress;
      if (type === 'export.progress') {
        if (EXPORT_DONE.has(e.state)) return e;
        if (state === e.state && progress < e.progress) return e;
      }
      return {
        ...e,
        state,
        progress: state === 'succeeded' ? 100 : progress,
        ...(typeof data.error === 'string' ? { error: data.error } : {}),
      };
    }),
  );
  return found;
}

export function applyProjectEvent(qc: QueryClient, pid: string, event: ProjectEvent): void {
  const invalidate = (queryKey: readonly unknown[]) => void qc.invalidateQueries({ queryKey });

  switch (event.type) {
    case 'presence.changed':
      return; // the socket holds presence
    case 'segment.created':
    case 'segment.updated':
    case 'segment.deleted':
    case 'segment.claimed':
    case 'segment.released':
    case 'segment.assigned':
      patchSegment(qc, pid, event);
      invalidate(qk.segments(pid));
      invalidate(qk.segment(pid, event.data.id));
      invalidate(qk.timeline(pid));
      break;
    case 'shot.created':
    case 'shot.updated':
    case 'shot.deleted':
      invalidate(event.data.segment ? qk.shots(pid, event.data.segment) : qk.allShots(pid));
      invalidate(qk.segments(pid));
      invalidate(qk.timeline(pid));
      break;
    case 'take.created':
    case 'take.ready':
    case 'take.failed':
    case 'take.submitted':
    case 'take.approved':
    case 'take.changes_requested':
    case 'take.deleted':
      invalidate(qk.takes(pid, event.data.shot));
      invalidate(qk.review(pid));
      invalidate(qk.segments(pid));
      invalidate(qk.allShots(pid)); // the pick thumbnail and take counts
      invalidate(qk.timeline(pid));
      if (event.type === 'take.approved') invalidate(qk.timelineComments(pid)); // the pick changed
      if (event.type === 'take.changes_requested' || event.type === 'take.approved') {
        invalidate(qk.comments(pid, event.data.id));
      }
      break;
    case 'comment.created':
      invalidate(qk.comments(pid, event.data.take));
      invalidate(qk.timelineComments(pid)); // pins on the timeline
      invalidate(qk.review(pid));
      break;
    case 'job.progress':
      patchJobProgress(qc, pid, event.data.id, {
        progress: event.data.progress,
        state: event.data.state as Job['state'],
        ...(event.data.phase ? { phase: event.data.phase as Job['phase'] } : {}),
        ...(event.data.retry !== undefined ? { retry: event.data.retry } : {}),
      });
      return;
    case 'job.created':
    case 'job.updated':
      invalidate(event.data.shot ? qk.jobs(pid, event.data.shot) : qk.allJobs(pid));
      if (event.data.shot) invalidate(qk.takes(pid, event.data.shot));
      invalidate(qk.budget(pid));
      break;
    case 'member.added':
    case 'member.updated':
    case 'member.removed':
      invalidate(qk.members(pid));
      invalidate(qk.invitations(pid)); // an accepted invitation leaves the pending list
      invalidate(qk.project(pid));
      invalidate(qk.budget(pid));
      break;
    case 'reference.created':
    case 'reference.updated':
    case 'reference.deleted':
      invalidate(qk.references(pid));
      break;
    case 'invite.created':
      invalidate(qk.invites(pid));
      break;
    case 'project.created':
    case 'project.updated':
      invalidate(qk.project(pid));
      invalidate(qk.projects);
      invalidate(qk.budget(pid));
      invalidate(qk.timeline(pid));
      break;
    case 'credential.updated':
      invalidate(qk.credentials(pid));
      invalidate(qk.backends(pid));
      break;
    case 'timeline.changed':
      invalidate(qk.timeline(pid));
      invalidate(qk.segments(pid));
      break;
    case 'export.progress':
      // Frequent: patched in place; refetched only for an export this page has not seen yet.
      if (!patchExport(qc, pid, event.type, event.data)) invalidate(qk.exports(pid));
      return;
    case 'export.created':
    case 'export.finished':
    case 'export.failed':
    case 'export.cancelled':
      patchExport(qc, pid, event.type, event.data);
      invalidate(qk.exports(pid)); // artifacts, stats, finish time
      break;
  }
  if (isFeedEvent(event.type)) invalidate(qk.activity(pid));
}
