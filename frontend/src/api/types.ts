/**
 * Shapes of the Montage REST API (v1) as the browser uses them. Field names follow the
 * serializers in apps/<app>/api; money arrives as decimal strings (or numbers from the budget
 * endpoint), ids are UUID strings except user ids (integers).
 */

export type Role = 'director' | 'producer' | 'artist' | 'viewer';
export const ROLES: readonly Role[] = ['director', 'producer', 'artist', 'viewer'];

export type Money = string | number;

export interface Me {
  id: number;
  username: string;
  display_name: string;
  email?: string;
}

export interface UserBrief {
  id: number;
  username: string;
  display_name?: string;
}

export interface Project {
  id: string;
  title: string;
  slug: string;
  fps: number;
  /** "24000/1001" */
  fps_rational: string;
  width: number;
  height: number;
  aspect: string;
  target_runtime_seconds: number | null;
  loudness_target: number | null;
  budget_amount: string;
  budget_currency: string;
  artist_budget_cap: string | null;
  style_prompt: string;
  description: string;
  role: Role | null;
  member_count: number | null;
  segment_count: number | null;
  created_at: string;
}

export interface ProjectCreateInput {
  title: string;
  fps?: string;
  width?: number;
  height?: number;
  budget_amount?: string | null;
  budget_currency?: string;
  target_runtime_seconds?: number | null;
  description?: string;
  style_prompt?: string;
}

export type ProjectUpdateInput = Partial<{
  title: string;
  budget_amount: string;
  budget_currency: string;
  artist_budget_cap: string | null;
  target_runtime_seconds: number | null;
  style_prompt: string;
  description: string;
}>;

export interface Member {
  id: string;
  user: UserBrief;
  role: Role;
  joined_at: string;
}

export interface Invite {
  id: string;
  token: string;
  url: string;
  role: Role;
  max_uses: number | null;
  uses: number;
  expires_at: string | null;
  revoked: boolean;
  created_at: string;
}

export interface InvitePeek {
  project: { id: string; title: string };
  role: Role;
  expires_at: string | null;
}

export interface InviteAccepted extends Member {
  project: Project;
}

/** POST /projects/{id}/members/ (202): an invitation, if such a user exists. */
export interface MemberInvited {
  detail: string;
  username: string;
  role: Role;
}

/** A pending invitation by username, as the project's directors and producers see it. */
export interface Invitation {
  id: string;
  username: string;
  role: Role;
  invited_by: UserBrief | null;
  created_at: string;
  expires_at: string;
}

/** An invitation waiting for the signed-in user's answer. */
export interface MyInvitation {
  id: string;
  project: { id: string; title: string };
  role: Role;
  invited_by: UserBrief | null;
  created_at: string;
  expires_at: string;
}

export interface Media {
  id: string;
  status: string;
  error: string;
  kind: string;
  url: string | null;
  proxy_url: string | null;
  thumbnail_url: string | null;
  filmstrip_url: string | null;
  filmstrip_frames: number | null;
  duration_seconds: number | null;
  fps: number | null;
  fps_num: number | null;
  fps_den: number | null;
  frame_count: number | null;
  width: number | null;
  height: number | null;
  has_audio: boolean;
  size: number | null;
  original_name: string;
  content_type: string;
}

/** `GET /media/{id}/`: the media payload with its detail (waveform peaks 0..1). */
export interface MediaDetail extends Media {
  waveform: number[];
}

export type ReferenceKind = 'character' | 'location' | 'style' | 'prop';

export interface Reference {
  id: string;
  tag: string;
  kind: ReferenceKind;
  name: string;
  text: string;
  images: Media[];
  created_at: string;
}

export interface BudgetArtist {
  user: { id: number; username: string | null };
  role: Role | null;
  reserved: Money;
  spent: Money;
  cap: Money | null;
}

export interface Budget {
  amount: Money;
  currency: string;
  reserved: Money;
  spent: Money;
  remaining: Money;
  artist_cap?: Money | null;
  by_artist: BudgetArtist[];
}

