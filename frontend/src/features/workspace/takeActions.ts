/**
 * Iterating on a take: what each take-card action (Upscale, Interpolate, Extend, Use as input
 * image, Vary) puts into the generate panel, and which of them a take offers.
 */

import type { Backend, Job, Take } from '../../api/types';

export type TakeAction = 'upscale' | 'interpolate' | 'extend' | 'first_frame' | 'last_frame' | 'vary';

export const TAKE_ACTION_LABEL: Record<TakeAction, string> = {
  upscale: 'Upscale',
  interpolate: 'Interpolate',
  extend: 'Extend from last frame',
  first_frame: 'First frame as input image',
  last_frame: 'Last frame as input image',
  vary: 'Vary',
};

/** The kinds of generation that sound (not picture) comes from. */
export const SOUND_KINDS = new Set(['speech', 'sound_effect', 'music']);
/** Kinds made from a parent take rather than from a prompt alone. */
export const PARENT_KINDS = new Set(['upscale', 'interpolate', 'video_extend']);

export const KIND_LABEL: Record<string, string> = {
  text_to_video: 'Text to video',
  image_to_video: 'Image to video',
  video_extend: 'Extend',
  upscale: 'Upscale',
  interpolate: 'Interpolate',
  text_to_image: 'Text to image',
  speech: 'Speech',
  sound_effect: 'Sound effect',
  music: 'Music',
  upload: 'Upload',
};

export const MAX_SEED = 2 ** 31 - 1;

/** What the generate panel starts from. Strings are the form's field values. */
export interface GenerateDraft {
  /** Which action made it (for the panel's heading); null for a plain "Generate". */
  action: TakeAction | null;
  backend: string;
  model: string;
  kind: string;
  prompt: string;
  negativePrompt: string;
  duration: string;
  seed: string;
  variations: string;
  /** The take to upscale / interpolate / extend. */
  parentTake: string | null;
  /** An input image: an upload, or a take with the frame to start from. */
  inputImage: { id: string; name: string; take?: string; frame?: 'first' | 'last' } | null;
  params: Record<string, unknown>;
}

/** Whether a take is sound (speech, music, effects) rather than picture. */
export function isSoundTake(take: Take): boolean {
  if (take.medium) return take.medium === 'audio';
  const kind = take.kind || String(take.provenance?.kind ?? '');
  if (SOUND_KINDS.has(kind)) return true;
  return take.status === 'ready' && take.media?.kind === 'audio';
}

export function isImageTake(take: Take): boolean {
  if (take.medium) return take.medium === 'image';
  return (take.kind || String(take.provenance?.kind ?? '')) === 'text_to_image';
}

/** The seed that made the take (null for uploads). */
export function takeSeed(take: Take): number | null {
  const seed = take.seed ?? take.provenance?.seed;
  return typeof seed === 'number' ? seed : null;
}

/** A seed other than `not` (the take's own), so that Vary really varies. */
export function newSeed(not: number | null, random: () => number = Math.random): number {
  for (let i = 0; i < 5; i += 1) {
    const seed = Math.floor(random() * MAX_SEED);
    if (seed !== not) return seed;
  }
  return not === null ? 0 : (not + 1) % MAX_SEED;
}

const usable = (b: Backend) => b.configured && b.available;

/**
 * The backend for `kind`: the take's own backend if it does that kind, else the first set-up
 * backend that does (local ones first: they cost nothing), else any that does.
 */
export function backendFor(backends: readonly Backend[], kind: string, prefer?: string): Backend | null {
  const offering = backends.filter((b) => b.kinds.includes(kind) || b.models.some((m) => m.kinds.includes(kind)));
  const own = offering.find((b) => b.name === prefer && usable(b));
  if (own) return own;
  const ready = offering.filter(usable);
  return ready.find((b) => b.is_local) ?? ready[0] ?? offering[0] ?? null;
}

/** The backend's first model that makes `kind` (or its first model). */
export function modelFor(backend: Backend | null, kind: string, prefer?: string): string {
  if (!backend) return '';
  if (prefer && backend.models.some((m) => m.name === prefer && (!m.kinds.length || m.kinds.includes(kind)))) return prefer;
  return (backend.models.find((m) => m.kinds.includes(kind)) ?? backend.models[0])?.name ?? '';
}

const ACTION_KIND: Record<Exclude<TakeAction, 'vary'>, string> = {
  upscale: 'upscale',
  interpolate: 'interpolate',
  extend: 'video_extend',
  first_frame: 'image_to_video',
  last_frame: 'image_to_video',
};

/** The actions a ready take offers, given the backends of the project. */
export function availableActions(take: Take, backends: readonly Backend[]): TakeAction[] {
  if (take.status !== 'ready') return [];
  const out: TakeAction[] = [];
  const video = !isSoundTake(take) && !isImageTake(take);
  if (video) {
    for (const action of ['upscale', 'interpolate', 'extend', 'first_frame', 'last_frame'] as const) {
      if (backendFor(backends, ACTION_KIND[action])) out.push(action);
    }
  } else if (isImageTake(take) && backendFor(backends, 'image_to_video')) {
    out.push('first_frame'); // a still: its only frame
  }
  const p = take.provenance ?? {};
  if (take.source === 'generation' && p.backend && backends.some((b) => b.name === p.backend)) out.push('vary');
  return out;
}

