import { describe, expect, it } from 'vitest';

import { makeTimeline } from './fixtures';
import {
  buildSchedule,
  clampToCut,
  clipIndexAt,
  clipOutSeconds,
  frameAtSourceTime,
  locate,
  nextClip,
  nextVideoClip,
  NO_PROXY,
  NOT_APPROVED,
} from './schedule';

describe('buildSchedule', () => {
  it('lays shots end to end with absolute frames and slates for shots without a pick', () => {
    const tl = makeTimeline('24/1', [
      [
        { proxy: '/a.mp4', in: 12, frames: 48 },
        { proxy: null, frames: 30, title: 'The storm' },
      ],
      [
        { proxy: 'no-proxy', frames: 20 },
        { proxy: '/d.mp4', frames: 24 },
      ],
    ]);
    const s = buildSchedule(tl);
    expect(s.rate).toEqual({ num: 24, den: 1 });
    expect(s.duration).toBe(122);
    expect(s.duration).toBe(tl.duration_frames);
    expect(s.clips.map((c) => [c.kind, c.start, c.end, c.sourceIn, c.src])).toEqual([
      ['video', 0, 48, 12, '/a.mp4'],
      ['slate', 48, 78, 0, null],
      ['slate', 78, 98, 0, null],
      ['video', 98, 122, 0, '/d.mp4'],
    ]);
    expect(s.clips[1].slate).toEqual({ line1: 'SEGMENT 1 · SHOT 2', line2: NOT_APPROVED });
    // Numbering restarts per segment, as on the export's slates.
    expect(s.clips[2].slate).toEqual({ line1: 'SEGMENT 2 · SHOT 1', line2: NO_PROXY });
    expect(s.clips[1].shotTitle).toBe('The storm');
  });

  it('matches the server length with crossfades and cuts in the middle of the overlap', () => {
    const tl = makeTimeline('25/1', [
      [
        { proxy: '/a.mp4', in: 5, frames: 50 },
        { proxy: '/b.mp4', in: 10, frames: 40, crossfade: 10 },
      ],
      // A crossfade into a segment's first shot has nothing to mix with: a cut.
      [{ proxy: '/c.mp4', frames: 25, crossfade: 12 }],
    ]);
    const s = buildSchedule(tl);
    expect(s.duration).toBe(50 + 40 - 10 + 25);
    expect(s.duration).toBe(tl.duration_frames);
    const [a, b, c] = s.clips;
    // b's full extent starts at 40 (50 - 10); the cut is at 45, five frames into b.
    expect([a.start, a.end]).toEqual([0, 45]);
    expect([b.start, b.end, b.sourceIn]).toEqual([45, 80, 15]);
    expect([c.start, c.end, c.sourceIn]).toEqual([80, 105, 0]);
  });

  it('drops shots a long crossfade hides completely and keeps clips contiguous', () => {
    const tl = makeTimeline('24/1', [
      [
        { proxy: '/a.mp4', frames: 10 },
        { proxy: '/b.mp4', frames: 4, crossfade: 4 },
        { proxy: '/c.mp4', frames: 20, crossfade: 20 },
      ],
    ]);
    const s = buildSchedule(tl);
    expect(s.duration).toBe(tl.duration_frames);
    for (let i = 1; i < s.clips.length; i += 1) expect(s.clips[i].start).toBe(s.clips[i - 1].end);
    expect(s.clips[0].start).toBe(0);
    expect(s.clips[s.clips.length - 1].end).toBe(s.duration);
    s.clips.forEach((c, i) => expect(c.index).toBe(i));
  });

  it('is empty for a timeline without shots', () => {
    const s = buildSchedule(makeTimeline('24/1', [[], []]));
    expect(s.clips).toEqual([]);
    expect(s.duration).toBe(0);
    expect(locate(s, 0)).toBeNull();
    expect(clampToCut(s, 10)).toBe(0);
  });
});

