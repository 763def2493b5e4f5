/** Gesture: drag a shot within its expanded segment to reorder the segment's shots. */

import { useState, type DragEvent } from 'react';

import { dropIndex, frameToX, type SegmentLayout } from '../model';
import type { Edit } from '../useTimelineEditor';
import { dropLineX, laneX } from './dropLine';

export function useShotDrag(ppf: number, edit: Edit) {
  const [dragging, setDragging] = useState<string | null>(null);
  const [dropAt, setDropAt] = useState<{ segment: string; x: number } | null>(null);
  const stop = () => {
    setDragging(null);
    setDropAt(null);
  };
  /** Handlers of one segment's group of shots, and where its drop line is (null: none). */
  const group = (seg: SegmentLayout) => {
    const extents = seg.shots.map((s) => [frameToX(s.start, ppf), frameToX(s.end, ppf)] as [number, number]);
    const draggedIndex = seg.shots.findIndex((s) => s.shot.id === dragging);
    return {
      onDragOver: (e: DragEvent<HTMLDivElement>) => {
        if (draggedIndex < 0) return;
        e.preventDefault();
        setDropAt({ segment: seg.segment.id, x: laneX(e, e.currentTarget.parentElement) });
      },
      onDrop: (e: DragEvent<HTMLDivElement>) => {
        if (draggedIndex < 0 || !dragging) return;
        e.preventDefault();
        const to = dropIndex(extents, draggedIndex, laneX(e, e.currentTarget.parentElement));
        const shot = dragging;
        stop();
        if (to !== draggedIndex) edit([{ op: 'move_shot', shot, position: to }], 'move shot');
      },
      lineX: draggedIndex >= 0 && dropAt?.segment === seg.segment.id ? dropLineX(extents, draggedIndex, dropAt.x) : null,
    };
  };
  /** Props of one shot block. */
  const block = (shotId: string) => ({ onDragStart: () => setDragging(shotId), onDragEnd: stop });
  return { group, block };
}
