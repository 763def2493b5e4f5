import { describe, expect, it } from 'vitest';

import type { Timeline, TimelineComment, TimelineShot } from '../../api/types';
import { formatTimecode, parseRate } from '../../lib/timecode';
import {
  applyOps,
  clampTrim,
  commentPins,
  dropIndex,
  fitZoom,
  frameToX,
  inverseOps,
  layoutTimeline,
  locate,
  moveItem,
  opsProblem,
  rulerTicks,
  trimByHandle,
  waveformBars,
  xToFrame,
} from './model';

const pick = (id: string, length: number | null) => ({ id, number: 1, author: 'ana', length_frames: length, media: null });

function shot(id: string, inF: number, outF: number, extra: Partial<TimelineShot> = {}): TimelineShot {
  return { id, position: 0, title: id, take: pick(`take-${id}`, 100), in_frame: inF, out_frame: outF, duration_frames: outF - inF, transition: { kind: 'cut', frames: 0 }, ...extra };
}

function timeline(): Timeline {
  return {
    revision: 7,
    fps: 23.976,
    fps_rational: '24000/1001',
    duration_frames: 0,
    segments: [
      { id: 'a', position: 0, title: 'A', owner: null, status: 'claimed', duration_frames: 0, target_frames: null, shots: [shot('a1', 0, 48), shot('a2', 10, 34)] },
      { id: 'b', position: 1, title: 'B', owner: null, status: 'open', duration_frames: 0, target_frames: null, shots: [shot('b1', 0, 20)] },
      { id: 'c', position: 2, title: 'C', owner: null, status: 'open', duration_frames: 0, target_frames: null, shots: [] },
    ],
    audio_tracks: [
      { track: 'music', clips: [{ id: 'm1', track: 'music', media: { id: 'media-1' } as never, start_frame: 0, length_frames: 200, volume: 1, fade_in_frames: 0, fade_out_frames: 0, text: '' }] },
      { track: 'narration', clips: [] },
      { track: 'effects', clips: [] },
    ],
    markers: [{ id: 'k1', frame: 12, label: 'beat' }],
  };
}

describe('timecode on the ruler', () => {
  it('labels 23.976 ticks with non-drop timecode (24 frames a timecode second)', () => {
    const rate = parseRate('24000/1001');
    expect(formatTimecode(24, rate)).toBe('00:00:01:00');
    expect(formatTimecode(24 * 60 * 60, rate)).toBe('01:00:00:00'); // an hour of timecode, 3.6 s longer in real time
    const { major, ticks } = rulerTicks(0, 240, 2, rate, 90);
    expect(major).toBe(48); // 2 timecode seconds: the first step ≥ 90 px at 2 px/frame
    expect(ticks.filter((t) => t.major).map((t) => t.label)).toEqual([
      '00:00:00:00', '00:00:02:00', '00:00:04:00', '00:00:06:00', '00:00:08:00', '00:00:10:00',
    ]);
  });

  it('labels 29.97 ticks with drop-frame timecode', () => {
    const rate = parseRate(29.97);
    expect(formatTimecode(1800, rate)).toBe('00:01:00;02'); // frames 0 and 1 of minute 1 are skipped
    expect(formatTimecode(17982, rate)).toBe('00:10:00;00'); // every tenth minute keeps them
    const { major, ticks } = rulerTicks(0, 1800, 0.1, rate, 90);
    expect(major).toBe(30 * 30);
    expect(ticks.filter((t) => t.major).map((t) => t.label)).toEqual(['00:00:00;00', '00:00:30;00', '00:01:00;02']);
  });

  it('picks minor ticks that divide the major step', () => {
    const { major, minor, ticks } = rulerTicks(0, 100, 10, parseRate(25));
    expect(major).toBe(10);
    expect(minor).toBe(5);
    expect(ticks.every((t) => t.frame % minor === 0)).toBe(true);
  });
});

