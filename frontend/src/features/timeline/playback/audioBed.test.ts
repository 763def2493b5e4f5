import { describe, expect, it } from 'vitest';

import type { Timeline } from '../../../api/types';
import {
  DUCK_ATTACK_SECONDS,
  DUCK_DB,
  DUCK_FLOOR,
  DUCK_RELEASE_SECONDS,
  buildAudioBed,
  soundingAt,
  soundingAtSeconds,
  upcomingAt,
} from './audioBed';
import { makeTimeline, withAudio, type AudioSpec } from './fixtures';

/** A film of one shot of `frames` frames at `rate`, with the given audio clips. */
function film(rate: string, frames: number, clips: AudioSpec[]): Timeline {
  return withAudio(makeTimeline(rate, [[{ proxy: '/a.mp4', frames }]]), clips);
}

const gainOf = (tl: Timeline, id: string, seconds: number) => {
  const s = soundingAtSeconds(buildAudioBed(tl), seconds).find((x) => x.clip.id === id);
  return s ? s.gain : null;
};

describe('audioBed offsets', () => {
  it('places a clip at its start frame at 24 fps', () => {
    const bed = buildAudioBed(film('24/1', 240, [{ id: 'm', track: 'music', url: '/m.wav', start: 48, frames: 120 }]));
    expect(soundingAt(bed, 47)).toEqual([]);
    const [s] = soundingAt(bed, 60);
    expect(s.clip.src).toBe('/m.wav');
    expect(s.offset).toBeCloseTo(0.5, 12);
    expect(soundingAt(bed, 48)[0].offset).toBe(0);
    expect(soundingAt(bed, 167)).toHaveLength(1);
    expect(soundingAt(bed, 168)).toEqual([]);
  });

  it('computes offsets from integer frames at 24000/1001 with no drift over a long film', () => {
    const frames = 150_000; // ~1 h 44 min
    const bed = buildAudioBed(film('24000/1001', frames, [{ id: 'm', track: 'music', url: '/m.wav', start: 1000, frames: 140_000 }]));
    expect(bed.clips[0].start).toBeCloseTo((1000 * 1001) / 24000, 9);
    const [s] = soundingAt(bed, 100_000);
    // 99,000 frames of 1001/24000 s: exactly 4129.125 s (dividing by 23.976 would be 4 ms off)
    expect(s.offset).toBeCloseTo(4129.125, 6);
    expect(Math.abs(s.offset - 99_000 / 23.976)).toBeGreaterThan(0.004);
  });

  it('computes offsets at 30000/1001', () => {
    const bed = buildAudioBed(film('30000/1001', 200_000, [{ id: 'n', track: 'narration', url: '/n.wav', start: 0, frames: null, seconds: null }]));
    // One hour of drop-frame timecode is 107,892 frames: 3599.9964 s.
    expect(soundingAt(bed, 107_892)[0].offset).toBeCloseTo((107_892 * 1001) / 30000, 6);
    expect(soundingAt(bed, 107_892)[0].offset).toBeCloseTo(3599.9964, 4);
    // A fractional playhead (between frames while playing) is a position too.
    expect(soundingAt(bed, 10.5)[0].offset).toBeCloseTo((10.5 * 1001) / 30000, 12);
  });
});

