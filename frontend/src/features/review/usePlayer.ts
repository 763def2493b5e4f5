import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';

import { usePlayerKeys } from '../../lib/playerKeys';
import { frameAtTime, stepFrame, timeOfFrame, type Rate } from '../../lib/timecode';

export interface PlayerControls {
  frame: number;
  playing: boolean;
  /** playback speed; negative while shuttling backwards (J) */
  speed: number;
  toggle: () => void;
  pause: () => void;
  step: (delta: number) => void;
  seekFrame: (frame: number) => void;
  forward: () => void;
  backward: () => void;
}

const SPEEDS = [1, 2, 4, 8];

/** Frame-accurate transport for one <video>: stepping, J/K/L shuttle, play/pause. */
export function usePlayer(video: RefObject<HTMLVideoElement | null>, rate: Rate, frameCount: number | null): PlayerControls {
  const [frame, setFrame] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(1);
  const reverseTimer = useRef<ReturnType<typeof setInterval> | null>(null);

  const stopReverse = useCallback(() => {
    if (reverseTimer.current) clearInterval(reverseTimer.current);
    reverseTimer.current = null;
  }, []);

  // Follow the video while it plays (requestAnimationFrame is finer than timeupdate).
  useEffect(() => {
    const v = video.current;
    if (!v) return;
    let raf = 0;
    const sync = () => setFrame(frameAtTime(v.currentTime, rate));
    const loop = () => {
      sync();
      raf = requestAnimationFrame(loop);
    };
    const onPlay = () => {
      setPlaying(true);
      cancelAnimationFrame(raf);
      raf = requestAnimationFrame(loop);
    };
    const onPause = () => {
      if (!reverseTimer.current) setPlaying(false);
      cancelAnimationFrame(raf);
      sync();
    };
    v.addEventListener('play', onPlay);
    v.addEventListener('pause', onPause);
    v.addEventListener('seeked', sync);
    v.addEventListener('loadedmetadata', sync);
    return () => {
      cancelAnimationFrame(raf);
      v.removeEventListener('play', onPlay);
      v.removeEventListener('pause', onPause);
      v.removeEventListener('seeked', sync);
      v.removeEventListener('loadedmetadata', sync);
    };
  }, [video, rate]);

  useEffect(() => stopReverse, [stopReverse]);

  const pause = useCallback(() => {
    stopReverse();
    video.current?.pause();
    setPlaying(false);
    setSpeed(1);
  }, [video, stopReverse]);

  const seekFrame = useCallback(
    (target: number) => {
      const v = video.current;
      if (!v) return;
      const max = frameCount && frameCount > 0 ? frameCount - 1 : Number.POSITIVE_INFINITY;
      const f = Math.max(0, Math.min(Math.round(target), max));
      v.currentTime = timeOfFrame(f, rate);
      setFrame(f);
    },
    [video, rate, frameCount],
  );

  const step = useCallback(
    (delta: number) => {
      const v = video.current;
      if (!v) return;
      pause();
      const next = stepFrame(v.currentTime, delta, rate, frameCount);
      v.currentTime = next.time;
      setFrame(next.frame);
    },
    [video, rate, frameCount, pause],
  );

  const play = useCallback(
    (rateValue: number) => {
      const v = video.current;
      if (!v) return;
      stopReverse();
      v.playbackRate = rateValue;
      setSpeed(rateValue);
      void v.play().catch(() => setPlaying(false));
    },
    [video, stopReverse],
  );

  const toggle = useCallback(() => {
    const v = video.current;
    if (!v) return;
    if (v.paused && !reverseTimer.current) play(1);
    else pause();
  }, [video, play, pause]);

  const forward = useCallback(() => {
    const v = video.current;
    if (!v) return;
    // L: play; again: faster (1×, 2×, 4×, 8×). After J it first goes back to 1× forward.
    const next = !v.paused && speed > 0 ? SPEEDS[Math.min(SPEEDS.indexOf(speed) + 1, SPEEDS.length - 1)] : 1;
    play(next);
  }, [video, speed, play]);

  const backward = useCallback(() => {
    const v = video.current;
    if (!v) return;
    // J: browsers cannot play backwards, so step back frame by frame at the shuttle speed.
    const current = speed < 0 ? -speed : 0;
    const next = current ? SPEEDS[Math.min(SPEEDS.indexOf(current) + 1, SPEEDS.length - 1)] : 1;
    v.pause();
    stopReverse();
    setSpeed(-next);
    setPlaying(true);
    const frameMs = (1000 * rate.den) / rate.num;
    reverseTimer.current = setInterval(() => {
      const target = v.currentTime - ((frameMs / 1000) * next);
      if (target <= 0) {
        v.currentTime = timeOfFrame(0, rate);
        setFrame(0);
        stopReverse();
        setPlaying(false);
        setSpeed(1);
        return;
      }
      v.currentTime = target;
      setFrame(frameAtTime(target, rate));
    }, frameMs);
  }, [video, speed, rate, stopReverse]);

  return { frame, playing, speed, toggle, pause, step, seekFrame, forward, backward };
}

/** Keys of the review player (shared with the cut player). */
export { usePlayerKeys };
