/** Gesture: drag a shot's in or out handle to trim it (owner or director). */

import type { TimelineOp } from '../../../api/types';
import { trimByHandle, type Layout } from '../model';

export type TrimDrag = { kind: 'trim'; shotId: string; edge: 'in' | 'out'; originX: number; delta: number };

export const trimDrag = (shotId: string, edge: 'in' | 'out', originX: number): TrimDrag => ({ kind: 'trim', shotId, edge, originX, delta: 0 });

/** The trim the drag makes (null when it changes nothing). */
export function trimDragOp(layout: Layout, drag: TrimDrag): TimelineOp | null {
  for (const seg of layout.segments) {
    const s = seg.shots.find((x) => x.shot.id === drag.shotId);
    if (!s) continue;
    const t = trimByHandle(s.shot, drag.edge, drag.delta);
    if (t.in_frame === s.shot.in_frame && t.out_frame === s.shot.out_frame) return null;
    return { op: 'trim', shot: drag.shotId, ...t };
  }
  return null;
}
