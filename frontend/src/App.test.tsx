import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { AppRoutes } from './App';
import { byTestId, jsonResponse, render, typeInto, click, waitFor, type Rendered } from './test/utils';

let view: Rendered | null = null;
let signInBody: unknown = null;

beforeEach(() => {
  document.cookie = 'csrftoken=tok';
  signInBody = null;
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      if (url.endsWith('/auth/session/') && init.method === 'POST') {
        signInBody = JSON.parse(String(init.body));
        return jsonResponse(400, { code: 'invalid_credentials', detail: 'Wrong username or password.' });
      }
      if (url.endsWith('/invites/tok123/')) return jsonResponse(200, { project: { id: 'p9', title: 'Night Ferry' }, role: 'artist', expires_at: null });
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

describe('routes', () => {
  it('sends a signed-out visitor to /login and shows a refused sign-in as its sentence', async () => {
    view = await render(<AppRoutes />, { me: null, route: '/projects' });
    const username = byTestId(view.container, 'login-username')[0] as HTMLInputElement;
    expect(username).toBeTruthy();
    await typeInto(username, 'ana');
    await typeInto(byTestId(view.container, 'login-password')[0] as HTMLInputElement, 'nope');
    await click(byTestId(view.container, 'login-submit')[0]);
    const alert = await waitFor(() => {
      const [el] = byTestId(view!.container, 'error-message');
      if (!el) throw new Error('no error yet');
      return el;
    });
    expect(alert.textContent).toBe('Wrong username or password.');
    expect(signInBody).toEqual({ username: 'ana', password: 'nope' });
    expect(view.container.querySelector('a[href="/signup?next=%2Fprojects"]')).toBeTruthy();
  });

  it('shows an invite to a signed-out visitor with sign-up and sign-in links that come back', async () => {
    view = await render(<AppRoutes />, { me: null, route: '/invite/tok123' });
    await waitFor(() => expect(byTestId(view!.container, 'invite-project')[0].textContent).toBe('Night Ferry'));
    expect(byTestId(view.container, 'invite-signup')[0].getAttribute('href')).toBe('/signup?next=%2Finvite%2Ftok123');
    expect(byTestId(view.container, 'invite-login')[0].getAttribute('href')).toBe('/login?next=%2Finvite%2Ftok123');
    expect(byTestId(view.container, 'invite-accept')).toHaveLength(0);
  });

  it('offers a signed-in person to accept the invite', async () => {
    view = await render(<AppRoutes />, { route: '/invite/tok123' });
    await waitFor(() => expect(byTestId(view!.container, 'invite-accept')).toHaveLength(1));
  });

  it('lists projects with an empty state and the create button', async () => {
    view = await render(<AppRoutes />, { route: '/projects' });
    await waitFor(() => expect(view!.container.textContent).toContain('No films yet'));
    expect(byTestId(view.container, 'project-create')).toHaveLength(1);
    expect(byTestId(view.container, 'nav-signout')).toHaveLength(1);
  });
});
