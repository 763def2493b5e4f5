import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { Timeline, TimelineOp } from '../../api/types';
import { act } from 'react';

import { byTestId, click, jsonResponse, PROJECT, press, render, waitFor, type Rendered } from '../../test/utils';
import { applyOps } from './model';
import { TimelinePage } from './TimelinePage';

function shot(id: string, length = 96) {
  return {
    id, position: 0, title: `Shot ${id}`, take: { id: `t-${id}`, number: 1, author: 'ana', length_frames: length, media: null },
    in_frame: 0, out_frame: 48, duration_frames: 48, planned_frames: 48, transition: { kind: 'cut' as const, frames: 0 }, revision: 1,
  };
}

function film(revision: number): Timeline {
  return {
    revision, fps: 23.976, fps_rational: '24000/1001', duration_frames: 144,
    segments: [
      { id: 'a', position: 0, title: 'Harbour', owner: { id: 3, username: 'ana' }, status: 'claimed', duration_frames: 96, target_frames: null, shots: [shot('a1'), { ...shot('a2'), position: 1 }] },
      { id: 'b', position: 1, title: 'Storm', owner: null, status: 'open', duration_frames: 48, target_frames: null, shots: [shot('b1')] },
    ],
    audio_tracks: [{ track: 'music', clips: [] }, { track: 'narration', clips: [] }, { track: 'effects', clips: [] }],
    markers: [{ id: 'm1', frame: 30, label: 'swell', author: 'ana' }],
  };
}

let server: Timeline;
let patches: Array<{ revision: number; ops: TimelineOp[] }> = [];
let refuseNext: Response | null = null;
let view: Rendered | null = null;

beforeEach(() => {
  server = film(4);
  patches = [];
  refuseNext = null;
  document.cookie = 'csrftoken=tok';
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      if (url.endsWith('/projects/p1/timeline/comments/')) return jsonResponse(200, []);
      if (url.endsWith('/projects/p1/timeline/') && init.method === 'PATCH') {
        const body = JSON.parse(String(init.body)) as { revision: number; ops: TimelineOp[] };
        patches.push(body);
        if (body.revision !== server.revision) return jsonResponse(409, { code: 'conflict', detail: 'The timeline changed.', current: server });
        if (refuseNext) {
          const r = refuseNext;
          refuseNext = null;
          return r;
        }
        server = { ...applyOps(server, body.ops), revision: server.revision + 1 };
        return jsonResponse(200, server);
      }
      if (url.endsWith('/projects/p1/timeline/')) return jsonResponse(200, server);
      return jsonResponse(404, { code: 'not_found', detail: 'Not found.' });
    }),
  );
});

afterEach(async () => {
  await view?.unmount();
  view = null;
  vi.unstubAllGlobals();
});

const one = (id: string) => {
  const [el] = byTestId(document, id);
  if (!el) throw new Error(`no ${id}`);
  return el;
};

