import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { CutEngine, type EngineState } from './engine';
import { makeTimeline, manualScheduler, playTo } from './fixtures';
import { buildSchedule } from './schedule';

// a (12 → 60), b (0 → 24), a slate of 30 frames, d (0 → 24): 126 frames at 24 fps
const TL = makeTimeline('24/1', [
  [
    { proxy: '/a.mp4', in: 12, frames: 48 },
    { proxy: '/b.mp4', frames: 24 },
    { proxy: null, frames: 30 },
  ],
  [{ proxy: '/d.mp4', frames: 24 }],
]);

let videos: [HTMLVideoElement, HTMLVideoElement];
let engine: CutEngine;
let clock: ReturnType<typeof manualScheduler>;
let reported: number[];
let last: EngineState;

function setup(timeline = TL) {
  videos = [document.createElement('video'), document.createElement('video')];
  clock = manualScheduler();
  reported = [];
  engine = new CutEngine(
    videos,
    buildSchedule(timeline),
    (s) => {
      last = s;
    },
    (f) => reported.push(f),
    clock,
  );
}

const src = (v: HTMLVideoElement) => v.getAttribute('src');
const active = () => videos.findIndex((v) => v.dataset.active === 'true');

beforeEach(() => setup());
afterEach(() => {
  engine.destroy();
  vi.useRealTimers();
});

