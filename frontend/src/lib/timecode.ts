/**
 * Frames are the unit of time (integer frames at a rational rate such as 24000/1001);
 * seconds and timecode exist only at the edges — the <video> element and the labels.
 */

export interface Rate {
  num: number;
  den: number;
}

const KNOWN_NTSC: Array<[number, Rate]> = [
  [23.976, { num: 24000, den: 1001 }],
  [29.97, { num: 30000, den: 1001 }],
  [47.952, { num: 48000, den: 1001 }],
  [59.94, { num: 60000, den: 1001 }],
];

/** "24000/1001", "25", 23.976 or {num, den} → an exact rate. */
export function parseRate(value: string | number | Rate | null | undefined, fallback: Rate = { num: 24, den: 1 }): Rate {
  if (value === null || value === undefined || value === '') return fallback;
  if (typeof value === 'object') return value.num > 0 && value.den > 0 ? value : fallback;
  if (typeof value === 'string' && value.includes('/')) {
    const [n, d] = value.split('/').map(Number);
    return Number.isFinite(n) && Number.isFinite(d) && n > 0 && d > 0 ? { num: n, den: d } : fallback;
  }
  const fps = Number(value);
  if (!Number.isFinite(fps) || fps <= 0) return fallback;
  if (Number.isInteger(fps)) return { num: fps, den: 1 };
  for (const [approx, rate] of KNOWN_NTSC) if (Math.abs(fps - approx) < 0.01) return rate;
  return { num: Math.round(fps * 1000), den: 1000 };
}

/** The rate of a media payload (fps_num/fps_den when the probe has them). */
export function mediaRate(media: { fps_num?: number | null; fps_den?: number | null; fps?: number | null } | null | undefined, fallback?: Rate): Rate {
  if (media?.fps_num && media?.fps_den) return { num: media.fps_num, den: media.fps_den };
  return parseRate(media?.fps ?? null, fallback);
}

export function rateToFps(rate: Rate): number {
  return rate.num / rate.den;
}

export function framesToSeconds(frames: number, rate: Rate): number {
  return (frames * rate.den) / rate.num;
}

/** The frame shown at `seconds` (the frame whose span contains that instant). */
export function frameAtTime(seconds: number, rate: Rate): number {
  // The epsilon absorbs floating error at exact frame boundaries (n * 1001/24000).
  return Math.max(0, Math.floor((seconds * rate.num) / rate.den + 1e-6));
}

/** Where to seek to show `frame`: its middle, so rounding in the decoder cannot land on the neighbour. */
export function timeOfFrame(frame: number, rate: Rate): number {
  return ((Math.max(0, frame) + 0.5) * rate.den) / rate.num;
}

export function clampFrame(frame: number, frameCount?: number | null): number {
  const max = frameCount && frameCount > 0 ? frameCount - 1 : Number.POSITIVE_INFINITY;
  return Math.min(Math.max(0, Math.round(frame)), max);
}

/** One step (or `delta` frames) from the frame shown at `currentTime`: the new frame and the time to seek to. */
export function stepFrame(
  currentTime: number,
  delta: number,
  rate: Rate,
  frameCount?: number | null,
): { frame: number; time: number } {
  const frame = clampFrame(frameAtTime(currentTime, rate) + delta, frameCount);
  return { frame, time: timeOfFrame(frame, rate) };
}

/** Frames counted per timecode second: 24 for 24000/1001, 30 for 30000/1001. */
export function timecodeBase(rate: Rate): number {
  return Math.round(rate.num / rate.den);
}

/** Drop-frame timecode is used for 29.97 and 59.94 (never for 23.976, which has no drop-frame form). */
export function isDropFrame(rate: Rate): boolean {
  return rate.den === 1001 && (timecodeBase(rate) === 30 || timecodeBase(rate) === 60);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** SMPTE timecode HH:MM:SS:FF (drop-frame HH:MM:SS;FF at 29.97/59.94). */
export function formatTimecode(frame: number, rate: Rate): string {
  const base = timecodeBase(rate);
  let f = Math.max(0, Math.floor(frame));
  const drop = isDropFrame(rate);
  if (drop) {
    // Skip frame numbers 0 and 1 (0–3 at 59.94) of every minute except each tenth.
    const dropFrames = base === 60 ? 4 : 2;
    const framesPer10Min = Math.round(rateToFps(rate) * 600);
    const framesPerMin = base * 60 - dropFrames;
    const tens = Math.floor(f / framesPer10Min);
    const rem = f % framesPer10Min;
    const extra = rem > dropFrames ? dropFrames * Math.floor((rem - dropFrames) / framesPerMin) : 0;
    f = f + dropFrames * 9 * tens + extra;
  }
  const ff = f % base;
  const totalSeconds = Math.floor(f / base);
  const ss = totalSeconds % 60;
  const mm = Math.floor(totalSeconds / 60) % 60;
  const hh = Math.floor(totalSeconds / 3600);
  return `${pad(hh)}:${pad(mm)}:${pad(ss)}${drop ? ';' : ':'}${pad(ff)}`;
}

/** "1:05" or "1:02:05" for people (runtime, durations). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
}

/** "96 frames · 4.0 s" */
export function describeFrames(frames: number, rate: Rate): string {
  return `${frames} frame${frames === 1 ? '' : 's'} · ${framesToSeconds(frames, rate).toFixed(1)} s`;
}
