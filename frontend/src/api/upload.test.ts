import { describe, expect, it, vi } from 'vitest';

import { ApiError, createClient, type ApiClient } from './client';
import { isSameOrigin, uploadFile, type UploadProgress } from './upload';

/** A scripted XMLHttpRequest: on send it reports progress in two steps, then answers. */
class MockXHR {
  static instances: MockXHR[] = [];
  static inFlight = 0;
  static maxInFlight = 0;
  /** never answer (to cancel mid-way) */
  static hang = false;
  static respond: (xhr: MockXHR) => { status: number; etag?: string; body?: string } = () => ({ status: 200 });

  method = '';
  url = '';
  headers: Record<string, string> = {};
  withCredentials = false;
  body: Blob | null = null;
  status = 0;
  responseText = '';
  aborted = false;
  private responseHeaders: Record<string, string> = {};
  upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;

  constructor() {
    MockXHR.instances.push(this);
  }
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  getResponseHeader(name: string) {
    return this.responseHeaders[name.toLowerCase()] ?? null;
  }
  abort() {
    this.aborted = true;
    this.onabort?.();
  }
  send(body: Blob) {
    this.body = body;
    const size = body.size;
    MockXHR.inFlight += 1;
    MockXHR.maxInFlight = Math.max(MockXHR.maxInFlight, MockXHR.inFlight);
    if (MockXHR.hang) return;
    setTimeout(() => {
      if (this.aborted) return;
      this.upload.onprogress?.({ loaded: Math.floor(size / 2), total: size, lengthComputable: true } as ProgressEvent);
      setTimeout(() => {
        if (this.aborted) return;
        this.upload.onprogress?.({ loaded: size, total: size, lengthComputable: true } as ProgressEvent);
        const answer = MockXHR.respond(this);
        this.status = answer.status;
        this.responseText = answer.body ?? '';
        if (answer.etag) this.responseHeaders.etag = answer.etag;
        MockXHR.inFlight -= 1;
        this.onload?.();
      }, 0);
    }, 0);
  }
}

const createXhr = () => new MockXHR() as unknown as XMLHttpRequest;
const PROJECT = '7d1f0a52-1111-4bb6-9ad5-0c7cf5e2b5a1';

function apiWith(routes: Record<string, unknown>) {
  const calls: Array<{ url: string; body: unknown; headers: Record<string, string> }> = [];
  const fetch = vi.fn(async (url: string, init: RequestInit) => {
    calls.push({ url, body: init.body ? JSON.parse(String(init.body)) : undefined, headers: init.headers as Record<string, string> });
    const key = Object.keys(routes).find((k) => url.endsWith(k));
    if (!key) return new Response(JSON.stringify({ code: 'not_found', detail: 'No route' }), { status: 404 });
    return new Response(JSON.stringify(routes[key]), { status: 200 });
  });
  const client: ApiClient = createClient({ fetch: fetch as unknown as typeof globalThis.fetch, csrfToken: () => 'csrf-1' });
  return { client, calls };
}

function file(size: number, name = 'clip.mp4', type = 'video/mp4') {
  return new File([new Uint8Array(size)], name, { type });
}

