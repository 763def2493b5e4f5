import { describe, expect, it } from 'vitest';

import { layoutTimeline } from '../model';
import { makeTimeline, withAudio } from '../playback/fixtures';
import { clipDrag, clipDragOp } from './audioClipDrag';
import { dropLineX } from './dropLine';
import { dragOp } from './pointerDrag';
import { trimDrag, trimDragOp } from './trimHandleDrag';

// Two shots of 48 frames; each pick has 10 frames more than is used (fixtures: in + frames + 10).
const timeline = withAudio(makeTimeline('24/1', [[{ proxy: 'a.mp4', frames: 48 }, { proxy: 'b.mp4', in: 4, frames: 48 }]]), [
  { id: 'c1', track: 'music', url: 'm.mp3', start: 10, frames: 100 },
  { id: 'c0', track: 'effects', url: 'e.mp3', start: 0, frames: 24 },
]);
const layout = layoutTimeline(timeline);

describe('trim handle drag', () => {
  it('moves the out point by the dragged frames, up to the last frame of the take', () => {
    expect(trimDragOp(layout, { ...trimDrag('shot-1', 'out', 0), delta: 5 })).toEqual({ op: 'trim', shot: 'shot-1', in_frame: 0, out_frame: 53 });
    expect(trimDragOp(layout, { ...trimDrag('shot-1', 'out', 0), delta: 500 })).toEqual({ op: 'trim', shot: 'shot-1', in_frame: 0, out_frame: 58 });
  });

  it('stops the in point one frame before the out point', () => {
    expect(trimDragOp(layout, { ...trimDrag('shot-2', 'in', 0), delta: 500 })).toEqual({ op: 'trim', shot: 'shot-2', in_frame: 51, out_frame: 52 });
  });

  it('makes no edit when nothing changes', () => {
    expect(trimDragOp(layout, trimDrag('shot-1', 'in', 0))).toBeNull();
    expect(trimDragOp(layout, { ...trimDrag('shot-1', 'in', 0), delta: -3 })).toBeNull(); // already at the take's first frame
    expect(trimDragOp(layout, { ...trimDrag('nope', 'in', 0), delta: 3 })).toBeNull();
  });
});

describe('audio clip drag', () => {
  it('moves the clip start, never before frame 0', () => {
    expect(clipDragOp(timeline, { ...clipDrag('c1', 0), delta: 6 })).toEqual({ op: 'update_audio', clip: 'c1', start_frame: 16 });
    expect(clipDragOp(timeline, { ...clipDrag('c1', 0), delta: -30 })).toEqual({ op: 'update_audio', clip: 'c1', start_frame: 0 });
  });

  it('makes no edit for a clip already at 0 dragged left, or an unknown clip', () => {
    expect(clipDragOp(timeline, { ...clipDrag('c0', 0), delta: -5 })).toBeNull();
    expect(clipDragOp(timeline, { ...clipDrag('gone', 0), delta: 5 })).toBeNull();
  });

  it('is what a pointer drag of a clip makes', () => {
    expect(dragOp(timeline, { ...clipDrag('c1', 0), delta: 2 }, layout)).toEqual({ op: 'update_audio', clip: 'c1', start_frame: 12 });
    expect(dragOp(timeline, { ...trimDrag('shot-1', 'out', 0), delta: -8 }, layout)).toEqual({ op: 'trim', shot: 'shot-1', in_frame: 0, out_frame: 40 });
  });
});

describe('drop line', () => {
  const extents: Array<[number, number]> = [
    [0, 100],
    [100, 200],
    [200, 300],
  ];
  it('is drawn at the start of the block the dragged one would go before', () => {
    expect(dropLineX(extents, 0, 250)).toBe(200);
    expect(dropLineX(extents, 2, 10)).toBe(0);
  });
  it('is drawn at the end of the last block when dropped past every middle', () => {
    expect(dropLineX(extents, 0, 290)).toBe(300);
  });
});
