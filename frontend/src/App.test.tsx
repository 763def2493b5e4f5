import { act } from 'react';
import { createRoot } from 'react-dom/client';
import { afterEach, describe, expect, it, vi } from 'vitest';

import App from './App';
import { fetchSession } from './api';

// Tell React this environment runs updates inside act().
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

describe('fetchSession', () => {
  it('reads the username of the signed-in user', async () => {
    const fetcher = vi.fn(async () => jsonResponse(200, { id: 'u1', username: 'ada' }));
    await expect(fetchSession(fetcher as unknown as typeof fetch)).resolves.toEqual({
      kind: 'signed-in',
      me: { username: 'ada' },
    });
    expect(fetcher).toHaveBeenCalledWith('/api/v1/me/', expect.objectContaining({ credentials: 'same-origin' }));
  });

  it('treats 401 and 403 as signed out', async () => {
    for (const status of [401, 403]) {
      const fetcher = async () => jsonResponse(status, { code: 'not_authenticated' });
      await expect(fetchSession(fetcher as unknown as typeof fetch)).resolves.toEqual({ kind: 'signed-out' });
    }
  });
});

describe('App', () => {
  let container: HTMLDivElement | null = null;

  afterEach(() => {
    container?.remove();
    container = null;
  });

  it('shows the heading and then who is signed in', async () => {
    container = document.createElement('div');
    document.body.appendChild(container);
    const root = createRoot(container);
    const load = async () => ({ kind: 'signed-in' as const, me: { username: 'grace' } });

    await act(async () => {
      root.render(<App load={load} />);
    });

    expect(container.querySelector('h1')?.textContent).toBe('Montage');
    expect(container.querySelector('[role="status"]')?.textContent).toContain('Signed in as grace');
    await act(async () => root.unmount());
  });

  it('offers to sign in when nobody is', async () => {
    container = document.createElement('div');
    document.body.appendChild(container);
    const root = createRoot(container);

    await act(async () => {
      root.render(<App load={async () => ({ kind: 'signed-out' })} />);
    });

    const status = container.querySelector('[role="status"]');
    expect(status?.textContent).toContain('Not signed in');
    expect(status?.querySelector('strong')?.textContent).toBe('Sign in');
    await act(async () => root.unmount());
  });
});