describe('uploadFile', () => {
  it('runs the three steps for local storage with the CSRF header and reports progress', async () => {
    MockXHR.instances = [];
    MockXHR.respond = () => ({ status: 200, body: '{"status":"pending"}' });
    const { client, calls } = apiWith({
      '/uploads/': { id: 'u1', method: 'PUT', url: '/api/v1/uploads/u1/data/', headers: { 'Content-Type': 'video/mp4' } },
      '/uploads/u1/complete/': { id: 'u1', status: 'complete', media: { id: 'm1' } },
    });
    const progress: UploadProgress[] = [];
    const result = await uploadFile(file(1000), { project: PROJECT, client, createXhr, onProgress: (p) => progress.push(p), pageOrigin: 'http://studio.test' });

    expect(result).toMatchObject({ id: 'u1', status: 'complete' });
    expect(calls[0]).toMatchObject({ url: '/api/v1/uploads/', body: { project: PROJECT, filename: 'clip.mp4', size: 1000, content_type: 'video/mp4' } });
    const xhr = MockXHR.instances[0];
    expect(xhr.method).toBe('PUT');
    expect(xhr.url).toBe('/api/v1/uploads/u1/data/');
    expect(xhr.headers).toEqual({ 'Content-Type': 'video/mp4', 'X-CSRFToken': 'csrf-1' });
    expect(xhr.body?.size).toBe(1000);
    expect(calls[calls.length - 1]).toMatchObject({ url: '/api/v1/uploads/u1/complete/', body: {} });
    const fractions = progress.map((p) => p.fraction);
    expect(fractions[0]).toBe(0);
    expect(fractions).toContain(0.5);
    expect(fractions[fractions.length - 1]).toBe(1);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
  });

  it('sends to a presigned S3 URL without credentials or the CSRF header', async () => {
    MockXHR.instances = [];
    MockXHR.respond = () => ({ status: 200, etag: '"abc"' });
    const { client } = apiWith({
      '/uploads/': { id: 'u2', method: 'PUT', url: 'https://bucket.s3.example.com/key?X-Amz-Signature=x', headers: { 'Content-Type': 'video/mp4' } },
      '/uploads/u2/complete/': { id: 'u2', status: 'complete' },
    });
    await uploadFile(file(10), { project: PROJECT, client, createXhr, pageOrigin: 'http://studio.test' });
    const xhr = MockXHR.instances[0];
    expect(xhr.withCredentials).toBe(false);
    expect(xhr.headers).toEqual({ 'Content-Type': 'video/mp4' });
  });

  it('uploads multipart parts, collects their ETags in order and adds up the progress', async () => {
    MockXHR.instances = [];
    MockXHR.maxInFlight = 0;
    MockXHR.respond = (xhr) => ({ status: 200, etag: `"etag-${new URL(xhr.url).searchParams.get('partNumber')}"` });
    const part = (n: number, size: number) => ({ number: n, url: `https://s3.example.com/k?partNumber=${n}`, size });
    const { client, calls } = apiWith({
      '/uploads/': { id: 'u3', method: 'PUT', url: null, headers: {}, part_size: 400, parts: [part(1, 400), part(2, 400), part(3, 200)] },
      '/uploads/u3/complete/': { id: 'u3', status: 'complete' },
    });
    const progress: number[] = [];
    await uploadFile(file(1000), { project: PROJECT, client, createXhr, concurrency: 2, onProgress: (p) => progress.push(p.loaded) });

    const sizes = MockXHR.instances.map((x) => [x.url.split('=')[1], x.body?.size]);
    expect(sizes.sort()).toEqual([
      ['1', 400],
      ['2', 400],
      ['3', 200],
    ]);
    expect(calls[calls.length - 1].body).toEqual({
      parts: [
        { number: 1, etag: '"etag-1"' },
        { number: 2, etag: '"etag-2"' },
        { number: 3, etag: '"etag-3"' },
      ],
    });
    expect(Math.max(...progress)).toBe(1000);
    // Two parts in flight at once, as asked; storage URLs never get the CSRF token.
    expect(MockXHR.maxInFlight).toBe(2);
    expect(MockXHR.instances.every((x) => !x.headers['X-CSRFToken'])).toBe(true);
  });

  it('sends an empty ETag when the bucket does not expose it (the server lists the parts)', async () => {
    MockXHR.instances = [];
    MockXHR.respond = () => ({ status: 200 });
    const { client, calls } = apiWith({
      '/uploads/': { id: 'u4', method: 'PUT', url: null, headers: {}, part_size: 5, parts: [{ number: 1, url: 'https://s3/x', size: 5 }] },
      '/uploads/u4/complete/': { id: 'u4', status: 'complete' },
    });
    await uploadFile(file(5), { project: PROJECT, client, createXhr });
    expect(calls[calls.length - 1].body).toEqual({ parts: [{ number: 1, etag: '' }] });
  });

  it('reports a storage refusal as an ApiError and does not complete', async () => {
    MockXHR.instances = [];
    MockXHR.respond = () => ({ status: 403, body: '<Error><Code>AccessDenied</Code></Error>' });
    const { client, calls } = apiWith({
      '/uploads/': { id: 'u5', method: 'PUT', url: 'https://s3.example.com/x', headers: {} },
    });
    const error = await uploadFile(file(5), { project: PROJECT, client, createXhr }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('storage_refused');
    expect(calls.some((c) => c.url.endsWith('/complete/'))).toBe(false);
  });

  it('passes on the detail of a local upload refused by the server', async () => {
    MockXHR.instances = [];
    MockXHR.respond = () => ({ status: 400, body: '{"code":"validation_error","detail":"Storage received more bytes than declared."}' });
    const { client } = apiWith({ '/uploads/': { id: 'u6', method: 'PUT', url: '/api/v1/uploads/u6/data/', headers: {} } });
    const error = (await uploadFile(file(5), { project: PROJECT, client, createXhr }).catch((e: unknown) => e)) as ApiError;
    expect(error.detail).toBe('Storage received more bytes than declared.');
  });

  it('stops when cancelled', async () => {
    MockXHR.instances = [];
    MockXHR.respond = () => ({ status: 200 });
    const { client } = apiWith({ '/uploads/': { id: 'u7', method: 'PUT', url: '/api/v1/uploads/u7/data/', headers: {} } });
    MockXHR.hang = true;
    const controller = new AbortController();
    const pending = uploadFile(file(5), { project: PROJECT, client, createXhr, signal: controller.signal });
    await vi.waitFor(() => expect(MockXHR.instances.length).toBe(1));
    controller.abort();
    MockXHR.hang = false;
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(MockXHR.instances[0].aborted).toBe(true);
  });
});

describe('isSameOrigin', () => {
  it('tells local URLs from storage URLs', () => {
    expect(isSameOrigin('/api/v1/uploads/1/data/', 'http://a.test')).toBe(true);
    expect(isSameOrigin('http://a.test/api/v1/uploads/1/data/', 'http://a.test')).toBe(true);
    expect(isSameOrigin('https://bucket.s3.amazonaws.com/x', 'http://a.test')).toBe(false);
    expect(isSameOrigin('//evil.test/x', 'http://a.test')).toBe(false);
  });
});
