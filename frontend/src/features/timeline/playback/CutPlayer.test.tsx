import { act, useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';

import { byTestId, click, render, type Rendered } from '../../../test/utils';
import { CutPlayer } from './CutPlayer';
import { makeTimeline, withAudio } from './fixtures';

// a (in 12, 48 frames), b (24 frames), a slate (30 frames), d (24 frames) at 24 fps
const TL = makeTimeline('24/1', [
  [
    { proxy: '/a.mp4', in: 12, frames: 48 },
    { proxy: '/b.mp4', frames: 24 },
    { proxy: null, frames: 30, title: 'The storm' },
  ],
  [{ proxy: '/d.mp4', frames: 24 }],
]);

let seekTo: (frame: number) => void = () => {};
let setTimeline: (tl: typeof TL) => void = () => {};

// The same cut with an effect from 1 s to 3 s (frames 24–72) fading in over 1 s.
const FX = { id: 'fx', track: 'effects' as const, url: '/fx.wav', start: 24, frames: 48, volume: 0.8, fadeIn: 24 };
const TL_AUDIO = withAudio(TL, [FX]);

/** A parent with audio tracks whose timeline can change (an edit). */
function AudioHost() {
  const [frame, setFrame] = useState(0);
  const [timeline, setTl] = useState(TL_AUDIO);
  seekTo = setFrame;
  setTimeline = setTl;
  return <CutPlayer timeline={timeline} frame={frame} onFrameChange={setFrame} />;
}

/** A parent like the Timeline page: it owns the playhead and feeds it back. */
function Host() {
  const [frame, setFrame] = useState(0);
  seekTo = setFrame;
  return (
    <>
      <CutPlayer timeline={TL} frame={frame} onFrameChange={setFrame} />
      <output data-testid="host-frame">{frame}</output>
      <input data-testid="note" />
    </>
  );
}

let view: Rendered | null = null;
afterEach(async () => {
  await view?.unmount();
  view = null;
});

const one = (id: string) => byTestId(view!.container, id)[0];
const videos = () => [one('cut-player-video-a'), one('cut-player-video-b')] as HTMLVideoElement[];
const onScreen = () => videos().find((v) => v.dataset.active === 'true')!;
const hidden = () => videos().find((v) => v.dataset.active !== 'true')!;
const playing = () => one('cut-player').dataset.playing;
const hostFrame = () => Number(one('host-frame').textContent);

async function key(k: string, target: EventTarget = window) {
  await act(async () => {
    target.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true }));
  });
}

async function playTo(video: HTMLVideoElement, seconds: number) {
  await act(async () => {
    video.currentTime = seconds;
    video.dispatchEvent(new Event('timeupdate'));
  });
}

