/**
 * The cut as a playback schedule: which clip (a proxy or a slate) is on screen at each
 * timeline frame, and where in that clip's proxy the frame lies.
 *
 * Time is integer frames at the project's rational rate (24000/1001 never becomes 23.976);
 * seconds exist only at the edge, when a <video> is seeked or read. Shot extents are the
 * ones the server sends (`in_frame`, `duration_frames`: the same `shot_extent` rule the
 * export uses), so the browser plays exactly as many frames as an export renders.
 */

import { framesToSeconds, frameAtTime, parseRate, timeOfFrame, type Rate } from '../../../lib/timecode';
import type { Timeline } from '../../../api/types';

/** The fields of the timeline payload playback reads (apps/timeline/selectors.py `timeline_get`). */
interface PlayableMedia {
  status?: string | null;
  proxy_url?: string | null;
}

interface PlayableTake {
  id: string;
  number?: number | null;
  author?: string | null;
  media?: PlayableMedia | null;
}

interface PlayableShot {
  id: string;
  position: number;
  title?: string | null;
  take: PlayableTake | null;
  in_frame: number;
  out_frame: number;
  duration_frames: number;
  transition?: { kind?: string | null; frames?: number | null } | null;
}

interface PlayableSegment {
  id: string;
  position: number;
  title?: string | null;
  shots: PlayableShot[];
}

export const NOT_APPROVED = 'NOT YET APPROVED';
export const NO_PROXY = 'PROXY NOT READY';

export interface Slate {
  /** "SEGMENT 12 · SHOT 3" */
  line1: string;
  /** "NOT YET APPROVED" (no pick) or "PROXY NOT READY" (a pick whose browser proxy is missing) */
  line2: string;
}

export interface Clip {
  index: number;
  kind: 'video' | 'slate';
  shotId: string;
  segmentId: string;
  /** 1-based place of the segment in the film and of the shot in its segment (as on slates) */
  segmentNumber: number;
  shotNumber: number;
  segmentTitle: string;
  shotTitle: string;
  takeId: string | null;
  takeNumber: number | null;
  /** the proxy to play (null for a slate) */
  src: string | null;
  /** first timeline frame on screen (inclusive) */
  start: number;
  /** first timeline frame after it (exclusive) */
  end: number;
  /** the source frame (project frames into the proxy) shown at `start` */
  sourceIn: number;
  slate: Slate | null;
  /**
   * A crossfade into this clip, as the export renders it (segment.py: `xfade` of the previous
   * shot's last `frames` frames with this shot's first `frames`): during the `shown` frames
   * before `start` this clip plays over the previous one with opacity i / frames (i = 0 on the
   * overlap's first frame). `shown` is `frames` except in the fallbacks (see buildSchedule),
   * where it is less or 0 (a plain cut at `start`, the end of the overlap). Null: a cut.
   */
  crossfade: { frames: number; shown: number } | null;
  /** the first frames fading up from black (fade_black into this shot): opacity j / fadeIn */
  fadeIn: number;
  /** the last frames fading down to black (fade_black into the next shot): opacity 1 − k / fadeOut */
  fadeOut: number;
}

export interface Schedule {
  rate: Rate;
  clips: Clip[];
  /** frames in the whole cut (the server's `duration_frames`) */
  duration: number;
}

export interface Location {
  clip: Clip;
  /** frames since the clip came on screen */
  offset: number;
  /** project frame into the proxy */
  sourceFrame: number;
  /** the instant that frame starts in the proxy, in seconds (sourceFrame × den / num) */
  sourceSeconds: number;
  /** where to seek a <video> to show that frame (its middle, so decoder rounding cannot land on a neighbour) */
  seekTime: number;
}

function asPlayable(timeline: Timeline): PlayableSegment[] {
  return ((timeline as unknown as { segments?: PlayableSegment[] }).segments ?? []).filter(Boolean);
}

