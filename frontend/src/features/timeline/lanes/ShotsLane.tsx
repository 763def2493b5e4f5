/** The shots of the expanded segments, under their segment: thumbnails of the picks, trim
 * handles, and drag to reorder within the segment. */

import type { PointerEvent as ReactPointerEvent } from 'react';

import type { Rate } from '../../../lib/timecode';
import { useShotDrag } from '../interactions/shotDrag';
import { frameToX, type SegmentLayout, type ShotLayout } from '../model';
import type { Edit } from '../useTimelineEditor';
import { ShotBlock } from './ShotBlock';

export function ShotsLane({
  segments,
  ppf,
  rate,
  width,
  editable,
  selectedShot,
  trimming,
  onSelectShot,
  onHandleDown,
  edit,
}: {
  segments: SegmentLayout[];
  ppf: number;
  rate: Rate;
  width: number;
  editable(seg: SegmentLayout): boolean;
  selectedShot: string | null;
  /** The shot whose handle is being dragged. */
  trimming: string | null;
  onSelectShot(seg: SegmentLayout, shot: ShotLayout): void;
  onHandleDown(e: ReactPointerEvent, shotId: string, edge: 'in' | 'out'): void;
  edit: Edit;
}) {
  const drag = useShotDrag(ppf, edit);
  return (
    <div className="tl-row tl-shots-row">
      <div className="tl-label">Shots</div>
      <div className="tl-lane tl-shots" style={{ width }}>
        {segments.map((seg) => {
          const canEdit = editable(seg);
          const { lineX, ...group } = drag.group(seg);
          return (
            <div
              key={seg.segment.id}
              className="tl-shot-group"
              {...group}
              style={{ left: frameToX(seg.start, ppf), width: Math.max(2, frameToX(seg.end - seg.start, ppf)) }}
            >
              {seg.shots.map((s) => (
                <ShotBlock
                  key={s.shot.id}
                  layout={s}
                  segStart={seg.start}
                  ppf={ppf}
                  rate={rate}
                  editable={canEdit}
                  selected={selectedShot === s.shot.id}
                  dragging={trimming === s.shot.id}
                  onSelect={() => onSelectShot(seg, s)}
                  onHandleDown={(e, edge) => onHandleDown(e, s.shot.id, edge)}
                  {...drag.block(s.shot.id)}
                />
              ))}
              {lineX !== null && <span className="tl-drop-line" style={{ left: lineX - frameToX(seg.start, ppf) }} />}
            </div>
          );
        })}
      </div>
    </div>
  );
}
