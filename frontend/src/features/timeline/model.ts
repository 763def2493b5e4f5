/**
 * The timeline's maths, free of React: where every segment, shot, clip and pin sits in
 * frames; frames ↔ pixels at a zoom; ruler ticks with timecode at the project rate; trims
 * clamped to the pick; the drop index of a drag; the local application of ops (what the
 * screen shows before the server answers) and their inverses (undo).
 *
 * Time is integer frames at the project rate everywhere; timecode only in labels.
 */

import type {
  AudioClip,
  AudioClipFields,
  AudioTrackName,
  Timeline,
  TimelineComment,
  TimelineMarker,
  TimelineOp,
  TimelineSegment,
  TimelineShot,
  TransitionKind,
} from '../../api/types';
import { AUDIO_TRACKS } from '../../api/types';
import { formatTimecode, timecodeBase, type Rate } from '../../lib/timecode';

// --- layout ------------------------------------------------------------------------------

export interface ShotLayout {
  shot: TimelineShot;
  segmentId: string;
  index: number;
  /** first frame on the timeline */
  start: number;
  /** one past the last frame */
  end: number;
  /** frames shared with the previous shot (a crossfade into this one) */
  overlap: number;
}

export interface SegmentLayout {
  segment: TimelineSegment;
  index: number;
  start: number;
  end: number;
  shots: ShotLayout[];
}

export interface Layout {
  segments: SegmentLayout[];
  duration: number;
}

/** Frames of a shot on the timeline (the server's `shot_extent`: at least one). */
export function shotFrames(shot: Pick<TimelineShot, 'in_frame' | 'out_frame'>): number {
  return Math.max(1, shot.out_frame - shot.in_frame);
}

/** Frames a crossfade into `shot` overlaps the previous shot (none for the first shot of a segment). */
export function shotOverlap(shot: TimelineShot, first: boolean): number {
  if (first || shot.transition?.kind !== 'crossfade') return 0;
  return Math.min(Math.max(0, shot.transition.frames), shotFrames(shot));
}

/**
 * Where everything sits. Computed from the shots with the rule the server uses (crossfades
 * overlap within a segment; segments join by a cut), so a locally edited timeline lays out
 * exactly as the server will answer.
 */
export function layoutTimeline(timeline: Pick<Timeline, 'segments'>): Layout {
  let total = 0;
  const segments = timeline.segments.map((segment, index) => {
    const start = total;
    let cursor = start;
    const shots = segment.shots.map((shot, i) => {
      const overlap = shotOverlap(shot, i === 0);
      const s = cursor - overlap;
      const layout: ShotLayout = { shot, segmentId: segment.id, index: i, start: s, end: s + shotFrames(shot), overlap };
      cursor = layout.end;
      return layout;
    });
    total = cursor;
    return { segment, index, start, end: cursor, shots };
  });
  return { segments, duration: total };
}

/** The segment and shot under `frame` (the later shot wins inside a crossfade). */
export function locate(layout: Layout, frame: number): { segment: SegmentLayout | null; shot: ShotLayout | null } {
  for (const seg of layout.segments) {
    if (frame < seg.start || frame >= seg.end) continue;
    let hit: ShotLayout | null = null;
    for (const shot of seg.shots) if (frame >= shot.start && frame < shot.end) hit = shot;
    return { segment: seg, shot: hit };
  }
  return { segment: null, shot: null };
}

// --- zoom, pixels and the ruler ----------------------------------------------------------

export const MIN_PX_PER_FRAME = 0.002;
export const MAX_PX_PER_FRAME = 24;

export function clampZoom(pxPerFrame: number): number {
  if (!Number.isFinite(pxPerFrame) || pxPerFrame <= 0) return 1;
  return Math.min(MAX_PX_PER_FRAME, Math.max(MIN_PX_PER_FRAME, pxPerFrame));
}

/** The zoom that shows `duration` frames in `width` pixels. */
export function fitZoom(duration: number, width: number): number {
  return clampZoom(Math.max(1, width) / Math.max(1, duration));
}

/** One step in (`+1`) or out (`-1`): a factor of two. */
export function stepZoom(pxPerFrame: number, direction: 1 | -1): number {
  return clampZoom(direction > 0 ? pxPerFrame * 2 : pxPerFrame / 2);
}

