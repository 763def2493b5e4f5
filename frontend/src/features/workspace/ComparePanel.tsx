import { useEffect, useRef, useState } from 'react';

import type { Take } from '../../api/types';
import { formatTimecode, frameAtTime, mediaRate, stepFrame } from '../../lib/timecode';
import { provenanceLine } from './TakeCard';

/**
 * Two takes side by side with one transport: the left video leads, the right follows it
 * within a frame (checked on every animation frame while playing, and on every seek).
 */
export function ComparePanel({ takes, onClose }: { takes: [Take, Take]; onClose: () => void }) {
  const left = useRef<HTMLVideoElement>(null);
  const right = useRef<HTMLVideoElement>(null);
  const [playing, setPlaying] = useState(false);
  const [time, setTime] = useState(0);
  const [duration, setDuration] = useState(0);
  const rate = mediaRate(takes[0].media);

  useEffect(() => {
    if (!playing) return;
    let raf = 0;
    const tick = () => {
      const a = left.current;
      const b = right.current;
      if (a && b) {
        setTime(a.currentTime);
        if (Math.abs(b.currentTime - a.currentTime) > (1.5 * rate.den) / rate.num && a.currentTime <= (b.duration || Infinity)) {
          b.currentTime = a.currentTime;
        }
      }
      raf = requestAnimationFrame(tick);
    };
    raf = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(raf);
  }, [playing, rate.den, rate.num]);

  const seek = (t: number) => {
    for (const v of [left.current, right.current]) if (v) v.currentTime = Math.min(t, v.duration || t);
    setTime(t);
  };

  const toggle = async () => {
    const a = left.current;
    const b = right.current;
    if (!a || !b) return;
    if (playing) {
      a.pause();
      b.pause();
      setPlaying(false);
    } else {
      b.currentTime = a.currentTime;
      try {
        await Promise.all([a.play(), b.play()]);
        setPlaying(true);
      } catch {
        setPlaying(false);
      }
    }
  };

  const step = (delta: number) => {
    left.current?.pause();
    right.current?.pause();
    setPlaying(false);
    const next = stepFrame(left.current?.currentTime ?? time, delta, rate, takes[0].media?.frame_count);
    seek(next.time);
  };

  return (
    <section className="card compare-panel" aria-label="Compare two takes" data-testid="compare-panel">
      <div className="row-between">
        <h2>Compare</h2>
        <button type="button" className="link-button" onClick={onClose}>
          Close
        </button>
      </div>
      <div className="compare-videos">
        {takes.map((take, i) => (
          <figure key={take.id}>
            <video
              ref={i === 0 ? left : right}
              src={take.media?.proxy_url ?? undefined}
              muted={i === 1}
              playsInline
              preload="auto"
              onLoadedMetadata={(e) => i === 0 && setDuration(e.currentTarget.duration || 0)}
              onEnded={() => i === 0 && setPlaying(false)}
              onClick={() => void toggle()}
            />
            <figcaption className="small">
              <strong>Take {take.number}</strong> · {provenanceLine(take)}
            </figcaption>
          </figure>
        ))}
      </div>
      <div className="transport">
        <button type="button" className="icon-button" aria-label="Previous frame" onClick={() => step(-1)}>
          ◀︎|
        </button>
        <button type="button" className="button button-small" onClick={() => void toggle()}>
          {playing ? 'Pause' : 'Play both'}
        </button>
        <button type="button" className="icon-button" aria-label="Next frame" onClick={() => step(1)}>
          |▶︎
        </button>
        <input
          type="range"
          className="grow"
          min={0}
          max={duration || 0}
          step={rate.den / rate.num}
          value={Math.min(time, duration || 0)}
          aria-label="Position"
          onChange={(e) => seek(Number(e.target.value))}
        />
        <span className="timecode">{formatTimecode(frameAtTime(time, rate), rate)}</span>
      </div>
    </section>
  );
}
