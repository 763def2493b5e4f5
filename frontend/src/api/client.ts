/**
 * The one way the browser talks to the REST API: same-origin credentials (the session
 * cookie), the CSRF header on every unsafe method, JSON in and out, and every failure
 * turned into an ApiError that carries the API's human sentence (`detail`).
 */

export const API_BASE = '/api/v1';
const CSRF_COOKIE = 'csrftoken';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** An API failure: `detail` is the sentence to show people. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly fields: Record<string, string[]> | undefined;
  /** The whole error body (a 409 carries the current state next to code and detail). */
  readonly body: Record<string, unknown>;

  constructor(status: number, code: string, detail: string, body: Record<string, unknown> = {}) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.body = body;
    const fields = body.fields;
    this.fields = fields && typeof fields === 'object' ? (fields as Record<string, string[]>) : undefined;
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

/** The sentence to show for any error (API, network or a bug). */
export function errorSentence(error: unknown): string {
  if (error instanceof ApiError) return error.detail;
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong. Please try again.';
}

function fallbackDetail(status: number): { code: string; detail: string } {
  if (status === 401) return { code: 'not_authenticated', detail: 'Please sign in to continue.' };
  if (status === 403) return { code: 'permission_denied', detail: 'You do not have permission to do this.' };
  if (status === 404) return { code: 'not_found', detail: 'This could not be found.' };
  if (status === 409) return { code: 'conflict', detail: 'Someone changed this meanwhile; reload and try again.' };
  if (status === 413) return { code: 'too_large', detail: 'The file is too large.' };
  if (status >= 500) return { code: 'server_error', detail: `The studio had a problem (HTTP ${status}). Please try again.` };
  return { code: 'error', detail: `The request failed (HTTP ${status}).` };
}

/** Build an ApiError from a status and a (possibly non-JSON) body text. */
export function apiErrorFrom(status: number, text: string): ApiError {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = text ? JSON.parse(text) : {};
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    body = {};
  }
  const fallback = fallbackDetail(status);
  const code = typeof body.code === 'string' && body.code ? body.code : fallback.code;
  const detail = typeof body.detail === 'string' && body.detail ? body.detail : fallback.detail;
  return new ApiError(status, code, detail, body);
}

export const NETWORK_ERROR_DETAIL = 'The studio cannot be reached. Check your connection and try again.';

export function readCookie(name: string, cookies: string = typeof document === 'undefined' ? '' : document.cookie): string | null {
  for (const part of cookies.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | null | undefined>;
  signal?: AbortSignal;
}

export interface ClientOptions {
  fetch?: typeof fetch;
  baseUrl?: string;
  /** Where the CSRF token comes from (the `csrftoken` cookie by default). */
  csrfToken?: () => string | null;
}

export interface ApiClient {
  request<T>(method: string, path: string, options?: RequestOptions): Promise<T>;
  get<T>(path: string, query?: RequestOptions['query'], signal?: AbortSignal): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  put<T>(path: string, body?: unknown): Promise<T>;
  patch<T>(path: string, body?: unknown): Promise<T>;
  del<T = void>(path: string): Promise<T>;
  /** The CSRF token, fetching the cookie first when the page has none yet. */
  csrf(): Promise<string | null>;
}

export function buildUrl(base: string, path: string, query?: RequestOptions['query']): string {
  let url = path.startsWith('http') || path.startsWith('/api') ? path : `${base}${path.startsWith('/') ? '' : '/'}${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
    }
    const qs = params.toString();
    if (qs) url += (url.includes('?') ? '&' : '?') + qs;
  }
  return url;
}

export function createClient(options: ClientOptions = {}): ApiClient {
  const base = options.baseUrl ?? API_BASE;
  const doFetch = (input: string, init: RequestInit) => (options.fetch ?? globalThis.fetch)(input, init);
  const csrfToken = options.csrfToken ?? (() => readCookie(CSRF_COOKIE));

  async function csrf(): Promise<string | null> {
    let token = csrfToken();
    if (!token) {
      // The session endpoint sets the cookie (ensure_csrf_cookie) whether or not we are signed in.
      try {
        await doFetch(buildUrl(base, '/auth/session/'), { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      } catch {
        /* the real request below reports the network problem */
      }
      token = csrfToken();
    }
    return token;
  }

  async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const upper = method.toUpperCase();
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    if (!SAFE_METHODS.has(upper)) {
      const token = await csrf();
      if (token) headers['X-CSRFToken'] = token;
    }
    let response: Response;
    try {
      response = await doFetch(buildUrl(base, path, opts.query), {
        method: upper,
        credentials: 'same-origin',
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal,
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') throw error;
      throw new ApiError(0, 'network_error', NETWORK_ERROR_DETAIL);
    }
    const text = await response.text();
    if (!response.ok) throw apiErrorFrom(response.status, text);
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(response.status, 'bad_response', 'The studio sent an answer this page cannot read.');
    }
  }

  return {
    request,
    csrf,
    get: (path, query, signal) => request('GET', path, { query, signal }),
    post: (path, body) => request('POST', path, { body }),
    put: (path, body) => request('PUT', path, { body }),
    patch: (path, body) => request('PATCH', path, { body }),
    del: (path) => request('DELETE', path),
  };
}

/** The app's client. Tests build their own with createClient({fetch}). */
export const client = createClient();