export function frameToX(frame: number, pxPerFrame: number): number {
  return frame * pxPerFrame;
}

/** The frame under pixel `x` of the track (clamped to 0…`duration` − 1). */
export function xToFrame(x: number, pxPerFrame: number, duration?: number): number {
  const frame = Math.floor(x / pxPerFrame + 1e-9);
  const max = duration !== undefined && duration > 0 ? duration - 1 : Number.POSITIVE_INFINITY;
  return Math.max(0, Math.min(max, frame));
}

/** A whole number of frames from a pixel distance (drags of trim handles and clips). */
export function pxToFrames(dx: number, pxPerFrame: number): number {
  return Math.round(dx / pxPerFrame);
}

/**
 * Tick spacings in frames for a timecode base (24 for 23.976, 30 for 29.97): frames, then
 * timecode seconds and minutes. A tick on a multiple of `base` frames is a whole timecode
 * second (non-drop) — at 29.97 drop-frame, its label shows the true drop-frame timecode.
 */
export function tickSteps(base: number): number[] {
  const half = base % 2 === 0 ? [base / 2] : [];
  const seconds = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200].map((s) => s * base);
  return [1, 2, 5, 10, ...half, ...seconds].filter((v, i, all) => all.indexOf(v) === i).sort((a, b) => a - b);
}

export interface Tick {
  frame: number;
  x: number;
  major: boolean;
  label: string | null;
}

/**
 * Ticks of the ruler between frames `from` and `to` at a zoom: labelled major ticks at least
 * `minLabelPx` apart, minor ticks between them (when they are at least 6 px apart).
 */
export function rulerTicks(
  from: number,
  to: number,
  pxPerFrame: number,
  rate: Rate,
  minLabelPx = 90,
): { major: number; minor: number; ticks: Tick[] } {
  const steps = tickSteps(timecodeBase(rate));
  const major = steps.find((s) => s * pxPerFrame >= minLabelPx) ?? steps[steps.length - 1];
  const smaller = steps.filter((s) => s < major && major % s === 0 && s * pxPerFrame >= 6);
  const minor = smaller.length ? smaller[smaller.length - 1] : major;
  const ticks: Tick[] = [];
  const first = Math.max(0, Math.floor(from / minor) * minor);
  const last = Math.max(first, to);
  // Never build an absurd number of ticks (a huge range at a deep zoom).
  for (let f = first, n = 0; f <= last && n < 5000; f += minor, n += 1) {
    const isMajor = f % major === 0;
    ticks.push({ frame: f, x: frameToX(f, pxPerFrame), major: isMajor, label: isMajor ? formatTimecode(f, rate) : null });
  }
  return { major, minor, ticks };
}

// --- trims -------------------------------------------------------------------------------

/** How many frames a shot's trims may use: the pick's length, else the planned length (no pick), else unbounded. */
export function trimLimit(shot: Pick<TimelineShot, 'take' | 'planned_frames' | 'out_frame'>): number | null {
  if (shot.take) return shot.take.length_frames ?? null;
  return shot.planned_frames ?? null;
}

/**
 * In and out points made valid: whole frames, 0 ≤ in < out ≤ length (length = the pick's
 * frames; null = unknown, no upper bound). `keep` says which edge the person was moving:
 * the other one gives way only when it has to.
 */
export function clampTrim(inFrame: number, outFrame: number, length: number | null, keep: 'in' | 'out' = 'in'): { in_frame: number; out_frame: number } {
  const max = length !== null && length > 0 ? length : Number.POSITIVE_INFINITY;
  let a = Math.round(Number.isFinite(inFrame) ? inFrame : 0);
  let b = Math.round(Number.isFinite(outFrame) ? outFrame : a + 1);
  if (keep === 'in') {
    a = Math.max(0, Math.min(a, max - 1));
    b = Math.max(a + 1, Math.min(b, max));
  } else {
    b = Math.max(1, Math.min(b, max));
    a = Math.max(0, Math.min(a, b - 1));
  }
  return { in_frame: a, out_frame: b };
}

