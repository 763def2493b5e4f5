import type { PointerEvent as ReactPointerEvent } from 'react';

import { formatTimecode, type Rate } from '../../../lib/timecode';
import { frameToX, type ShotLayout } from '../model';

/** One shot of an expanded segment: the pick's thumbnail (or a slate), its transition, trim handles. */
export function ShotBlock({
  layout,
  segStart,
  ppf,
  rate,
  editable,
  selected,
  dragging,
  onSelect,
  onHandleDown,
  onDragStart,
  onDragEnd,
}: {
  layout: ShotLayout;
  segStart: number;
  ppf: number;
  rate: Rate;
  editable: boolean;
  selected: boolean;
  dragging: boolean;
  onSelect(): void;
  onHandleDown(e: ReactPointerEvent, edge: 'in' | 'out'): void;
  onDragStart(): void;
  onDragEnd(): void;
}) {
  const { shot } = layout;
  const thumb = shot.take?.media?.thumbnail_url ?? null;
  const frames = layout.end - layout.start;
  const t = shot.transition;
  return (
    <div
      className={`tl-shot${selected ? ' selected' : ''}${shot.take ? '' : ' no-pick'}${dragging ? ' trimming' : ''}`}
      data-testid={`shot-block-${shot.id}`}
      data-in={shot.in_frame}
      data-out={shot.out_frame}
      data-position={shot.position}
      data-start={layout.start}
      data-end={layout.end}
      style={{ left: frameToX(layout.start - segStart, ppf), width: Math.max(2, frameToX(frames, ppf)) }}
      title={`${shot.title || `Shot ${layout.index + 1}`} · in ${shot.in_frame} · out ${shot.out_frame} · ${frames} frames (${formatTimecode(frames, rate)})${t && t.kind !== 'cut' ? ` · ${t.kind} ${t.frames}` : ''}`}
      draggable={editable}
      onDragStart={(e) => {
        e.stopPropagation();
        e.dataTransfer.effectAllowed = 'move';
        e.dataTransfer.setData('text/plain', shot.id);
        onDragStart();
      }}
      onDragEnd={onDragEnd}
      onClick={onSelect}
    >
      {thumb ? (
        <img className="tl-shot-thumb" src={thumb} alt="" loading="lazy" draggable={false} />
      ) : (
        <span className="tl-shot-slate">{shot.take ? `take ${shot.take.number}` : 'no pick'}</span>
      )}
      {t && t.kind !== 'cut' && layout.index > 0 && (
        <span className={`tl-transition-mark ${t.kind}`} style={{ width: Math.max(4, frameToX(t.frames, ppf)) }} title={`${t.kind} ${t.frames} frames`} />
      )}
      <span className="tl-shot-title">{shot.title || `Shot ${layout.index + 1}`}</span>
      {editable && (
        <>
          <span className="tl-handle in" data-testid={`trim-handle-in-${shot.id}`} aria-hidden="true" onPointerDown={(e) => onHandleDown(e, 'in')} onClick={(e) => e.stopPropagation()} />
          <span className="tl-handle out" data-testid={`trim-handle-out-${shot.id}`} aria-hidden="true" onPointerDown={(e) => onHandleDown(e, 'out')} onClick={(e) => e.stopPropagation()} />
        </>
      )}
    </div>
  );
}