export interface ActivityEntry {
  id: string;
  type: string;
  actor: UserBrief | null;
  data: Record<string, unknown>;
  at: string;
}

export type SegmentStatus = 'open' | 'claimed' | 'in_review' | 'approved' | 'locked';
export const SEGMENT_STATUSES: readonly SegmentStatus[] = ['open', 'claimed', 'in_review', 'approved', 'locked'];

export interface Segment {
  id: string;
  project: string;
  position: number;
  title: string;
  synopsis: string;
  target_frames: number | null;
  owner: UserBrief | null;
  claimed_at: string | null;
  status: SegmentStatus;
  revision: number;
  shot_count: number | null;
  approved_count: number | null;
  submitted_count: number | null;
  created_at: string;
}

export interface Shot {
  id: string;
  segment: string;
  position: number;
  title: string;
  description: string;
  prompt: string;
  negative_prompt: string;
  camera_notes: string;
  duration_frames: number;
  references: string[];
  in_frame: number | null;
  out_frame: number | null;
  transition: { kind: string; frames: number };
  revision: number;
  take_count: number | null;
  pick: { id: string; number: number; thumbnail_url: string | null } | null;
  created_at: string;
}

export interface ShotInput {
  title?: string;
  prompt?: string;
  duration_frames: number;
  position?: number;
}

export type TakeStatus = 'processing' | 'ready' | 'failed';
export type ReviewState = 'draft' | 'submitted' | 'approved' | 'changes_requested';

export interface Provenance {
  source?: string;
  backend?: string;
  backend_title?: string;
  model?: string;
  prompt?: string;
  original_prompt?: string;
  negative_prompt?: string;
  seed?: number | null;
  duration_frames?: number;
  job?: string;
  requested_by?: string;
  filename?: string;
  [key: string]: unknown;
}

export interface Take {
  id: string;
  shot: string;
  number: number;
  source: 'upload' | 'generation' | string;
  status: TakeStatus;
  error: string;
  review_state: ReviewState;
  is_pick: boolean;
  media: Media | null;
  provenance: Provenance | null;
  cost: string;
  author: UserBrief | null;
  reviewed_by: UserBrief | null;
  reviewed_at: string | null;
  parent: string | null;
  comment_count: number | null;
  created_at: string;
  /** What made it: a generation kind (text_to_video, upscale, speech, …) or "upload". */
  kind?: string;
  /** What it is: a video clip, audio (speech, music, sound effects) or a still image. */
  medium?: 'video' | 'audio' | 'image';
  /** The seed that made this take (generated takes). */
  seed?: number | null;
}

export interface ReviewItem extends Take {
  segment: { id: string; title: string; position: number };
  shot_title: string;
}

export interface Comment {
  id: string;
  take: string;
  author: UserBrief | null;
  body: string;
  frame: number | null;
  parent: string | null;
  created_at: string;
}

export type TransitionKind = 'cut' | 'crossfade' | 'fade_black';
export const TRANSITION_KINDS: readonly TransitionKind[] = ['cut', 'crossfade', 'fade_black'];

export interface TimelineTransition {
  kind: TransitionKind;
  frames: number;
}

/** The pick (approved take) of a shot as the timeline GET shows it. */
export interface TimelinePick {
  id: string;
  number: number;
  author: string | null;
  /** The take's length in project frames (null while unknown). */
  length_frames: number | null;
  media: {
    id: string;
    status: string;
    proxy_url: string | null;
    thumbnail_url: string | null;
    filmstrip_url: string | null;
    duration_seconds: number | null;
    fps: number | null;
    width: number | null;
    height: number | null;
    has_audio: boolean;
  } | null;
}

export interface TimelineShot {
  id: string;
  position: number;
  title?: string;
  take: TimelinePick | null;
  in_frame: number;
  out_frame: number;
  duration_frames: number;
  planned_frames?: number;
  transition?: TimelineTransition;
  revision?: number;
}

