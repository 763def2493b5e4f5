import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { Timeline } from '../../../api/types';
import { buildAudioBed } from './audioBed';
import { AudioBedPlayer, RESYNC_SECONDS } from './audioTracks';
import { CutEngine, type EngineState } from './engine';
import { makeTimeline, manualScheduler, playTo, withAudio, type AudioSpec } from './fixtures';
import { buildSchedule } from './schedule';

// Picture: a (in 12, 48 frames), b (24 frames), a slate (30 frames), d (24 frames) at 24 fps.
// Sound: an effect from 1 s to 3 s (frames 24–72) at 0.8 with a 1 s fade in and a 0.5 s fade out.
const FX: AudioSpec = { id: 'fx', track: 'effects', url: '/fx.wav', start: 24, frames: 48, volume: 0.8, fadeIn: 24, fadeOut: 12 };
function film(clips: AudioSpec[] = [FX]): Timeline {
  return withAudio(
    makeTimeline('24/1', [
      [
        { proxy: '/a.mp4', in: 12, frames: 48 },
        { proxy: '/b.mp4', frames: 24 },
        { proxy: null, frames: 30 },
      ],
      [{ proxy: '/d.mp4', frames: 24 }],
    ]),
    clips,
  );
}

let videos: [HTMLVideoElement, HTMLVideoElement];
let box: HTMLDivElement;
let engine: CutEngine;
let tracks: AudioBedPlayer;
let clock: ReturnType<typeof manualScheduler>;
let last: EngineState;

/** The engine and the tracks wired as CutPlayer wires them. */
function setup(timeline = film()) {
  videos = [document.createElement('video'), document.createElement('video')];
  box = document.createElement('div');
  document.body.appendChild(box);
  clock = manualScheduler();
  tracks = new AudioBedPlayer(box, buildAudioBed(timeline), () => engine.transport());
  engine = new CutEngine(
    videos,
    buildSchedule(timeline),
    (s) => {
      last = s;
      tracks.sync();
    },
    () => {},
    clock,
  );
}

const audios = () => [...box.querySelectorAll('audio')];
const fx = () => box.querySelector<HTMLAudioElement>('audio[data-clip-id="fx"]');
const onScreen = () => videos.find((v) => v.dataset.active === 'true')!;

beforeEach(() => setup());
afterEach(() => {
  engine.destroy();
  tracks.destroy();
  box.remove();
  vi.useRealTimers();
});

