/** What the drag-to-reorder gestures share: where the pointer is on a lane, and where the
 * drop line is drawn. */

import { dropIndex } from '../model';

/** The pointer's x on a lane (from the lane's left edge). */
export const laneX = (e: { clientX: number }, el: HTMLElement | null) => e.clientX - (el?.getBoundingClientRect().left ?? 0);

/** The x of the drop line for a block dragged from `dragged` to the pointer at `x`. */
export function dropLineX(list: Array<[number, number]>, dragged: number, x: number): number {
  const idx = dropIndex(list, dragged, x);
  const others = list.filter((_, i) => i !== dragged);
  return idx < others.length ? others[idx][0] : (others[others.length - 1]?.[1] ?? 0);
}
