import { act } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { Job, Project, Shot, Take } from '../../api/types';
import { qk } from '../../state/keys';
import { createQueryClient } from '../../state/queryClient';
import { byTestId, click, flush, jsonResponse, PROJECT, render, waitFor, type Rendered } from '../../test/utils';
import { BACKENDS, job, media, take } from './fixtures';
import { ShotCard } from './ShotCard';

const SHOT: Shot = {
  id: 'sh1',
  segment: 's1',
  position: 0,
  title: 'Lamp room',
  description: '',
  prompt: 'the lamp turns',
  negative_prompt: '',
  camera_notes: '',
  duration_frames: 48,
  references: [],
  in_frame: null,
  out_frame: null,
  transition: { kind: 'cut', frames: 0 },
  revision: 1,
  take_count: 0,
  pick: null,
  created_at: '',
};

type Call = { method: string; url: string; body: unknown };
let calls: Call[] = [];
let answers: Record<string, () => Response> = {};
let view: Rendered | null = null;

beforeEach(() => {
  calls = [];
  answers = {};
  document.cookie = 'csrftoken=tok';
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      const method = init.method ?? 'GET';
      calls.push({ method, url, body: init.body ? JSON.parse(String(init.body)) : null });
      const key = `${method} ${url.split('?')[0]}`;
      if (answers[key]) return answers[key]();
      if (url.includes('/estimate/')) return jsonResponse(200, { estimated_cost: '0', currency: 'USD', remaining: '250', affordable: true, variations: 1 });
      return jsonResponse(200, []);
    }),
  );
});

afterEach(async () => {
  await view?.unmount();
  view = null;
  vi.unstubAllGlobals();
  window.localStorage.clear();
});

async function showShot(takes: Take[], { project = PROJECT, canEdit = true, hideFailed = false, jobs = [] as Job[] } = {}) {
  const qc = createQueryClient();
  qc.setQueryData(qk.takes(project.id, 'sh1'), takes);
  qc.setQueryData(qk.backends(project.id), BACKENDS);
  qc.setQueryData(qk.references(project.id), []);
  qc.setQueryData(qk.jobs(project.id, 'sh1'), jobs);
  view = await render(
    <ShotCard
      shot={SHOT}
      index={0}
      count={1}
      canEdit={canEdit}
      onMove={() => {}}
      compareIds={[]}
      onToggleCompare={() => {}}
      here={[]}
      hideFailed={hideFailed}
    />,
    { project, qc },
  );
  return view;
}

const card = (root: ParentNode, id: string) => root.querySelector<HTMLElement>(`[data-testid="take-card"][data-take-id="${id}"]`)!;
const field = <T extends HTMLElement>(root: ParentNode, id: string) => byTestId(root, id)[0] as T;

