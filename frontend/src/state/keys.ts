/**
 * Query keys: the shape of the client-side store. Everything of one project lives under
 * `['project', id, …]`, so a reconnect can refetch the whole project with one prefix.
 */
export const qk = {
  session: ['session'] as const,
  projects: ['projects'] as const,
  projectAll: (pid: string) => ['project', pid] as const,
  project: (pid: string) => ['project', pid, 'detail'] as const,
  members: (pid: string) => ['project', pid, 'members'] as const,
  budget: (pid: string) => ['project', pid, 'budget'] as const,
  activity: (pid: string) => ['project', pid, 'activity'] as const,
  timeline: (pid: string) => ['project', pid, 'timeline'] as const,
  timelineComments: (pid: string) => ['project', pid, 'timeline-comments'] as const,
  audioSources: (pid: string) => ['project', pid, 'audio-sources'] as const,
  media: (pid: string, mediaId: string) => ['project', pid, 'media', mediaId] as const,
  review: (pid: string) => ['project', pid, 'review'] as const,
  references: (pid: string) => ['project', pid, 'references'] as const,
  invites: (pid: string) => ['project', pid, 'invites'] as const,
  credentials: (pid: string) => ['project', pid, 'credentials'] as const,
  backends: (pid: string) => ['project', pid, 'backends'] as const,
  segments: (pid: string) => ['project', pid, 'segments'] as const,
  segment: (pid: string, segmentId: string) => ['project', pid, 'segment', segmentId] as const,
  allShots: (pid: string) => ['project', pid, 'shots'] as const,
  shots: (pid: string, segmentId: string) => ['project', pid, 'shots', segmentId] as const,
  allTakes: (pid: string) => ['project', pid, 'takes'] as const,
  takes: (pid: string, shotId: string) => ['project', pid, 'takes', shotId] as const,
  allComments: (pid: string) => ['project', pid, 'comments'] as const,
  comments: (pid: string, takeId: string) => ['project', pid, 'comments', takeId] as const,
  allJobs: (pid: string) => ['project', pid, 'jobs'] as const,
  jobs: (pid: string, shotId: string) => ['project', pid, 'jobs', shotId] as const,
  exports: (pid: string) => ['project', pid, 'exports'] as const,
};
