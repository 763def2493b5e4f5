import { describe, expect, it, vi } from 'vitest';

import { ApiError } from '../../api/client';
import type { Timeline, TimelineOp } from '../../api/types';
import { commitTimelineOps, type TimelineTransport } from '../../state/timeline';
import { TimelineEditor } from './editor';
import { applyOps } from './model';

function shot(id: string, length = 100) {
  return {
    id, position: 0, title: id, take: { id: `t-${id}`, number: 1, author: null, length_frames: length, media: null },
    in_frame: 0, out_frame: 48, duration_frames: 48, transition: { kind: 'cut' as const, frames: 0 },
  };
}

function film(revision: number, segments: Array<[string, string[]]>, markers: Timeline['markers'] = []): Timeline {
  return {
    revision, fps: 24, fps_rational: '24/1', duration_frames: 0,
    segments: segments.map(([id, shots], position) => ({
      id, position, title: id, owner: null, status: 'claimed', duration_frames: 0, target_frames: null, shots: shots.map((s) => shot(s)),
    })),
    audio_tracks: [], markers,
  };
}

const conflict = (current: Timeline) => new ApiError(409, 'conflict', 'The timeline changed.', { code: 'conflict', detail: 'The timeline changed.', current });

/** A server holding one timeline: applies ops on the right revision, 409 with the current one otherwise. */
function fakeServer(initial: Timeline, refuse?: (ops: TimelineOp[]) => ApiError | null) {
  const server = { timeline: initial, patches: [] as Array<{ revision: number; ops: TimelineOp[] }> };
  const transport: TimelineTransport = {
    get: vi.fn(async () => server.timeline),
    patch: vi.fn(async (revision: number, ops: TimelineOp[]) => {
      server.patches.push({ revision, ops });
      if (revision !== server.timeline.revision) throw conflict(server.timeline);
      const refusal = refuse?.(ops);
      if (refusal) throw refusal;
      let next = applyOps(server.timeline, ops);
      for (const op of ops) {
        if (op.op === 'add_marker') next = { ...next, markers: [...(next.markers ?? []), { id: `m${server.patches.length}`, frame: op.frame, label: op.label }] };
      }
      server.timeline = { ...next, revision: server.timeline.revision + 1 };
      return server.timeline;
    }),
  };
  return { server, transport };
}

function editorOn(transport: TimelineTransport, cache: { timeline: Timeline }) {
  const notices: string[] = [];
  const errors: unknown[] = [];
  const editor = new TimelineEditor({
    transport,
    read: () => cache.timeline,
    write: (t) => {
      cache.timeline = t;
    },
    notice: (m) => notices.push(m),
    error: (e) => errors.push(e),
    refresh: () => {},
  });
  return { editor, notices, errors };
}

describe('conflicts (409)', () => {
  it('re-applies the edit on top of the current timeline', async () => {
    const mine = film(1, [['a', ['a1']], ['b', ['b1']], ['c', []]]);
    // Someone moved c to the front meanwhile (revision 2).
    const { server, transport } = fakeServer(applyOps({ ...mine, revision: 2 }, [{ op: 'move_segment', segment: 'c', position: 0 }]));
    const outcome = await commitTimelineOps(transport, mine, [{ op: 'move_segment', segment: 'a', position: 2 }]);
    expect(outcome.kept).toBe(true);
    expect(outcome.kept && outcome.rebased).toBe(true);
    expect(server.patches.map((p) => p.revision)).toEqual([1, 2]);
    expect(server.timeline.segments.map((s) => s.id)).toEqual(['c', 'b', 'a']); // both edits are in
  });

  it('drops an edit that no longer makes sense, without sending it again', async () => {
    const mine = film(1, [['a', ['a1', 'a2']]]);
    const current = film(2, [['a', ['a1']]]); // a2 was deleted meanwhile
    const { server, transport } = fakeServer(current);
    const outcome = await commitTimelineOps(transport, mine, [{ op: 'trim', shot: 'a2', in_frame: 2, out_frame: 20 }]);
    expect(outcome).toMatchObject({ kept: false, current });
    expect(server.patches).toHaveLength(1);
  });

  it('drops an edit the server refuses on re-apply and hands back the current timeline', async () => {
    const mine = film(1, [['a', ['a1']]]);
    const { transport } = fakeServer(film(2, [['a', ['a1']]]), () => new ApiError(400, 'validation_error', 'out_frame 90 is past the end of the pick (60 frames).'));
    const outcome = await commitTimelineOps(transport, mine, [{ op: 'trim', shot: 'a1', in_frame: 0, out_frame: 90 }]);
    expect(outcome.kept).toBe(false);
    expect(!outcome.kept && outcome.reason).toMatch(/past the end/);
    expect(!outcome.kept && outcome.current.revision).toBe(2);
  });

  it('throws a refusal that is not a conflict (for the error banner)', async () => {
    const mine = film(1, [['a', ['a1']]]);
    const { transport } = fakeServer(mine, () => new ApiError(403, 'permission_denied', 'Only the director can reorder segments.'));
    await expect(commitTimelineOps(transport, mine, [{ op: 'move_segment', segment: 'a', position: 0 }])).rejects.toThrow('Only the director');
  });
});

