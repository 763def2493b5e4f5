/** Gesture: drag an audio clip sideways to move its start (managers). */

import type { Timeline, TimelineOp } from '../../../api/types';
import { audioTracks } from '../model';

export type ClipDrag = { kind: 'clip'; clipId: string; originX: number; delta: number };

export const clipDrag = (clipId: string, originX: number): ClipDrag => ({ kind: 'clip', clipId, originX, delta: 0 });

/** The move the drag makes (null when it changes nothing). */
export function clipDragOp(timeline: Timeline, drag: ClipDrag): TimelineOp | null {
  const clip = audioTracks(timeline).flatMap((t) => t.clips).find((c) => c.id === drag.clipId);
  if (!clip) return null;
  const start = Math.max(0, clip.start_frame + drag.delta);
  return start === clip.start_frame ? null : { op: 'update_audio', clip: clip.id, start_frame: start };
}
