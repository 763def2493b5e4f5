import { act, useState } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { Credential, Project, Role } from '../../api/types';
import { ErrorBanner } from '../../components/ErrorBanner';
import { byTestId, click, jsonResponse, PROJECT, render, typeInto, waitFor, type Rendered } from '../../test/utils';
import { changedFields, useSettingsFields } from './changes';
import { parseHost, parseWorkflow } from './Credentials';
import { SettingsPage } from './SettingsPage';

interface Call {
  method: string;
  url: string;
  body: unknown;
}

let calls: Call[] = [];
let credentials: Credential[] = [];
let patchAnswer: ((body: Record<string, unknown>) => Response) | null = null;
let testAnswer: Response | null = null;
let view: Rendered | null = null;

const WORKFLOW = { '3': { class_type: 'KSampler', inputs: { seed: '{{seed}}' } }, '6': { class_type: 'CLIPTextEncode', inputs: { text: '{{prompt}}' } } };

const comfy = (config: Record<string, unknown> = {}): Credential => ({
  backend: 'comfyui',
  title: 'ComfyUI',
  configured: false,
  hint: '',
  config,
  updated_at: null,
  updated_by: null,
  needs_credentials: false,
});

beforeEach(() => {
  calls = [];
  credentials = [comfy()];
  patchAnswer = null;
  testAnswer = null;
  document.cookie = 'csrftoken=tok';
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      const method = init.method ?? 'GET';
      const body = init.body ? JSON.parse(String(init.body)) : null;
      calls.push({ method, url, body });
      if (method === 'PATCH' && url.endsWith('/projects/p1/')) {
        return patchAnswer ? patchAnswer(body) : jsonResponse(200, { ...PROJECT, role: 'producer', ...body });
      }
      if (url.endsWith('/credentials/comfyui/test/') && method === 'POST') return testAnswer ?? jsonResponse(200, { ok: true, detail: 'Answered.', info: {} });
      if (url.endsWith('/credentials/comfyui/') && method === 'PUT') return jsonResponse(200, comfy(body.config));
      if (url.endsWith('/projects/p1/credentials/')) return jsonResponse(200, credentials);
      if (url.endsWith('/members/') || url.endsWith('/invites/') || url.endsWith('/invitations/') || url.endsWith('/references/'))
        return jsonResponse(200, []);
      return jsonResponse(404, { code: 'not_found', detail: 'Not found.' });
    }),
  );
});

afterEach(async () => {
  await view?.unmount();
  view = null;
  vi.unstubAllGlobals();
});

const as = (role: Role, fields: Partial<Project> = {}) => ({ ...PROJECT, role, ...fields });
const input = (id: string) => byTestId(view!.container, id)[0] as HTMLInputElement;