export interface TimelineSegment {
  id: string;
  position: number;
  title: string;
  owner: { id: number; username: string } | null;
  status: SegmentStatus;
  start_frame?: number;
  duration_frames: number;
  target_frames: number | null;
  shots: TimelineShot[];
}

export type AudioTrackName = 'music' | 'narration' | 'effects';
export const AUDIO_TRACKS: readonly AudioTrackName[] = ['music', 'narration', 'effects'];

export interface AudioClip {
  id: string;
  track: AudioTrackName;
  media: Media | null;
  start_frame: number;
  length_frames: number | null;
  volume: number;
  fade_in_frames: number;
  fade_out_frames: number;
  text: string;
}

export interface TimelineMarker {
  id: string;
  frame: number;
  label: string;
  author?: string | null;
}

export interface Timeline {
  revision: number;
  fps: number;
  fps_rational: string;
  width?: number;
  height?: number;
  duration_frames: number;
  segments: TimelineSegment[];
  audio_tracks?: Array<{ track: AudioTrackName; clips: AudioClip[] }>;
  markers?: TimelineMarker[];
}

/** `GET /projects/{id}/timeline/comments/`: a time-coded comment on a pick. */
/** What a sound-only take is: generated speech, music or a sound effect, or an uploaded sound. */
export type AudioSourceKind = 'speech' | 'music' | 'sound_effect' | 'upload';

/** A sound-only take (speech, music, a sound effect, an uploaded sound) that can be placed on an audio track. */
export interface AudioSource {
  take: string;
  number: number;
  media: string;
  shot: { id: string; title: string; position: number };
  segment: { id: string; title: string; position: number };
  backend: string;
  model: string;
  kind: AudioSourceKind;
  /** the track it suits (speech: narration, sound effects: effects) */
  track: AudioTrackName;
  /** the voice it was spoken with (speech), else '' */
  voice: string;
  /** The prompt it was generated from: for narration, the line spoken (subtitles). */
  text: string;
  duration_seconds: number | null;
  duration_frames: number | null;
  author: string | null;
  created_at: string;
}

export interface TimelineComment {
  id: string;
  take: string;
  shot: string;
  segment: string;
  /** frame of the take */
  frame: number;
  /** the same instant in project frames within the pick */
  pick_frame: number;
  body: string;
  parent: string | null;
  author: { id: number; username: string } | null;
  created_at: string;
}

export interface AudioClipFields {
  track?: AudioTrackName;
  media?: string;
  start_frame?: number;
  volume?: number;
  fade_in_frames?: number;
  fade_out_frames?: number;
  text?: string;
}

export type TimelineOp =
  | { op: 'move_segment'; segment: string; position: number }
  | { op: 'move_shot'; shot: string; position: number; segment?: string }
  | { op: 'trim'; shot: string; in_frame: number; out_frame: number }
  | { op: 'transition'; shot: string; kind: TransitionKind; frames: number }
  | ({ op: 'add_audio'; track: AudioTrackName; media: string; start_frame: number } & AudioClipFields)
  | ({ op: 'update_audio'; clip: string } & AudioClipFields)
  | { op: 'remove_audio'; clip: string }
  | { op: 'add_marker'; frame: number; label: string }
  | { op: 'remove_marker'; marker: string };

// --- uploads -----------------------------------------------------------------------------

export interface UploadPart {
  number: number;
  url: string;
  size?: number;
}

export interface Upload {
  id: string;
  /** The project the upload is for (null on uploads made before uploads named one). */
  project?: string | null;
  status: 'pending' | 'complete' | 'failed' | string;
  filename: string;
  size: number;
  content_type: string;
  mode: 'local' | 's3' | 's3_multipart' | string;
  received_bytes: number;
  error: string;
  media: Media | null;
  /** Present while pending: how to send the bytes. */
  method?: string;
  url?: string | null;
  headers?: Record<string, string>;
  parts?: UploadPart[];
  part_size?: number;
}