/** The proxy to play for a shot's pick, or null when there is none to play. */
function proxyOf(take: PlayableTake | null): string | null {
  const media = take?.media;
  if (!media || !media.proxy_url) return null;
  if (media.status && media.status !== 'ready') return null;
  return media.proxy_url;
}

/** The project's exact rate: `fps_rational` ("24000/1001") first, the display fps only as a fallback. */
export function timelineRate(timeline: Pick<Timeline, 'fps' | 'fps_rational'>): Rate {
  return parseRate(timeline.fps_rational || timeline.fps);
}

/** A shot laid out as the export lays it out (apps/rendering/engine/segment.py `layout`). */
interface Laid {
  shot: PlayableShot;
  frames: number;
  /** absolute timeline frame of the shot's first frame (before the overlap of a crossfade into it) */
  start: number;
  headXf: number;
  tailXf: number;
  fadeIn: number;
  fadeOut: number;
}

function layoutSegment(shots: PlayableShot[], at: number): Laid[] {
  const laid: Laid[] = [];
  let pos = at;
  shots.forEach((shot, k) => {
    const frames = Math.max(1, Math.round(shot.duration_frames || 0));
    const kind = shot.transition?.kind ?? 'cut';
    const n = Math.max(0, Math.round(shot.transition?.frames ?? 0));
    const l: Laid = { shot, frames, start: pos, headXf: 0, tailXf: 0, fadeIn: 0, fadeOut: 0 };
    if (kind === 'crossfade' && k > 0 && n > 0) {
      // A crossfade into a segment's first shot has nothing to cross with: a cut (as the
      // server counts the length and the export renders it).
      l.headXf = Math.min(n, frames);
      laid[k - 1].tailXf = l.headXf;
      l.start = pos = pos - l.headXf;
    } else if (kind === 'fade_black' && n > 0) {
      // Into a segment's first shot the fade-up is kept (there is nothing to fade out).
      l.fadeIn = n - Math.floor(n / 2);
      if (k > 0) laid[k - 1].fadeOut = Math.floor(n / 2);
    }
    laid.push(l);
    pos += frames;
  });
  for (const l of laid) {
    // Fades never reach into a crossfade's frames (the export shortens them the same way).
    const room = Math.max(0, l.frames - l.headXf - l.tailXf);
    l.fadeIn = Math.min(l.fadeIn, room);
    l.fadeOut = Math.max(0, Math.min(l.fadeOut, room - l.fadeIn));
  }
  return laid;
}

/**
 * Every clip of the cut with absolute frames, laid out as the export lays out its segments.
 * A crossfade into a shot (not the first of its segment) overlaps the previous shot by its
 * frames, as the server counts the length. Clips never overlap as "the clip on screen": the
 * outgoing shot stays the clip on screen to the end of the overlap (its full length), and the
 * incoming one is its `crossfade` layer over those frames (see layersAt), then the clip on
 * screen from the end of the overlap. So the total length is the server's and every join
 * falls where the export's picture is entirely the next shot.
 *
 * Fallbacks (the overlap is then a plain cut at the end of the overlap, the timing unchanged):
 * - a slate on either side of a crossfade: the slate is not blended, the cut is where the
 *   incoming clip becomes the clip on screen (a proxy that fails to load is treated the same
 *   way by the player, see layersAt's `broken`);
 * - a crossfade longer than what is left of the previous shot (its own incoming crossfade
 *   took the rest — the export refuses that edit): only the frames of the previous clip
 *   still on screen are blended;
 * - a crossfade as long as its shot hides the shot completely: it has no clip and is not
 *   blended at all (the export shows it over the previous shot's last frames).
 */
