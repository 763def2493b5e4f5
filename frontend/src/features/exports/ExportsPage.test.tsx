import { act } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { Export, Role, Segment } from '../../api/types';
import { RealtimeProvider } from '../../realtime/RealtimeProvider';
import { byTestId, click, flush, jsonResponse, FakeWS, PROJECT, render, segmentFixture, socketFactory, waitFor, type Rendered } from '../../test/utils';
import { ExportsPage, formatBytes } from './ExportsPage';

const seg = (id: string, position: number, owner: string | null): Segment =>
  segmentFixture(id, position, owner, { title: `Part ${id}`, target_frames: 48, shot_count: 1, approved_count: 1 });

const exp = (id: string, fields: Partial<Export> = {}): Export => ({
  id,
  project: 'p1',
  kind: 'final',
  segment: null,
  state: 'queued',
  progress: 0,
  error: '',
  options: { include_unapproved: false, credits_roll: false },
  stats: {},
  frames: 96,
  segments_total: 2,
  segments_done: 0,
  attempts: 0,
  created_by: { id: 7, username: 'pat' },
  created_at: new Date().toISOString(),
  started_at: null,
  finished_at: null,
  artifacts: [],
  ...fields,
});

const DONE_ARTIFACTS: Export['artifacts'] = [
  { kind: 'manifest', url: '/media/exports/e1/film-manifest.json', size: 2048, filename: 'film-manifest.json', content_type: 'application/json' },
  { kind: 'mp4', url: '/media/exports/e1/film.mp4', size: 3_250_000, filename: 'film.mp4', content_type: 'video/mp4' },
  { kind: 'otio', url: '/media/exports/e1/film.otio', size: 5120, filename: 'film.otio', content_type: 'application/json' },
  { kind: 'otioz', url: '/media/exports/e1/film.otioz', size: 9_500_000, filename: 'film.otioz', content_type: 'application/zip' },
  { kind: 'edl', url: '/media/exports/e1/film.edl', size: 700, filename: 'film.edl', content_type: 'text/plain' },
  { kind: 'srt', url: '/media/exports/e1/film.srt', size: 12, filename: 'film.srt', content_type: 'application/x-subrip' },
  { kind: 'credits', url: '/media/exports/e1/film-credits.txt', size: 300, filename: 'film-credits.txt', content_type: 'text/plain' },
];


let segments: Segment[] = [];
let exports: Export[] = [];
let posted: { url: string; body: unknown }[] = [];
let view: Rendered | null = null;

