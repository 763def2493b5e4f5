/**
 * Direct-to-storage uploads, the same three steps for local disk and S3:
 *
 * 1. `POST /uploads/` `{project, filename, size, content_type}` → where and how to send the bytes
 *    (the project the file is for: the caller needs a role there that may add media, and the
 *    user's and project's quotas of not-yet-used uploads apply);
 * 2. the bytes go with XMLHttpRequest (fetch has no upload progress) to `url` with `headers`
 *    — or, for an S3 multipart upload, each part to its presigned URL, collecting ETags;
 * 3. `POST /uploads/{id}/complete/` (with the parts) → the completed upload and its media.
 *
 * A local URL is on this server: the session cookie goes with it (same origin) and Django
 * wants the CSRF header. A presigned S3 URL is another origin: no credentials, no CSRF
 * header (it would leak the token and force a CORS preflight the bucket may not allow).
 */

import { ApiError, apiErrorFrom, client as defaultClient, NETWORK_ERROR_DETAIL, type ApiClient } from './client';
import type { Upload, UploadPart } from './types';

export interface UploadProgress {
  loaded: number;
  total: number;
  /** 0..1 */
  fraction: number;
}

export type XhrFactory = () => XMLHttpRequest;

export interface SendResult {
  status: number;
  etag: string | null;
  responseText: string;
}

export interface SendOptions {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body: Blob;
  withCredentials?: boolean;
  onProgress?: (loaded: number, total: number) => void;
  signal?: AbortSignal;
  createXhr?: XhrFactory;
}

export function abortError(): DOMException {
  return new DOMException('The upload was cancelled.', 'AbortError');
}

/** Send one body with XMLHttpRequest; resolves on 2xx with the ETag header (when exposed). */
export function sendBytes(options: SendOptions): Promise<SendResult> {
  const createXhr = options.createXhr ?? (() => new XMLHttpRequest());
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(abortError());
      return;
    }
    const xhr = createXhr();
    xhr.open(options.method, options.url, true);
    xhr.withCredentials = Boolean(options.withCredentials);
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      // The browser sets Content-Length itself and refuses to be told.
      if (name.toLowerCase() !== 'content-length') xhr.setRequestHeader(name, value);
    }
    const onAbort = () => xhr.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => options.signal?.removeEventListener('abort', onAbort);

    xhr.upload.onprogress = (event: ProgressEvent) => {
      options.onProgress?.(event.loaded, event.lengthComputable ? event.total : options.body.size);
    };
    xhr.onload = () => {
      done();
      if (xhr.status >= 200 && xhr.status < 300) {
        options.onProgress?.(options.body.size, options.body.size);
        resolve({ status: xhr.status, etag: xhr.getResponseHeader('ETag'), responseText: xhr.responseText ?? '' });
        return;
      }
      const text = xhr.responseText ?? '';
      if (text.trim().startsWith('{')) {
        reject(apiErrorFrom(xhr.status, text));
      } else {
        reject(
          new ApiError(
            xhr.status,
            'storage_refused',
            `The storage refused the file (HTTP ${xhr.status}). Try again; if it keeps failing the upload link may have expired.`,
          ),
        );
      }
    };
    xhr.onerror = () => {
      done();
      reject(new ApiError(0, 'network_error', NETWORK_ERROR_DETAIL));
    };
    xhr.onabort = () => {
      done();
      reject(abortError());
    };
    xhr.send(options.body);
  });
}

/** True when `url` points at the page's own origin (local storage), false for S3 and co. */
export function isSameOrigin(url: string, pageOrigin: string = typeof location === 'undefined' ? '' : location.origin): boolean {
  if (url.startsWith('/') && !url.startsWith('//')) return true;
  try {
    return new URL(url, pageOrigin || undefined).origin === pageOrigin;
  } catch {
    return false;
  }
}

