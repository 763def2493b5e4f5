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

/**
 * Every clip of the cut with absolute frames. Shots follow each other; a crossfade into a
 * shot (not the first of its segment) overlaps the previous shot by its frames, as the
 * server counts it. The browser shows a crossfade as a cut in the middle of the overlap, so
 * clips never overlap on screen and the total length is the server's.
 */
export function buildSchedule(timeline: Timeline): Schedule {
  const rate = timelineRate(timeline);
  const clips: Clip[] = [];
  let total = 0;
  asPlayable(timeline).forEach((segment, segmentIndex) => {
    let prev: Clip | null = null;
    let prevEnd = total; // where the previous shot's full extent ends
    (segment.shots ?? []).forEach((shot, shotIndex) => {
      const frames = Math.max(1, Math.round(shot.duration_frames || 0));
      const kind = shot.transition?.kind ?? 'cut';
      let overlap = kind === 'crossfade' && shotIndex > 0 ? Math.max(0, Math.round(shot.transition?.frames ?? 0)) : 0;
      overlap = Math.min(overlap, frames);
      const shotStart = prevEnd - overlap;
      // Never before the previous clip came on screen (a very long crossfade over a short shot).
      const cutAt = Math.max(shotStart + Math.floor(overlap / 2), prev ? prev.start : shotStart);
      if (prev) prev.end = Math.max(prev.start, Math.min(prev.end, cutAt));
      const src = proxyOf(shot.take);
      const line1 = `SEGMENT ${segmentIndex + 1} · SHOT ${shotIndex + 1}`;
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
        start: cutAt,
        end: shotStart + frames,
        sourceIn: (src ? Math.max(0, Math.round(shot.in_frame || 0)) : 0) + (cutAt - shotStart),
        slate: src ? null : { line1, line2: shot.take ? NO_PROXY : NOT_APPROVED },
      };
      clips.push(clip);
      prev = clip;
      prevEnd = shotStart + frames;
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
