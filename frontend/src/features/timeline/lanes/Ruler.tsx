/** The ruler: timecode ticks, the playhead scrubber, and the markers as flags. */

import { useMemo, useRef } from 'react';

import type { Timeline } from '../../../api/types';
import { formatTimecode, type Rate } from '../../../lib/timecode';
import { frameToX, rulerTicks, xToFrame, type Layout } from '../model';

export function Ruler({ layout, ppf, rate, frame, width, onSeek, markers, canRemove, onRemoveMarker }: {
  layout: Layout;
  ppf: number;
  rate: Rate;
  frame: number;
  width: number;
  onSeek(frame: number): void;
  markers: Timeline['markers'];
  canRemove(markerId: string): boolean;
  onRemoveMarker(markerId: string): void;
}) {
  const laneRef = useRef<HTMLDivElement>(null);
  const scrubbing = useRef(false);
  const frameAt = (clientX: number) => {
    const left = laneRef.current?.getBoundingClientRect().left ?? 0;
    return xToFrame(clientX - left, ppf, Math.max(1, layout.duration));
  };
  const { ticks } = useMemo(() => rulerTicks(0, Math.max(layout.duration, Math.ceil(width / ppf)), ppf, rate), [layout.duration, width, ppf, rate]);
  return (
    <div className="tl-row tl-ruler-row">
      <div className="tl-label tl-label-time" data-testid="timeline-timecode">
        {formatTimecode(frame, rate)}
        <span className="muted small">frame {frame}</span>
      </div>
      <div
        ref={laneRef}
        className="tl-lane tl-ruler"
        data-testid="timeline-ruler"
        style={{ width }}
        role="slider"
        aria-label="Playhead"
        aria-valuemin={0}
        aria-valuemax={Math.max(0, layout.duration - 1)}
        aria-valuenow={frame}
        aria-valuetext={formatTimecode(frame, rate)}
        tabIndex={0}
        onPointerDown={(e) => {
          if ((e.target as HTMLElement).closest('.tl-marker')) return;
          scrubbing.current = true;
          (e.currentTarget as HTMLElement).setPointerCapture?.(e.pointerId);
          onSeek(frameAt(e.clientX));
        }}
        onPointerMove={(e) => scrubbing.current && onSeek(frameAt(e.clientX))}
        onPointerUp={() => (scrubbing.current = false)}
        onPointerCancel={() => (scrubbing.current = false)}
        onClick={(e) => {
          // Keyboard users and synthetic clicks (no pointerdown) still seek.
          if ((e.target as HTMLElement).closest('.tl-marker')) return;
          if (!e.detail || !scrubbing.current) onSeek(frameAt(e.clientX));
        }}
      >
        {ticks.map((t) => (
          <span key={t.frame} className={`tl-tick${t.major ? ' major' : ''}`} style={{ left: t.x }}>
            {t.label && <span className="tl-tick-label">{t.label}</span>}
          </span>
        ))}
        {(markers ?? []).map((m) => (
          <span key={m.id} className="tl-marker" data-testid={`marker-${m.id}`} data-frame={m.frame} style={{ left: frameToX(m.frame, ppf) }}>
            <button type="button" className="tl-marker-flag" title={`${m.label} · ${formatTimecode(m.frame, rate)}${m.author ? ` · ${m.author}` : ''}`} onClick={() => onSeek(m.frame)}>
              {m.label}
            </button>
            {canRemove(m.id) && (
              <button type="button" className="tl-marker-remove" data-testid={`marker-remove-${m.id}`} aria-label={`Remove marker ${m.label}`} onClick={() => onRemoveMarker(m.id)}>
                ×
              </button>
            )}
          </span>
        ))}
      </div>
    </div>
  );
}