describe('AudioBedPlayer with the engine', () => {
  it('preloads a clip that starts soon, starts it at the right offset when playback crosses its start, and follows its fades', () => {
    engine.seek(0);
    // 1 s ahead: already there, parked at its start, silent.
    const el = fx()!;
    expect(el).toBeTruthy();
    expect(el.getAttribute('src')).toBe('/fx.wav');
    expect(el.preload).toBe('auto');
    expect(el.paused).toBe(true);
    expect(el.currentTime).toBe(0);

    engine.play();
    playTo(videos[0], (12 + 20) / 24);
    expect(last.frame).toBe(20);
    expect(el.paused).toBe(true); // not yet

    playTo(videos[0], (12 + 30) / 24); // 1.25 s: 0.25 s into the effect
    expect(fx()).toBe(el);
    expect(el.paused).toBe(false);
    expect(el.muted).toBe(false);
    expect(el.playbackRate).toBe(1);
    expect(el.currentTime).toBeCloseTo(0.25, 9);
    expect(el.volume).toBeCloseTo(0.8 * 0.25, 3);

    playTo(videos[0], (12 + 36) / 24); // 1.5 s: the element (not advancing here) is 0.25 s behind
    expect(el.currentTime).toBeCloseTo(0.5, 9);
    expect(el.volume).toBeCloseTo(0.8 * 0.5, 3);

    // Within RESYNC_SECONDS of the playhead it is left alone (no audible jumps).
    el.currentTime = 0.5 + RESYNC_SECONDS / 2 + 0.02;
    playTo(videos[0], (12 + 36.6) / 24);
    expect(el.currentTime).toBeCloseTo(0.5 + RESYNC_SECONDS / 2 + 0.02, 9);

    // Past the join into b: full volume, then the fade out.
    playTo(videos[0], (12 + 48.05) / 24);
    const b = onScreen();
    expect(b.getAttribute('src')).toBe('/b.mp4');
    playTo(b, 6.2 / 24); // frame 54: 2.25 s
    expect(el.volume).toBeCloseTo(0.8, 3);
    expect(el.currentTime).toBeCloseTo(1.25 + 0.2 / 24, 6);
    playTo(b, 18 / 24); // frame 66: 2.75 s, half way through the 0.5 s fade out
    expect(el.volume).toBeCloseTo(0.4, 3);
    expect(el.paused).toBe(false);
  });

  it('pauses on K, follows seeks while paused, plays on from the playhead, and is released after the clip ends', () => {
    engine.seek(0);
    engine.play();
    playTo(videos[0], (12 + 36) / 24);
    const el = fx()!;
    expect(el.paused).toBe(false);

    engine.pause(); // K
    expect(el.paused).toBe(true);
    expect(el.muted).toBe(true);
    expect(el.currentTime).toBeCloseTo(0.5, 9);

    engine.step(12); // a step is a seek: 2 s, 1 s into the effect
    expect(last.frame).toBe(48);
    expect(el.paused).toBe(true);
    expect(el.currentTime).toBeCloseTo(1, 9);

    engine.play();
    expect(el.paused).toBe(false);
    // The video plays on from the middle of the frame it was parked on; the sound with it.
    expect(el.currentTime).toBeCloseTo(1 + 0.5 / 24, 6);
    const b = onScreen();
    expect(b.getAttribute('src')).toBe('/b.mp4');
    playTo(b, 23.5 / 24); // frame 71, the last of the effect
    expect(fx()).toBe(el);

    playTo(b, 24.1 / 24); // into the slate at frame 72 = 3 s: the effect is over
    expect(last.slate).toBe(true);
    expect(fx()).toBeNull();
    expect(el.isConnected).toBe(false);
    expect(el.paused).toBe(true);
    expect(el.getAttribute('src')).toBeNull();
    expect(audios()).toHaveLength(0);
  });

  it('matches the playback rate on L and is paused and muted while shuttling backwards with J', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    engine.seek(36);
    engine.forward();
    const el = fx()!;
    expect(el.paused).toBe(false);
    expect(el.playbackRate).toBe(1);
    engine.forward();
    expect(last.speed).toBe(2);
    playTo(onScreen(), (12 + 40) / 24);
    expect(el.playbackRate).toBe(2);
    expect(el.paused).toBe(false);

    engine.backward();
    expect(last.speed).toBe(-1);
    expect(el.paused).toBe(true);
    expect(el.muted).toBe(true);
    vi.advanceTimersByTime(1000 / 24 + 1);
    expect(last.frame).toBe(39);
    expect(el.paused).toBe(true);
    expect(el.currentTime).toBeCloseTo(39 / 24 - 1, 9);
  });

  it('waits while the video stalls for data and goes on from the playhead when it plays again', () => {
    engine.seek(0);
    engine.play();
    playTo(videos[0], (12 + 30) / 24);
    const el = fx()!;
    expect(el.paused).toBe(false);
    videos[0].dispatchEvent(new Event('waiting'));
    expect(el.paused).toBe(true);
    expect(el.currentTime).toBeCloseTo(0.25, 9);
    expect(last.playing).toBe(true);
    playTo(videos[0], (12 + 31) / 24); // a late timeupdate while still waiting
    expect(el.paused).toBe(true);
    videos[0].dispatchEvent(new Event('playing'));
    expect(el.paused).toBe(false);
    expect(el.currentTime).toBeCloseTo(31 / 24 - 1, 9);
  });

  it('plays under a slate from the clock', () => {
    const tl = film([{ id: 'fx', track: 'effects', url: '/fx.wav', start: 80, frames: 48 }]);
    engine.destroy();
    tracks.destroy();
    setup(tl);
    engine.seek(76); // on the slate (72–102)
    engine.play();
    expect(last.slate).toBe(true);
    const el = fx()!;
    expect(el.paused).toBe(true);
    clock.advance(250); // 6 frames: 82, 2 frames into the effect
    expect(last.frame).toBe(82);
    expect(el.paused).toBe(false);
    expect(el.currentTime).toBeCloseTo(0.25 - 4 / 24, 6);
  });

  it('skips clips whose media is not ready and keeps nothing for clips far away', () => {
    engine.destroy();
    tracks.destroy();
    setup(
      film([
        { id: 'wip', track: 'music', url: '/wip.wav', start: 0, frames: 100, status: 'processing' },
        { id: 'far', track: 'narration', url: '/far.wav', start: 110, frames: 10 },
      ]),
    );
    engine.seek(0);
    engine.play();
    playTo(videos[0], (12 + 10) / 24);
    expect(audios()).toHaveLength(0);
    engine.seek(90); // 0.83 s before "far"
    expect(audios().map((a) => a.dataset.clipId)).toEqual(['far']);
  });

  it('releases the elements of clips a new timeline removed or changed, and keeps the others', () => {
    const music: AudioSpec = { id: 'm', track: 'music', url: '/m.wav', start: 0, frames: 126 };
    engine.destroy();
    tracks.destroy();
    setup(film([music, FX]));
    engine.seek(30);
    const m = box.querySelector('audio[data-clip-id="m"]');
    const el = fx()!;
    expect(audios()).toHaveLength(2);

    const next = film([music]);
    engine.setSchedule(buildSchedule(next));
    tracks.setBed(buildAudioBed(next));
    expect(fx()).toBeNull();
    expect(el.isConnected).toBe(false);
    expect(box.querySelector('audio[data-clip-id="m"]')).toBe(m);

    // The same file under a new (signed) URL is not reloaded.
    const resigned = film([{ ...music, url: '/m.wav?sig=2' }]);
    tracks.setBed(buildAudioBed(resigned));
    expect(audios()[0]).toBe(m);

    const replaced = film([{ ...music, url: '/m2.wav' }]);
    (replaced.audio_tracks![0].clips[0].media as { id: string }).id = 'media-other';
    tracks.setBed(buildAudioBed(replaced));
    expect(audios()).toHaveLength(1);
    expect(audios()[0]).not.toBe(m);
    expect(audios()[0].getAttribute('src')).toBe('/m2.wav');

    tracks.destroy();
    expect(audios()).toHaveLength(0);
  });

  it('mutes the tracks on request without losing their place', () => {
    engine.seek(30);
    engine.play();
    const el = fx()!;
    tracks.setMuted(true);
    expect(el.muted).toBe(true);
    expect(el.paused).toBe(false);
    playTo(videos[0], (12 + 36) / 24);
    expect(el.currentTime).toBeCloseTo(0.5, 9);
    tracks.setMuted(false);
    expect(el.muted).toBe(false);
  });
});