/** A content type for the upload when the browser does not know one. */
export function guessContentType(file: { name?: string; type?: string }): string {
  if (file.type) return file.type;
  const ext = (file.name ?? '').split('.').pop()?.toLowerCase() ?? '';
  const types: Record<string, string> = {
    mp4: 'video/mp4',
    m4v: 'video/mp4',
    mov: 'video/quicktime',
    webm: 'video/webm',
    mkv: 'video/x-matroska',
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    webp: 'image/webp',
    wav: 'audio/wav',
    mp3: 'audio/mpeg',
  };
  return types[ext] ?? 'application/octet-stream';
}

export interface UploadFileOptions {
  /** The project the file is for (required by the server). */
  project: string;
  client?: ApiClient;
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
  createXhr?: XhrFactory;
  /** Parts in flight at once for multipart uploads. */
  concurrency?: number;
  pageOrigin?: string;
}

type NamedBlob = Blob & { name?: string };

/** Steps 1–3 for one file; resolves with the completed upload (its `media` is set). */
export async function uploadFile(file: NamedBlob, options: UploadFileOptions): Promise<Upload> {
  const api = options.client ?? defaultClient;
  const total = file.size;
  const report = (loaded: number) =>
    options.onProgress?.({ loaded, total, fraction: total ? Math.min(1, loaded / total) : 1 });

  const upload = await api.post<Upload>('/uploads/', {
    project: options.project,
    filename: file.name || 'upload',
    size: file.size,
    content_type: guessContentType(file),
  });
  report(0);

  let parts: { number: number; etag: string }[] | undefined;
  if (upload.parts && upload.parts.length) {
    parts = await sendParts(file, upload, upload.parts, options, report);
  } else {
    if (!upload.url) throw new ApiError(0, 'bad_response', 'The studio did not say where to send the file.');
    const sameOrigin = isSameOrigin(upload.url, options.pageOrigin);
    const headers: Record<string, string> = { ...(upload.headers ?? {}) };
    if (sameOrigin) {
      const token = await api.csrf();
      if (token) headers['X-CSRFToken'] = token;
    }
    await sendBytes({
      method: upload.method || 'PUT',
      url: upload.url,
      headers,
      body: file,
      withCredentials: false, // same-origin requests carry the session cookie anyway
      onProgress: (loaded) => report(loaded),
      signal: options.signal,
      createXhr: options.createXhr,
    });
  }
  if (options.signal?.aborted) throw abortError();
  return api.post<Upload>(`/uploads/${upload.id}/complete/`, parts ? { parts } : {});
}

async function sendParts(
  file: NamedBlob,
  upload: Upload,
  partList: UploadPart[],
  options: UploadFileOptions,
  report: (loaded: number) => void,
): Promise<{ number: number; etag: string }[]> {
  const partSize = upload.part_size ?? Math.ceil(file.size / partList.length);
  const loaded = new Map<number, number>();
  const etags = new Map<number, string>();
  const queue = [...partList].sort((a, b) => a.number - b.number);
  const sum = () => [...loaded.values()].reduce((a, b) => a + b, 0);
  // One failed part stops the others (and the caller's cancel stops them all).
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  async function worker() {
    for (let part = queue.shift(); part; part = queue.shift()) {
      const start = (part.number - 1) * partSize;
      const end = Math.min(file.size, start + (part.size ?? partSize));
      const result = await sendBytes({
        method: upload.method || 'PUT',
        url: part.url,
        body: file.slice(start, end),
        withCredentials: false,
        onProgress: (bytes) => {
          loaded.set(part!.number, bytes);
          report(sum());
        },
        signal: stop.signal,
        createXhr: options.createXhr,
      });
      // S3 answers each part with its ETag; the bucket's CORS must expose it. Without it the
      // server still completes (it lists the parts itself), so an empty ETag is sent.
      etags.set(part.number, result.etag ?? '');
    }
  }

  const concurrency = Math.max(1, Math.min(options.concurrency ?? 3, partList.length));
  try {
    await Promise.all(
      Array.from({ length: concurrency }, () =>
        worker().catch((error: unknown) => {
          stop.abort();
          throw error;
        }),
      ),
    );
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  return partList
    .map((p) => p.number)
    .sort((a, b) => a - b)
    .map((number) => ({ number, etag: etags.get(number) ?? '' }));
}