describe('audioBed lengths', () => {
  it('cuts a clip at the end of the film', () => {
    const bed = buildAudioBed(film('24/1', 126, [{ id: 'm', track: 'music', url: '/m.wav', start: 100, frames: 480 }]));
    expect(bed.clips[0].end).toBeCloseTo(126 / 24, 12);
    expect(soundingAt(bed, 125)).toHaveLength(1);
    expect(soundingAt(bed, 126)).toEqual([]);
  });

  it('stops at the end of a file shorter than its length in frames', () => {
    const bed = buildAudioBed(film('24/1', 480, [{ id: 'e', track: 'effects', url: '/e.wav', start: 24, frames: 48, seconds: 1.25 }]));
    expect(bed.clips[0].end).toBeCloseTo(2.25, 12);
    expect(soundingAtSeconds(bed, 2.2)).toHaveLength(1);
    expect(soundingAtSeconds(bed, 2.3)).toEqual([]);
  });

  it('skips clips whose media is not ready, has no file, is silent, or lies outside the film', () => {
    const tl = film('24/1', 240, [
      { id: 'ok', track: 'music', url: '/ok.wav', start: 0, frames: 48 },
      { id: 'processing', track: 'music', url: '/p.wav', start: 0, frames: 48, status: 'processing' },
      { id: 'failed', track: 'effects', url: '/f.wav', start: 0, frames: 48, status: 'failed' },
      { id: 'nourl', track: 'narration', url: null, start: 0, frames: 48 },
      { id: 'silent', track: 'effects', url: '/s.wav', start: 0, frames: 48, volume: 0 },
      { id: 'late', track: 'effects', url: '/l.wav', start: 240, frames: 48 },
      { id: 'early', track: 'effects', url: '/x.wav', start: -5, frames: 48 },
    ]);
    (tl.audio_tracks![2].clips as unknown as Array<Record<string, unknown>>).push({ ...tl.audio_tracks![2].clips[0], id: 'nomedia', media: null, start_frame: 0 });
    const bed = buildAudioBed(tl);
    expect(bed.clips.map((c) => c.id)).toEqual(['ok']);
    expect(soundingAt(bed, 10).map((s) => s.clip.id)).toEqual(['ok']);
  });
});