async function setNumber(el: HTMLInputElement, value: string) {
  await act(async () => {
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(el, value);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

describe('TimelinePage', () => {
  it('shows segments with status, owner and position; expands to shots with trims', async () => {
    view = await render(<TimelinePage />, { project: { ...PROJECT, role: 'director', fps: 23.976, fps_rational: '24000/1001' } });
    await waitFor(() => one('segment-block-a'));
    const a = one('segment-block-a');
    expect(a.dataset.status).toBe('claimed');
    expect(a.dataset.position).toBe('0');
    expect(a.textContent).toContain('Harbour');
    expect(a.textContent).toContain('ana');
    expect(one('marker-m1').dataset.frame).toBe('30');
    expect(one('timeline-ruler').textContent).toContain('00:00:00:00');

    await click(one('segment-expand-a'));
    const s = one('shot-block-a2');
    expect([s.dataset.in, s.dataset.out, s.dataset.position]).toEqual(['0', '48', '1']);

    const out = one('trim-out-a2') as HTMLInputElement;
    await setNumber(out, '40');
    await press(out, 'Enter');
    await waitFor(() => expect(one('shot-block-a2').dataset.out).toBe('40'));
    expect(patches.at(-1)).toEqual({ revision: 4, ops: [{ op: 'trim', shot: 'a2', in_frame: 0, out_frame: 40 }] });

    await click(one('timeline-undo'));
    await waitFor(() => expect(one('shot-block-a2').dataset.out).toBe('48'));
    expect(patches.at(-1)?.ops).toEqual([{ op: 'trim', shot: 'a2', in_frame: 0, out_frame: 48 }]);
  });

  it('shows an out point past the take as typed, with the clamp, and applies it only when confirmed', async () => {
    view = await render(<TimelinePage />, { project: { ...PROJECT, role: 'director' } });
    await waitFor(() => one('segment-expand-a'));
    await click(one('segment-expand-a'));
    const out = one('trim-out-a2') as HTMLInputElement;
    await setNumber(out, '300');
    await press(out, 'Enter');
    // Nothing applied yet; what was typed stays visible next to what would be used.
    expect(patches).toHaveLength(0);
    expect((one('trim-out-a2') as HTMLInputElement).value).toBe('300');
    expect(one('trim-out-a2').getAttribute('aria-invalid')).toBe('true');
    expect(one('trim-clamp-out-a2').textContent).toContain('The take has only 96 frames; the out point will be 96.');
    expect(one('trim-clamp-apply-out-a2').textContent).toBe('Use 96');

    // Cancel puts the current value back and applies nothing.
    await click(one('trim-clamp-cancel-out-a2'));
    expect((one('trim-out-a2') as HTMLInputElement).value).toBe('48');
    expect(byTestId(document, 'trim-clamp-out-a2')).toHaveLength(0);
    expect(patches).toHaveLength(0);

    // Confirmed, the clamped value is what is applied and shown.
    await setNumber(out, '300');
    await press(out, 'Enter');
    await click(one('trim-clamp-apply-out-a2'));
    await waitFor(() => expect(one('shot-block-a2').dataset.out).toBe('96'));
    expect(patches.at(-1)?.ops).toEqual([{ op: 'trim', shot: 'a2', in_frame: 0, out_frame: 96 }]);
    expect((one('trim-out-a2') as HTMLInputElement).value).toBe('96');
    expect(byTestId(document, 'trim-clamp-out-a2')).toHaveLength(0);
  });

  it('says when an in point past the out point moves the out point', async () => {
    view = await render(<TimelinePage />, { project: { ...PROJECT, role: 'director' } });
    await waitFor(() => one('segment-expand-a'));
    await click(one('segment-expand-a'));
    const inp = one('trim-in-a1') as HTMLInputElement;
    await setNumber(inp, '60');
    await press(inp, 'Enter');
    expect(one('trim-clamp-in-a1').textContent).toBe(
      'The out point will move from 48 to 61, so that the shot keeps at least one frame.Use 60Cancel',
    );
    expect(patches).toHaveLength(0);
    await click(one('trim-clamp-apply-in-a1'));
    await waitFor(() => expect(patches).toHaveLength(1));
    expect(patches[0].ops).toEqual([{ op: 'trim', shot: 'a1', in_frame: 60, out_frame: 61 }]);
  });

  it('reorders segments with the keyboard alternative to drag', async () => {
    view = await render(<TimelinePage />, { project: { ...PROJECT, role: 'director' } });
    await waitFor(() => one('segment-move-right-a'));
    await click(one('segment-move-right-a'));
    await waitFor(() => expect(one('segment-block-a').dataset.position).toBe('1'));
    expect(patches[0].ops).toEqual([{ op: 'move_segment', segment: 'a', position: 1 }]);
  });

  it('says so when an edit cannot be kept after someone else changed the timeline', async () => {
    view = await render(<TimelinePage />, { project: { ...PROJECT, role: 'director' } });
    await waitFor(() => one('segment-move-right-a'));
    // Someone else edits first; the server then refuses our re-applied edit.
    server = { ...server, revision: 5, markers: [] };
    refuseNext = jsonResponse(400, { code: 'validation_error', detail: 'That segment is not in this project.' });
    await click(one('segment-move-right-a'));
    await waitFor(() => one('timeline-notice'));
    expect(one('timeline-notice').textContent).toMatch(/could not be kept/);
    expect(patches.map((p) => p.revision)).toEqual([4, 5]);
    expect(byTestId(document, 'marker-m1')).toHaveLength(0); // the other person's edit is shown
  });

  it('hides editing controls from viewers', async () => {
    view = await render(<TimelinePage />, { project: { ...PROJECT, role: 'viewer' } });
    await waitFor(() => one('segment-block-a'));
    expect(byTestId(document, 'segment-move-right-a')).toHaveLength(0);
    await click(one('segment-expand-a'));
    expect((one('trim-in-a1') as HTMLInputElement).disabled).toBe(true);
    expect(byTestId(document, 'timeline-add-audio')).toHaveLength(0);
  });
});
