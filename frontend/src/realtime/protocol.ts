/**
 * The project websocket protocol (apps/realtime/protocol.py), written once as discriminated
 * unions. Every frame is `{type, data, revision?}`. Parsing checks the shape a message
 * needs before the app trusts it; unknown types from a newer server are reported, not thrown.
 */

// --- shared shapes -----------------------------------------------------------------------

export interface PresenceEntry {
  user_id: number;
  username: string;
  display_name: string;
  segments: string[];
  shots: string[];
  connections: number;
  since: string;
  seen: string;
}

export interface ActorRef {
  id: number;
  username: string;
}

interface EventBase {
  /** The aggregate's new revision where it has one (segment, shot, timeline). */
  revision?: number;
}

type WithActor<T> = T & { actor?: ActorRef };

export interface SegmentEventData {
  id: string;
  position?: number;
  title?: string;
  status?: string;
  owner?: ActorRef | null;
  revision?: number;
}

export interface ShotEventData {
  id: string;
  segment?: string;
  position?: number;
  title?: string;
  prompt?: string;
  duration_frames?: number;
  revision?: number;
}

export interface TakeEventData {
  id: string;
  shot: string;
  number?: number;
  status?: string;
  review_state?: string;
  error?: string;
  /** take.changes_requested: the comment id and its text */
  comment?: string;
  body?: string;
  job?: string | null;
}

export interface CommentEventData {
  id: string;
  take: string;
  frame: number | null;
  body: string;
  parent: string | null;
}

export interface JobProgressData {
  id: string;
  shot: string | null;
  state: string;
  progress: number;
  phase?: string;
  retry?: { attempt: number; max_attempts: number; message: string; at: string | null } | null;
}

export interface JobEventData {
  id: string;
  shot: string | null;
  state: string;
  progress: number;
  error?: string;
  takes?: string[];
  [key: string]: unknown;
}

export interface EntityRef {
  id?: string;
  [key: string]: unknown;
}

// --- server → client ---------------------------------------------------------------------

export interface HelloMessage {
  type: 'hello';
  data: {
    project: string;
    user: { id: number; username: string; display_name: string };
    role: string;
    presence: PresenceEntry[];
    heartbeat_seconds: number;
  };
}

export interface PongMessage {
  type: 'pong';
}

export interface ErrorMessage {
  type: 'error';
  data: { code: string; detail: string };
}

export interface PresenceChangedEvent extends EventBase {
  type: 'presence.changed';
  data: { presence: PresenceEntry[] };
}

export const SEGMENT_EVENTS = [
  'segment.created',
  'segment.updated',
  'segment.deleted',
  'segment.claimed',
  'segment.released',
  'segment.assigned',
] as const;
export const SHOT_EVENTS = ['shot.created', 'shot.updated', 'shot.deleted'] as const;
export const TAKE_EVENTS = [
  'take.created',
  'take.ready',
  'take.failed',
  'take.submitted',
  'take.approved',
  'take.changes_requested',
  'take.deleted',
] as const;
export const MEMBER_EVENTS = ['member.added', 'member.updated', 'member.removed'] as const;
export const REFERENCE_EVENTS = ['reference.created', 'reference.updated', 'reference.deleted'] as const;
export const JOB_EVENTS = ['job.created', 'job.updated'] as const;
export const EXPORT_EVENTS = [
  'export.progress',
  'export.created',
  'export.finished',
  'export.failed',
  'export.cancelled',
] as const;
export const OTHER_EVENTS = [
  'comment.created',
  'timeline.changed',
  'project.created',
  'project.updated',
  'invite.created',
  'credential.updated',
] as const;

export type SegmentEventType = (typeof SEGMENT_EVENTS)[number];
export type ShotEventType = (typeof SHOT_EVENTS)[number];
export type TakeEventType = (typeof TAKE_EVENTS)[number];
export type MemberEventType = (typeof MEMBER_EVENTS)[number];
export type ReferenceEventType = (typeof REFERENCE_EVENTS)[number];
export type JobEventType = (typeof JOB_EVENTS)[number];
export type ExportEventType = (typeof EXPORT_EVENTS)[number];

export interface SegmentEvent extends EventBase {
  type: SegmentEventType;
  data: WithActor<SegmentEventData>;
}
export interface ShotEvent extends EventBase {
  type: ShotEventType;
  data: WithActor<ShotEventData>;
}
export interface TakeEvent extends EventBase {
  type: TakeEventType;
  data: WithActor<TakeEventData>;
}
export interface CommentCreatedEvent extends EventBase {
  type: 'comment.created';
  data: WithActor<CommentEventData>;
}
export interface JobProgressEvent extends EventBase {
  type: 'job.progress';
  data: JobProgressData;
}
export interface JobEvent extends EventBase {
  type: JobEventType;
  data: WithActor<JobEventData>;
}
export interface MemberEvent extends EventBase {
  type: MemberEventType;
  data: WithActor<EntityRef>;
}
export interface ReferenceEvent extends EventBase {
  type: ReferenceEventType;
  data: WithActor<EntityRef>;
}
export interface ExportEvent extends EventBase {
  type: ExportEventType;
  data: EntityRef;
}
export interface TimelineChangedEvent extends EventBase {
  type: 'timeline.changed';
  data: EntityRef;
}
export interface ProjectEventMessage extends EventBase {
  type: 'project.created' | 'project.updated';
  data: WithActor<EntityRef>;
}
export interface InviteCreatedEvent extends EventBase {
  type: 'invite.created';
  data: WithActor<EntityRef>;
}
export interface CredentialUpdatedEvent extends EventBase {
  type: 'credential.updated';
  data: WithActor<EntityRef>;
}