describe('CutPlayer', () => {
  it('preloads the next clip into the hidden video before the join and swaps at the join', async () => {
    view = await render(<Host />);
    const [a, b] = [onScreen(), hidden()];
    expect(a.getAttribute('src')).toBe('/a.mp4');
    expect(a.currentTime).toBeCloseTo(12.5 / 24, 9);
    // Before anything plays, b is already loaded and parked on its in point.
    expect(b.getAttribute('src')).toBe('/b.mp4');
    expect(b.currentTime).toBeCloseTo(0.5 / 24, 9);
    expect(b.paused).toBe(true);
    expect(one('cut-player-timecode').textContent).toContain('00:00:00:00');
    expect(one('cut-player-now').textContent).toContain('Segment 1');
    expect(one('cut-player-now').textContent).toContain('Shot 1');

    await click(one('cut-player-play'));
    expect(playing()).toBe('true');
    expect(a.paused).toBe(false);

    await playTo(a, (12 + 30.5) / 24);
    expect(hostFrame()).toBe(30);
    expect(one('cut-player-timecode').textContent).toContain('00:00:01:06');
    expect(b.getAttribute('src')).toBe('/b.mp4');

    await playTo(a, (12 + 48.05) / 24);
    expect(onScreen()).toBe(b);
    expect(b.paused).toBe(false);
    expect(a.paused).toBe(true);
    expect(hostFrame()).toBe(48);
    expect(one('cut-player-now').textContent).toContain('Shot 2');
    // The next clip with a proxy (past the slate) goes into the video that just finished.
    expect(a.getAttribute('src')).toBe('/d.mp4');

    // b plays out into the slate of the shot without a pick.
    await playTo(b, 24.1 / 24);
    const slate = one('cut-player-slate');
    expect(slate).toBeTruthy();
    expect(slate.textContent).toContain('SEGMENT 1 · SHOT 3');
    expect(slate.textContent).toContain('NOT YET APPROVED');
    expect(hostFrame()).toBe(72);
  });

  it('seeks when the parent moves the playhead (a click on the ruler)', async () => {
    view = await render(<Host />);
    await act(async () => seekTo(80));
    expect(one('cut-player-slate')?.textContent).toContain('SEGMENT 1 · SHOT 3');
    expect(one('cut-player').dataset.frame).toBe('80');
    await act(async () => seekTo(110));
    expect(one('cut-player-slate')).toBeUndefined();
    expect(onScreen().getAttribute('src')).toBe('/d.mp4');
    expect(onScreen().currentTime).toBeCloseTo(8.5 / 24, 9);
    expect(one('cut-player-now').textContent).toContain('Segment 2');
  });

  it('J, K, L and space change the play state; arrows step; keys typed in a field are ignored', async () => {
    view = await render(<Host />);
    const a = onScreen();
    await key(' ');
    expect(playing()).toBe('true');
    expect(a.paused).toBe(false);
    await key('k');
    expect(playing()).toBe('false');
    expect(a.paused).toBe(true);

    await key('l');
    expect(playing()).toBe('true');
    expect(a.playbackRate).toBe(1);
    await key('l');
    expect(a.playbackRate).toBe(2);
    expect(one('cut-player').dataset.speed).toBe('2');
    await key('L');
    expect(a.playbackRate).toBe(4);
    expect(one('cut-player-speed').textContent).toBe('4×');
    await key(' ');
    expect(playing()).toBe('false');

    await key('ArrowRight');
    await key('ArrowRight');
    expect(hostFrame()).toBe(2);
    await key('ArrowLeft');
    expect(hostFrame()).toBe(1);

    await key('j');
    expect(playing()).toBe('true');
    expect(one('cut-player').dataset.speed).toBe('-1');
    expect(a.paused).toBe(true); // reverse is timed seeks, never video.play()
    await key('j');
    expect(one('cut-player').dataset.speed).toBe('-2');
    await key('K');
    expect(playing()).toBe('false');
    const stoppedAt = hostFrame();
    expect(stoppedAt).toBeLessThanOrEqual(1);

    const note = one('note');
    note.focus();
    await key(' ', note);
    await key('l', note);
    await key('ArrowRight', note);
    expect(playing()).toBe('false');
    expect(hostFrame()).toBe(stoppedAt);
  });

  it('says so when there is nothing to play', async () => {
    view = await render(<CutPlayer timeline={makeTimeline('25/1', [[]])} frame={0} onFrameChange={() => {}} />);
    expect(one('cut-player').textContent).toContain('Nothing to play yet');
    expect((one('cut-player-play') as HTMLButtonElement).disabled).toBe(true);
    await key(' ');
    expect(playing()).toBe('false');
  });

  it('plays the audio tracks with the picture, and mutes them with the tracks toggle', async () => {
    view = await render(<AudioHost />);
    const mute = one('cut-player-tracks-mute');
    expect(mute.dataset.muted).toBe('false');
    expect(mute.getAttribute('aria-pressed')).toBe('false');
    const box = one('cut-player-tracks');
    const fx = () => box.querySelector<HTMLAudioElement>('audio[data-clip-id="fx"]');
    // Starts within 2 s: waiting at its start.
    expect(fx()?.getAttribute('src')).toBe('/fx.wav');
    expect(fx()?.paused).toBe(true);

    await click(one('cut-player-play'));
    const a = onScreen();
    await playTo(a, (12 + 30) / 24);
    const el = fx()!;
    expect(el.paused).toBe(false);
    expect(el.muted).toBe(false);
    expect(el.currentTime).toBeCloseTo(0.25, 9);
    expect(el.volume).toBeCloseTo(0.2, 3);

    await click(mute);
    expect(mute.dataset.muted).toBe('true');
    expect(mute.getAttribute('aria-pressed')).toBe('true');
    expect(el.muted).toBe(true);
    await playTo(a, (12 + 36) / 24);
    expect(el.muted).toBe(true);
    expect(el.currentTime).toBeCloseTo(0.5, 9);
    await click(mute);
    expect(el.muted).toBe(false);

    await key('k');
    expect(el.paused).toBe(true);
    // A click on the ruler past the effect: released.
    await act(async () => seekTo(100));
    expect(fx()).toBeNull();
    expect(box.querySelectorAll('audio')).toHaveLength(0);
  });

  it('drops the elements of a clip an edit removed, and all of them when the player goes', async () => {
    view = await render(<AudioHost />);
    const box = one('cut-player-tracks');
    await act(async () => seekTo(30));
    const el = box.querySelector<HTMLAudioElement>('audio[data-clip-id="fx"]')!;
    expect(el).toBeTruthy();
    await act(async () => setTimeline(withAudio(TL, [])));
    expect(box.querySelectorAll('audio')).toHaveLength(0);
    expect(el.isConnected).toBe(false);

    await act(async () => setTimeline(withAudio(TL, [{ ...FX, id: 'fx2', url: '/fx2.wav' }])));
    const el2 = box.querySelector<HTMLAudioElement>('audio[data-clip-id="fx2"]')!;
    expect(el2.currentTime).toBeCloseTo(0.25, 9);
    await view!.unmount();
    view = null;
    expect(el2.isConnected).toBe(false);
    expect(el2.getAttribute('src')).toBeNull();
  });
});

