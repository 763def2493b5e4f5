/** The pointer drags that edit in place (a trim handle, an audio clip): while one is under
 * way the screen shows the edit it would make; letting go makes it. */

import { useMemo, useState, type PointerEvent as ReactPointerEvent } from 'react';

import type { Timeline, TimelineOp } from '../../../api/types';
import { applyOp, pxToFrames, type Layout } from '../model';
import type { Edit } from '../useTimelineEditor';
import { clipDragOp, type ClipDrag } from './audioClipDrag';
import { trimDragOp, type TrimDrag } from './trimHandleDrag';

export type PointerDrag = TrimDrag | ClipDrag;

/** The op a handle or clip drag makes (null when it changes nothing). */
export function dragOp(timeline: Timeline, drag: PointerDrag, layout: Layout): TimelineOp | null {
  return drag.kind === 'trim' ? trimDragOp(layout, drag) : clipDragOp(timeline, drag);
}

export function usePointerDrag(timeline: Timeline | undefined, layout: Layout | null) {
  const [drag, setDrag] = useState<PointerDrag | null>(null);
  const shown: Timeline | undefined = useMemo(() => {
    if (!timeline || !drag || !drag.delta) return timeline;
    return applyOp(timeline, dragOp(timeline, drag, layout!)!);
  }, [timeline, drag, layout]);
  return {
    drag,
    /** The timeline as shown: with the dragged edit applied. */
    shown,
    start(e: ReactPointerEvent, d: PointerDrag) {
      e.stopPropagation();
      e.preventDefault();
      (e.currentTarget as HTMLElement).setPointerCapture?.(e.pointerId);
      setDrag(d);
    },
    /** Handlers of the canvas the pointer is captured in. */
    canvas(ppf: number, edit: Edit) {
      return {
        onPointerMove: (e: ReactPointerEvent) => {
          if (!drag) return;
          setDrag({ ...drag, delta: pxToFrames(e.clientX - drag.originX, ppf) });
        },
        onPointerUp: () => {
          if (!drag || !timeline) return;
          const op = drag.delta ? dragOp(timeline, drag, layout!) : null;
          setDrag(null);
          if (op) edit([op]);
        },
        onPointerCancel: () => setDrag(null),
      };
    },
  };
}