/** Something that changed in the project (the `<entity>.<verb>` messages). */
export type ProjectEvent =
  | PresenceChangedEvent
  | SegmentEvent
  | ShotEvent
  | TakeEvent
  | CommentCreatedEvent
  | JobProgressEvent
  | JobEvent
  | MemberEvent
  | ReferenceEvent
  | ExportEvent
  | TimelineChangedEvent
  | ProjectEventMessage
  | InviteCreatedEvent
  | CredentialUpdatedEvent;

export type ServerMessage = HelloMessage | PongMessage | ErrorMessage | ProjectEvent;

// --- client → server ---------------------------------------------------------------------

export interface PresenceUpdateMessage {
  type: 'presence.update';
  data: { segment: string | null; shot: string | null };
}
export interface PingMessage {
  type: 'ping';
}
export type ClientMessage = PresenceUpdateMessage | PingMessage;

// --- close codes -------------------------------------------------------------------------

export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_NOT_FOUND = 4404;

// --- parsing -----------------------------------------------------------------------------

export type ParseResult = { ok: true; message: ServerMessage } | { ok: false; reason: string; type?: string };

const PROJECT_EVENT_TYPES: ReadonlySet<string> = new Set<string>([
  'presence.changed',
  'job.progress',
  ...SEGMENT_EVENTS,
  ...SHOT_EVENTS,
  ...TAKE_EVENTS,
  ...MEMBER_EVENTS,
  ...REFERENCE_EVENTS,
  ...JOB_EVENTS,
  ...EXPORT_EVENTS,
  ...OTHER_EVENTS,
]);

export function isProjectEventType(type: string): type is ProjectEvent['type'] {
  return PROJECT_EVENT_TYPES.has(type);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPresenceEntry(value: unknown): value is PresenceEntry {
  return isRecord(value) && typeof value.username === 'string' && (typeof value.user_id === 'number' || typeof value.user_id === 'string');
}

function normalisePresence(list: unknown): PresenceEntry[] | null {
  if (!Array.isArray(list)) return null;
  return list.filter(isPresenceEntry).map((p) => ({
    user_id: Number(p.user_id),
    username: p.username,
    display_name: typeof p.display_name === 'string' && p.display_name ? p.display_name : p.username,
    segments: Array.isArray(p.segments) ? p.segments.map(String) : [],
    shots: Array.isArray(p.shots) ? p.shots.map(String) : [],
    connections: typeof p.connections === 'number' ? p.connections : 1,
    since: typeof p.since === 'string' ? p.since : '',
    seen: typeof p.seen === 'string' ? p.seen : '',
  }));
}

/** Fields each event family must carry before the app uses it. */
function requiredFields(type: string): string[] {
  if (type.startsWith('take.')) return ['id', 'shot'];
  if (type === 'comment.created') return ['id', 'take'];
  if (type === 'job.progress') return ['id', 'progress'];
  if (type.startsWith('segment.') || type.startsWith('shot.') || type.startsWith('job.')) return ['id'];
  return [];
}

export function parseServerMessage(raw: unknown): ParseResult {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, reason: 'not JSON' };
    }
  }
  if (!isRecord(value) || typeof value.type !== 'string') return { ok: false, reason: 'no type' };
  const type = value.type;
  const data = value.data;

  switch (type) {
    case 'pong':
      return { ok: true, message: { type: 'pong' } };
    case 'error': {
      const d = isRecord(data) ? data : {};
      return {
        ok: true,
        message: {
          type: 'error',
          data: { code: typeof d.code === 'string' ? d.code : 'error', detail: typeof d.detail === 'string' ? d.detail : '' },
        },
      };
    }
    case 'hello': {
      if (!isRecord(data) || !isRecord(data.user)) return { ok: false, reason: 'hello without user', type };
      const presence = normalisePresence(data.presence) ?? [];
      const user = data.user;
      return {
        ok: true,
        message: {
          type: 'hello',
          data: {
            project: String(data.project ?? ''),
            user: {
              id: Number(user.id),
              username: String(user.username ?? ''),
              display_name: String(user.display_name ?? user.username ?? ''),
            },
            role: String(data.role ?? ''),
            presence,
            heartbeat_seconds: typeof data.heartbeat_seconds === 'number' && data.heartbeat_seconds > 0 ? data.heartbeat_seconds : 20,
          },
        },
      };
    }
    case 'presence.changed': {
      const presence = isRecord(data) ? normalisePresence(data.presence) : null;
      if (!presence) return { ok: false, reason: 'presence.changed without a presence list', type };
      return { ok: true, message: { type: 'presence.changed', data: { presence } } };
    }
  }

  if (!isProjectEventType(type)) return { ok: false, reason: 'unknown type', type };
  if (!isRecord(data)) return { ok: false, reason: 'event without data', type };
  for (const field of requiredFields(type)) {
    if (data[field] === undefined) return { ok: false, reason: `event without ${field}`, type };
  }
  const revision = typeof value.revision === 'number' ? value.revision : undefined;
  // The checks above are what the app relies on; the rest of data is passed through as sent.
  const message = { type, data, ...(revision !== undefined ? { revision } : {}) } as ProjectEvent;
  return { ok: true, message };
}

export function encodeClientMessage(message: ClientMessage): string {
  return JSON.stringify(message);
}