describe('CutPlayer transitions', () => {
  // a (in 12, 48 frames), b crossfading in over a's last 8 frames (24 frames), then a slate
  // fading up from black (fade_black of 4: b's last 2 frames down, the slate's first 2 up).
  const XF = makeTimeline('24/1', [
    [
      { proxy: '/a.mp4', in: 12, frames: 48 },
      { proxy: '/b.mp4', frames: 24, crossfade: 8 },
      { proxy: null, frames: 20, fadeBlack: 4 },
    ],
  ]);

  function XfHost() {
    const [frame, setFrame] = useState(0);
    seekTo = setFrame;
    return <CutPlayer timeline={XF} frame={frame} onFrameChange={setFrame} />;
  }

  it('plays a crossfade with both videos and swaps after the overlap; a slate fades up from black', async () => {
    view = await render(<XfHost />);
    const [a, b] = [onScreen(), hidden()];
    expect(one('cut-player-timecode').textContent).toContain('/ 00:00:03:12'); // 48 + 24 − 8 + 20 = 84 frames
    await click(one('cut-player-play'));
    await playTo(a, (12 + 44.5) / 24);
    expect(one('cut-player').dataset.frame).toBe('44');
    expect(a.paused).toBe(false);
    expect(b.paused).toBe(false);
    expect(b.dataset.over).toBe('true');
    expect(b.style.opacity).toBe('0.5');
    expect(b.currentTime).toBeCloseTo(4.5 / 24, 9);
    expect(onScreen()).toBe(a);

    await act(async () => {
      b.currentTime = 8.05 / 24;
    });
    await playTo(a, (12 + 48.05) / 24);
    expect(onScreen()).toBe(b);
    expect(b.dataset.over).toBe('false');
    expect(b.style.opacity).toBe('');
    expect(a.paused).toBe(true);
    expect(b.paused).toBe(false);
    expect(one('cut-player-now').textContent).toContain('Shot 2');

    await playTo(b, 23.5 / 24); // b's last frame: fading down
    expect(one('cut-player').dataset.frame).toBe('63');
    expect(b.style.opacity).toBe('0.5');
    await playTo(b, 24.05 / 24);
    const slate = one('cut-player-slate');
    expect(one('cut-player').dataset.frame).toBe('64');
    expect(slate.style.opacity).toBe('0');
    await act(async () => seekTo(65));
    expect(one('cut-player-slate').style.opacity).toBe('0.5');
    await act(async () => seekTo(66));
    expect(one('cut-player-slate').style.opacity).toBe('');
  });
});