describe('CutEngine', () => {
  it('shows the first clip at its in point and preloads the next one into the hidden video', () => {
    engine.seek(0);
    expect(src(videos[0])).toBe('/a.mp4');
    expect(videos[0].currentTime).toBeCloseTo(12.5 / 24, 9);
    expect(active()).toBe(0);
    expect(src(videos[1])).toBe('/b.mp4');
    expect(videos[1].currentTime).toBeCloseTo(0.5 / 24, 9);
    expect(videos[1].muted).toBe(true);
    expect(videos[0].muted).toBe(false);
    expect(reported).toEqual([0]);
  });

  it('follows the playing video and swaps to the preloaded one at the join without reloading it', () => {
    engine.seek(0);
    engine.play();
    expect(videos[0].paused).toBe(false);
    const preloaded = videos[1];
    const srcSet = vi.spyOn(preloaded, 'src', 'set');

    playTo(videos[0], (12 + 30.4) / 24);
    expect(last.frame).toBe(30);
    clock.advance(16);
    expect(reported.at(-1)).toBe(30);

    playTo(videos[0], (12 + 47.5) / 24);
    expect(last.frame).toBe(47);
    expect(active()).toBe(0);

    playTo(videos[0], (12 + 48.1) / 24);
    expect(active()).toBe(1);
    expect(videos[1].paused).toBe(false);
    expect(videos[0].paused).toBe(true);
    expect(srcSet).not.toHaveBeenCalled();
    expect(last.frame).toBe(48);
    expect(last.clipIndex).toBe(1);
    // The video that finished now holds the next clip with a proxy (d, past the slate).
    expect(src(videos[0])).toBe('/d.mp4');
    expect(videos[0].currentTime).toBeCloseTo(0.5 / 24, 9);
  });

  it('cuts on a timer just before the out point instead of waiting for the next animation frame', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    engine.seek(0);
    engine.play();
    playTo(videos[0], (12 + 47.2) / 24); // 0.8 frame (33 ms) before the out point
    expect(active()).toBe(0);
    vi.advanceTimersByTime(40);
    expect(active()).toBe(1);
    expect(last.frame).toBe(48);
  });

  it('times a slate by the clock for exactly its frames, then plays the next clip', () => {
    engine.seek(60);
    expect(last.slate).toBe(false);
    engine.play();
    const b = videos[active()];
    expect(src(b)).toBe('/b.mp4');
    playTo(b, 24.2 / 24); // b played out
    expect(last.slate).toBe(true);
    expect(last.clipIndex).toBe(2);
    expect(last.frame).toBe(72);
    expect(videos.every((v) => v.paused)).toBe(true);
    // d is already waiting at its in point under the slate.
    expect(videos.some((v) => src(v) === '/d.mp4' && Math.abs(v.currentTime - 0.5 / 24) < 1e-9)).toBe(true);

    clock.advance(1000); // one second = 24 frames of the 30
    expect(last.frame).toBe(96);
    expect(last.slate).toBe(true);
    clock.advance(1000 * (5 / 24) + 1);
    expect(last.frame).toBe(101);
    expect(last.slate).toBe(true);
    clock.advance(1000 / 24);
    expect(last.slate).toBe(false);
    expect(last.frame).toBe(102);
    const d = videos.find((v) => src(v) === '/d.mp4')!;
    expect(d.dataset.active).toBe('true');
    expect(d.paused).toBe(false);
  });

  it('stops on the last frame at the end of the film', () => {
    engine.seek(110);
    engine.play();
    const d = videos.find((v) => src(v) === '/d.mp4')!;
    playTo(d, 24.3 / 24);
    expect(last.playing).toBe(false);
    expect(last.frame).toBe(125);
    expect(d.paused).toBe(true);
    // Play again from the end starts over.
    engine.play();
    expect(last.frame).toBe(0);
    expect(last.playing).toBe(true);
  });

  it('steps frames across a join and clamps at both ends', () => {
    engine.seek(47);
    engine.step(1);
    expect(last.frame).toBe(48);
    expect(videos[active()].getAttribute('src')).toBe('/b.mp4');
    expect(videos[active()].currentTime).toBeCloseTo(0.5 / 24, 9);
    engine.step(-1);
    expect(last.frame).toBe(47);
    expect(videos[active()].getAttribute('src')).toBe('/a.mp4');
    expect(videos[active()].currentTime).toBeCloseTo((12 + 47.5) / 24, 9);
    engine.seek(-5);
    expect(last.frame).toBe(0);
    engine.seek(10_000);
    expect(last.frame).toBe(125);
  });

  it('J shuttles backwards by timed seeks, faster when pressed again; K stops', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    engine.seek(50);
    engine.backward();
    expect(last.playing).toBe(true);
    expect(last.speed).toBe(-1);
    vi.advanceTimersByTime(1000 / 24 + 1);
    expect(last.frame).toBe(49);
    vi.advanceTimersByTime(1000 / 24);
    expect(last.frame).toBe(48);
    vi.advanceTimersByTime(1000 / 24);
    expect(last.frame).toBe(47); // back across the join into a
    expect(videos[active()].getAttribute('src')).toBe('/a.mp4');
    expect(videos.every((v) => v.paused)).toBe(true);
    engine.backward();
    expect(last.speed).toBe(-2);
    vi.advanceTimersByTime(1000 / 24 + 1);
    expect(last.frame).toBe(45);
    engine.pause();
    expect(last.playing).toBe(false);
    vi.advanceTimersByTime(500);
    expect(last.frame).toBe(45);
  });

  it('L plays forward and faster on each press', () => {
    engine.seek(0);
    engine.forward();
    expect(last.playing).toBe(true);
    expect(videos[0].playbackRate).toBe(1);
    engine.forward();
    expect(videos[0].playbackRate).toBe(2);
    expect(last.speed).toBe(2);
    engine.forward();
    expect(videos[0].playbackRate).toBe(4);
    engine.toggle();
    expect(last.playing).toBe(false);
    expect(videos[0].paused).toBe(true);
  });

  it('shows a proxy that fails to load as a slate and plays on', () => {
    engine.seek(0);
    engine.play();
    videos[0].dispatchEvent(new Event('error'));
    expect(last.slate).toBe(true);
    expect(last.broken).toEqual([0]);
    expect(last.playing).toBe(true);
    clock.advance(2000);
    expect(last.frame).toBe(48);
    expect(last.slate).toBe(false);
  });

  it('keeps the playhead over a new edit and reloads only what changed', () => {
    engine.seek(50);
    const b = videos[active()];
    const srcSet = vi.spyOn(b, 'src', 'set');
    // Shot a trimmed by 8 frames: frame 50 is now 10 frames into b.
    engine.setSchedule(
      buildSchedule(
        makeTimeline('24/1', [
          [
            { proxy: '/a.mp4', in: 12, frames: 40 },
            { proxy: '/b.mp4', frames: 24 },
          ],
        ]),
      ),
    );
    expect(last.frame).toBe(50);
    expect(videos[active()]).toBe(b);
    expect(b.currentTime).toBeCloseTo(10.5 / 24, 9);
    expect(srcSet).not.toHaveBeenCalled();
  });
});