describe('take cards', () => {
  it('show the seed that made each take', async () => {
    const v = await showShot([take('t1', 1, { seed: 42 }), take('t2', 2, { seed: 43, provenance: { ...take('x', 0).provenance, seed: 43 } })]);
    expect(card(v.container, 't1').textContent).toContain('seed 42');
    expect(card(v.container, 't2').textContent).toContain('seed 43');
    expect(card(v.container, 't2').getAttribute('data-seed')).toBe('43');
    await click(card(v.container, 't2').querySelector('[data-testid="take-details-toggle"]'));
    const details = card(v.container, 't2').querySelector('[data-testid="take-details"]')!;
    expect(details.textContent).toContain('Seed43');
    expect(details.textContent).toContain('Prompta lighthouse at dusk');
  });

  it('Upscale opens the generate panel prefilled, with the parent take shown and clearable', async () => {
    const v = await showShot([take('t1', 1)]);
    expect(byTestId(v.container, 'generate-panel')).toHaveLength(0);
    await click(card(v.container, 't1').querySelector('[data-testid="take-action-upscale"]'));
    const panel = field(v.container, 'generate-panel');
    expect(panel.getAttribute('data-kind')).toBe('upscale');
    expect(field<HTMLSelectElement>(panel, 'generate-backend').value).toBe('local-upscale');
    expect(field<HTMLSelectElement>(panel, 'generate-scale').value).toBe('2');
    const chip = field(panel, 'generate-parent-chip');
    expect(chip.textContent).toContain('Take 1');
    expect(chip.querySelector('img')?.getAttribute('src')).toBe('/media/m1/thumb.jpg');
    expect(byTestId(panel, 'generate-duration')).toHaveLength(0); // the parent's length is kept

    answers['POST /api/v1/shots/sh1/generate/'] = () =>
      jsonResponse(201, { job: job(), takes: [take('t2', 2, { status: 'processing', kind: 'upscale', parent: 't1' })] });
    await click(field(panel, 'generate-submit'));
    await waitFor(() => expect(calls.some((c) => c.url.endsWith('/shots/sh1/generate/'))).toBe(true));
    const sent = calls.find((c) => c.url.endsWith('/shots/sh1/generate/'))!.body;
    expect(sent).toMatchObject({ backend: 'local-upscale', kind: 'upscale', parent_take: 't1', params: { scale: 2 } });
    expect(sent).not.toHaveProperty('duration_frames');
    expect(sent).not.toHaveProperty('input_image');
    await waitFor(() => expect(card(v.container, 't2').querySelector('[data-testid="take-parent"]')?.textContent).toBe('from take 1'));

    await click(field(panel, 'generate-parent-chip-clear'));
    expect(byTestId(panel, 'generate-parent-chip')).toHaveLength(0);
    expect(field<HTMLButtonElement>(panel, 'generate-submit').disabled).toBe(true);
    expect(field(panel, 'generate-estimate').textContent).toBe('Choose the take to upscale.');
  });

  it('the parent-take picker lists the shot’s ready video takes', async () => {
    const v = await showShot([take('t1', 1), take('t2', 2, { status: 'failed' }), take('t3', 3, { media: media({ width: 640, height: 360 }) })]);
    await click(card(v.container, 't1').querySelector('[data-testid="take-action-extend"]'));
    const picker = field<HTMLSelectElement>(v.container, 'generate-parent');
    expect(Array.from(picker.options).map((o) => o.textContent)).toEqual(['Choose a ready take…', 'Take 1 · 320×180', 'Take 3 · 640×360']);
    expect(picker.value).toBe('t1');
    await act(async () => {
      picker.value = 't3';
      picker.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(field(v.container, 'generate-parent-chip').textContent).toContain('Take 3');
  });

  it('Use last frame shows the input take; Vary fills the take’s settings with a new seed', async () => {
    const v = await showShot([take('t1', 1)]);
    await click(card(v.container, 't1').querySelector('[data-testid="take-action-last-frame"]'));
    expect(field(v.container, 'generate-image-chip').textContent).toContain('Take 1 (last frame)');
    await click(card(v.container, 't1').querySelector('[data-testid="take-action-vary"]'));
    const panel = field(v.container, 'generate-panel');
    expect(byTestId(panel, 'generate-image-chip')).toHaveLength(0); // a fresh draft, not the last one
    expect(field<HTMLTextAreaElement>(panel, 'generate-prompt').value).toBe('a lighthouse at dusk');
    expect(field<HTMLInputElement>(panel, 'generate-duration').value).toBe('48');
    const seed = field<HTMLInputElement>(panel, 'generate-seed').value;
    expect(seed).toMatch(/^\d+$/);
    expect(seed).not.toBe('43');
  });

  it('a viewer, or anyone who may not generate here, sees no take actions and no delete', async () => {
    const v = await showShot([take('t1', 1)], { project: { ...PROJECT, role: 'viewer' } as Project, canEdit: false });
    expect(byTestId(v.container, 'take-iterate')).toHaveLength(0);
    expect(byTestId(v.container, 'take-delete')).toHaveLength(0);
    expect(card(v.container, 't1').textContent).toContain('seed 43');
  });

  it('the author deletes their own take after confirming; not the pick, not someone else’s', async () => {
    const v = await showShot([
      take('t1', 1, { status: 'failed', error: 'The provider refused.' }),
      take('t2', 2, { is_pick: true, review_state: 'approved' }),
      take('t3', 3, { author: { id: 9, username: 'dana' } }),
    ]);
    expect(card(v.container, 't2').querySelector('[data-testid="take-delete"]')).toBeNull();
    expect(card(v.container, 't3').querySelector('[data-testid="take-delete"]')).toBeNull();

    const confirm = vi.fn(() => false);
    vi.stubGlobal('confirm', confirm);
    await click(card(v.container, 't1').querySelector('[data-testid="take-delete"]'));
    expect(confirm).toHaveBeenCalled();
    expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(0);

    confirm.mockReturnValue(true);
    answers['DELETE /api/v1/takes/t1/'] = () => jsonResponse(204, undefined);
    await click(card(v.container, 't1').querySelector('[data-testid="take-delete"]'));
    await waitFor(() => expect(card(v.container, 't1')).toBeNull());
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.url)).toEqual(['/api/v1/takes/t1/']);
  });

  it('a refused delete says why on the card itself', async () => {
    const v = await showShot([take('t1', 1)]);
    vi.stubGlobal('confirm', () => true);
    answers['DELETE /api/v1/takes/t1/'] = () =>
      jsonResponse(409, { code: 'take_in_use', detail: 'Take 1 is the input of take 2 of this shot, which is still being made.' });
    await click(card(v.container, 't1').querySelector('[data-testid="take-delete"]'));
    await waitFor(() =>
      expect(card(v.container, 't1').querySelector('[data-testid="take-action-error"]')?.textContent).toBe(
        'Take 1 is the input of take 2 of this shot, which is still being made.',
      ),
    );
  });

  it('the director may delete anyone’s take', async () => {
    const v = await showShot([take('t3', 3, { author: { id: 9, username: 'dana' } })], { project: { ...PROJECT, role: 'director' } as Project });
    expect(card(v.container, 't3').querySelector('[data-testid="take-delete"]')).not.toBeNull();
  });

  it('a generate error appears next to the Generate button', async () => {
    const v = await showShot([take('t1', 1)]);
    await click(field(v.container, 'generate-open'));
    answers['POST /api/v1/shots/sh1/generate/'] = () =>
      jsonResponse(400, { code: 'invalid', detail: 'The input video file is missing; choose it again.' });
    await click(field(v.container, 'generate-submit'));
    await waitFor(() =>
      expect(field(v.container, 'generate-error').textContent).toBe('The input video file is missing; choose it again.'),
    );
    expect(field(v.container, 'generate-panel').contains(field(v.container, 'generate-error'))).toBe(true);
  });
});

