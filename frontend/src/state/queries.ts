/** Query hooks: what each screen reads, under the keys of keys.ts. */

import { useQuery } from '@tanstack/react-query';

import { api } from '../api/endpoints';
import { qk } from './keys';

export const useSegments = (pid: string) => useQuery({ queryKey: qk.segments(pid), queryFn: () => api.segments.list(pid) });
export const useSegment = (pid: string, segmentId: string) =>
  useQuery({ queryKey: qk.segment(pid, segmentId), queryFn: () => api.segments.get(segmentId) });
export const useShots = (pid: string, segmentId: string) =>
  useQuery({ queryKey: qk.shots(pid, segmentId), queryFn: () => api.shots.list(segmentId) });
export const useTakes = (pid: string, shotId: string) =>
  useQuery({ queryKey: qk.takes(pid, shotId), queryFn: () => api.takes.list(shotId) });
export const useComments = (pid: string, takeId: string | null, enabled = true) =>
  useQuery({
    queryKey: qk.comments(pid, takeId ?? ''),
    queryFn: () => api.takes.comments(takeId!),
    enabled: Boolean(takeId) && enabled,
  });
export const useMembers = (pid: string) => useQuery({ queryKey: qk.members(pid), queryFn: () => api.members.list(pid) });
export const useBudget = (pid: string) => useQuery({ queryKey: qk.budget(pid), queryFn: () => api.projects.budget(pid) });
export const useActivity = (pid: string) =>
  useQuery({ queryKey: qk.activity(pid), queryFn: () => api.projects.activity(pid, 40) });
export const useTimeline = (pid: string) => useQuery({ queryKey: qk.timeline(pid), queryFn: () => api.projects.timeline(pid) });
export const useReviewQueue = (pid: string) => useQuery({ queryKey: qk.review(pid), queryFn: () => api.projects.review(pid) });
export const useReferences = (pid: string) =>
  useQuery({ queryKey: qk.references(pid), queryFn: () => api.references.list(pid), staleTime: 60_000 });
export const useBackends = (pid: string) =>
  useQuery({ queryKey: qk.backends(pid), queryFn: () => api.generation.backends(pid), staleTime: 60_000 });
export const useInvites = (pid: string, enabled: boolean) =>
  useQuery({ queryKey: qk.invites(pid), queryFn: () => api.invites.list(pid), enabled });
export const useCredentials = (pid: string, enabled: boolean) =>
  useQuery({ queryKey: qk.credentials(pid), queryFn: () => api.credentials.list(pid), enabled });
/** Jobs of one shot that are still going (so a reload still shows their progress). */
export const useActiveJobs = (pid: string, shotId: string) =>
  useQuery({
    queryKey: qk.jobs(pid, shotId),
    queryFn: () => api.generation.jobs(pid, { shot: shotId, state: 'queued,running', limit: 10 }),
    // The socket pushes progress; a slow poll covers a dropped connection while jobs run.
    refetchInterval: (query) => (query.state.data?.length ? 5000 : false),
  });