/** Drag a trim handle by `delta` frames: the in point moves the shot's head, the out point its tail. */
export function trimByHandle(
  shot: Pick<TimelineShot, 'in_frame' | 'out_frame' | 'take' | 'planned_frames'>,
  edge: 'in' | 'out',
  delta: number,
): { in_frame: number; out_frame: number } {
  // A handle stops at the other edge (one frame remains); it never pushes it.
  const length = trimLimit({ ...shot, out_frame: shot.out_frame });
  return edge === 'in'
    ? clampTrim(Math.min(shot.in_frame + delta, shot.out_frame - 1), shot.out_frame, length, 'in')
    : clampTrim(shot.in_frame, Math.max(shot.out_frame + delta, shot.in_frame + 1), length, 'out');
}

// --- drag reorder ------------------------------------------------------------------------

/**
 * The position a dragged block lands at, as the server's `_place` reads it (the index in
 * the list without the dragged item): the number of other blocks whose middle is left of the
 * pointer. `extents` are [start, end] of every block in order (any unit, pixels or frames).
 */
export function dropIndex(extents: Array<[number, number]>, draggedIndex: number, pointer: number): number {
  let index = 0;
  extents.forEach(([a, b], i) => {
    if (i !== draggedIndex && (a + b) / 2 < pointer) index += 1;
  });
  return index;
}

/** The list with `id` moved to `position` (clamped), like the server's `_place`. */
export function moveItem<T extends { id: string }>(list: T[], id: string, position: number): T[] {
  const from = list.findIndex((s) => s.id === id);
  if (from < 0) return list;
  const next = [...list];
  const [item] = next.splice(from, 1);
  next.splice(Math.max(0, Math.min(Math.round(position), next.length)), 0, item);
  return next;
}

// --- comment pins and markers -------------------------------------------------------------

export interface Pin {
  comment: TimelineComment;
  frame: number;
}

/**
 * Where the time-coded comments of the picks fall on the timeline: the shot's start plus the
 * comment's frame within the pick minus the in point. A comment on a trimmed-away frame, or
 * on a take that is no longer the pick, has no place on the timeline.
 */
export function commentPins(layout: Layout, comments: TimelineComment[]): Pin[] {
  const shots = new Map<string, ShotLayout>();
  for (const seg of layout.segments) for (const shot of seg.shots) shots.set(shot.shot.id, shot);
  const pins: Pin[] = [];
  for (const comment of comments) {
    const shot = shots.get(comment.shot);
    if (!shot || !shot.shot.take || shot.shot.take.id !== comment.take) continue;
    const within = comment.pick_frame - shot.shot.in_frame;
    if (within < 0 || comment.pick_frame >= shot.shot.out_frame) continue;
    pins.push({ comment, frame: shot.start + within });
  }
  return pins.sort((a, b) => a.frame - b.frame);
}

// --- audio -------------------------------------------------------------------------------

/** Frames an audio clip covers on its track (a nominal second while its length is unknown). */
export function clipFrames(clip: Pick<AudioClip, 'length_frames'>, rate: Rate): number {
  return Math.max(1, clip.length_frames ?? timecodeBase(rate));
}

export function audioTracks(timeline: Timeline): Array<{ track: AudioTrackName; clips: AudioClip[] }> {
  const byName = new Map((timeline.audio_tracks ?? []).map((t) => [t.track, t.clips]));
  return AUDIO_TRACKS.map((track) => ({ track, clips: byName.get(track) ?? [] }));
}

/** Peaks (0..1) resampled to `bars` bars (max of each slice), for drawing a waveform. */
export function waveformBars(peaks: number[], bars: number): number[] {
  const n = Math.max(0, Math.floor(bars));
  if (!peaks.length || n === 0) return [];
  const out: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const a = Math.floor((i * peaks.length) / n);
    const b = Math.max(a + 1, Math.floor(((i + 1) * peaks.length) / n));
    let peak = 0;
    for (let j = a; j < b && j < peaks.length; j += 1) peak = Math.max(peak, Math.abs(peaks[j]));
    out.push(Math.min(1, peak));
  }
  return out;
}

// --- ops applied locally -----------------------------------------------------------------

