import { act } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { Take } from '../../api/types';
import { qk } from '../../state/keys';
import { byTestId, jsonResponse, PROJECT, render, waitFor, type Rendered } from '../../test/utils';
import { UploadZone } from './UploadZone';

/** An XMLHttpRequest that only answers when the test says so. */
class HeldXHR {
  static last: HeldXHR | null = null;
  upload: { onprogress: ((e: Partial<ProgressEvent>) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  status = 0;
  responseText = '';
  withCredentials = false;
  headers: Record<string, string> = {};
  url = '';
  constructor() {
    HeldXHR.last = this;
  }
  open(_m: string, url: string) {
    this.url = url;
  }
  setRequestHeader(k: string, v: string) {
    this.headers[k] = v;
  }
  getResponseHeader() {
    return null;
  }
  send() {}
  abort() {
    this.onabort?.();
  }
  progress(loaded: number, total: number) {
    this.upload.onprogress?.({ loaded, total, lengthComputable: true });
  }
  finish() {
    this.status = 200;
    this.onload?.();
  }
}

const take = { id: 't9', shot: 'sh1', number: 1, status: 'processing', review_state: 'draft' } as Take;
let view: Rendered | null = null;
let uploadBodies: unknown[] = [];

beforeEach(() => {
  uploadBodies = [];
  document.cookie = 'csrftoken=tok';
  vi.stubGlobal('XMLHttpRequest', HeldXHR);
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init?: RequestInit) => {
      if (url.endsWith('/uploads/')) uploadBodies.push(JSON.parse(String(init?.body)));
      if (url.endsWith('/uploads/')) return jsonResponse(201, { id: 'u1', method: 'PUT', url: '/api/v1/uploads/u1/data/', headers: { 'Content-Type': 'video/mp4' } });
      if (url.endsWith('/uploads/u1/complete/')) return jsonResponse(200, { id: 'u1', status: 'complete' });
      if (url.endsWith('/shots/sh1/takes/')) return jsonResponse(201, take);
      return jsonResponse(404, { code: 'not_found', detail: 'Not found.' });
    }),
  );
});

afterEach(async () => {
  await view?.unmount();
  view = null;
  vi.unstubAllGlobals();
});

describe('UploadZone', () => {
  it('shows a progress bar through the upload and adds the take when done', async () => {
    view = await render(<UploadZone shotId="sh1" />, { project: PROJECT });
    view.qc.setQueryData<Take[]>(qk.takes('p1', 'sh1'), []);
    const input = byTestId(view.container, 'take-upload-input')[0] as HTMLInputElement;
    expect(input.type).toBe('file');

    const file = new File([new Uint8Array(2000)], 'clip.mp4', { type: 'video/mp4' });
    await act(async () => {
      Object.defineProperty(input, 'files', { value: [file], configurable: true });
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    const xhr = await waitFor(() => {
      if (!HeldXHR.last) throw new Error('no XHR yet');
      return HeldXHR.last;
    });
    expect(xhr.headers['X-CSRFToken']).toBe('tok');
    expect(uploadBodies[0]).toMatchObject({ project: 'p1', filename: 'clip.mp4', size: 2000 }); // the upload names its project
    expect(byTestId(view.container, 'upload-progress')).toHaveLength(1);

    await act(async () => xhr.progress(500, 2000));
    const bar = view.container.querySelector('[data-testid="upload-progress"] [role="progressbar"]')!;
    expect(bar.getAttribute('aria-valuenow')).toBe('25');

    await act(async () => xhr.finish());
    await waitFor(() => expect(byTestId(view!.container, 'upload-progress')).toHaveLength(0));
    expect(view.qc.getQueryData<Take[]>(qk.takes('p1', 'sh1'))!.map((t) => t.id)).toEqual(['t9']);
  });
});