describe('frames and pixels', () => {
  it('maps x to the frame under it and back', () => {
    expect(frameToX(48, 2.5)).toBe(120);
    expect(xToFrame(120, 2.5)).toBe(48);
    expect(xToFrame(122.4, 2.5)).toBe(48);
    expect(xToFrame(-5, 2.5)).toBe(0);
    expect(xToFrame(10_000, 2.5, 100)).toBe(99);
    // A frame boundary that floats cannot represent exactly still lands on its frame.
    expect(xToFrame(frameToX(3, 0.1), 0.1)).toBe(3);
  });

  it('fits the film into a width', () => {
    expect(fitZoom(480, 960)).toBe(2);
  });
});

describe('layout', () => {
  it('places segments and shots end to end, crossfades overlapping', () => {
    const t = timeline();
    t.segments[0].shots[1].transition = { kind: 'crossfade', frames: 8 };
    const layout = layoutTimeline(t);
    expect(layout.segments.map((s) => [s.start, s.end])).toEqual([[0, 64], [64, 84], [84, 84]]);
    expect(layout.segments[0].shots.map((s) => [s.start, s.end])).toEqual([[0, 48], [40, 64]]);
    expect(layout.duration).toBe(84);
    expect(locate(layout, 45).shot?.shot.id).toBe('a2'); // inside the crossfade: the incoming shot
    expect(locate(layout, 70).segment?.segment.id).toBe('b');
  });
});

describe('trims', () => {
  it('clamps in and out points to the pick', () => {
    expect(clampTrim(-4, 300, 100)).toEqual({ in_frame: 0, out_frame: 100 });
    expect(clampTrim(60, 40, 100, 'in')).toEqual({ in_frame: 60, out_frame: 61 });
    expect(clampTrim(60, 40, 100, 'out')).toEqual({ in_frame: 39, out_frame: 40 });
    expect(clampTrim(120, 150, 100, 'in')).toEqual({ in_frame: 99, out_frame: 100 });
    expect(clampTrim(3.6, 20.2, null)).toEqual({ in_frame: 4, out_frame: 20 });
  });

  it('moves one edge with a handle', () => {
    const s = shot('s', 10, 50);
    expect(trimByHandle(s, 'in', -4)).toEqual({ in_frame: 6, out_frame: 50 });
    expect(trimByHandle(s, 'in', -40)).toEqual({ in_frame: 0, out_frame: 50 });
    expect(trimByHandle(s, 'out', 80)).toEqual({ in_frame: 10, out_frame: 100 });
    expect(trimByHandle(s, 'out', -45)).toEqual({ in_frame: 10, out_frame: 11 });
  });
});

describe('drag ordering', () => {
  const blocks: Array<[number, number]> = [[0, 100], [100, 150], [150, 300], [300, 320]];

  it('drops at the number of other blocks whose middle is left of the pointer', () => {
    expect(dropIndex(blocks, 0, 10)).toBe(0);
    expect(dropIndex(blocks, 0, 130)).toBe(1); // past B's middle
    expect(dropIndex(blocks, 0, 400)).toBe(3); // the end
    expect(dropIndex(blocks, 3, 0)).toBe(0);
    expect(dropIndex(blocks, 2, 200)).toBe(2); // own place
  });

  it('moves an item like the server does', () => {
    const list = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
    expect(moveItem(list, 'a', 2).map((x) => x.id)).toEqual(['b', 'c', 'a']);
    expect(moveItem(list, 'c', 0).map((x) => x.id)).toEqual(['c', 'a', 'b']);
    expect(moveItem(list, 'b', 99).map((x) => x.id)).toEqual(['a', 'c', 'b']);
  });
});

