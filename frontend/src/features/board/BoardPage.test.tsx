import { act } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { Segment } from '../../api/types';
import { ErrorBanner } from '../../components/ErrorBanner';
import { RealtimeProvider, usePresence } from '../../realtime/RealtimeProvider';
import { byTestId, click, jsonResponse, FakeWS, PROJECT, render, segmentFixture, socketFactory, waitFor, type Rendered } from '../../test/utils';
import { BoardPage, moveInList } from './BoardPage';

const seg = (id: string, position: number, owner: string | null): Segment => segmentFixture(id, position, owner);


let segments: Segment[] = [];
let claimAnswer: Response | null = null;
let patches: { url: string; body: unknown }[] = [];
let view: Rendered | null = null;

beforeEach(() => {
  segments = [seg('s1', 0, null), seg('s2', 1, 'bo')];
  claimAnswer = null;
  patches = [];
  document.cookie = 'csrftoken=tok';
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      if (url.endsWith('/projects/p1/segments/')) return jsonResponse(200, segments);
      if (url.endsWith('/projects/p1/members/')) return jsonResponse(200, []);
      if (url.includes('/claim/') && init.method === 'POST') return claimAnswer ?? jsonResponse(200, segments[0]);
      if (init.method === 'PATCH' && /\/segments\/s\d\/$/.test(url)) {
        const body = JSON.parse(String(init.body));
        patches.push({ url, body });
        const id = url.split('/').at(-2)!;
        segments = segments.map((s) =>
          s.id === id ? { ...s, status: body.status === 'locked' ? 'locked' : s.owner ? 'claimed' : 'open', revision: s.revision + 1 } : s,
        );
        return jsonResponse(200, segments.find((s) => s.id === id));
      }
      return jsonResponse(404, { code: 'not_found', detail: 'Not found.' });
    }),
  );
});

afterEach(async () => {
  await view?.unmount();
  view = null;
  vi.unstubAllGlobals();
});

function Presence() {
  return <ul>{usePresence().map((p) => <li key={p.user_id} data-testid="who">{p.username}</li>)}</ul>;
}