describe('frame → clip and source time', () => {
  const rates: Array<[string, number, number]> = [
    ['24/1', 24, 1],
    ['25/1', 25, 1],
    ['24000/1001', 24000, 1001],
    ['30000/1001', 30000, 1001],
  ];

  for (const [rational, num, den] of rates) {
    it(`maps frames exactly at ${rational}`, () => {
      const tl = makeTimeline(rational, [
        [
          { proxy: '/a.mp4', in: 7, frames: 100 },
          { proxy: '/b.mp4', in: 3, frames: 200_000 },
        ],
      ]);
      const s = buildSchedule(tl);
      expect(s.rate).toEqual({ num, den });

      const first = locate(s, 40)!;
      expect(first.clip.src).toBe('/a.mp4');
      expect(first.offset).toBe(40);
      expect(first.sourceFrame).toBe(47);
      expect(first.sourceSeconds).toBeCloseTo((47 * den) / num, 12);
      expect(first.seekTime).toBeCloseTo((47.5 * den) / num, 12);

      // The join: the last frame of a, then the first of b at its in point.
      expect(locate(s, 99)!.sourceFrame).toBe(106);
      const join = locate(s, 100)!;
      expect(join.clip.src).toBe('/b.mp4');
      expect(join.offset).toBe(0);
      expect(join.sourceSeconds).toBeCloseTo((3 * den) / num, 12);

      // Two hours in: computed from integers, never accumulated, so it does not drift
      // (29.97 as a float would be 6 ms off here).
      const deep = locate(s, 100 + 180_000)!;
      expect(deep.sourceFrame).toBe(180_003);
      expect(deep.sourceSeconds).toBeCloseTo((180_003 * den) / num, 9);
      expect(frameAtSourceTime(deep.clip, deep.seekTime, s.rate)).toBe(100 + 180_000);
    });

    it(`round-trips every frame near joins through the video's currentTime at ${rational}`, () => {
      const tl = makeTimeline(rational, [
        [
          { proxy: '/a.mp4', in: 11, frames: 37 },
          { proxy: '/b.mp4', in: 2, frames: 41 },
        ],
        [{ proxy: '/c.mp4', in: 1001, frames: 29 }],
      ]);
      const s = buildSchedule(tl);
      for (let f = 0; f < s.duration; f += 1) {
        const loc = locate(s, f)!;
        // The middle of the frame and its exact start both read back as the same frame.
        expect(frameAtSourceTime(loc.clip, loc.seekTime, s.rate)).toBe(f);
        expect(frameAtSourceTime(loc.clip, loc.sourceSeconds, s.rate)).toBe(f);
      }
      // At the out point the clip has played out: the frame read is the first after it.
      const a = s.clips[0];
      expect(frameAtSourceTime(a, clipOutSeconds(a, s.rate), s.rate)).toBe(a.end);
      expect(clipOutSeconds(a, s.rate)).toBeCloseTo(((11 + 37) * den) / num, 12);
    });
  }

  it('reads the rate from fps_rational, not the rounded display fps', () => {
    const s = buildSchedule(makeTimeline('24000/1001', [[{ proxy: '/a.mp4', frames: 10 }]], 23.98));
    expect(s.rate).toEqual({ num: 24000, den: 1001 });
  });
});

describe('lookups', () => {
  const tl = makeTimeline('24/1', [
    [
      { proxy: '/a.mp4', frames: 10 },
      { proxy: null, frames: 5 },
      { proxy: null, frames: 5 },
    ],
    [{ proxy: '/d.mp4', frames: 10 }],
  ]);
  const s = buildSchedule(tl);

  it('finds the clip at each frame and nothing outside the cut', () => {
    expect([0, 9, 10, 14, 15, 19, 20, 29].map((f) => clipIndexAt(s, f))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(clipIndexAt(s, -1)).toBe(-1);
    expect(clipIndexAt(s, 30)).toBe(-1);
    expect(locate(s, 30)).toBeNull();
  });

  it('slates last exactly the shot’s frames', () => {
    const slateFrames = Array.from({ length: s.duration }, (_, f) => locate(s, f)!.clip).filter((c) => c.kind === 'slate');
    expect(slateFrames.length).toBe(10);
  });

  it('knows the next clip, the next one to preload and the end of the film', () => {
    expect(nextClip(s, 0)?.index).toBe(1);
    expect(nextClip(s, 3)).toBeNull();
    expect(nextClip(s, 0, -1)).toBeNull();
    // Preloading skips slates: d is loaded while a plays.
    expect(nextVideoClip(s, 0)?.src).toBe('/d.mp4');
    expect(nextVideoClip(s, 2)?.src).toBe('/d.mp4');
    expect(nextVideoClip(s, 3)).toBeNull();
    expect(nextVideoClip(s, 3, -1)?.src).toBe('/a.mp4');
    expect(clampToCut(s, 1000)).toBe(29);
    expect(clampToCut(s, -4)).toBe(0);
  });
});
