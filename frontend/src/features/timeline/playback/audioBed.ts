/**
 * The audio tracks of the cut (music, narration, effects) as the browser plays them: which
 * clips sound at a timeline position, where in their files, and how loud.
 *
 * The rules are the export's (apps/rendering/engine/final.py `_clip_placements`, audio.py):
 * a clip starts at `start_frame` and lasts `length_frames` (the file's length in project
 * frames) but never past the end of its file nor past the end of the film; it sounds at
 * `volume` × a linear fade in × a linear fade out (each at most the clip's length); music is
 * ducked by DUCK_DB while a narration clip plays, ramping down over DUCK_ATTACK_SECONDS before
 * the voice and back up over DUCK_RELEASE_SECONDS after it (narration clips closer than
 * attack + release are merged into one duck, as the export merges them).
 *
 * Positions come from integer frames at the project's rational rate: the instant of frame n
 * is n × den / num seconds, computed afresh for every position (never accumulated), so there
 * is no drift at 24000/1001 or 30000/1001. A playhead between two frames (during playback)
 * is a fractional frame.
 */

import type { AudioClip, AudioTrackName, Timeline } from '../../../api/types';
import { framesToSeconds, type Rate } from '../../../lib/timecode';
import { timelineRate } from './schedule';

/** The export's ducking constants (apps/rendering/engine/audio.py). */
export const DUCK_DB = -12.0;
export const DUCK_ATTACK_SECONDS = 0.25;
export const DUCK_RELEASE_SECONDS = 0.5;
/** Gain of the music under a voice: 10^(-12/20) ≈ 0.251. */
export const DUCK_FLOOR = 10 ** (DUCK_DB / 20);

/** How far ahead (seconds of timeline at 1×) a clip is announced so its element can preload. */
export const PRELOAD_SECONDS = 2;

export interface BedClip {
  id: string;
  track: AudioTrackName;
  /** the file to play (the media's original, as the export mixes it) */
  src: string;
  /** the media it plays (a signed URL may change between fetches; the file does not) */
  mediaId: string | null;
  /** first timeline frame it sounds on */
  startFrame: number;
  /** timeline seconds where it starts and stops (cut at its file's end and the film's end) */
  start: number;
  end: number;
  volume: number;
  /** fade lengths in seconds, each at most the clip's length */
  fadeIn: number;
  fadeOut: number;
}

export interface AudioBed {
  rate: Rate;
  /** seconds in the whole film */
  filmSeconds: number;
  /** clips that can sound, by start */
  clips: BedClip[];
  /** merged narration spans [start, end) in timeline seconds: where the music is ducked */
  ducks: Array<[number, number]>;
}

export interface Sounding {
  clip: BedClip;
  /** seconds into the clip's file */
  offset: number;
  /** volume × fades × ducking, clamped to [0, 1] (HTMLMediaElement.volume cannot go above 1) */
  gain: number;
}

/** The file to play for a clip, or null when its media is not ready (such clips are skipped). */
function playableSrc(clip: AudioClip): string | null {
  const media = clip.media;
  if (!media) return null;
  if (media.status && media.status !== 'ready') return null;
  return media.url || media.proxy_url || null;
}

/** The clips of the timeline's audio tracks that will sound, with their spans in seconds. */
export function buildAudioBed(timeline: Timeline): AudioBed {
  const rate = timelineRate(timeline);
  const filmFrames = Math.max(0, Math.round(timeline.duration_frames || 0));
  const filmSeconds = framesToSeconds(filmFrames, rate);
  const clips: BedClip[] = [];
  for (const track of timeline.audio_tracks ?? []) {
    for (const clip of track?.clips ?? []) {
      if (!clip) continue;
      const src = playableSrc(clip);
      const startFrame = Math.round(clip.start_frame);
      // As the export: nothing before the film, at or past its end, or at zero volume.
      if (!src || !(startFrame >= 0) || startFrame >= filmFrames || !(clip.volume > 0)) continue;
      const start = framesToSeconds(startFrame, rate);
      let end = filmSeconds;
      if (clip.length_frames != null && clip.length_frames >= 0) end = Math.min(end, framesToSeconds(startFrame + clip.length_frames, rate));
      const fileSeconds = clip.media?.duration_seconds;
      if (fileSeconds != null && fileSeconds > 0) end = Math.min(end, start + fileSeconds);
      const length = end - start;
      if (length <= 0) continue;
      clips.push({
        id: clip.id,
        track: clip.track ?? track.track,
        src,
        mediaId: clip.media?.id ?? null,
        startFrame,
        start,
        end,
        volume: clip.volume,
        fadeIn: Math.min(length, framesToSeconds(Math.max(0, clip.fade_in_frames || 0), rate)),
        fadeOut: Math.min(length, framesToSeconds(Math.max(0, clip.fade_out_frames || 0), rate)),
      });
    }
  }
  clips.sort((a, b) => a.start - b.start || a.id.localeCompare(b.id));
  return { rate, filmSeconds, clips, ducks: mergeDucks(clips.filter((c) => c.track === 'narration').map((c) => [c.start, c.end])) };
}