describe('BoardPage', () => {
  it('lists segments with owner and status, and offers artists a claim', async () => {
    view = await render(<BoardPage />, { project: PROJECT });
    await waitFor(() => expect(byTestId(view!.container, 'segment-row')).toHaveLength(2));
    const [open, taken] = byTestId(view.container, 'segment-row');
    expect(open.dataset).toMatchObject({ segmentId: 's1', status: 'open' });
    expect(byTestId(taken, 'segment-owner')[0].textContent).toBe('bo');
    expect(byTestId(open, 'segment-claim')).toHaveLength(1);
    expect(byTestId(open, 'segment-open')[0].getAttribute('href')).toBe('/projects/p1/segments/s1');
    // "Open" is a status here; the link says what it does.
    expect(byTestId(open, 'segment-open')[0].textContent).toBe('View');
    expect(byTestId(open, 'segment-claim')[0].textContent).toBe('Claim');
    expect(byTestId(open, 'segment-status')[0].textContent).toBe('Open');
    // Artists do not get the director's tools.
    expect(byTestId(view.container, 'segment-create')).toHaveLength(0);
    expect(byTestId(view.container, 'segment-assign')).toHaveLength(0);
    expect(byTestId(view.container, 'segment-lock')).toHaveLength(0);
  });

  it('shows the detail sentence of a refused claim', async () => {
    claimAnswer = jsonResponse(409, { code: 'segment_already_claimed', detail: 'This segment is already claimed by bo.' });
    view = await render(
      <>
        <ErrorBanner />
        <BoardPage />
      </>,
      { project: PROJECT },
    );
    await waitFor(() => expect(byTestId(view!.container, 'segment-row')).toHaveLength(2));
    // Someone else got there first: the board still showed it open.
    expect(byTestId(byTestId(view.container, 'segment-row')[1], 'segment-claim')).toHaveLength(0);
    await click(byTestId(byTestId(view.container, 'segment-row')[0], 'segment-claim')[0]);
    const alert = await waitFor(() => {
      const [el] = byTestId(view!.container, 'error-message');
      if (!el) throw new Error('no error yet');
      return el;
    });
    expect(alert.getAttribute('role')).toBe('alert');
    expect(alert.textContent).toBe('This segment is already claimed by bo.');
    // Beside the button that caused it, not in the page banner.
    expect(byTestId(byTestId(view.container, 'segment-row')[0], 'error-message')).toHaveLength(1);
    expect(view.container.querySelector('.error-banner')).toBeNull();
  });

  it('shows the director the create, assign and order tools', async () => {
    view = await render(<BoardPage />, { project: { ...PROJECT, role: 'director' }, me: { id: 1, username: 'dana', display_name: 'Dana' } });
    await waitFor(() => expect(byTestId(view!.container, 'segment-row')).toHaveLength(2));
    expect(byTestId(view.container, 'segment-create')).toHaveLength(1);
    expect(byTestId(view.container, 'segment-assign')).toHaveLength(2);
    expect(byTestId(view.container, 'segment-claim')).toHaveLength(0);
    await click(byTestId(view.container, 'segment-create')[0]);
    expect(byTestId(view.container, 'segment-create-title')).toHaveLength(1);
    expect(byTestId(view.container, 'segment-create-submit')).toHaveLength(1);
  });

  it('lets the director lock a segment and unlock it', async () => {
    view = await render(<BoardPage />, { project: { ...PROJECT, role: 'director' }, me: { id: 1, username: 'dana', display_name: 'Dana' } });
    await waitFor(() => expect(byTestId(view!.container, 'segment-row')).toHaveLength(2));
    const row = () => byTestId(view!.container, 'segment-row')[1];
    await click(byTestId(row(), 'segment-lock')[0]);
    await waitFor(() => expect(row().dataset.status).toBe('locked'));
    expect(patches).toEqual([{ url: '/api/v1/segments/s2/', body: { status: 'locked' } }]);
    expect(byTestId(row(), 'segment-status')[0].textContent).toContain('Locked');
    // A locked segment cannot be handed around until it is unlocked.
    expect(byTestId(row(), 'segment-release')).toHaveLength(0);
    expect((byTestId(row(), 'segment-assign')[0] as HTMLSelectElement).disabled).toBe(true);
    await click(byTestId(row(), 'segment-unlock')[0]);
    await waitFor(() => expect(row().dataset.status).toBe('claimed'));
    expect(patches[1].body).toEqual({ status: 'open' });
    expect(byTestId(row(), 'segment-lock')).toHaveLength(1);
  });

  it('names owners by display name', async () => {
    segments = [seg('s1', 0, null), { ...seg('s2', 1, 'bo'), owner: { id: 2, username: 'bo', display_name: 'Bo Lindqvist' } }];
    view = await render(<BoardPage />, { project: PROJECT });
    await waitFor(() => expect(byTestId(view!.container, 'segment-owner')[1].textContent).toBe('Bo Lindqvist'));
  });

  it('shows another person’s claim and presence live, without reloading', async () => {
    view = await render(
      <RealtimeProvider projectId="p1" createSocket={socketFactory}>
        <Presence />
        <BoardPage />
      </RealtimeProvider>,
      { project: PROJECT },
    );
    await waitFor(() => expect(byTestId(view!.container, 'segment-row')).toHaveLength(2));
    const ws = FakeWS.last!;
    await act(async () => {
      ws.push({
        type: 'hello',
        data: { project: 'p1', user: { id: 3, username: 'ana' }, role: 'artist', presence: [{ user_id: 3, username: 'ana' }], heartbeat_seconds: 20 },
      });
      ws.push({ type: 'presence.changed', data: { presence: [{ user_id: 3, username: 'ana' }, { user_id: 5, username: 'chen', segments: ['s1'] }] } });
    });
    await waitFor(() => expect(byTestId(view!.container, 'who').map((li) => li.textContent)).toEqual(['ana', 'chen']));
    await waitFor(() => expect(byTestId(view!.container, 'segment-row')[0].textContent).toContain('Here now: chen'));

    segments = [seg('s1', 0, 'chen'), seg('s2', 1, 'bo')];
    await act(async () => {
      ws.push({ type: 'segment.claimed', data: { id: 's1', status: 'claimed', owner: { id: 5, username: 'chen' }, revision: 2 } });
    });
    // The event updates the cache and refetches: wait for the page to redraw (a busy machine
    // may take a moment), rather than reading it straight after the event.
    await waitFor(() => {
      const row = byTestId(view!.container, 'segment-row')[0];
      expect(byTestId(row, 'segment-owner')[0].textContent).toBe('chen');
      expect(row.dataset.status).toBe('claimed');
    });
  });
});

describe('moveInList', () => {
  it('moves an item to a position', () => {
    const list = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
    expect(moveInList(list, 'a', 2).map((x) => x.id)).toEqual(['b', 'c', 'a']);
    expect(moveInList(list, 'c', 0).map((x) => x.id)).toEqual(['c', 'a', 'b']);
    expect(moveInList(list, 'zz', 0)).toBe(list);
  });
});
