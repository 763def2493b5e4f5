import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { MyInvitation } from '../../api/types';
import { byTestId, click, jsonResponse, PROJECT, render, typeInto, waitFor, type Rendered } from '../../test/utils';
import { ProjectListPage } from './ProjectListPage';

let posted: unknown[] = [];
let createAnswer: Response | null = null;
let view: Rendered | null = null;
let invitations: MyInvitation[] = [];
let answered: string[] = [];

beforeEach(() => {
  posted = [];
  createAnswer = null;
  invitations = [];
  answered = [];
  document.cookie = 'csrftoken=tok';
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      if (url.endsWith('/me/invitations/')) return jsonResponse(200, invitations);
      const answer = url.match(/\/me\/invitations\/(\w+)\/(accept|decline)\/$/);
      if (answer && init.method === 'POST') {
        answered.push(`${answer[2]} ${answer[1]}`);
        invitations = invitations.filter((i) => i.id !== answer[1]);
        if (answer[2] === 'decline') return new Response(null, { status: 204 });
        return jsonResponse(200, { id: 'm9', user: { id: 3, username: 'ana' }, role: 'artist', joined_at: '', project: { ...PROJECT, id: 'p7', role: 'artist' } });
      }
      if (url.endsWith('/projects/') && init.method === 'POST') {
        const body = JSON.parse(String(init.body));
        posted.push(body);
        return createAnswer ?? jsonResponse(201, { ...PROJECT, id: 'p9', ...body, role: 'director' });
      }
      if (url.endsWith('/projects/')) return jsonResponse(200, []);
      return jsonResponse(404, { code: 'not_found', detail: 'Not found.' });
    }),
  );
});

afterEach(async () => {
  await view?.unmount();
  view = null;
  vi.unstubAllGlobals();
});

async function openForm() {
  view = await render(<ProjectListPage />);
  await click(byTestId(view.container, 'project-create')[0]);
  await typeInto(byTestId(view.container, 'project-title')[0] as HTMLInputElement, 'Night Ferry');
}

describe('New film form', () => {
  it('sends the description and style prompt with the new film', async () => {
    await openForm();
    await typeInto(byTestId(view!.container, 'project-description')[0] as HTMLTextAreaElement, 'Two strangers cross a strait.');
    await typeInto(byTestId(view!.container, 'project-style-prompt')[0] as HTMLTextAreaElement, 'noir, rain, sodium lights');
    await click(byTestId(view!.container, 'project-create-submit')[0]);
    await waitFor(() => expect(posted).toHaveLength(1));
    expect(posted[0]).toMatchObject({ title: 'Night Ferry', description: 'Two strangers cross a strait.', style_prompt: 'noir, rain, sodium lights' });
  });

  it('leaves them out when empty, and shows a refusal in the form', async () => {
    createAnswer = jsonResponse(400, { code: 'validation_error', detail: 'Width and height must be even numbers (H.264 needs it).' });
    await openForm();
    await click(byTestId(view!.container, 'project-create-submit')[0]);
    await waitFor(() => expect(posted).toHaveLength(1));
    expect(posted[0]).not.toHaveProperty('style_prompt');
    expect(posted[0]).not.toHaveProperty('description');
    const form = view!.container.querySelector('form[aria-label="New film"]')!;
    await waitFor(() => expect(byTestId(form, 'error-message')[0].textContent).toBe('Width and height must be even numbers (H.264 needs it).'));
  });
});

const invitation = (id: string, title: string): MyInvitation => ({
  id,
  project: { id: `p-${id}`, title },
  role: 'artist',
  invited_by: { id: 1, username: 'dana', display_name: 'Dana' },
  created_at: '2026-01-01T00:00:00Z',
  expires_at: '2026-02-01T00:00:00Z',
});

describe('Invitations on the list of films', () => {
  it('shows them with Accept and Decline', async () => {
    invitations = [invitation('i1', 'Night Ferry'), invitation('i2', 'Salt')];
    view = await render(<ProjectListPage />);
    await waitFor(() => expect(byTestId(view!.container, 'my-invitation')).toHaveLength(2));
    expect(byTestId(view.container, 'my-invitation')[0].textContent).toContain('Night Ferry');
    expect(byTestId(view.container, 'my-invitation')[0].textContent).toContain('from Dana');
    await click(byTestId(view.container, 'my-invitation-decline')[1]);
    await waitFor(() => expect(byTestId(view!.container, 'my-invitation')).toHaveLength(1));
    expect(answered).toEqual(['decline i2']);
    await click(byTestId(view.container, 'my-invitation-accept')[0]);
    await waitFor(() => expect(answered).toEqual(['decline i2', 'accept i1']));
  });

  it('shows nothing when there are none', async () => {
    view = await render(<ProjectListPage />);
    await waitFor(() => expect(view!.container.textContent).toContain('No films yet'));
    expect(byTestId(view.container, 'my-invitations')).toHaveLength(0);
  });
});
