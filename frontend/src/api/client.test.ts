import { describe, expect, it, vi } from 'vitest';

import { ApiError, apiErrorFrom, createClient, errorSentence, readCookie } from './client';

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

type FetchMock = ReturnType<typeof vi.fn<(input: string, init: RequestInit) => Promise<Response>>>;

function setup(responses: Array<Response | Error>, token: string | null = 'tok-123') {
  const fetch: FetchMock = vi.fn(async () => {
    const next = responses.shift();
    if (!next) throw new Error('no more responses');
    if (next instanceof Error) throw next;
    return next;
  });
  const client = createClient({ fetch: fetch as unknown as typeof globalThis.fetch, csrfToken: () => token });
  return { fetch, client };
}

const headersOf = (init: RequestInit) => init.headers as Record<string, string>;

describe('api client', () => {
  it('sends the session cookie and the CSRF header on unsafe methods', async () => {
    const { fetch, client } = setup([json(201, { id: 's1' })]);
    await expect(client.post('/segments/s1/claim/', { a: 1 })).resolves.toEqual({ id: 's1' });
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('/api/v1/segments/s1/claim/');
    expect(init.method).toBe('POST');
    expect(init.credentials).toBe('same-origin');
    expect(headersOf(init)['X-CSRFToken']).toBe('tok-123');
    expect(headersOf(init)['Content-Type']).toBe('application/json');
    expect(init.body).toBe('{"a":1}');
  });

  it('does not send the CSRF header on GET and builds the query string', async () => {
    const { fetch, client } = setup([json(200, [])]);
    await client.get('/backends/', { project: 'p1', empty: '', none: null });
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('/api/v1/backends/?project=p1');
    expect(headersOf(init)['X-CSRFToken']).toBeUndefined();
  });

  it('fetches the CSRF cookie first when the page has none', async () => {
    let token: string | null = null;
    const fetch: FetchMock = vi.fn(async (url: string) => {
      if (url.endsWith('/auth/session/')) {
        token = 'fresh';
        return json(401, { code: 'not_authenticated', detail: 'Not signed in.' });
      }
      return json(200, { ok: true });
    });
    const client = createClient({ fetch: fetch as unknown as typeof globalThis.fetch, csrfToken: () => token });
    await client.post('/auth/session/login-like/', {});
    expect(fetch.mock.calls[0][0]).toBe('/api/v1/auth/session/');
    expect(headersOf(fetch.mock.calls[1][1])['X-CSRFToken']).toBe('fresh');
  });

  it('turns an error body into an ApiError carrying the human detail', async () => {
    const { client } = setup([
      json(409, {
        code: 'segment_already_claimed',
        detail: 'This segment is already claimed by ana.',
        current: { id: 's1', owner: { username: 'ana' } },
      }),
    ]);
    const error = await client.post('/segments/s1/claim/').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.status).toBe(409);
    expect(apiError.code).toBe('segment_already_claimed');
    expect(apiError.detail).toBe('This segment is already claimed by ana.');
    expect(apiError.message).toBe(apiError.detail);
    expect(apiError.body.current).toEqual({ id: 's1', owner: { username: 'ana' } });
    expect(errorSentence(apiError)).toBe('This segment is already claimed by ana.');
  });

  it('keeps validation fields', async () => {
    const { client } = setup([
      json(400, { code: 'validation_error', detail: 'A segment needs a title.', fields: { title: ['This field is required.'] } }),
    ]);
    const error = (await client.post('/projects/p/segments/', {}).catch((e: unknown) => e)) as ApiError;
    expect(error.fields).toEqual({ title: ['This field is required.'] });
  });

  it('explains a 402 budget refusal with the API sentence', async () => {
    const { client } = setup([json(402, { code: 'budget_exceeded', detail: 'This would exceed the budget: $3.00 left.' })]);
    const error = (await client.post('/shots/x/generate/', {}).catch((e: unknown) => e)) as ApiError;
    expect([error.status, error.code, error.detail]).toEqual([402, 'budget_exceeded', 'This would exceed the budget: $3.00 left.']);
  });

  it('falls back to a sentence when the body is not JSON', async () => {
    const { client } = setup([new Response('<html>Bad gateway</html>', { status: 502 })]);
    const error = (await client.get('/projects/').catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(502);
    expect(error.code).toBe('server_error');
    expect(error.detail).toMatch(/problem/);
  });

  it('reports a network failure as status 0', async () => {
    const { client } = setup([new TypeError('Failed to fetch')]);
    const error = (await client.get('/projects/').catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(0);
    expect(error.code).toBe('network_error');
    expect(error.detail).toMatch(/cannot be reached/);
  });

  it('returns undefined for 204', async () => {
    const { client } = setup([new Response(null, { status: 204 })]);
    await expect(client.del('/auth/session/')).resolves.toBeUndefined();
  });
});

describe('apiErrorFrom and readCookie', () => {
  it('uses a fallback detail for an empty 403', () => {
    const error = apiErrorFrom(403, '');
    expect(error.code).toBe('permission_denied');
    expect(error.detail).toMatch(/permission/);
  });

  it('reads one cookie among several', () => {
    expect(readCookie('csrftoken', 'sessionid=x; csrftoken=a%3Db; other=1')).toBe('a=b');
    expect(readCookie('csrftoken', 'sessionid=x')).toBeNull();
  });
});
