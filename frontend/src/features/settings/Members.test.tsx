import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { Invitation, Member, Project, Role } from '../../api/types';
import { byTestId, click, jsonResponse, PROJECT, render, typeInto, waitFor, type Rendered } from '../../test/utils';
import { Members } from './Members';

interface Call {
  method: string;
  url: string;
  body: unknown;
}

let calls: Call[] = [];
let pending: Invitation[] = [];
let view: Rendered | null = null;

const member: Member = { id: 'm1', user: { id: 3, username: 'ana', display_name: 'Ana' }, role: 'director', joined_at: '2026-01-01T00:00:00Z' };

beforeEach(() => {
  calls = [];
  pending = [
    { id: 'i1', username: 'bruno', role: 'artist', invited_by: null, created_at: '2026-01-01T00:00:00Z', expires_at: '2026-02-01T00:00:00Z' },
  ];
  document.cookie = 'csrftoken=tok';
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      const method = init.method ?? 'GET';
      const body = init.body ? JSON.parse(String(init.body)) : null;
      calls.push({ method, url, body });
      if (url.endsWith('/projects/p1/members/') && method === 'POST') {
        pending = [{ ...pending[0], id: 'i2', username: body.username, role: body.role }, ...pending];
        return jsonResponse(202, {
          detail: `If someone is called ${body.username}, they are invited as ${body.role}; they join when they accept.`,
          username: body.username,
          role: body.role,
        });
      }
      if (url.endsWith('/projects/p1/members/')) return jsonResponse(200, [member]);
      if (url.endsWith('/projects/p1/invitations/')) return jsonResponse(200, pending);
      if (url.endsWith('/projects/p1/invitations/i1/') && method === 'DELETE') {
        pending = pending.filter((p) => p.id !== 'i1');
        return new Response(null, { status: 204 });
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

const as = (role: Role): Project => ({ ...PROJECT, role });

describe('Members', () => {
  it('invites by username and says what happens next, whether or not the name exists', async () => {
    view = await render(<Members manage />, { project: as('director') });
    await waitFor(() => expect(byTestId(view!.container, 'pending-invitation')).toHaveLength(1));
    await typeInto(byTestId(view.container, 'member-invite-username')[0] as HTMLInputElement, 'carla');
    await click(byTestId(view.container, 'member-invite-submit')[0]);
    await waitFor(() =>
      expect(byTestId(view!.container, 'member-invite-sent')[0].textContent).toBe(
        'If someone is called carla, they are invited as artist; they join when they accept.',
      ),
    );
    expect(calls.filter((c) => c.method === 'POST')[0].body).toEqual({ username: 'carla', role: 'artist' });
    // The pending list is fetched again and shows the new invitation; nobody was added.
    await waitFor(() => expect(byTestId(view!.container, 'pending-invitation').map((el) => el.dataset.username)).toEqual(['carla', 'bruno']));
    expect(byTestId(view.container, 'member-row')).toHaveLength(1);
  });

  it('cancels a pending invitation', async () => {
    view = await render(<Members manage />, { project: as('producer') });
    await waitFor(() => expect(byTestId(view!.container, 'pending-invitation')).toHaveLength(1));
    await click(byTestId(view.container, 'pending-invitation-cancel')[0]);
    await waitFor(() => expect(byTestId(view!.container, 'pending-invitation')).toHaveLength(0));
    expect(calls.some((c) => c.method === 'DELETE' && c.url.endsWith('/projects/p1/invitations/i1/'))).toBe(true);
  });

  it('shows neither the invitations nor the form to artists and viewers', async () => {
    view = await render(<Members manage={false} />, { project: as('artist') });
    await waitFor(() => expect(byTestId(view!.container, 'member-row')).toHaveLength(1));
    expect(byTestId(view.container, 'pending-invitations')).toHaveLength(0);
    expect(byTestId(view.container, 'member-invite-username')).toHaveLength(0);
    expect(calls.some((c) => c.url.includes('/invitations/'))).toBe(false);
  });
});