describe('ops and their inverses', () => {
  it('applies ops locally and undoes them', () => {
    const before = timeline();
    const ops = [
      { op: 'move_segment', segment: 'c', position: 0 },
      { op: 'move_shot', shot: 'a2', position: 0 },
      { op: 'trim', shot: 'a1', in_frame: 4, out_frame: 40 },
      { op: 'transition', shot: 'a1', kind: 'fade_black', frames: 6 },
      { op: 'update_audio', clip: 'm1', volume: 0.5, start_frame: 24 },
    ] as const;
    const after = applyOps(before, [...ops]);
    expect(after.segments.map((s) => s.id)).toEqual(['c', 'a', 'b']);
    expect(after.segments[1].shots.map((s) => s.id)).toEqual(['a2', 'a1']);
    expect(after.segments[1].shots[1]).toMatchObject({ in_frame: 4, out_frame: 40, transition: { kind: 'fade_black', frames: 6 } });
    expect(after.duration_frames).toBe(24 + 36 + 20);
    const undo = inverseOps(before, [...ops], after);
    const restored = applyOps(after, undo);
    expect(restored.segments.map((s) => s.id)).toEqual(['a', 'b', 'c']);
    expect(restored.segments[0].shots.map((s) => [s.id, s.in_frame, s.out_frame, s.transition?.kind])).toEqual([
      ['a1', 0, 48, 'cut'],
      ['a2', 10, 34, 'cut'],
    ]);
    expect(restored.audio_tracks![0].clips[0]).toMatchObject({ volume: 1, start_frame: 0 });
  });

  it('undoes additions with the new ids and removals by adding back', () => {
    const before = timeline();
    const after = { ...before, markers: [...before.markers!, { id: 'k2', frame: 30, label: 'cut here' }] };
    expect(inverseOps(before, [{ op: 'add_marker', frame: 30, label: 'cut here' }], after)).toEqual([{ op: 'remove_marker', marker: 'k2' }]);
    expect(inverseOps(before, [{ op: 'remove_audio', clip: 'm1' }], applyOps(before, [{ op: 'remove_audio', clip: 'm1' }]))).toEqual([
      { op: 'add_audio', media: 'media-1', track: 'music', start_frame: 0, volume: 1, fade_in_frames: 0, fade_out_frames: 0, text: '' },
    ]);
  });

  it('finds ops that no longer make sense', () => {
    const t = timeline();
    expect(opsProblem(t, [{ op: 'trim', shot: 'a1', in_frame: 0, out_frame: 90 }])).toBeNull();
    expect(opsProblem(t, [{ op: 'trim', shot: 'a1', in_frame: 0, out_frame: 120 }])).toMatch(/100 frames/);
    expect(opsProblem(t, [{ op: 'trim', shot: 'gone', in_frame: 0, out_frame: 10 }])).toMatch(/no longer/);
    expect(opsProblem(t, [{ op: 'remove_marker', marker: 'k9' }])).toMatch(/marker/);
  });
});

describe('pins and waveforms', () => {
  it('places comments of the picks at timeline frames, skipping trimmed-away frames', () => {
    const layout = layoutTimeline(timeline());
    const c = (id: string, shotId: string, pickFrame: number, take = `take-${shotId}`): TimelineComment => ({
      id, take, shot: shotId, segment: '', frame: pickFrame, pick_frame: pickFrame, body: id, parent: null, author: null, created_at: '',
    });
    const pins = commentPins(layout, [c('x', 'a2', 12), c('y', 'a2', 5), c('z', 'b1', 3), c('old', 'a1', 3, 'another-take')]);
    expect(pins.map((p) => [p.comment.id, p.frame])).toEqual([['x', 48 + 2], ['z', 72 + 3]]);
  });

  it('resamples peaks to bars', () => {
    expect(waveformBars([0.1, 0.5, 0.2, 0.9], 2)).toEqual([0.5, 0.9]);
    expect(waveformBars([0.3], 3)).toEqual([0.3, 0.3, 0.3]);
    expect(waveformBars([], 3)).toEqual([]);
  });
});