describe('CutEngine: transitions', () => {
  // a (in 12, 48 frames), then b (24 frames) crossfading in over a's last 8: 64 frames at 24 fps.
  // b is the clip on screen from 48 (source 8); over 40–47 it plays over a at i/8.
  const XF = makeTimeline('24/1', [
    [
      { proxy: '/a.mp4', in: 12, frames: 48 },
      { proxy: '/b.mp4', frames: 24, crossfade: 8 },
    ],
  ]);
  const opacity = (v: HTMLVideoElement) => (v.style.opacity === '' ? 1 : Number(v.style.opacity));
  const over = (v: HTMLVideoElement) => v.dataset.over === 'true';

  it('plays the incoming clip over the outgoing one during a crossfade, in step, and swaps after the overlap', () => {
    setup(XF);
    engine.seek(0);
    const [a, b] = videos;
    expect(src(b)).toBe('/b.mp4');
    expect(b.currentTime).toBeCloseTo(0.5 / 24, 9); // parked on the overlap's first frame
    engine.play();
    playTo(a, (12 + 39.5) / 24);
    expect(last.frame).toBe(39);
    expect(b.paused).toBe(true);
    expect(over(b)).toBe(false);

    // First frame of the overlap: b starts playing over a, transparent.
    playTo(a, (12 + 40.2) / 24);
    expect(last.frame).toBe(40);
    expect(active()).toBe(0);
    expect(a.paused).toBe(false);
    expect(b.paused).toBe(false);
    expect(over(b)).toBe(true);
    expect(opacity(b)).toBe(0);
    expect(opacity(a)).toBe(1);
    expect(b.muted).toBe(false);
    expect(b.volume).toBe(0);
    expect(a.volume).toBe(1);
    expect(b.currentTime).toBeCloseTo(0.5 / 24, 9); // close enough: not re-seeked

    // b fell behind (here it does not advance by itself): put back in step with the playhead.
    playTo(a, (12 + 44.5) / 24);
    expect(last.frame).toBe(44);
    expect(b.currentTime).toBeCloseTo(4.5 / 24, 9);
    expect(opacity(b)).toBe(0.5);
    expect(a.volume).toBeCloseTo(0.5, 3);
    expect(b.volume).toBeCloseTo(0.5, 3);

    // Both play on; the last frame of the overlap.
    b.currentTime = 7.3 / 24;
    playTo(a, (12 + 47.3) / 24);
    expect(last.frame).toBe(47);
    expect(b.currentTime).toBeCloseTo(7.3 / 24, 9);
    expect(opacity(b)).toBe(7 / 8);
    expect(active()).toBe(0);

    // End of the overlap: b (already playing) is the clip on screen, a stops.
    const seekB = vi.spyOn(b, 'currentTime', 'set');
    b.currentTime = 7.9 / 24; // a little behind a: not worth a seek (it would stutter)
    seekB.mockClear();
    playTo(a, (12 + 48.05) / 24);
    expect(active()).toBe(1);
    expect(last.clipIndex).toBe(1);
    expect(last.frame).toBe(48);
    expect(b.paused).toBe(false);
    expect(a.paused).toBe(true);
    expect(seekB).not.toHaveBeenCalled(); // no hiccup at the swap
    expect(over(a)).toBe(false);
    expect(over(b)).toBe(false);
    expect(opacity(b)).toBe(1);
    expect(b.volume).toBe(1);
    playTo(b, 10.2 / 24);
    expect(last.frame).toBe(50);
  });

  it('shows the blend of the frame when seeking and stepping into a crossfade', () => {
    setup(XF);
    engine.seek(45);
    const a = videos.find((v) => src(v) === '/a.mp4')!;
    const b = videos.find((v) => src(v) === '/b.mp4')!;
    expect(a.dataset.active).toBe('true');
    expect(a.currentTime).toBeCloseTo((12 + 45.5) / 24, 9);
    expect(over(b)).toBe(true);
    expect(b.currentTime).toBeCloseTo(5.5 / 24, 9);
    expect(opacity(b)).toBe(5 / 8);
    expect(a.paused && b.paused).toBe(true);

    engine.step(2);
    expect(last.frame).toBe(47);
    expect(b.currentTime).toBeCloseTo(7.5 / 24, 9);
    expect(opacity(b)).toBe(7 / 8);
    engine.step(1);
    expect(last.frame).toBe(48);
    expect(b.dataset.active).toBe('true');
    expect(b.currentTime).toBeCloseTo(8.5 / 24, 9);
    expect(over(a)).toBe(false);
    expect(a.dataset.active).toBe('false');
    engine.step(-1);
    expect(last.frame).toBe(47);
    expect(a.dataset.active).toBe('true');
    expect(a.currentTime).toBeCloseTo((12 + 47.5) / 24, 9);
    expect(over(b)).toBe(true);
    expect(b.currentTime).toBeCloseTo(7.5 / 24, 9);
    engine.seek(39);
    expect(over(b)).toBe(false);
    expect(over(a)).toBe(false);
    expect(b.currentTime).toBeCloseTo(0.5 / 24, 9); // parked again for the crossfade ahead
  });

  it('seeking into a crossfade while playing starts both videos; pausing settles both on the frame', () => {
    setup(XF);
    engine.seek(0);
    engine.play();
    engine.seek(42);
    const [a, b] = videos;
    expect(a.paused).toBe(false);
    expect(b.paused).toBe(false);
    expect(b.currentTime).toBeCloseTo(2.5 / 24, 9);
    expect(opacity(b)).toBe(2 / 8);
    engine.forward();
    expect(a.playbackRate).toBe(2);
    expect(b.playbackRate).toBe(2);
    playTo(a, (12 + 43.6) / 24);
    engine.pause();
    expect(a.paused && b.paused).toBe(true);
    expect(last.frame).toBe(43);
    expect(b.currentTime).toBeCloseTo(3.5 / 24, 9);
    expect(opacity(b)).toBe(3 / 8);
  });

  it('J goes back through a crossfade with both videos positioned on each frame', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    setup(XF);
    engine.seek(49);
    engine.backward();
    vi.advanceTimersByTime(1000 / 24 + 1);
    expect(last.frame).toBe(48);
    vi.advanceTimersByTime(1000 / 24);
    expect(last.frame).toBe(47);
    const a = videos.find((v) => src(v) === '/a.mp4')!;
    const b = videos.find((v) => src(v) === '/b.mp4')!;
    expect(a.dataset.active).toBe('true');
    expect(over(b)).toBe(true);
    expect(b.currentTime).toBeCloseTo(7.5 / 24, 9);
    expect(b.muted).toBe(true);
    vi.advanceTimersByTime(1000 / 24);
    expect(last.frame).toBe(46);
    expect(b.currentTime).toBeCloseTo(6.5 / 24, 9);
    expect(opacity(b)).toBe(6 / 8);
    expect(videos.every((v) => v.paused)).toBe(true);
    engine.pause();
  });

  it('a crossfade into a proxy that fails to load becomes a cut', () => {
    setup(XF);
    engine.seek(44);
    const b = videos.find((v) => src(v) === '/b.mp4')!;
    expect(over(b)).toBe(true);
    b.dispatchEvent(new Event('error'));
    expect(over(b)).toBe(false);
    expect(last.broken).toEqual([1]);
  });

  it('fades the video on screen to and from black around a fade_black', () => {
    // a 24 frames, b 24 frames with a fade_black of 6: a's last 3 fade down, b's first 3 up.
    setup(
      makeTimeline('24/1', [
        [
          { proxy: '/a.mp4', frames: 24 },
          { proxy: '/b.mp4', frames: 24, fadeBlack: 6 },
        ],
      ]),
    );
    engine.seek(20);
    const [a, b] = videos;
    expect(opacity(a)).toBe(1);
    engine.seek(21);
    expect(opacity(a)).toBe(1);
    engine.seek(22);
    expect(opacity(a)).toBeCloseTo(2 / 3, 9);
    expect(a.volume).toBeCloseTo(2 / 3, 3);
    engine.play();
    playTo(a, 23.2 / 24);
    expect(opacity(a)).toBeCloseTo(1 / 3, 9);
    playTo(a, 24.05 / 24);
    expect(active()).toBe(1);
    expect(opacity(b)).toBe(0);
    expect(b.volume).toBe(0);
    expect(over(a)).toBe(false);
    playTo(b, 2.1 / 24);
    expect(opacity(b)).toBeCloseTo(2 / 3, 9);
    playTo(b, 3.1 / 24);
    expect(opacity(b)).toBe(1);
    expect(b.volume).toBe(1);
  });
});
