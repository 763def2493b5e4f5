import { act, useRef } from 'react';
import { afterEach, describe, expect, it } from 'vitest';

import { render, type Rendered } from '../../test/utils';
import { usePlayer, usePlayerKeys, type PlayerControls } from './usePlayer';

/** A <video> stand-in: currentTime, play/pause and events, no decoding. */
function fakeVideo() {
  const target = new EventTarget();
  const video = Object.assign(target, {
    currentTime: 0,
    paused: true,
    playbackRate: 1,
    duration: 4,
    play() {
      video.paused = false;
      target.dispatchEvent(new Event('play'));
      return Promise.resolve();
    },
    pause() {
      video.paused = true;
      target.dispatchEvent(new Event('pause'));
    },
  });
  return video;
}

let controls: PlayerControls | null = null;
const video = fakeVideo();

function Probe() {
  const ref = useRef(video as unknown as HTMLVideoElement);
  const player = usePlayer(ref, { num: 24000, den: 1001 }, 96);
  usePlayerKeys(player, true);
  controls = player;
  return <span data-testid="frame">{player.frame}</span>;
}

let view: Rendered | null = null;
afterEach(async () => {
  await view?.unmount();
  view = null;
});

const key = async (k: string, target: EventTarget = window) =>
  act(async () => {
    target.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
  });

describe('review player keys', () => {
  it('steps one frame at 24000/1001 with the arrow keys and toggles with space, K and L', async () => {
    view = await render(<Probe />);
    await key('ArrowRight');
    await key('ArrowRight');
    expect(controls!.frame).toBe(2);
    expect(video.currentTime).toBeCloseTo((2.5 * 1001) / 24000, 9);
    await key('ArrowLeft');
    expect(controls!.frame).toBe(1);

    await key(' ');
    expect(video.paused).toBe(false);
    await key('k');
    expect(video.paused).toBe(true);
    await key('l');
    await key('l');
    expect(video.playbackRate).toBe(2);
    await key('K');
    expect(video.paused).toBe(true);
  });

  it('ignores keys typed into a comment', async () => {
    view = await render(
      <>
        <Probe />
        <textarea data-testid="comment" />
      </>,
    );
    const before = controls!.frame;
    const textarea = view.container.querySelector('textarea')!;
    await key('ArrowRight', textarea);
    await key(' ', textarea);
    expect(controls!.frame).toBe(before);
    expect(video.paused).toBe(true);
  });
});
