/** Typed calls of the REST API, one function per endpoint the UI uses. */

import { client as defaultClient, type ApiClient } from './client';
import type {
  ActivityEntry,
  Backend,
  Budget,
  Comment,
  Credential,
  CredentialTestResult,
  Estimate,
  Export,
  ExportInput,
  GenerateInput,
  GenerateResult,
  Invite,
  InviteAccepted,
  InvitePeek,
  Invitation,
  Job,
  Me,
  Member,
  MemberInvited,
  MyInvitation,
  Project,
  ProjectCreateInput,
  ProjectUpdateInput,
  Reference,
  ReferenceKind,
  ReviewItem,
  Role,
  Segment,
  Shot,
  ShotInput,
  Take,
  MediaDetail,
  Timeline,
  TimelineComment,
  AudioSource,
  TimelineOp,
} from './types';

export function makeApi(c: ApiClient) {
  return {
    auth: {
      session: () => c.get<Me>('/auth/session/'),
      signIn: (username: string, password: string) => c.post<Me>('/auth/session/', { username, password }),
      signOut: () => c.del('/auth/session/'),
      register: (input: { username: string; password: string; email?: string }) => c.post<Me>('/auth/register/', input),
    },
    invites: {
      peek: (token: string) => c.get<InvitePeek>(`/invites/${encodeURIComponent(token)}/`),
      accept: (token: string) => c.post<InviteAccepted>(`/invites/${encodeURIComponent(token)}/accept/`),
      list: (projectId: string) => c.get<Invite[]>(`/projects/${projectId}/invites/`),
      create: (projectId: string, input: { role: Role; max_uses?: number | null; expires_in_days?: number | null }) =>
        c.post<Invite>(`/projects/${projectId}/invites/`, input),
      revoke: (projectId: string, inviteId: string) => c.del(`/projects/${projectId}/invites/${inviteId}/`),
    },
    projects: {
      list: () => c.get<Project[]>('/projects/'),
      get: (id: string) => c.get<Project>(`/projects/${id}/`),
      create: (input: ProjectCreateInput) => c.post<Project>('/projects/', input),
      update: (id: string, input: ProjectUpdateInput) => c.patch<Project>(`/projects/${id}/`, input),
      budget: (id: string) => c.get<Budget>(`/projects/${id}/budget/`),
      activity: (id: string, limit = 50) => c.get<ActivityEntry[]>(`/projects/${id}/activity/`, { limit }),
      timeline: (id: string) => c.get<Timeline>(`/projects/${id}/timeline/`),
      patchTimeline: (id: string, revision: number, ops: TimelineOp[]) =>
        c.patch<Timeline>(`/projects/${id}/timeline/`, { revision, ops }),
      timelineComments: (id: string) => c.get<TimelineComment[]>(`/projects/${id}/timeline/comments/`),
      audioSources: (id: string) => c.get<AudioSource[]>(`/projects/${id}/timeline/audio-sources/`),
      media: (mediaId: string) => c.get<MediaDetail>(`/media/${mediaId}/`),
      review: (id: string) => c.get<ReviewItem[]>(`/projects/${id}/review/`),
    },
    members: {
      list: (projectId: string) => c.get<Member[]>(`/projects/${projectId}/members/`),
      /** Invites by username (202): the same answer whether or not the name exists. */
      add: (projectId: string, username: string, role: Role) =>
        c.post<MemberInvited>(`/projects/${projectId}/members/`, { username, role }),
      update: (projectId: string, memberId: string, role: Role) =>
        c.patch<Member>(`/projects/${projectId}/members/${memberId}/`, { role }),
      remove: (projectId: string, memberId: string) => c.del(`/projects/${projectId}/members/${memberId}/`),
    },
    invitations: {
      /** Directors and producers: the project's invitations waiting for an answer. */
      list: (projectId: string) => c.get<Invitation[]>(`/projects/${projectId}/invitations/`),
      cancel: (projectId: string, invitationId: string) => c.del(`/projects/${projectId}/invitations/${invitationId}/`),
      /** The signed-in user's invitations. */
      mine: () => c.get<MyInvitation[]>('/me/invitations/'),
      accept: (invitationId: string) => c.post<InviteAccepted>(`/me/invitations/${invitationId}/accept/`),
      decline: (invitationId: string) => c.post<void>(`/me/invitations/${invitationId}/decline/`),
    },
    references: {
      list: (projectId: string) => c.get<Reference[]>(`/projects/${projectId}/references/`),
      create: (projectId: string, input: { tag: string; kind: ReferenceKind; name?: string; text?: string; images?: string[] }) =>
        c.post<Reference>(`/projects/${projectId}/references/`, input),
      remove: (projectId: string, referenceId: string) => c.del(`/projects/${projectId}/references/${referenceId}/`),
    },
    segments: {
      list: (projectId: string) => c.get<Segment[]>(`/projects/${projectId}/segments/`),
      get: (id: string) => c.get<Segment>(`/segments/${id}/`),
      create: (projectId: string, input: { title: string; synopsis?: string; target_frames?: number | null }) =>
        c.post<Segment>(`/projects/${projectId}/segments/`, input),
      update: (id: string, input: Partial<Pick<Segment, 'title' | 'synopsis' | 'target_frames' | 'position'>>) =>
        c.patch<Segment>(`/segments/${id}/`, input),
      remove: (id: string) => c.del(`/segments/${id}/`),
      claim: (id: string) => c.post<Segment>(`/segments/${id}/claim/`),
      release: (id: string) => c.post<Segment>(`/segments/${id}/release/`),
      assign: (id: string, username: string) => c.post<Segment>(`/segments/${id}/assign/`, { username }),
      /** Director only: a locked segment takes no edits until it is unlocked. */
      setLocked: (id: string, locked: boolean) => c.patch<Segment>(`/segments/${id}/`, { status: locked ? 'locked' : 'open' }),
    },
    shots: {
      list: (segmentId: string) => c.get<Shot[]>(`/segments/${segmentId}/shots/`),
      create: (segmentId: string, input: ShotInput) => c.post<Shot>(`/segments/${segmentId}/shots/`, input),
      update: (id: string, revision: number, input: Partial<Pick<Shot, 'title' | 'prompt' | 'duration_frames'>>) =>
        c.patch<Shot>(`/shots/${id}/`, { revision, ...input }),
      remove: (id: string) => c.del(`/shots/${id}/`),
    },
    takes: {
      list: (shotId: string) => c.get<Take[]>(`/shots/${shotId}/takes/`),
      get: (id: string) => c.get<Take>(`/takes/${id}/`),
      fromUpload: (shotId: string, uploadId: string) => c.post<Take>(`/shots/${shotId}/takes/`, { upload: uploadId }),
      submit: (id: string) => c.post<Take>(`/takes/${id}/submit/`),
      remove: (id: string) => c.del(`/takes/${id}/`),
      approve: (id: string) => c.post<Take>(`/takes/${id}/approve/`),
      requestChanges: (id: string, comment: string, frame?: number | null) =>
        c.post<Take>(`/takes/${id}/request-changes/`, { comment, frame: frame ?? null }),
      comments: (id: string) => c.get<Comment[]>(`/takes/${id}/comments/`),
      comment: (id: string, body: string, frame?: number | null) =>
        c.post<Comment>(`/takes/${id}/comments/`, { body, frame: frame ?? null }),
    },
    generation: {
      backends: (projectId: string) => c.get<Backend[]>('/backends/', { project: projectId }),
      estimate: (shotId: string, input: GenerateInput) => c.post<Estimate>(`/shots/${shotId}/generate/estimate/`, input),
      generate: (shotId: string, input: GenerateInput) => c.post<GenerateResult>(`/shots/${shotId}/generate/`, input),
      job: (id: string) => c.get<Job>(`/generation-jobs/${id}/`),
      cancel: (id: string) => c.post<Job>(`/generation-jobs/${id}/cancel/`),
      jobs: (projectId: string, query: { shot?: string; state?: string; limit?: number } = {}) =>
        c.get<Job[]>(`/projects/${projectId}/generation-jobs/`, query),
    },
    credentials: {
      list: (projectId: string) => c.get<Credential[]>(`/projects/${projectId}/credentials/`),
      get: (projectId: string, backend: string) => c.get<Credential>(`/projects/${projectId}/credentials/${backend}/`),
      put: (projectId: string, backend: string, apiKey: string) =>
        c.put<Credential>(`/projects/${projectId}/credentials/${backend}/`, { api_key: apiKey }),
      remove: (projectId: string, backend: string) => c.del(`/projects/${projectId}/credentials/${backend}/`),
      /** Settings of a backend (ComfyUI: host and workflow); the stored key is kept. */
      putConfig: (projectId: string, backend: string, config: Record<string, unknown>) =>
        c.put<Credential>(`/projects/${projectId}/credentials/${backend}/`, { config }),
      /** Ask the provider whether the stored settings work (nothing is generated). */
      test: (projectId: string, backend: string) =>
        c.post<CredentialTestResult>(`/projects/${projectId}/credentials/${backend}/test/`),
    },
    exports: {
      list: (projectId: string, query: { state?: string; limit?: number } = {}) =>
        c.get<Export[]>(`/projects/${projectId}/exports/`, query),
      get: (id: string) => c.get<Export>(`/exports/${id}/`),
      create: (projectId: string, input: ExportInput) => c.post<Export>(`/projects/${projectId}/exports/`, input),
      cancel: (id: string) => c.post<Export>(`/exports/${id}/cancel/`),
    },
  };
}

export type Api = ReturnType<typeof makeApi>;

export const api = makeApi(defaultClient);
