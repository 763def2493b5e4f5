import { describe, expect, it } from 'vitest';

import { makeTimeline } from './fixtures';
import {
  buildSchedule,
  clampToCut,
  clipIndexAt,
  clipOutSeconds,
  entrySeekTime,
  frameAtSourceTime,
  layersAt,
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

  it('matches the server length with crossfades; the incoming clip is on screen from the end of the overlap', () => {
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
    // b's full extent starts at 40 (50 - 10); a stays on screen to its end (50), b blended over it.
    expect([a.start, a.end]).toEqual([0, 50]);
    expect([b.start, b.end, b.sourceIn]).toEqual([50, 80, 20]);
    expect(b.crossfade).toEqual({ frames: 10, shown: 10 });
    expect([c.start, c.end, c.sourceIn, c.crossfade]).toEqual([80, 105, 0, null]);
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

describe('layersAt: transitions as the export renders them (apps/rendering/engine/segment.py)', () => {
  interface Spec {
    proxy: string | null;
    in?: number;
    frames: number;
    kind?: 'cut' | 'crossfade' | 'fade_black';
    n?: number;
  }

  function timeline(rational: string, segments: Spec[][]) {
    return makeTimeline(
      rational,
      segments.map((shots) =>
        shots.map((sh) => ({
          proxy: sh.proxy,
          in: sh.in,
          frames: sh.frames,
          crossfade: sh.kind === 'crossfade' ? sh.n : undefined,
          fadeBlack: sh.kind === 'fade_black' ? sh.n : undefined,
        })),
      ),
    );
  }

  /**
   * The export's picture at each frame, as weights of shot frames (written from segment.py's
   * terms: xfade = A × (1 − i/n) + B × i/n over the overlap, fade in = j/n from black, fade
   * out = 1 − k/n): frame → [[shot id, source frame, weight]].
   */
  function exportMix(segments: Spec[][]): Array<Array<[string, number, number]>> {
    const out: Array<Array<[string, number, number]>> = [];
    let base = 0;
    let shotNo = 0;
    for (const shots of segments) {
      const laid = shots.map((sh) => ({ sh, id: '', start: 0, headXf: 0, tailXf: 0, fadeIn: 0, fadeOut: 0 }));
      let pos = base;
      laid.forEach((l, k) => {
        shotNo += 1;
        l.id = `shot-${shotNo}`;
        const n = l.sh.n ?? 0;
        l.start = pos;
        if (l.sh.kind === 'crossfade' && k > 0 && n > 0) {
          l.headXf = Math.min(n, l.sh.frames);
          laid[k - 1].tailXf = l.headXf;
          l.start = pos = pos - l.headXf;
        } else if (l.sh.kind === 'fade_black' && n > 0) {
          l.fadeIn = n - Math.floor(n / 2);
          if (k > 0) laid[k - 1].fadeOut = Math.floor(n / 2);
        }
        pos += l.sh.frames;
      });
      laid.forEach((l) => {
        const room = l.sh.frames - l.headXf - l.tailXf;
        l.fadeIn = Math.min(l.fadeIn, room);
        l.fadeOut = Math.min(l.fadeOut, room - l.fadeIn);
        for (let j = 0; j < l.sh.frames; j += 1) {
          let w = 1;
          if (j < l.headXf) w *= j / l.headXf;
          if (j >= l.sh.frames - l.tailXf) w *= 1 - (j - (l.sh.frames - l.tailXf)) / l.tailXf;
          if (j < l.fadeIn) w *= j / l.fadeIn;
          if (j >= l.sh.frames - l.fadeOut) w *= 1 - (j - (l.sh.frames - l.fadeOut)) / l.fadeOut;
          (out[l.start + j] ??= []).push([l.id, (l.sh.in ?? 0) + j, w]);
        }
      });
      base = pos;
    }
    return out;
  }

  /** The browser's picture: each layer over what is below it, over black. */
  function browserMix(s: ReturnType<typeof buildSchedule>, frame: number): Array<[string, number, number]> {
    const mix: Array<[string, number, number]> = [];
    for (const layer of layersAt(s, frame)) {
      mix.forEach((m) => (m[2] *= 1 - layer.opacity));
      mix.push([layer.clip.shotId, layer.sourceFrame, layer.opacity]);
    }
    return mix;
  }

  const norm = (mix: Array<[string, number, number]>) =>
    mix.filter((m) => m[2] > 1e-9).map(([id, src, w]) => [id, src, Math.round(w * 1e9) / 1e9]).sort();

  const rates: Array<[string, number, number]> = [
    ['24/1', 24, 1],
    ['25/1', 25, 1],
    ['24000/1001', 24000, 1001],
    ['30000/1001', 30000, 1001],
  ];

  const CASES: Array<[string, Spec[][]]> = [
    [
      'crossfades of 1, 2, 7 and 12 frames',
      [
        [
          { proxy: '/a.mp4', in: 5, frames: 40 },
          { proxy: '/b.mp4', in: 3, frames: 30, kind: 'crossfade', n: 1 },
          { proxy: '/c.mp4', frames: 30, kind: 'crossfade', n: 2 },
          { proxy: '/d.mp4', in: 100, frames: 30, kind: 'crossfade', n: 7 },
          { proxy: '/e.mp4', frames: 30, kind: 'crossfade', n: 12 },
        ],
      ],
    ],
    [
      'fades to black of 1, 2, 7 and 10 frames, and into a segment’s first shot',
      [
        [
          { proxy: '/a.mp4', in: 5, frames: 40, kind: 'fade_black', n: 6 },
          { proxy: '/b.mp4', frames: 30, kind: 'fade_black', n: 1 },
          { proxy: '/c.mp4', frames: 30, kind: 'fade_black', n: 2 },
          { proxy: '/d.mp4', frames: 30, kind: 'fade_black', n: 7 },
        ],
        [
          { proxy: '/e.mp4', in: 9, frames: 30, kind: 'fade_black', n: 10 },
          { proxy: '/f.mp4', frames: 20, kind: 'fade_black', n: 10 },
        ],
      ],
    ],
    [
      'crossfade into a segment’s first shot (a cut), mixed with fades and a shot between two crossfades',
      [
        [
          { proxy: '/a.mp4', frames: 30 },
          { proxy: '/b.mp4', frames: 20, kind: 'crossfade', n: 8 },
          { proxy: '/c.mp4', in: 4, frames: 20, kind: 'crossfade', n: 12 },
          { proxy: '/d.mp4', frames: 30, kind: 'fade_black', n: 9 },
        ],
        [
          { proxy: '/e.mp4', frames: 30, kind: 'crossfade', n: 12 },
          { proxy: '/f.mp4', frames: 25, kind: 'crossfade', n: 13 },
        ],
      ],
    ],
  ];

  for (const [rational, num, den] of rates) {
    for (const [name, segments] of CASES) {
      it(`matches the export frame for frame at ${rational}: ${name}`, () => {
        const tl = timeline(rational, segments);
        const s = buildSchedule(tl);
        const expected = exportMix(segments);
        expect(s.duration).toBe(tl.duration_frames);
        expect(s.duration).toBe(expected.length);
        for (let f = 0; f < s.duration; f += 1) {
          expect([f, norm(browserMix(s, f))]).toEqual([f, norm(expected[f])]);
          for (const layer of layersAt(s, f)) {
            expect(layer.sourceSeconds).toBeCloseTo((layer.sourceFrame * den) / num, 12);
            expect(layer.seekTime).toBeCloseTo(((layer.sourceFrame + 0.5) * den) / num, 12);
            expect(layer.opacity).toBeGreaterThanOrEqual(0);
            expect(layer.opacity).toBeLessThanOrEqual(1);
          }
        }
        expect(layersAt(s, s.duration)).toEqual([]);
        expect(layersAt(s, -1)).toEqual([]);
      });
    }
  }

  it('crossfade: the incoming clip over the outgoing one from 0 up, on the overlap’s first and last frames', () => {
    const tl = timeline('24000/1001', [
      [
        { proxy: '/a.mp4', in: 5, frames: 50 },
        { proxy: '/b.mp4', in: 10, frames: 40, kind: 'crossfade', n: 8 },
      ],
    ]);
    const s = buildSchedule(tl);
    expect(s.duration).toBe(82);
    const summary = (f: number) => layersAt(s, f).map((l) => [l.role, l.clip.src, l.sourceFrame, l.opacity, Math.round(l.gain * 1e9) / 1e9]);
    expect(summary(41)).toEqual([['base', '/a.mp4', 46, 1, 1]]);
    // first frame of the overlap: b at opacity 0, on its first frame (its in point)
    expect(summary(42)).toEqual([
      ['base', '/a.mp4', 47, 1, 1],
      ['over', '/b.mp4', 10, 0, 0],
    ]);
    expect(summary(45)).toEqual([
      ['base', '/a.mp4', 50, 1, 0.625],
      ['over', '/b.mp4', 13, 3 / 8, 0.375],
    ]);
    // last frame of the overlap: a's last frame, b at 7/8
    expect(summary(49)).toEqual([
      ['base', '/a.mp4', 54, 1, 0.125],
      ['over', '/b.mp4', 17, 7 / 8, 0.875],
    ]);
    // the swap: b alone, on the frame after
    expect(summary(50)).toEqual([['base', '/b.mp4', 18, 1, 1]]);
    expect(layersAt(s, 45)[1].seekTime).toBeCloseTo((13.5 * 1001) / 24000, 12);
    // the other clips keep their timing: b ends where the server says
    expect(s.clips[1].end).toBe(82);
  });

  it('fade_black: the last n/2 frames of the outgoing shot fade down, the first n − n/2 of the next fade up', () => {
    const tl = timeline('25/1', [
      [
        { proxy: '/a.mp4', frames: 30 },
        { proxy: '/b.mp4', in: 2, frames: 30, kind: 'fade_black', n: 7 },
      ],
    ]);
    const s = buildSchedule(tl);
    expect(s.duration).toBe(60); // nothing overlaps
    const level = (f: number) => layersAt(s, f).map((l) => [l.clip.src, l.sourceFrame, Math.round(l.opacity * 1e9) / 1e9]);
    expect(level(26)).toEqual([['/a.mp4', 26, 1]]);
    expect(level(27)).toEqual([['/a.mp4', 27, 1]]); // first of a's 3 fading frames
    expect(level(28)).toEqual([['/a.mp4', 28, Math.round((2 / 3) * 1e9) / 1e9]]);
    expect(level(29)).toEqual([['/a.mp4', 29, Math.round((1 / 3) * 1e9) / 1e9]]); // last frame of a
    expect(level(30)).toEqual([['/b.mp4', 2, 0]]); // b starts black
    expect(level(31)).toEqual([['/b.mp4', 3, 0.25]]);
    expect(level(33)).toEqual([['/b.mp4', 5, 0.75]]); // last of b's 4 fading frames
    expect(level(34)).toEqual([['/b.mp4', 6, 1]]);
    expect(layersAt(s, 31)[0].gain).toBe(0.25);
  });

  it('ignores a crossfade into a segment’s first shot (the server counts no overlap) but keeps a fade-up', () => {
    const tl = timeline('24/1', [
      [{ proxy: '/a.mp4', frames: 20 }],
      [{ proxy: '/b.mp4', frames: 20, kind: 'crossfade', n: 6 }],
      [{ proxy: '/c.mp4', frames: 20, kind: 'fade_black', n: 6 }],
    ]);
    const s = buildSchedule(tl);
    expect(s.duration).toBe(60);
    expect(s.duration).toBe(tl.duration_frames);
    expect(s.clips[1].crossfade).toBeNull();
    expect(layersAt(s, 19).map((l) => [l.clip.src, l.opacity])).toEqual([['/a.mp4', 1]]); // no fade out across segments
    expect(layersAt(s, 20).map((l) => [l.clip.src, l.opacity])).toEqual([['/b.mp4', 1]]);
    expect(layersAt(s, 39).map((l) => [l.clip.src, l.opacity])).toEqual([['/b.mp4', 1]]);
    expect(layersAt(s, 40).map((l) => [l.clip.src, l.opacity])).toEqual([['/c.mp4', 0]]);
    expect(layersAt(s, 42).map((l) => [l.clip.src, l.opacity])).toEqual([['/c.mp4', 2 / 3]]);
    expect(layersAt(s, 43).map((l) => [l.clip.src, l.opacity])).toEqual([['/c.mp4', 1]]);
  });

  it('falls back to a cut at the end of the overlap when a slate or a broken proxy is on either side', () => {
    const tl = timeline('24/1', [
      [
        { proxy: '/a.mp4', frames: 20 },
        { proxy: null, frames: 20, kind: 'crossfade', n: 6 },
        { proxy: '/c.mp4', frames: 20, kind: 'crossfade', n: 4 },
        { proxy: '/d.mp4', frames: 20, kind: 'crossfade', n: 4 },
      ],
    ]);
    const s = buildSchedule(tl);
    expect(s.duration).toBe(80 - 14);
    expect(s.clips.map((c) => [c.kind, c.start, c.end, c.crossfade?.shown ?? null])).toEqual([
      ['video', 0, 20, null],
      ['slate', 20, 34, 0],
      ['video', 34, 50, 0],
      ['video', 50, 66, 4],
    ]);
    expect(layersAt(s, 19).map((l) => l.clip.kind)).toEqual(['video']);
    expect(layersAt(s, 33).map((l) => l.clip.kind)).toEqual(['slate']);
    expect(layersAt(s, 46).map((l) => l.clip.src)).toEqual(['/c.mp4', '/d.mp4']);
    // c's proxy failed to load: c is a slate, so no blend
    expect(layersAt(s, 46, new Set([2])).map((l) => [l.clip.src, l.role])).toEqual([['/c.mp4', 'base']]);
    expect(layersAt(s, 46, new Set([3])).map((l) => l.role)).toEqual(['base']);
 
    // A shot a crossfade hides completely (crossfade as long as the shot) has no clip on
    // screen and is not blended (the export would show it over the previous shot's end).
    const hidden = buildSchedule(
      timeline('24/1', [
        [
          { proxy: '/a.mp4', frames: 20 },
          { proxy: '/b.mp4', frames: 6, kind: 'crossfade', n: 6 },
          { proxy: '/c.mp4', frames: 20 },
        ],
      ]),
    );
    expect(hidden.duration).toBe(40);
    expect(hidden.clips.map((c) => [c.src, c.start, c.end])).toEqual([
      ['/a.mp4', 0, 20],
      ['/c.mp4', 20, 40],
    ]);
    expect(layersAt(hidden, 19).map((l) => l.clip.src)).toEqual(['/a.mp4']);
  });

  it('parks a clip blended in by a crossfade on the overlap’s first frame', () => {
    const tl = timeline('30000/1001', [
      [
        { proxy: '/a.mp4', frames: 40 },
        { proxy: '/b.mp4', in: 10, frames: 40, kind: 'crossfade', n: 9 },
        { proxy: '/c.mp4', in: 3, frames: 40 },
      ],
    ]);
    const s = buildSchedule(tl);
    expect(entrySeekTime(s.clips[1], s.rate)).toBeCloseTo((10.5 * 1001) / 30000, 12);
    expect(entrySeekTime(s.clips[2], s.rate)).toBeCloseTo((3.5 * 1001) / 30000, 12);
  });
});
