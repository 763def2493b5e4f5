import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { CutEngine, type EngineState } from './engine';
import { makeTimeline } from './fixtures';
import { buildSchedule } from './schedule';

/** A hand-driven clock and animation-frame queue. */
function manualScheduler() {
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
/** The playing video reaches `seconds` of its proxy. */
function playTo(video: HTMLVideoElement, seconds: number) {
  video.currentTime = seconds;
  video.dispatchEvent(new Event('timeupdate'));
}

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