function findShot(timeline: Timeline, shotId: string): { seg: TimelineSegment; shot: TimelineShot; index: number } | null {
  for (const seg of timeline.segments) {
    const index = seg.shots.findIndex((s) => s.id === shotId);
    if (index >= 0) return { seg, shot: seg.shots[index], index };
  }
  return null;
}

function allClips(timeline: Timeline): AudioClip[] {
  return (timeline.audio_tracks ?? []).flatMap((t) => t.clips);
}

function findClip(timeline: Timeline, clipId: string): AudioClip | null {
  return allClips(timeline).find((c) => c.id === clipId) ?? null;
}

const renumber = <T extends { position: number }>(list: T[]): T[] => list.map((item, position) => ({ ...item, position }));

function mapShots(timeline: Timeline, fn: (shot: TimelineShot) => TimelineShot): Timeline {
  return { ...timeline, segments: timeline.segments.map((seg) => ({ ...seg, shots: seg.shots.map(fn) })) };
}

function withDurations(timeline: Timeline): Timeline {
  const layout = layoutTimeline(timeline);
  return {
    ...timeline,
    duration_frames: layout.duration,
    segments: layout.segments.map((s) => ({ ...s.segment, start_frame: s.start, duration_frames: s.end - s.start })),
  };
}

/** Why an op cannot apply to `timeline` (null when it can): the checks the server would make
 * about things that may have gone away meanwhile. Permissions are the server's business. */
export function opProblem(timeline: Timeline, op: TimelineOp): string | null {
  switch (op.op) {
    case 'move_segment':
      return timeline.segments.some((s) => s.id === op.segment) ? null : 'The segment is no longer on the timeline.';
    case 'move_shot':
      if (!findShot(timeline, op.shot)) return 'The shot is no longer on the timeline.';
      if (op.segment && !timeline.segments.some((s) => s.id === op.segment)) return 'The segment is no longer on the timeline.';
      return null;
    case 'trim': {
      const found = findShot(timeline, op.shot);
      if (!found) return 'The shot is no longer on the timeline.';
      const limit = trimLimit(found.shot);
      if (op.out_frame <= op.in_frame) return 'The out point must be after the in point.';
      if (limit !== null && op.out_frame > limit) return `The pick is now ${limit} frames long.`;
      return null;
    }
    case 'transition':
      return findShot(timeline, op.shot) ? null : 'The shot is no longer on the timeline.';
    case 'update_audio':
    case 'remove_audio':
      return findClip(timeline, op.clip) ? null : 'The audio clip is no longer on the timeline.';
    case 'remove_marker':
      return (timeline.markers ?? []).some((m) => m.id === op.marker) ? null : 'The marker is no longer on the timeline.';
    default:
      return null;
  }
}

/** The first problem of a list of ops applied in order (null when all apply). */
export function opsProblem(timeline: Timeline, ops: TimelineOp[]): string | null {
  let t = timeline;
  for (const op of ops) {
    const problem = opProblem(t, op);
    if (problem) return problem;
    t = applyOp(t, op);
  }
  return null;
}

/**
 * `timeline` with one op applied, as the server will apply it — what the screen shows at
 * once. Adding audio or a marker needs the server's new id, so those wait for the answer.
 */