export function buildSchedule(timeline: Timeline): Schedule {
  const rate = timelineRate(timeline);
  const clips: Clip[] = [];
  let total = 0;
  asPlayable(timeline).forEach((segment, segmentIndex) => {
    const laid = layoutSegment(segment.shots ?? [], total);
    let prev: Clip | null = null;
    let prevEnd = total; // where the previous shot's full extent ends
    laid.forEach((l, shotIndex) => {
      const { shot } = l;
      const end = l.start + l.frames;
      const start = Math.max(prevEnd, l.start); // = l.start + l.headXf
      const src = proxyOf(shot.take);
      const line1 = `SEGMENT ${segmentIndex + 1} · SHOT ${shotIndex + 1}`;
      let crossfade: Clip['crossfade'] = null;
      if (l.headXf > 0) {
        const shown = prev && prev.kind === 'video' && src && end > start && prev.end === start ? Math.min(l.headXf, prev.end - prev.start) : 0;
        crossfade = { frames: l.headXf, shown };
      }
      const clip: Clip = {
        index: -1,
        kind: src ? 'video' : 'slate',
        shotId: shot.id,
        segmentId: segment.id,
        segmentNumber: segmentIndex + 1,
        shotNumber: shotIndex + 1,
        segmentTitle: segment.title ?? '',
        shotTitle: shot.title ?? '',
        takeId: shot.take?.id ?? null,
        takeNumber: shot.take?.number ?? null,
        src,
        start,
        end,
        sourceIn: (src ? Math.max(0, Math.round(shot.in_frame || 0)) : 0) + (start - l.start),
        slate: src ? null : { line1, line2: shot.take ? NO_PROXY : NOT_APPROVED },
        crossfade,
        fadeIn: l.fadeIn,
        fadeOut: l.fadeOut,
      };
      clips.push(clip);
      // A shot hidden completely by a crossfade is no clip: the next one blends with nothing.
      prev = end > start ? clip : null;
      prevEnd = end;
    });
    total = prevEnd;
  });
  const visible = clips.filter((clip) => clip.end > clip.start);
  visible.forEach((clip, index) => {
    clip.index = index;
  });
  return { rate, clips: visible, duration: total };
}

/** The index of the clip on screen at `frame`, or -1 outside the cut. Binary search: a film has ~1,350 shots. */
export function clipIndexAt(schedule: Schedule, frame: number): number {
  const { clips } = schedule;
  if (!clips.length || frame < clips[0].start || frame >= clips[clips.length - 1].end) return -1;
  let lo = 0;
  let hi = clips.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (clips[mid].start <= frame) lo = mid;
    else hi = mid - 1;
  }
  return frame < clips[lo].end ? lo : -1;
}

/** The source position of timeline `frame` in its clip. */
export function locateInClip(clip: Clip, frame: number, rate: Rate): Location {
  const offset = Math.max(0, Math.min(frame - clip.start, clip.end - clip.start - 1));
  const sourceFrame = clip.sourceIn + offset;
  return { clip, offset, sourceFrame, sourceSeconds: framesToSeconds(sourceFrame, rate), seekTime: timeOfFrame(sourceFrame, rate) };
}

/** Where timeline `frame` is: its clip and the time in that clip's proxy; null outside the cut. */
export function locate(schedule: Schedule, frame: number): Location | null {
  const index = clipIndexAt(schedule, Math.floor(frame));
  return index < 0 ? null : locateInClip(schedule.clips[index], Math.floor(frame), schedule.rate);
}

/** One picture on screen at a frame: the clip on screen (`base`) or a crossfade's incoming clip over it (`over`). */
export interface Layer {
  clip: Clip;
  role: 'base' | 'over';
  /** project frame into the clip's proxy (0 for a slate) */
  sourceFrame: number;
  /** the instant that frame starts in the proxy, in seconds */
  sourceSeconds: number;
  /** where to seek a <video> to show that frame (its middle) */
  seekTime: number;
  /** of the picture over black (fade_black) or over the base layer (crossfade), in [0, 1] */
  opacity: number;
  /** of the shot's own sound (the export's crossfade and fade_black ramp it with the picture), in [0, 1] */
  gain: number;
}

/** The picture's level over black at `frame` from the clip's fades to/from black (vf_fade, by frame count). */
export function fadeLevel(clip: Clip, frame: number): number {
  const j = frame - clip.start;
  if (clip.fadeIn > 0 && j >= 0 && j < clip.fadeIn) return j / clip.fadeIn;
  const k = frame - (clip.end - clip.fadeOut);
  if (clip.fadeOut > 0 && k >= 0 && k < clip.fadeOut) return 1 - k / clip.fadeOut;
  return 1;
}