describe('the gallery', () => {
  it('hides failed takes when asked and says how many', async () => {
    const takes = [take('t1', 1), take('t2', 2, { status: 'failed' }), take('t3', 3, { status: 'failed' })];
    let v = await showShot(takes, { hideFailed: true });
    expect(byTestId(v.container, 'take-card').map((c) => c.getAttribute('data-take-id'))).toEqual(['t1']);
    expect(field(v.container, 'failed-hidden').textContent).toBe('2 failed takes hidden.');
    await v.unmount();
    v = await showShot(takes, { hideFailed: false });
    expect(byTestId(v.container, 'take-card')).toHaveLength(3);
    expect(byTestId(v.container, 'failed-hidden')).toHaveLength(0);
  });

  it('lists sound takes apart, with a player and without review or picture controls', async () => {
    const speech = take('t4', 4, {
      kind: 'speech',
      medium: 'audio',
      seed: 5,
      media: media({ kind: 'audio', proxy_url: '/media/m4/proxy.m4a', width: null, height: null }),
      provenance: { backend: 'local-speech', kind: 'speech', prompt: 'Keep the lamp lit.', seed: 5, params: { voice: 'en-gb' } },
    });
    const v = await showShot([take('t1', 1), speech]);
    expect(byTestId(v.container, 'take-card').map((c) => c.getAttribute('data-take-id'))).toEqual(['t1']);
    const row = field(v.container, 'sound-take');
    expect(row.getAttribute('data-take-id')).toBe('t4');
    expect(row.querySelector('audio')?.getAttribute('src')).toBe('/media/m4/proxy.m4a');
    expect(row.textContent).toContain('Speech · voice en-gb · seed 5');
    expect(row.textContent).toContain('“Keep the lamp lit.”');
    expect(row.querySelector('[data-testid="take-submit"]')).toBeNull();
    expect(row.querySelector('[data-testid="take-action-upscale"]')).toBeNull();
    expect(row.querySelector('[data-testid="take-action-vary"]')).not.toBeNull();
    expect(row.querySelector('[data-testid="take-delete"]')).not.toBeNull();
  });

  it('the speech panel offers the backend’s voices and sends the one chosen', async () => {
    const v = await showShot([]);
    await click(field(v.container, 'generate-open'));
    const backend = field<HTMLSelectElement>(v.container, 'generate-backend');
    await act(async () => {
      backend.value = 'local-speech';
      backend.dispatchEvent(new Event('change', { bubbles: true }));
    });
    const voice = field<HTMLSelectElement>(v.container, 'generate-voice');
    expect(Array.from(voice.options).map((o) => o.textContent)).toEqual(['Default voice', 'British English (en)', 'German (de)']);
    await act(async () => {
      voice.value = 'de';
      voice.dispatchEvent(new Event('change', { bubbles: true }));
    });
    answers['POST /api/v1/shots/sh1/generate/'] = () => jsonResponse(201, { job: job({ kind: 'speech' }), takes: [] });
    await click(field(v.container, 'generate-submit'));
    await waitFor(() => expect(calls.some((c) => c.url.endsWith('/shots/sh1/generate/'))).toBe(true));
    expect(calls.find((c) => c.url.endsWith('/shots/sh1/generate/'))!.body).toMatchObject({
      backend: 'local-speech',
      params: { voice: 'de' },
    });
  });
});

describe('job rows', () => {
  it('show the real phase and progress, and a retry with the provider’s message', async () => {
    const v = await showShot([], {
      jobs: [
        job({ id: 'j1', state: 'running', phase: 'running', progress: 45 }),
        job({ id: 'j2', state: 'running', phase: 'submitted', retry: { attempt: 2, max_attempts: 4, message: 'HTTP 429: slow down', at: null } }),
        job({ id: 'j3', state: 'running', phase: 'downloading', progress: 95 }),
      ],
    });
    await flush();
    const status = (id: string) => v.container.querySelector(`[data-job-id="${id}"] [data-testid="job-status"]`)?.textContent;
    expect(status('j1')).toBe('Running · 45%');
    expect(status('j2')).toBe('Retrying (attempt 2 of 4): HTTP 429: slow down');
    expect(status('j3')).toBe('Downloading');
    expect(v.container.textContent).not.toContain('Queued');
  });
});
