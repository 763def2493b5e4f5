import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { byTestId, click, jsonResponse, PROJECT, render, typeInto, waitFor, type Rendered } from '../../test/utils';
import { ProjectListPage } from './ProjectListPage';

let posted: unknown[] = [];
let createAnswer: Response | null = null;
let view: Rendered | null = null;

beforeEach(() => {
  posted = [];
  createAnswer = null;
  document.cookie = 'csrftoken=tok';
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      if (url.endsWith('/projects/') && init.method === 'POST') {
        const body = JSON.parse(String(init.body));
        posted.push(body);
        return createAnswer ?? jsonResponse(201, { ...PROJECT, id: 'p9', ...body, role: 'director' });
      }
      if (url.endsWith('/projects/')) return jsonResponse(200, []);
      return jsonResponse(404, { code: 'not_found', detail: 'Not found.' });
    }),
  );
});

afterEach(async () => {
  await view?.unmount();
  view = null;
  vi.unstubAllGlobals();
});

async function openForm() {
  view = await render(<ProjectListPage />);
  await click(byTestId(view.container, 'project-create')[0]);
  await typeInto(byTestId(view.container, 'project-title')[0] as HTMLInputElement, 'Night Ferry');
}

describe('New film form', () => {
  it('sends the description and style prompt with the new film', async () => {
    await openForm();
    await typeInto(byTestId(view!.container, 'project-description')[0] as HTMLTextAreaElement, 'Two strangers cross a strait.');
    await typeInto(byTestId(view!.container, 'project-style-prompt')[0] as HTMLTextAreaElement, 'noir, rain, sodium lights');
    await click(byTestId(view!.container, 'project-create-submit')[0]);
    await waitFor(() => expect(posted).toHaveLength(1));
    expect(posted[0]).toMatchObject({ title: 'Night Ferry', description: 'Two strangers cross a strait.', style_prompt: 'noir, rain, sodium lights' });
  });

  it('leaves them out when empty, and shows a refusal in the form', async () => {
    createAnswer = jsonResponse(400, { code: 'validation_error', detail: 'Width and height must be even numbers (H.264 needs it).' });
    await openForm();
    await click(byTestId(view!.container, 'project-create-submit')[0]);
    await waitFor(() => expect(posted).toHaveLength(1));
    expect(posted[0]).not.toHaveProperty('style_prompt');
    expect(posted[0]).not.toHaveProperty('description');
    const form = view!.container.querySelector('form[aria-label="New film"]')!;
    await waitFor(() => expect(byTestId(form, 'error-message')[0].textContent).toBe('Width and height must be even numbers (H.264 needs it).'));
  });
});
