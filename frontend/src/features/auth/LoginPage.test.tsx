import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { byTestId, click, jsonResponse, render, typeInto, waitFor, type Rendered } from '../../test/utils';
import { LoginPage } from './LoginPage';

let view: Rendered | null = null;
let answer: Response;

beforeEach(() => {
  document.cookie = 'csrftoken=tok';
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      if (url.endsWith('/auth/session/') && init.method === 'POST') return answer;
      if (url.endsWith('/auth/session/')) return jsonResponse(401, { code: 'not_authenticated', detail: 'Not signed in.' });
      return jsonResponse(404, { code: 'not_found', detail: 'Not found.' });
    }),
  );
});

afterEach(async () => {
  await view?.unmount();
  view = null;
  vi.unstubAllGlobals();
});

async function signIn() {
  view = await render(<LoginPage />, { me: null, route: '/login' });
  await typeInto(byTestId(view.container, 'login-username')[0] as HTMLInputElement, 'ana');
  await typeInto(byTestId(view.container, 'login-password')[0] as HTMLInputElement, 'guess');
  await click(byTestId(view.container, 'login-submit')[0]);
}

describe('Sign-in refusals', () => {
  it('shows the lockout sentence of a 429', async () => {
    answer = new Response(
      JSON.stringify({ code: 'throttled', detail: 'Too many failed sign-ins; try again in 14 minutes.', retry_after: 840 }),
      { status: 429, headers: { 'Content-Type': 'application/json', 'Retry-After': '840' } },
    );
    await signIn();
    await waitFor(() => expect(byTestId(view!.container, 'error-message')[0].textContent).toBe('Too many failed sign-ins; try again in 14 minutes.'));
  });

  it('shows a wrong password as such', async () => {
    answer = jsonResponse(400, { code: 'invalid_credentials', detail: 'Wrong username or password.' });
    await signIn();
    await waitFor(() => expect(byTestId(view!.container, 'error-message')[0].textContent).toBe('Wrong username or password.'));
  });
});