describe('audioBed gains', () => {
  it('applies volume and linear fades in and out', () => {
    // 96 frames (4 s) at 24 fps: 1 s fade in, 2 s fade out, volume 0.8
    const tl = film('24/1', 480, [{ id: 'm', track: 'effects', url: '/m.wav', start: 24, frames: 96, volume: 0.8, fadeIn: 24, fadeOut: 48 }]);
    expect(gainOf(tl, 'm', 1)).toBeCloseTo(0, 9);
    expect(gainOf(tl, 'm', 1.5)).toBeCloseTo(0.4, 9);
    expect(gainOf(tl, 'm', 2)).toBeCloseTo(0.8, 9);
    expect(gainOf(tl, 'm', 2.9)).toBeCloseTo(0.8, 9);
    expect(gainOf(tl, 'm', 4)).toBeCloseTo(0.4, 9);
    expect(gainOf(tl, 'm', 4.5)).toBeCloseTo(0.2, 9);
    expect(gainOf(tl, 'm', 5)).toBeNull();
  });

  it('never lets a fade be longer than its clip', () => {
    const bed = buildAudioBed(film('24/1', 480, [{ id: 'm', track: 'music', url: '/m.wav', start: 0, frames: 24, fadeIn: 240 }]));
    expect(bed.clips[0].fadeIn).toBeCloseTo(1, 12);
    expect(soundingAtSeconds(bed, 0.5)[0].gain).toBeCloseTo(0.5, 9);
  });

  it('clamps gains above 1 (HTML media volume cannot exceed 1)', () => {
    const tl = film('24/1', 480, [{ id: 'm', track: 'music', url: '/m.wav', start: 0, frames: 240, volume: 1.6, fadeIn: 48 }]);
    expect(gainOf(tl, 'm', 0.5)).toBeCloseTo(0.4, 9); // 1.6 × 0.25
    expect(gainOf(tl, 'm', 1.5)).toBe(1); // 1.6 × 0.75 = 1.2 → 1
    expect(gainOf(tl, 'm', 5)).toBe(1);
  });

  it('ducks music under narration with the export constants: -12 dB, 0.25 s attack, 0.5 s release', () => {
    expect(DUCK_DB).toBe(-12);
    expect(DUCK_ATTACK_SECONDS).toBe(0.25);
    expect(DUCK_RELEASE_SECONDS).toBe(0.5);
    expect(DUCK_FLOOR).toBeCloseTo(0.2512, 4);
    // music 0–100 s at 0.5, narration 10–20 s, effects 0–100 s
    const tl = film('24/1', 2400, [
      { id: 'm', track: 'music', url: '/m.wav', start: 0, frames: 2400, volume: 0.5 },
      { id: 'n', track: 'narration', url: '/n.wav', start: 240, frames: 240 },
      { id: 'e', track: 'effects', url: '/e.wav', start: 0, frames: 2400 },
    ]);
    const floor = 10 ** (-12 / 20);
    expect(gainOf(tl, 'm', 5)).toBeCloseTo(0.5, 9);
    expect(gainOf(tl, 'm', 9.75)).toBeCloseTo(0.5, 9);
    expect(gainOf(tl, 'm', 9.875)).toBeCloseTo(0.5 * (1 - (1 - floor) * 0.5), 9);
    expect(gainOf(tl, 'm', 10)).toBeCloseTo(0.5 * floor, 9); // fully ducked when the voice starts
    expect(gainOf(tl, 'm', 15)).toBeCloseTo(0.5 * floor, 9);
    expect(gainOf(tl, 'm', 20)).toBeCloseTo(0.5 * floor, 9);
    expect(gainOf(tl, 'm', 20.25)).toBeCloseTo(0.5 * (1 - (1 - floor) * 0.5), 9);
    expect(gainOf(tl, 'm', 20.5)).toBeCloseTo(0.5, 9);
    // Narration and effects are never ducked.
    expect(gainOf(tl, 'n', 15)).toBeCloseTo(1, 9);
    expect(gainOf(tl, 'e', 15)).toBeCloseTo(1, 9);
  });

  it('holds the duck between narration clips closer than attack + release, and lets go between ones further apart', () => {
    const floor = 10 ** (-12 / 20);
    const music: AudioSpec = { id: 'm', track: 'music', url: '/m.wav', start: 0, frames: 2400 };
    const close = film('24/1', 2400, [music, { id: 'n1', track: 'narration', url: '/n1.wav', start: 240, frames: 240 }, { id: 'n2', track: 'narration', url: '/n2.wav', start: 492, frames: 120 }]);
    // 20.0 → 20.5 s: a gap of 0.5 s ≤ 0.75 s: one duck
    expect(gainOf(close, 'm', 20.25)).toBeCloseTo(floor, 9);
    const far = film('24/1', 2400, [music, { id: 'n1', track: 'narration', url: '/n1.wav', start: 240, frames: 240 }, { id: 'n2', track: 'narration', url: '/n2.wav', start: 528, frames: 120 }]);
    // 20 → 22 s: released by 20.5 s, attack from 21.75 s
    expect(gainOf(far, 'm', 21)).toBeCloseTo(1, 9);
    expect(gainOf(far, 'm', 21.875)).toBeCloseTo(1 - (1 - floor) * 0.5, 9);
  });

  it('does not duck under narration whose media is not ready (it is not heard)', () => {
    const tl = film('24/1', 2400, [
      { id: 'm', track: 'music', url: '/m.wav', start: 0, frames: 2400 },
      { id: 'n', track: 'narration', url: '/n.wav', start: 240, frames: 240, status: 'processing' },
    ]);
    expect(gainOf(tl, 'm', 15)).toBe(1);
  });
});

describe('audioBed upcoming clips', () => {
  it('lists the clips that start within 2 s, not the ones sounding nor later ones', () => {
    const bed = buildAudioBed(
      film('24/1', 480, [
        { id: 'now', track: 'music', url: '/m.wav', start: 0, frames: 240 },
        { id: 'soon', track: 'effects', url: '/s.wav', start: 40, frames: 24 },
        { id: 'edge', track: 'effects', url: '/e.wav', start: 48, frames: 24 },
        { id: 'later', track: 'narration', url: '/l.wav', start: 60, frames: 24 },
      ]),
    );
    expect(upcomingAt(bed, 0).map((c) => c.id)).toEqual(['soon', 'edge']);
    expect(upcomingAt(bed, 20).map((c) => c.id)).toEqual(['soon', 'edge', 'later']);
    expect(upcomingAt(bed, 45).map((c) => c.id)).toEqual(['edge', 'later']);
    expect(upcomingAt(bed, 0, 4).map((c) => c.id)).toEqual(['soon', 'edge', 'later']);
  });
});