describe('the edit session', () => {
  it('shows a notice when an edit cannot be kept, and loses nothing else', async () => {
    const start = film(1, [['a', ['a1', 'a2']], ['b', ['b1']]]);
    const { server, transport } = fakeServer(start);
    const cache = { timeline: start };
    const { editor, notices } = editorOn(transport, cache);

    await editor.edit([{ op: 'move_segment', segment: 'b', position: 0 }]); // kept: revision 2
    expect(editor.undoStack).toHaveLength(1);

    // Someone else removes a2 and adds a marker (revision 3); our cache still holds revision 2.
    server.timeline = { ...film(3, [['b', ['b1']], ['a', ['a1']]], [{ id: 'theirs', frame: 5, label: 'their note' }]) };
    const outcome = await editor.edit([{ op: 'trim', shot: 'a2', in_frame: 1, out_frame: 30 }]);

    expect(outcome?.kept).toBe(false);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/could not be kept/);
    // The screen shows the current timeline with the other person's work…
    expect(cache.timeline.revision).toBe(3);
    expect(cache.timeline.markers?.map((m) => m.id)).toEqual(['theirs']);
    // …and our earlier edit is still ours to undo.
    expect(editor.undoStack).toHaveLength(1);
    await editor.undo();
    expect(server.timeline.segments.map((s) => s.id)).toEqual(['a', 'b']);
    expect(server.timeline.markers?.map((m) => m.id)).toEqual(['theirs']);
  });

  it('re-applies silently after a conflict and undoes with the inverse ops', async () => {
    const start = film(1, [['a', ['a1']], ['b', ['b1']]]);
    const { server, transport } = fakeServer(start);
    const cache = { timeline: start };
    const { editor, notices } = editorOn(transport, cache);
    server.timeline = { ...server.timeline, revision: 2, markers: [{ id: 'theirs', frame: 1, label: 'x' }] };

    await editor.edit([{ op: 'trim', shot: 'a1', in_frame: 6, out_frame: 30 }]);
    expect(notices).toEqual([]);
    expect(cache.timeline.segments[0].shots[0]).toMatchObject({ in_frame: 6, out_frame: 30 });
    expect(cache.timeline.markers?.map((m) => m.id)).toEqual(['theirs']);

    await editor.undo();
    expect(server.timeline.segments[0].shots[0]).toMatchObject({ in_frame: 0, out_frame: 48 });
    expect(editor.canRedo).toBe(true);
    await editor.redo();
    expect(server.timeline.segments[0].shots[0]).toMatchObject({ in_frame: 6, out_frame: 30 });
    expect(editor.canUndo).toBe(true);
  });

  it('undoes an added marker by its new id, and redo adds it back', async () => {
    const start = film(1, [['a', ['a1']]]);
    const { server, transport } = fakeServer(start);
    const cache = { timeline: start };
    const { editor } = editorOn(transport, cache);
    await editor.edit([{ op: 'add_marker', frame: 10, label: 'music in' }]);
    expect(server.timeline.markers).toHaveLength(1);
    await editor.undo();
    expect(server.timeline.markers).toHaveLength(0);
    await editor.redo();
    expect(server.timeline.markers?.map((m) => m.label)).toEqual(['music in']);
  });

  it('undoes the latest edit even when it is still on its way', async () => {
    const start = film(1, [['a', ['a1', 'a2']]]);
    const { server, transport } = fakeServer(start);
    const cache = { timeline: start };
    const { editor } = editorOn(transport, cache);
    await editor.edit([{ op: 'trim', shot: 'a1', in_frame: 2, out_frame: 40 }]);
    const moving = editor.edit([{ op: 'move_shot', shot: 'a1', position: 1 }]); // not answered yet
    const undoing = editor.undo();
    await Promise.all([moving, undoing]);
    expect(server.timeline.segments[0].shots.map((s) => s.id)).toEqual(['a1', 'a2']); // the move was undone
    expect(server.timeline.segments[0].shots[0]).toMatchObject({ in_frame: 2, out_frame: 40 }); // the trim stays
  });

  it('puts an undo back on the stack when it fails for another reason', async () => {
    const start = film(1, [['a', ['a1']], ['b', []]]);
    let refuse = false;
    const { transport } = fakeServer(start, () => (refuse ? new ApiError(503, 'server_error', 'down') : null));
    const cache = { timeline: start };
    const { editor, errors } = editorOn(transport, cache);
    await editor.edit([{ op: 'move_segment', segment: 'b', position: 0 }]);
    refuse = true;
    await editor.undo();
    expect(errors).toHaveLength(1);
    expect(editor.undoStack).toHaveLength(1);
  });
});