export function applyOp(timeline: Timeline, op: TimelineOp): Timeline {
  switch (op.op) {
    case 'move_segment':
      return withDurations({ ...timeline, segments: renumber(moveItem(timeline.segments, op.segment, op.position)) });
    case 'move_shot': {
      const found = findShot(timeline, op.shot);
      if (!found) return timeline;
      const target = op.segment ?? found.seg.id;
      const segments = timeline.segments.map((seg) => {
        if (seg.id === found.seg.id && seg.id === target) return { ...seg, shots: renumber(moveItem(seg.shots, op.shot, op.position)) };
        if (seg.id === found.seg.id) return { ...seg, shots: renumber(seg.shots.filter((s) => s.id !== op.shot)) };
        if (seg.id === target) {
          const shots = [...seg.shots];
          shots.splice(Math.max(0, Math.min(op.position, shots.length)), 0, found.shot);
          return { ...seg, shots: renumber(shots) };
        }
        return seg;
      });
      return withDurations({ ...timeline, segments });
    }
    case 'trim':
      return withDurations(
        mapShots(timeline, (s) =>
          s.id === op.shot ? { ...s, in_frame: op.in_frame, out_frame: op.out_frame, duration_frames: Math.max(1, op.out_frame - op.in_frame) } : s,
        ),
      );
    case 'transition':
      return withDurations(
        mapShots(timeline, (s) => (s.id === op.shot ? { ...s, transition: { kind: op.kind, frames: op.kind === 'cut' ? 0 : op.frames } } : s)),
      );
    case 'update_audio': {
      const clip = findClip(timeline, op.clip);
      if (!clip) return timeline;
      const { op: _op, clip: _id, media: _media, ...fields } = op;
      const updated: AudioClip = { ...clip, ...fields };
      const tracks = audioTracks(timeline).map((t) => ({
        track: t.track,
        clips: [...t.clips.filter((c) => c.id !== op.clip), ...(t.track === updated.track ? [updated] : [])].sort(
          (a, b) => a.start_frame - b.start_frame,
        ),
      }));
      return { ...timeline, audio_tracks: tracks };
    }
    case 'remove_audio':
      return { ...timeline, audio_tracks: audioTracks(timeline).map((t) => ({ track: t.track, clips: t.clips.filter((c) => c.id !== op.clip) })) };
    case 'remove_marker':
      return { ...timeline, markers: (timeline.markers ?? []).filter((m) => m.id !== op.marker) };
    default:
      return timeline;
  }
}

export function applyOps(timeline: Timeline, ops: TimelineOp[]): Timeline {
  return ops.reduce(applyOp, timeline);
}

// --- undo --------------------------------------------------------------------------------

const AUDIO_KEYS = ['track', 'start_frame', 'volume', 'fade_in_frames', 'fade_out_frames', 'text'] as const;

function audioFields(clip: AudioClip): Required<Omit<AudioClipFields, 'media'>> {
  return {
    track: clip.track,
    start_frame: clip.start_frame,
    volume: clip.volume,
    fade_in_frames: clip.fade_in_frames,
    fade_out_frames: clip.fade_out_frames,
    text: clip.text ?? '',
  };
}

/** The clip of `after` that `before` does not have and that matches an add_audio op. */
function addedClip(before: Timeline, after: Timeline, op: Extract<TimelineOp, { op: 'add_audio' }>, taken: Set<string>): AudioClip | null {
  const old = new Set(allClips(before).map((c) => c.id));
  return (
    allClips(after).find((c) => !old.has(c.id) && !taken.has(c.id) && c.track === op.track && c.start_frame === op.start_frame) ?? null
  );
}

function addedMarker(before: Timeline, after: Timeline, op: Extract<TimelineOp, { op: 'add_marker' }>, taken: Set<string>): TimelineMarker | null {
  const old = new Set((before.markers ?? []).map((m) => m.id));
  return (after.markers ?? []).find((m) => !old.has(m.id) && !taken.has(m.id) && m.frame === op.frame && m.label === op.label.trim()) ?? null;
}

/**
 * The ops that undo `ops`, computed from the timeline before them (and, for additions, the
 * timeline after them, which holds the new ids). Applied in order, they restore `before`'s
 * order, trims, transitions, audio and markers of everything `ops` touched.
 */