/**
 * What is on screen at timeline `frame`, bottom first: the clip on screen (its level over
 * black from fade_black), then, during the overlap of a crossfade into the next clip, that
 * clip over it at opacity i / n (i = 0 on the overlap's first frame: ffmpeg's
 * `xfade=transition=fade` gives A × (1 − i/n) + B × i/n, exactly B at i/n over an opaque A).
 * The shots' sound follows the export: complementary ramps over a crossfade, and the
 * fade_black level. Clips in `broken` (a proxy that failed to load: a slate) are not
 * blended. Empty outside the cut.
 */
export function layersAt(schedule: Schedule, frame: number, broken?: ReadonlySet<number>): Layer[] {
  const f = Math.floor(frame);
  const index = clipIndexAt(schedule, f);
  if (index < 0) return [];
  const clip = schedule.clips[index];
  const loc = locateInClip(clip, f, schedule.rate);
  const level = fadeLevel(clip, f);
  const base: Layer = {
    clip,
    role: 'base',
    sourceFrame: loc.sourceFrame,
    sourceSeconds: loc.sourceSeconds,
    seekTime: loc.seekTime,
    opacity: level,
    gain: level,
  };
  const next = schedule.clips[index + 1];
  const xf = next?.crossfade;
  if (!xf || xf.shown <= 0 || f < next.start - xf.shown || broken?.has(index) || broken?.has(next.index)) return [base];
  const back = next.start - f; // 1 on the overlap's last frame
  const i = xf.frames - back;
  const sourceFrame = next.sourceIn - back;
  const p = i / xf.frames;
  base.gain = level * (1 - p);
  return [
    base,
    {
      clip: next,
      role: 'over',
      sourceFrame,
      sourceSeconds: framesToSeconds(sourceFrame, schedule.rate),
      seekTime: timeOfFrame(sourceFrame, schedule.rate),
      opacity: p,
      gain: p,
    },
  ];
}

/**
 * Where to park `clip`'s proxy before playback reaches it forwards: its in point, or the
 * first frame of the crossfade into it when that is blended (seconds, the frame's middle).
 */
export function entrySeekTime(clip: Clip, rate: Rate): number {
  const shown = clip.crossfade?.shown ?? 0;
  return timeOfFrame(clip.sourceIn - shown, rate);
}

/**
 * The timeline frame a proxy shows at `seconds` (a <video>'s currentTime) while playing
 * `clip`. Not clamped: a result ≥ clip.end means the clip has played past its out point.
 */
export function frameAtSourceTime(clip: Clip, seconds: number, rate: Rate): number {
  return clip.start + (frameAtTime(seconds, rate) - clip.sourceIn);
}

/** The instant in the proxy where `clip` leaves the screen (its out point), in seconds. */
export function clipOutSeconds(clip: Clip, rate: Rate): number {
  return framesToSeconds(clip.sourceIn + (clip.end - clip.start), rate);
}

/** The clip after (direction 1) or before (-1) `index`, or null at the end of the film. */
export function nextClip(schedule: Schedule, index: number, direction: 1 | -1 = 1): Clip | null {
  return schedule.clips[index + direction] ?? null;
}

/** The nearest clip with a proxy after (or before) `index`: the one to preload. */
export function nextVideoClip(schedule: Schedule, index: number, direction: 1 | -1 = 1): Clip | null {
  for (let i = index + direction; i >= 0 && i < schedule.clips.length; i += direction) {
    if (schedule.clips[i].kind === 'video') return schedule.clips[i];
  }
  return null;
}

/** A frame the player can show: within [0, duration - 1]. */
export function clampToCut(schedule: Schedule, frame: number): number {
  if (schedule.duration <= 0) return 0;
  return Math.min(Math.max(0, Math.round(frame)), schedule.duration - 1);
}
