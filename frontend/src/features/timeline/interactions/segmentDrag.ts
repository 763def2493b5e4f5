/** Gesture: drag a segment along the picture lane to reorder the film (director). */

import { useState, type DragEvent } from 'react';

import { dropIndex, frameToX, type SegmentLayout } from '../model';
import type { Edit } from '../useTimelineEditor';
import { dropLineX, laneX } from './dropLine';

export function useSegmentDrag(segments: SegmentLayout[], ppf: number, edit: Edit) {
  const [dragging, setDragging] = useState<string | null>(null);
  const [dropAt, setDropAt] = useState<number | null>(null);
  const extents = segments.map((s) => [frameToX(s.start, ppf), frameToX(s.end, ppf)] as [number, number]);
  const from = segments.findIndex((s) => s.segment.id === dragging);
  const stop = () => {
    setDragging(null);
    setDropAt(null);
  };
  return {
    /** Handlers of the lane the segments are dropped on. */
    lane: {
      onDragOver: (e: DragEvent<HTMLDivElement>) => {
        if (!dragging) return;
        e.preventDefault();
        setDropAt(laneX(e, e.currentTarget));
      },
      onDrop: (e: DragEvent<HTMLDivElement>) => {
        if (!dragging) return;
        e.preventDefault();
        const to = dropIndex(extents, from, laneX(e, e.currentTarget));
        const segment = dragging;
        stop();
        if (from >= 0 && to !== from) edit([{ op: 'move_segment', segment, position: to }], 'move segment');
      },
      onDragLeave: () => setDropAt(null),
    },
    /** Props of one segment block. */
    block: (segmentId: string) => ({ dragging: dragging === segmentId, onDragStart: () => setDragging(segmentId), onDragEnd: stop }),
    /** Where the drop line is, or null when nothing is dragged over the lane. */
    lineX: dragging && dropAt !== null ? dropLineX(extents, from, dropAt) : null,
  };
}