beforeEach(() => {
  segments = [seg('s1', 0, 'ana'), seg('s2', 1, 'bo'), seg('s3', 2, null)];
  exports = [];
  posted = [];
  document.cookie = 'csrftoken=tok';
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      const method = init.method ?? 'GET';
      if (method === 'POST') posted.push({ url, body: init.body ? JSON.parse(String(init.body)) : null });
      if (url.endsWith('/projects/p1/segments/')) return jsonResponse(200, segments);
      if (url.includes('/projects/p1/exports/') && method === 'GET') return jsonResponse(200, exports);
      if (url.endsWith('/projects/p1/exports/') && method === 'POST') {
        const body = JSON.parse(String(init.body));
        const segment = segments.find((s) => s.id === body.segment);
        const created = exp('new1', {
          kind: body.kind,
          segment: segment ? { id: segment.id, position: segment.position, title: segment.title } : null,
          options: { include_unapproved: body.include_unapproved, credits_roll: body.credits_roll },
          created_by: { id: 3, username: 'ana' },
        });
        exports = [created, ...exports];
        return jsonResponse(202, created);
      }
      const cancel = url.match(/\/exports\/([^/]+)\/cancel\/$/);
      if (cancel && method === 'POST') {
        exports = exports.map((e) => (e.id === cancel[1] ? { ...e, state: 'cancelled' } : e));
        return jsonResponse(200, exports.find((e) => e.id === cancel[1]));
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

const as = (role: Role) => ({ project: { ...PROJECT, role } });
const options = (el: HTMLElement | undefined) => Array.from((el as HTMLSelectElement).options).map((o) => o.value);

async function change(el: HTMLElement, value: string | boolean) {
  await act(async () => {
    if (el instanceof HTMLInputElement && el.type === 'checkbox') {
      if (el.checked !== value) el.click();
      return;
    }
    const select = el as HTMLSelectElement;
    Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value')!.set!.call(select, value);
    select.dispatchEvent(new Event('change', { bubbles: true }));
  });
}

describe('ExportsPage', () => {
  it('lets a producer export the final cut or any segment, and lists the new export at once', async () => {
    view = await render(<ExportsPage />, as('producer'));
    const kind = await waitFor(() => {
      const [el] = byTestId(view!.container, 'export-kind');
      if (!el) throw new Error('no form yet');
      return el;
    });
    expect(options(kind)).toEqual(['final', 'segment']);
    expect((kind as HTMLSelectElement).value).toBe('final');
    // The final cut needs no segment.
    expect(byTestId(view.container, 'export-segment')).toHaveLength(0);
    await change(kind, 'segment');
    expect(options(byTestId(view.container, 'export-segment')[0])).toEqual(['s1', 's2', 's3']);
    await change(kind, 'final');

    await click(byTestId(view.container, 'export-start')[0]);
    await waitFor(() => expect(byTestId(view!.container, 'export-row-new1')).toHaveLength(1));
    expect(posted).toEqual([
      { url: '/api/v1/projects/p1/exports/', body: { kind: 'final', segment: null, include_unapproved: false, credits_roll: false } },
    ]);
    const row = byTestId(view.container, 'export-row-new1')[0];
    expect(row.dataset.state).toBe('queued');
    expect(row.textContent).toContain('Final cut');
    expect(row.textContent).toContain('Started by ana');
    expect(byTestId(row, 'export-progress-new1')[0].getAttribute('aria-valuenow')).toBe('0');
  });

  it('offers an artist only the segments they own, and sends the options', async () => {
    view = await render(<ExportsPage />, as('artist'));
    const kind = await waitFor(() => {
      const [el] = byTestId(view!.container, 'export-kind');
      if (!el) throw new Error('no form yet');
      return el;
    });
    expect(options(kind)).toEqual(['segment']);
    expect(options(byTestId(view.container, 'export-segment')[0])).toEqual(['s1']);
    await change(byTestId(view.container, 'export-include-unapproved')[0], true);
    await click(byTestId(view.container, 'export-start')[0]);
    await waitFor(() => expect(posted).toHaveLength(1));
    expect(posted[0].body).toEqual({ kind: 'segment', segment: 's1', include_unapproved: true, credits_roll: false });
    await waitFor(() => expect(byTestId(view!.container, 'export-row-new1')[0].textContent).toContain('Segment 1 · Part s1'));
  });

  it('tells an artist without a segment to claim one, and offers nothing to start', async () => {
    segments = [seg('s2', 0, 'bo')];
    view = await render(<ExportsPage />, as('artist'));
    await waitFor(() => expect(byTestId(view!.container, 'export-not-allowed')).toHaveLength(1));
    expect(byTestId(view.container, 'export-start')).toHaveLength(0);
    expect(byTestId(view.container, 'export-kind')).toHaveLength(0);
  });

  it('shows a viewer the history and its downloads, but no way to start or cancel', async () => {
    exports = [exp('e1', { state: 'succeeded', progress: 100, artifacts: DONE_ARTIFACTS }), exp('e2', { state: 'running', progress: 10 })];
    view = await render(<ExportsPage />, as('viewer'));
    await waitFor(() => expect(byTestId(view!.container, 'export-row-e1')).toHaveLength(1));
    expect(byTestId(view.container, 'export-row-e2')).toHaveLength(1);
    expect(byTestId(view.container, 'export-not-allowed')).toHaveLength(1);
    expect(byTestId(view.container, 'export-start')).toHaveLength(0);
    expect(byTestId(view.container, 'export-cancel-e2')).toHaveLength(0);
    expect(byTestId(view.container, 'artifact-mp4-e1')).toHaveLength(1);
  });

  it('renders every artifact as a download link with its kind and size', async () => {
    exports = [exp('e1', { state: 'succeeded', progress: 100, artifacts: DONE_ARTIFACTS, finished_at: new Date().toISOString() })];
    view = await render(<ExportsPage />, as('director'));
    await waitFor(() => expect(byTestId(view!.container, 'export-row-e1')).toHaveLength(1));
    const row = byTestId(view.container, 'export-row-e1')[0];
    expect(row.dataset.state).toBe('succeeded');
    const links = Array.from(row.querySelectorAll<HTMLAnchorElement>('a[download]'));
    // In the order of the deliverables, not of storage.
    expect(links.map((a) => a.dataset.testid)).toEqual(['mp4', 'otio', 'otioz', 'edl', 'srt', 'credits', 'manifest'].map((k) => `artifact-${k}-e1`));
    const mp4 = byTestId(row, 'artifact-mp4-e1')[0] as HTMLAnchorElement;
    expect(mp4.tagName).toBe('A');
    expect(mp4.getAttribute('href')).toBe('/media/exports/e1/film.mp4');
    expect(mp4.getAttribute('download')).toBe('film.mp4');
    expect(mp4.textContent).toBe('MP4 video3.1 MB');
    expect(byTestId(row, 'artifact-otio-e1')[0].textContent).toBe('OpenTimelineIO5.0 KB');
    const bundle = byTestId(row, 'artifact-otioz-e1')[0] as HTMLAnchorElement;
    expect(bundle.textContent).toBe('OpenTimelineIO bundle (with media)9.1 MB');
    expect(bundle.getAttribute('download')).toBe('film.otioz');
    expect(bundle.title).toContain('media inside');
    expect(byTestId(row, 'artifact-srt-e1')[0].textContent).toContain('12 B');
    expect(byTestId(row, 'export-progress-e1')[0].getAttribute('aria-valuenow')).toBe('100');
    expect(byTestId(row, 'export-progress-e1')[0].textContent).toBe('100%');
    expect(byTestId(row, 'export-cancel-e1')).toHaveLength(0);
  });

  it('says why a finished export has no bundle', async () => {
    const reason = 'The media of the cut come to more than the 4,295 MB limit of a bundle.';
    exports = [exp('e5', { state: 'succeeded', progress: 100, artifacts: DONE_ARTIFACTS.filter((a) => a.kind !== 'otioz'), stats: { otioz_skipped: reason } })];
    view = await render(<ExportsPage />, as('director'));
    await waitFor(() => expect(byTestId(view!.container, 'export-row-e5')).toHaveLength(1));
    expect(byTestId(view.container, 'artifact-otioz-e5')).toHaveLength(0);
    expect(byTestId(view.container, 'export-note-otioz-e5')[0].textContent).toBe(`No bundle with media: ${reason}`);
  });

  it('shows why an export failed', async () => {
    exports = [exp('e3', { state: 'failed', progress: 40, error: 'Segment 2 · shot 1: the take could not be decoded.' })];
    view = await render(<ExportsPage />, as('producer'));
    await waitFor(() => expect(byTestId(view!.container, 'export-error-e3')).toHaveLength(1));
    expect(byTestId(view.container, 'export-error-e3')[0].textContent).toBe('Segment 2 · shot 1: the take could not be decoded.');
    expect(byTestId(view.container, 'export-row-e3')[0].dataset.state).toBe('failed');
    expect(byTestId(view.container, 'export-row-e3')[0].querySelectorAll('a[download]')).toHaveLength(0);
  });

  it('cancels a running export', async () => {
    exports = [exp('e4', { state: 'running', progress: 30 })];
    view = await render(<ExportsPage />, as('producer'));
    await waitFor(() => expect(byTestId(view!.container, 'export-cancel-e4')).toHaveLength(1));
    await click(byTestId(view.container, 'export-cancel-e4')[0]);
    await waitFor(() => expect(byTestId(view!.container, 'export-row-e4')[0].dataset.state).toBe('cancelled'));
    expect(posted.map((p) => p.url)).toEqual(['/api/v1/exports/e4/cancel/']);
    expect(byTestId(view.container, 'export-cancel-e4')).toHaveLength(0);
  });

  it('lets an artist cancel only the exports they started', async () => {
    exports = [exp('mine', { kind: 'segment', state: 'running', created_by: { id: 3, username: 'ana' } }), exp('theirs', { state: 'running' })];
    view = await render(<ExportsPage />, as('artist'));
    await waitFor(() => expect(byTestId(view!.container, 'export-row-theirs')).toHaveLength(1));
    expect(byTestId(view.container, 'export-cancel-mine')).toHaveLength(1);
    expect(byTestId(view.container, 'export-cancel-theirs')).toHaveLength(0);
  });

  it('moves the progress bar live and shows the downloads when the export finishes', async () => {
    exports = [exp('e5', { state: 'queued', progress: 0 })];
    view = await render(
      <RealtimeProvider projectId="p1" createSocket={socketFactory}>
        <ExportsPage />
      </RealtimeProvider>,
      as('producer'),
    );
    await waitFor(() => expect(byTestId(view!.container, 'export-progress-e5')).toHaveLength(1));
    const ws = FakeWS.last!;
    const bar = () => byTestId(view!.container, 'export-progress-e5')[0];
    const row = () => byTestId(view!.container, 'export-row-e5')[0];
    expect(bar().getAttribute('aria-valuenow')).toBe('0');

    await act(async () => {
      ws.push({ type: 'export.progress', data: { id: 'e5', state: 'running', progress: 42 } });
    });
    // Patched in place from the event (the server's list still says 0: no refetch needed).
    await waitFor(() => expect(bar().getAttribute('aria-valuenow')).toBe('42'));
    expect(bar().textContent).toBe('42%');
    expect(row().dataset.state).toBe('running');
    expect((bar().querySelector('.progress-fill') as HTMLElement).style.width).toBe('42%');

    // A late, lower progress event does not move the bar back.
    await act(async () => {
      ws.push({ type: 'export.progress', data: { id: 'e5', state: 'running', progress: 30 } });
    });
    await flush();
    expect(bar().getAttribute('aria-valuenow')).toBe('42');

    exports = [exp('e5', { state: 'succeeded', progress: 100, artifacts: DONE_ARTIFACTS })];
    await act(async () => {
      ws.push({ type: 'export.finished', data: { id: 'e5', state: 'succeeded', progress: 100, artifacts: ['mp4'] } });
    });
    await waitFor(() => expect(row().dataset.state).toBe('succeeded'));
    expect(bar().getAttribute('aria-valuenow')).toBe('100');
    await waitFor(() => expect(byTestId(view!.container, 'artifact-mp4-e5')).toHaveLength(1));

    // A progress event that arrives after the finish does not revive the export.
    await act(async () => {
      ws.push({ type: 'export.progress', data: { id: 'e5', state: 'running', progress: 99 } });
    });
    await flush();
    expect(row().dataset.state).toBe('succeeded');
    expect(bar().getAttribute('aria-valuenow')).toBe('100');
  });
});

describe('formatBytes', () => {
  it('says sizes the way people read them', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(250 * 1024 * 1024)).toBe('250 MB');
  });
});