/** Narration spans merged where their ramps would meet (audio.py `duck_envelope`). */
function mergeDucks(spans: Array<[number, number]>): Array<[number, number]> {
  const merged: Array<[number, number]> = [];
  for (const [s, e] of [...spans].sort((a, b) => a[0] - b[0] || a[1] - b[1])) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1] + DUCK_ATTACK_SECONDS + DUCK_RELEASE_SECONDS) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  return merged;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** The music's gain at timeline second `t`: 1 away from any voice, DUCK_FLOOR under one, linear ramps between. */
export function duckGain(bed: AudioBed, t: number): number {
  let env = 0;
  for (const [s, e] of bed.ducks) {
    if (s - DUCK_ATTACK_SECONDS > t) break;
    if (e + DUCK_RELEASE_SECONDS < t) continue;
    const up = clamp01((t - (s - DUCK_ATTACK_SECONDS)) / DUCK_ATTACK_SECONDS);
    const down = clamp01((e + DUCK_RELEASE_SECONDS - t) / DUCK_RELEASE_SECONDS);
    env = Math.max(env, Math.min(up, down));
  }
  return 1 - (1 - DUCK_FLOOR) * env;
}

/** The fade envelope of `clip` at timeline second `t` (0..1). */
export function fadeGain(clip: BedClip, t: number): number {
  let g = 1;
  if (clip.fadeIn > 0) g *= clamp01((t - clip.start) / clip.fadeIn);
  if (clip.fadeOut > 0) g *= clamp01((clip.end - t) / clip.fadeOut);
  return g;
}

/**
 * The gain of `clip` at timeline second `t`, as the export mixes it. The export may go above
 * 1 (a volume of 1.5 is allowed and the mix is loudness-normalised afterwards); an
 * HTMLMediaElement's volume is capped at 1 (a larger value throws), so it is clamped here:
 * in the browser a clip above unity plays at unity.
 */
export function clipGain(bed: AudioBed, clip: BedClip, t: number): number {
  const g = clip.volume * fadeGain(clip, t) * (clip.track === 'music' ? duckGain(bed, t) : 1);
  return Number.isFinite(g) ? clamp01(g) : 0;
}

/** Timeline seconds of a (possibly fractional) timeline frame. */
export function secondsAtFrame(bed: AudioBed, frame: number): number {
  return framesToSeconds(frame, bed.rate);
}

/** The clips sounding at timeline second `t`, with their file offsets and gains. */
export function soundingAtSeconds(bed: AudioBed, t: number): Sounding[] {
  const out: Sounding[] = [];
  for (const clip of bed.clips) {
    if (clip.start > t) break;
    if (t < clip.end) out.push({ clip, offset: t - clip.start, gain: clipGain(bed, clip, t) });
  }
  return out;
}

/** The clips sounding at timeline `frame` (fractional while playing), with offsets and gains. */
export function soundingAt(bed: AudioBed, frame: number): Sounding[] {
  return soundingAtSeconds(bed, secondsAtFrame(bed, frame));
}

/** The clips that start after timeline second `t` and within `ahead` seconds of it: the ones to preload. */
export function upcomingAtSeconds(bed: AudioBed, t: number, ahead = PRELOAD_SECONDS): BedClip[] {
  return bed.clips.filter((clip) => clip.start > t && clip.start <= t + ahead);
}

/** The clips that start within `ahead` seconds after timeline `frame`. */
export function upcomingAt(bed: AudioBed, frame: number, ahead = PRELOAD_SECONDS): BedClip[] {
  return upcomingAtSeconds(bed, secondsAtFrame(bed, frame), ahead);
}