/** Type into a controlled field of any type (number inputs have no selection to set). */
async function setValue(el: HTMLInputElement | HTMLTextAreaElement, value: string) {
  if (el instanceof HTMLTextAreaElement || el.type !== 'number') return typeInto(el, value);
  await act(async () => {
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(el, value);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
}
const sent = (method: string, tail: string) => calls.filter((c) => c.method === method && c.url.endsWith(tail));

async function submit(testId: string) {
  await click(byTestId(view!.container, testId)[0]);
}

describe('Settings: what each role may change', () => {
  it('lets a producer save the budget alone: no runtime or style field, and only the budget is sent', async () => {
    view = await render(<SettingsPage />, { project: as('producer', { target_runtime_seconds: 120, style_prompt: 'grainy 16mm' }) });
    await waitFor(() => expect(byTestId(view!.container, 'budget-amount')).toHaveLength(1));
    expect(byTestId(view.container, 'film-runtime')).toHaveLength(0);
    expect(byTestId(view.container, 'film-style-prompt')).toHaveLength(0);
    expect(byTestId(view.container, 'film-runtime-value')[0].textContent).toBe('2:00');
    expect(byTestId(view.container, 'film-style-value')[0].textContent).toBe('grainy 16mm');

    await setValue(input('budget-amount'), '300');
    await submit('budget-save');
    await waitFor(() => expect(byTestId(view!.container, 'budget-saved')).toHaveLength(1));
    expect(sent('PATCH', '/projects/p1/').map((c) => c.body)).toEqual([{ budget_amount: '300' }]);
  });

  it('shows a refusal beside the budget form, not in the page banner', async () => {
    patchAnswer = () =>
      jsonResponse(403, { code: 'permission_denied', detail: 'Only the director can change target runtime seconds.', fields: { target_runtime_seconds: ['x'] } });
    view = await render(
      <>
        <ErrorBanner />
        <SettingsPage />
      </>,
      { project: as('producer') },
    );
    await waitFor(() => expect(byTestId(view!.container, 'budget-cap')).toHaveLength(1));
    await setValue(input('budget-cap'), '40');
    await submit('budget-save');
    const form = view.container.querySelector('form[aria-label="Budget"]')!;
    await waitFor(() => expect(byTestId(form, 'error-message')[0].textContent).toBe('Only the director can change target runtime seconds.'));
    expect(byTestId(view.container, 'error-message')).toHaveLength(1);
    expect(view.container.querySelector('.error-banner')).toBeNull();
  });

  it('checks the currency before sending', async () => {
    view = await render(<SettingsPage />, { project: as('producer') });
    await waitFor(() => expect(byTestId(view!.container, 'budget-currency')).toHaveLength(1));
    await setValue(input('budget-currency'), 'E1');
    await submit('budget-save');
    expect(byTestId(view.container, 'error-message')[0].textContent).toContain('three-letter code');
    expect(sent('PATCH', '/projects/p1/')).toHaveLength(0);
  });

  it('lets the director edit the style prompt, description and runtime, sending only what changed', async () => {
    view = await render(<SettingsPage />, { project: as('director', { target_runtime_seconds: 120, description: 'A keeper.' }) });
    await waitFor(() => expect(byTestId(view!.container, 'film-style-prompt')).toHaveLength(1));
    await typeInto(byTestId(view.container, 'film-style-prompt')[0] as HTMLTextAreaElement, 'teal and amber, 16mm grain');
    await setValue(input('film-runtime'), '5');
    await submit('film-save');
    await waitFor(() => expect(byTestId(view!.container, 'film-saved')).toHaveLength(1));
    expect(sent('PATCH', '/projects/p1/').map((c) => c.body)).toEqual([{ style_prompt: 'teal and amber, 16mm grain', target_runtime_seconds: 300 }]);
  });

  it('shows artists the film read-only and no budget or keys', async () => {
    view = await render(<SettingsPage />, { project: as('artist', { style_prompt: 'noir' }) });
    await waitFor(() => expect(byTestId(view!.container, 'film-readonly')).toHaveLength(1));
    expect(byTestId(view.container, 'film-style-value')[0].textContent).toBe('noir');
    expect(byTestId(view.container, 'budget-save')).toHaveLength(0);
    expect(byTestId(view.container, 'film-save')).toHaveLength(0);
    expect(byTestId(view.container, 'credential-row')).toHaveLength(0);
  });
});

describe('Settings: ComfyUI host, workflow and connection test', () => {
  async function comfyRow() {
    view = await render(<SettingsPage />, { project: as('producer') });
    return waitFor(() => {
      const row = view!.container.querySelector<HTMLElement>('[data-testid="credential-row"][data-backend="comfyui"]');
      if (!row) throw new Error('no comfyui row yet');
      return row;
    });
  }

  it('refuses a workflow that is not JSON, in place, and sends nothing', async () => {
    const row = await comfyRow();
    await typeInto(byTestId(row, 'credential-host')[0] as HTMLInputElement, '192.168.1.20:8188');
    await typeInto(byTestId(row, 'credential-workflow')[0] as HTMLTextAreaElement, '{"3": {"class_type": ');
    await click(byTestId(row, 'credential-config-save')[0]);
    expect(byTestId(row, 'error-message')[0].textContent).toContain('not valid JSON');
    expect(sent('PUT', '/credentials/comfyui/')).toHaveLength(0);
    // Corrected, it saves.
    await typeInto(byTestId(row, 'credential-workflow')[0] as HTMLTextAreaElement, JSON.stringify(WORKFLOW));
    await click(byTestId(row, 'credential-config-save')[0]);
    await waitFor(() => expect(sent('PUT', '/credentials/comfyui/')).toHaveLength(1));
    expect(byTestId(row, 'error-message')).toHaveLength(0);
  });

  it('saves the host and the parsed workflow as the backend config', async () => {
    const row = await comfyRow();
    await typeInto(byTestId(row, 'credential-host')[0] as HTMLInputElement, '192.168.1.20:8188');
    await typeInto(byTestId(row, 'credential-workflow')[0] as HTMLTextAreaElement, JSON.stringify(WORKFLOW));
    // The test uses the stored settings: not until these are saved.
    expect((byTestId(row, 'credential-test')[0] as HTMLButtonElement).disabled).toBe(true);
    await click(byTestId(row, 'credential-config-save')[0]);
    await waitFor(() => expect(byTestId(row, 'credential-config-saved')).toHaveLength(1));
    expect((byTestId(row, 'credential-test')[0] as HTMLButtonElement).disabled).toBe(false);
    expect(sent('PUT', '/projects/p1/credentials/comfyui/').map((c) => c.body)).toEqual([
      { config: { host: 'http://192.168.1.20:8188', workflow: WORKFLOW } },
    ]);
  });

  it('reads a picked workflow file', async () => {
    const row = await comfyRow();
    const file = new File([JSON.stringify(WORKFLOW)], 'wan.json', { type: 'application/json' });
    const picker = byTestId(row, 'credential-workflow-file')[0] as HTMLInputElement;
    Object.defineProperty(picker, 'files', { value: [file] });
    await act(async () => {
      picker.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await waitFor(() => expect(JSON.parse((byTestId(row, 'credential-workflow')[0] as HTMLTextAreaElement).value)).toEqual(WORKFLOW));
  });

  it('shows what the connection test found, and the sentence when it fails', async () => {
    testAnswer = jsonResponse(200, { ok: true, detail: 'ComfyUI 0.3.26 answered at http://192.168.1.20:8188: 1 GPU, queue empty.', info: { version: '0.3.26' } });
    const row = await comfyRow();
    await click(byTestId(row, 'credential-test')[0]);
    const result = await waitFor(() => {
      const [el] = byTestId(row, 'credential-test-result');
      if (!el) throw new Error('no result yet');
      return el;
    });
    expect(result.dataset.ok).toBe('true');
    expect(result.textContent).toBe('ComfyUI 0.3.26 answered at http://192.168.1.20:8188: 1 GPU, queue empty.');
    expect(sent('POST', '/projects/p1/credentials/comfyui/test/')).toHaveLength(1);

    testAnswer = jsonResponse(200, { ok: false, detail: 'Nothing answered at http://192.168.1.20:8188 (connection refused).', info: {} });
    await click(byTestId(row, 'credential-test')[0]);
    await waitFor(() => expect(byTestId(row, 'credential-test-result')[0].dataset.ok).toBe('false'));
    expect(byTestId(row, 'credential-test-result')[0].textContent).toBe('Nothing answered at http://192.168.1.20:8188 (connection refused).');

    testAnswer = jsonResponse(400, { code: 'not_configured', detail: 'ComfyUI has no host yet.' });
    await click(byTestId(row, 'credential-test')[0]);
    await waitFor(() => expect(byTestId(row, 'credential-test-result')[0].textContent).toBe('ComfyUI has no host yet.'));
  });
});

describe('settings helpers', () => {
  it('parses workflows: API format only', () => {
    expect(parseWorkflow('')).toEqual({ ok: true, value: null });
    expect(parseWorkflow(JSON.stringify(WORKFLOW))).toEqual({ ok: true, value: WORKFLOW });
    expect(parseWorkflow('[1, 2]').ok).toBe(false);
    expect(parseWorkflow('{"nodes": [], "links": []}')).toMatchObject({ ok: false, error: expect.stringContaining('Export (API)') });
    expect(parseWorkflow('{"3": {"inputs": {}}}').ok).toBe(false);
  });

  it('normalises hosts', () => {
    expect(parseHost('192.168.1.20:8188')).toEqual({ ok: true, value: 'http://192.168.1.20:8188' });
    expect(parseHost('https://gpu.example.org/')).toEqual({ ok: true, value: 'https://gpu.example.org' });
    expect(parseHost('gpu-box')).toEqual({ ok: true, value: 'http://gpu-box:8188' });
    expect(parseHost('ftp://x').ok).toBe(false);
  });

  it('keeps only changed fields, money compared as amounts', () => {
    expect(changedFields({ a: '250.00', b: 'USD', c: null }, { a: '250', b: 'EUR', c: '' })).toEqual({ b: 'EUR' });
  });
});

describe('useSettingsFields', () => {
  let setSaved: (v: { amount: string; cap: string }) => void = () => {};
  function Form() {
    const [saved, set] = useState({ amount: '100.00', cap: '' });
    setSaved = set;
    const { values, set: change, changes } = useSettingsFields(saved);
    return (
      <>
        <input data-testid="amount" value={values.amount} onChange={(e) => change('amount', e.target.value)} />
        <input data-testid="cap" value={values.cap} onChange={(e) => change('cap', e.target.value)} />
        <output data-testid="changes">{JSON.stringify(changes)}</output>
      </>
    );
  }

  it('sends only what the person edited, and untouched fields follow someone else’s save', async () => {
    view = await render(<Form />);
    await typeInto(input('cap'), '40');
    // Another producer saves a new budget meanwhile.
    await act(async () => setSaved({ amount: '250.00', cap: '' }));
    expect(input('amount').value).toBe('250.00');
    expect(input('cap').value).toBe('40');
    expect(JSON.parse(byTestId(view.container, 'changes')[0].textContent!)).toEqual({ cap: '40' });
    // This form's own save: nothing left to send.
    await act(async () => setSaved({ amount: '250.00', cap: '40' }));
    expect(JSON.parse(byTestId(view.container, 'changes')[0].textContent!)).toEqual({});
  });
});