// --- generation --------------------------------------------------------------------------

export interface BackendModel {
  name: string;
  title: string;
  kinds: string[];
  durations: number[] | null;
  min_seconds: number | null;
  max_seconds: number | null;
  max_variations: number | null;
  estimated_cost: { per_second: string; per_output: string; per_1k_chars?: string };
}

export interface Backend {
  name: string;
  title: string;
  kinds: string[];
  models: BackendModel[];
  configured: boolean;
  available: boolean;
  reason: string;
  is_local: boolean;
  needs_credentials: boolean;
  accepts_references: boolean;
  /** Speech backends: the voices to choose from (sent as params.voice). */
  voices?: { id: string; name: string; language?: string }[] | null;
}

export interface GenerateInput {
  backend: string;
  model?: string | null;
  prompt?: string;
  negative_prompt?: string;
  seed?: number | null;
  duration_frames?: number | null;
  input_image?: string | null;
  references?: string[];
  variations?: number;
  kind?: string | null;
  /** A take to upscale, interpolate or extend. */
  parent_take?: string | null;
  /** With a take as input_image: which of its frames starts the clip. */
  input_frame?: 'first' | 'last' | null;
  params?: Record<string, unknown> | null;
}

export interface Estimate {
  estimated_cost: string;
  currency: string;
  remaining: string;
  affordable: boolean;
  backend: string;
  model: string | null;
  kind: string;
  calls: number;
  variations: number;
  duration_seconds: number | null;
  prompt: string;
  seed: number | null;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type JobPhase = 'queued' | 'submitted' | 'running' | 'downloading' | 'done';

export interface Job {
  id: string;
  project: string;
  shot: string | null;
  author: { id: number; username: string } | null;
  backend: string;
  model: string | null;
  kind: string;
  state: JobState;
  progress: number;
  error: string;
  variations: number;
  prompt: string;
  original_prompt?: string;
  seed: number | null;
  estimated_cost: string;
  actual_cost: string | null;
  currency: string;
  cancel_requested: boolean;
  /** Where the work is: queued, submitted (to the provider), running, downloading, done. */
  phase?: JobPhase;
  attempts?: number;
  /** Set while a failed attempt waits to be tried again. */
  retry?: { attempt: number; max_attempts: number; message: string; at: string | null } | null;
  takes: string[] | Take[];
  created_at: string;
}

export interface GenerateResult {
  job: Job;
  takes: Take[];
}

export interface Credential {
  backend: string;
  title?: string;
  configured: boolean;
  hint: string;
  config: Record<string, unknown>;
  updated_at: string | null;
  updated_by: { id: number; username: string } | null;
  needs_credentials?: boolean;
}

/** POST /projects/{id}/credentials/{backend}/test/: what the provider answered. */
export interface CredentialTestResult {
  ok: boolean;
  detail: string;
  info?: Record<string, unknown>;
}

// --- exports (apps/rendering) ---

export type ExportKind = 'final' | 'segment';
export type ExportState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const EXPORT_ACTIVE_STATES: readonly ExportState[] = ['queued', 'running'];
export type ArtifactKind = 'mp4' | 'otio' | 'otioz' | 'edl' | 'srt' | 'credits' | 'manifest';

export interface ExportArtifact {
  kind: ArtifactKind;
  url: string | null;
  size: number;
  filename: string;
  content_type: string;
}

export interface Export {
  id: string;
  project: string;
  kind: ExportKind;
  segment: { id: string; position: number; title: string } | null;
  state: ExportState;
  progress: number;
  error: string;
  options: { include_unapproved: boolean; credits_roll: boolean };
  stats: Record<string, unknown>;
  frames: number;
  segments_total: number;
  segments_done: number;
  attempts: number;
  created_by: { id: number; username: string | null } | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  artifacts: ExportArtifact[];
}

export interface ExportInput {
  kind: ExportKind;
  segment?: string | null;
  include_unapproved?: boolean;
  credits_roll?: boolean;
}
