import { describe, expect, it } from 'vitest';

import {
  describeFrames,
  formatDuration,
  formatTimecode,
  frameAtTime,
  framesToSeconds,
  mediaRate,
  parseRate,
  stepFrame,
  timeOfFrame,
  type Rate,
} from './timecode';

const NTSC_FILM: Rate = { num: 24000, den: 1001 };
const NTSC_VIDEO: Rate = { num: 30000, den: 1001 };

describe('rates', () => {
  it('parses rationals, integers and the usual decimals exactly', () => {
    expect(parseRate('24000/1001')).toEqual(NTSC_FILM);
    expect(parseRate('25')).toEqual({ num: 25, den: 1 });
    expect(parseRate(23.976)).toEqual(NTSC_FILM);
    expect(parseRate(29.97)).toEqual(NTSC_VIDEO);
    expect(parseRate('nonsense')).toEqual({ num: 24, den: 1 });
    expect(mediaRate({ fps_num: 24000, fps_den: 1001, fps: 23.976 })).toEqual(NTSC_FILM);
    expect(mediaRate({ fps: 25 })).toEqual({ num: 25, den: 1 });
  });
});

describe('frame stepping at 24000/1001', () => {
  it('maps every frame to a time and back without drift', () => {
    for (let frame = 0; frame < 200_000; frame += 997) {
      expect(frameAtTime(timeOfFrame(frame, NTSC_FILM), NTSC_FILM)).toBe(frame);
    }
  });

  it('lands on exact frame boundaries where float maths would round down', () => {
    // 1001/24000 × n is not representable exactly; frame n must still start at n.
    for (const n of [1, 3, 7, 1001, 24000, 86_313]) {
      expect(frameAtTime(framesToSeconds(n, NTSC_FILM), NTSC_FILM)).toBe(n);
    }
  });

  it('steps one frame at a time, forwards and back, for a thousand steps', () => {
    let time = timeOfFrame(0, NTSC_FILM);
    for (let i = 1; i <= 1000; i += 1) {
      const next = stepFrame(time, 1, NTSC_FILM);
      expect(next.frame).toBe(i);
      time = next.time;
    }
    expect(time).toBeCloseTo((1000.5 * 1001) / 24000, 9);
    for (let i = 999; i >= 0; i -= 1) {
      const prev = stepFrame(time, -1, NTSC_FILM);
      expect(prev.frame).toBe(i);
      time = prev.time;
    }
  });

  it('stays within the clip', () => {
    expect(stepFrame(0, -1, NTSC_FILM).frame).toBe(0);
    expect(stepFrame(timeOfFrame(95, NTSC_FILM), 1, NTSC_FILM, 96).frame).toBe(95);
    expect(stepFrame(timeOfFrame(90, NTSC_FILM), 10, NTSC_FILM, 96).frame).toBe(95);
  });

  it('seeks to the middle of a frame', () => {
    const t = timeOfFrame(10, NTSC_FILM);
    expect(t).toBeGreaterThan(framesToSeconds(10, NTSC_FILM));
    expect(t).toBeLessThan(framesToSeconds(11, NTSC_FILM));
  });
});

describe('timecode', () => {
  it('counts 23.976 in 24-frame (non-drop) seconds', () => {
    expect(formatTimecode(0, NTSC_FILM)).toBe('00:00:00:00');
    expect(formatTimecode(23, NTSC_FILM)).toBe('00:00:00:23');
    expect(formatTimecode(24, NTSC_FILM)).toBe('00:00:01:00');
    expect(formatTimecode(86_400, NTSC_FILM)).toBe('01:00:00:00');
  });

  it('uses drop-frame at 29.97', () => {
    expect(formatTimecode(1799, NTSC_VIDEO)).toBe('00:00:59;29');
    expect(formatTimecode(1800, NTSC_VIDEO)).toBe('00:01:00;02');
    expect(formatTimecode(17_982, NTSC_VIDEO)).toBe('00:10:00;00');
    expect(formatTimecode(107_892, NTSC_VIDEO)).toBe('01:00:00;00');
  });

  it('counts integer rates plainly', () => {
    expect(formatTimecode(25 * 61 + 3, { num: 25, den: 1 })).toBe('00:01:01:03');
  });

  it('formats durations and frame counts for people', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(65)).toBe('1:05');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(describeFrames(96, { num: 24, den: 1 })).toBe('96 frames · 4.0 s');
  });
});