export function inverseOps(before: Timeline, ops: TimelineOp[], after: Timeline): TimelineOp[] {
  const inverse: TimelineOp[] = [];
  const taken = new Set<string>();
  let state = before;
  for (const op of ops) {
    switch (op.op) {
      case 'move_segment': {
        const index = state.segments.findIndex((s) => s.id === op.segment);
        if (index >= 0) inverse.push({ op: 'move_segment', segment: op.segment, position: index });
        break;
      }
      case 'move_shot': {
        const found = findShot(state, op.shot);
        if (found) {
          const back: TimelineOp = { op: 'move_shot', shot: op.shot, position: found.index };
          if (op.segment && op.segment !== found.seg.id) back.segment = found.seg.id;
          inverse.push(back);
        }
        break;
      }
      case 'trim': {
        const found = findShot(state, op.shot);
        if (found) inverse.push({ op: 'trim', shot: op.shot, in_frame: found.shot.in_frame, out_frame: found.shot.out_frame });
        break;
      }
      case 'transition': {
        const found = findShot(state, op.shot);
        if (found) {
          const t = found.shot.transition ?? { kind: 'cut' as TransitionKind, frames: 0 };
          inverse.push({ op: 'transition', shot: op.shot, kind: t.kind, frames: t.kind === 'cut' ? 0 : t.frames });
        }
        break;
      }
      case 'add_audio': {
        const clip = addedClip(before, after, op, taken);
        if (clip) {
          taken.add(clip.id);
          inverse.push({ op: 'remove_audio', clip: clip.id });
        }
        break;
      }
      case 'update_audio': {
        const clip = findClip(state, op.clip);
        if (clip) {
          const old = audioFields(clip);
          const back: TimelineOp = { op: 'update_audio', clip: op.clip };
          for (const key of AUDIO_KEYS) if (key in op) (back as unknown as Record<string, unknown>)[key] = old[key];
          if ('media' in op && clip.media) back.media = clip.media.id;
          inverse.push(back);
        }
        break;
      }
      case 'remove_audio': {
        const clip = findClip(state, op.clip);
        if (clip?.media) inverse.push({ op: 'add_audio', media: clip.media.id, ...audioFields(clip) } as TimelineOp);
        break;
      }
      case 'add_marker': {
        const marker = addedMarker(before, after, op, taken);
        if (marker) {
          taken.add(marker.id);
          inverse.push({ op: 'remove_marker', marker: marker.id });
        }
        break;
      }
      case 'remove_marker': {
        const marker = (state.markers ?? []).find((m) => m.id === op.marker);
        if (marker) inverse.push({ op: 'add_marker', frame: marker.frame, label: marker.label });
        break;
      }
    }
    state = applyOp(state, op);
  }
  return inverse.reverse();
}

/**
 * Ids that an applied list of ops re-created under new ids (undoing a removal adds the clip
 * or marker back as a new row): old id → new id, so older history entries still find it.
 */
export function recreatedIds(ops: TimelineOp[], before: Timeline, after: Timeline, removedFrom: Timeline | null): Map<string, string> {
  const map = new Map<string, string>();
  if (!removedFrom) return map;
  const taken = new Set<string>();
  for (const op of ops) {
    if (op.op === 'add_audio') {
      const clip = addedClip(before, after, op, taken);
      const old = allClips(removedFrom).find((c) => c.media?.id === op.media && c.track === op.track && c.start_frame === op.start_frame);
      if (clip && old) {
        taken.add(clip.id);
        map.set(old.id, clip.id);
      }
    } else if (op.op === 'add_marker') {
      const marker = addedMarker(before, after, op, taken);
      const old = (removedFrom.markers ?? []).find((m) => m.frame === op.frame && m.label === op.label);
      if (marker && old) {
        taken.add(marker.id);
        map.set(old.id, marker.id);
      }
    }
  }
  return map;
}

/** `ops` with clip and marker ids renamed by `map`. */
export function remapOps(ops: TimelineOp[], map: Map<string, string>): TimelineOp[] {
  if (!map.size) return ops;
  return ops.map((op) => {
    if ((op.op === 'update_audio' || op.op === 'remove_audio') && map.has(op.clip)) return { ...op, clip: map.get(op.clip)! };
    if (op.op === 'remove_marker' && map.has(op.marker)) return { ...op, marker: map.get(op.marker)! };
    return op;
  });
}

/** A short description of an edit for the undo/redo buttons and notices. */
export function describeOps(ops: TimelineOp[]): string {
  if (!ops.length) return 'edit';
  const names: Record<TimelineOp['op'], string> = {
    move_segment: 'move segment',
    move_shot: 'move shot',
    trim: 'trim',
    transition: 'transition',
    add_audio: 'add audio',
    update_audio: 'audio change',
    remove_audio: 'remove audio',
    add_marker: 'add marker',
    remove_marker: 'remove marker',
  };
  return names[ops[0].op] + (ops.length > 1 ? ` (+${ops.length - 1})` : '');
}