function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

/** The id of the take or upload a provenance's input image came from, if any. */
function provenanceImage(take: Take): GenerateDraft['inputImage'] {
  const raw = take.provenance?.input_image;
  if (raw && typeof raw === 'object') {
    const r = raw as Record<string, unknown>;
    const given = r.frame ?? take.provenance?.input_frame;
    const frame = given === 'first' || given === 'last' ? given : undefined;
    if (r.take) return { id: str(r.take), name: 'the same input take', take: str(r.take), frame };
    // An upload is only usable by whoever uploaded it; its media file is usable by everyone in the project.
    const id = str(r.media || r.upload);
    return id ? { id, name: 'the same input image' } : null;
  }
  if (typeof raw === 'string' && raw) return { id: raw, name: 'the same input image' };
  return null;
}

/**
 * The generate panel's starting point for `action` on `take`.
 * `shotDuration` is the shot's planned length in frames, `fps` the take's frame rate.
 */
export function draftFor(
  action: TakeAction,
  take: Take,
  backends: readonly Backend[],
  { shotPrompt, shotDuration, random }: { shotPrompt: string; shotDuration: number; random?: () => number },
): GenerateDraft {
  const p = take.provenance ?? {};
  const prompt = str(p.original_prompt || p.prompt) || shotPrompt;
  const base: GenerateDraft = {
    action,
    backend: '',
    model: '',
    kind: '',
    prompt,
    negativePrompt: str(p.negative_prompt),
    duration: String(shotDuration),
    seed: '',
    variations: '1',
    parentTake: null,
    inputImage: null,
    params: {},
  };
  if (action === 'vary') {
    const backend = backends.find((b) => b.name === p.backend) ?? null;
    const kind = str(p.kind || take.kind);
    const params = p.params && typeof p.params === 'object' ? { ...(p.params as Record<string, unknown>) } : {};
    return {
      ...base,
      backend: str(p.backend),
      model: backend ? modelFor(backend, kind, str(p.model)) : str(p.model),
      kind,
      duration: str(p.duration_frames) || base.duration,
      seed: String(newSeed(takeSeed(take), random)),
      parentTake: str(p.parent_take) || null,
      inputImage: provenanceImage(take),
      params,
    };
  }
  const kind = ACTION_KIND[action];
  const backend = backendFor(backends, kind, str(p.backend));
  const draft: GenerateDraft = { ...base, kind, backend: backend?.name ?? '', model: modelFor(backend, kind, str(p.model)) };
  if (action === 'upscale') return { ...draft, parentTake: take.id, params: { scale: 2 } };
  if (action === 'interpolate') {
    const fps = take.media?.fps ? Math.round(take.media.fps * 2) : 48;
    return { ...draft, parentTake: take.id, params: { fps } };
  }
  if (action === 'extend') return { ...draft, parentTake: take.id };
  const frame = action === 'first_frame' ? 'first' : 'last';
  const name = isImageTake(take) ? `Take ${take.number}` : `Take ${take.number} (${frame} frame)`;
  return { ...draft, inputImage: { id: take.id, name, take: take.id, frame } };
}

/** The job row's words: where the work is, never "Queued · 0%" for a job that runs. */
export function jobStatusText(job: Pick<Job, 'state' | 'progress' | 'phase' | 'retry' | 'cancel_requested'>): string {
  if (job.cancel_requested && (job.state === 'queued' || job.state === 'running')) return 'Cancelling…';
  if (job.retry && (job.state === 'queued' || job.state === 'running')) {
    const { attempt, max_attempts: max, message } = job.retry;
    return `Retrying (attempt ${attempt} of ${max})${message ? `: ${message}` : ''}`;
  }
  const progress = Math.max(0, Math.min(100, Math.round(job.progress || 0)));
  switch (job.state) {
    case 'succeeded':
      return 'Done';
    case 'failed':
      return 'Failed';
    case 'cancelled':
      return 'Cancelled';
    default:
      break;
  }
  // The phase says where the work is. A "queued" phase next to a running state or real
  // progress is stale (a progress event moved on before the job row was read again).
  let phase = job.phase ?? (job.state === 'running' ? 'running' : 'queued');
  if (phase === 'queued' && (job.state === 'running' || progress > 0)) phase = 'running';
  switch (phase) {
    case 'queued':
      return 'Queued';
    case 'submitted':
      return progress > 0 ? `Submitted · ${progress}%` : 'Submitted';
    case 'downloading':
      return 'Downloading';
    case 'done':
      return 'Finishing';
    default:
      return progress > 0 ? `Running · ${progress}%` : 'Running';
  }
}
