/** Timeline payloads shaped like apps/timeline/selectors.py `timeline_get`, for playback tests. */

import type { Timeline } from '../../../api/types';

export interface ShotSpec {
  /** proxy URL of the pick; null: no pick; 'no-proxy': a pick whose proxy is missing */
  proxy: string | null | 'no-proxy';
  in?: number;
  frames: number;
  crossfade?: number;
  /** a fade_black of this many frames into the shot */
  fadeBlack?: number;
  title?: string;
}

export function makeTimeline(fpsRational: string, segments: ShotSpec[][], fps?: number): Timeline {
  const [n, d] = fpsRational.split('/').map(Number);
  let start = 0;
  let shotNo = 0;
  const segs = segments.map((shots, si) => {
    let segFrames = 0;
    const out = shots.map((spec, i) => {
      shotNo += 1;
      const inFrame = spec.in ?? 0;
      const overlap = spec.crossfade && i > 0 ? Math.min(spec.crossfade, spec.frames) : 0;
      segFrames += spec.frames - overlap;
      return {
        id: `shot-${shotNo}`,
        position: i,
        title: spec.title ?? `Shot ${shotNo}`,
        take:
          spec.proxy === null
            ? null
            : {
                id: `take-${shotNo}`,
                number: 1,
                author: 'ana',
                length_frames: inFrame + spec.frames + 10,
                media: {
                  id: `media-${shotNo}`,
                  status: 'ready',
                  proxy_url: spec.proxy === 'no-proxy' ? null : spec.proxy,
                  thumbnail_url: null,
                  filmstrip_url: null,
                  duration_seconds: 10,
                  fps: n / d,
                  width: 1280,
                  height: 720,
                  has_audio: true,
                },
              },
        in_frame: inFrame,
        out_frame: inFrame + spec.frames,
        duration_frames: spec.frames,
        planned_frames: spec.frames,
        transition: spec.fadeBlack
          ? { kind: 'fade_black', frames: spec.fadeBlack }
          : { kind: spec.crossfade ? 'crossfade' : 'cut', frames: spec.crossfade ?? 0 },
        revision: 1,
      };
    });
    const seg = {
      id: `seg-${si + 1}`,
      position: si,
      title: `Segment ${si + 1}`,
      owner: null,
      status: 'claimed',
      start_frame: start,
      duration_frames: segFrames,
      target_frames: null,
      shots: out,
    };
    start += segFrames;
    return seg;
  });
  return {
    revision: 1,
    fps: fps ?? Math.round((n / d) * 1000) / 1000,
    fps_rational: fpsRational,
    width: 1280,
    height: 720,
    duration_frames: start,
    segments: segs,
    audio_tracks: [],
    markers: [],
  } as unknown as Timeline;
}

export interface AudioSpec {
  id: string;
  track: 'music' | 'narration' | 'effects';
  url: string | null;
  start: number;
  /** the file's length in project frames (the server's `length_frames`) */
  frames: number | null;
  /** the file's duration; by default exactly `frames` at the timeline's rate */
  seconds?: number | null;
  volume?: number;
  fadeIn?: number;
  fadeOut?: number;
  status?: string;
}

/** The timeline with clips on its audio tracks, shaped like `timeline_get`'s `audio_tracks`. */
export function withAudio(timeline: Timeline, clips: AudioSpec[]): Timeline {
  const [n, d] = timeline.fps_rational.split('/').map(Number);
  const tracks = (['music', 'narration', 'effects'] as const).map((track) => ({
    track,
    clips: clips
      .filter((c) => c.track === track)
      .map((c) => ({
        id: c.id,
        track,
        media: {
          id: `media-${c.id}`,
          status: c.status ?? 'ready',
          error: '',
          kind: 'audio',
          url: c.url,
          proxy_url: null,
          thumbnail_url: null,
          filmstrip_url: null,
          filmstrip_frames: null,
          duration_seconds: c.seconds !== undefined ? c.seconds : c.frames == null ? null : (c.frames * d) / n,
          fps: null,
          fps_num: null,
          fps_den: null,
          frame_count: null,
          width: null,
          height: null,
          has_audio: true,
          size: 1000,
          original_name: `${c.id}.wav`,
          content_type: 'audio/wav',
        },
        start_frame: c.start,
        length_frames: c.frames,
        volume: c.volume ?? 1,
        fade_in_frames: c.fadeIn ?? 0,
        fade_out_frames: c.fadeOut ?? 0,
        text: '',
      })),
  }));
  return { ...timeline, audio_tracks: tracks };
}

/** A hand-driven clock and animation-frame queue. */
export function manualScheduler() {
  let now = 0;
  let id = 0;
  const frames = new Map<number, () => void>();
  return {
    now: () => now,
    requestFrame: (cb: () => void) => {
      id += 1;
      frames.set(id, cb);
      return id;
    },
    cancelFrame: (handle: number) => {
      frames.delete(handle);
    },
    /** advance the clock by `ms` and run the animation frames that were waiting */
    advance(ms: number) {
      now += ms;
      const due = [...frames.values()];
      frames.clear();
      due.forEach((cb) => cb());
    },
    pending: () => frames.size,
  };
}

/** The playing video reaches `seconds` of its proxy. */
export function playTo(video: HTMLVideoElement, seconds: number) {
  video.currentTime = seconds;
  video.dispatchEvent(new Event('timeupdate'));
}
