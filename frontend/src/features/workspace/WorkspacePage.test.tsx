import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { Shot } from '../../api/types';
import { qk } from '../../state/keys';
import { createQueryClient } from '../../state/queryClient';
import { byTestId, click, jsonResponse, PROJECT, render, segmentFixture, typeInto, type Rendered } from '../../test/utils';
import { BACKENDS, take } from './fixtures';
import { HIDE_FAILED_KEY } from './storedFlag';
import { WorkspacePage } from './WorkspacePage';

const shot = { id: 'sh1', segment: 's1', position: 0, title: 'Lamp room', prompt: '', duration_frames: 48, references: [], revision: 1 } as unknown as Shot;

let view: Rendered | null = null;

beforeEach(() => {
  vi.stubGlobal(
    'fetch',
    vi.fn(async () => jsonResponse(200, [])),
  );
});

afterEach(async () => {
  await view?.unmount();
  view = null;
  vi.unstubAllGlobals();
  window.localStorage.clear();
});

async function openWorkspace() {
  const qc = createQueryClient();
  qc.setQueryData(qk.segment('p1', 's1'), segmentFixture('s1', 0, 'ana'));
  qc.setQueryData(qk.shots('p1', 's1'), [shot]);
  qc.setQueryData(qk.takes('p1', 'sh1'), [take('t1', 1), take('t2', 2, { status: 'failed', error: 'Refused.' })]);
  qc.setQueryData(qk.backends('p1'), BACKENDS);
  qc.setQueryData(qk.references('p1'), [
    { id: 'r1', tag: 'lighthouse', name: 'The lighthouse', kind: 'location' },
    { id: 'r2', tag: 'mara', name: 'Mara', kind: 'character' },
  ]);
  qc.setQueryData(qk.jobs('p1', 'sh1'), []);
  view = await render(<WorkspacePage />, { project: PROJECT, qc, route: '/s1', path: '/:segmentId' });
  return view;
}

const shownTakes = (v: Rendered) => byTestId(v.container, 'take-card').map((c) => c.getAttribute('data-take-id'));

describe('the workspace', () => {
  it('remembers "Hide failed takes" in this browser', async () => {
    let v = await openWorkspace();
    expect(shownTakes(v)).toEqual(['t1', 't2']);
    const toggle = byTestId(v.container, 'hide-failed')[0] as HTMLInputElement;
    expect(toggle.checked).toBe(false);
    await click(toggle);
    expect(shownTakes(v)).toEqual(['t1']);
    expect(window.localStorage.getItem(HIDE_FAILED_KEY)).toBe('1');

    await v.unmount();
    v = await openWorkspace(); // a later visit
    expect((byTestId(v.container, 'hide-failed')[0] as HTMLInputElement).checked).toBe(true);
    expect(shownTakes(v)).toEqual(['t1']);
  });

  it('the @tag list closes once the tag is complete, so "Add shot" is free to click', async () => {
    const v = await openWorkspace();
    await click(byTestId(v.container, 'shot-add')[0]);
    const prompt = byTestId(v.container, 'shot-prompt')[0] as HTMLTextAreaElement;
    await typeInto(prompt, 'Wide on @light');
    expect(byTestId(v.container, 'reference-suggestion').map((o) => o.textContent)).toEqual(['@lighthouse The lighthouselocation']);
    await typeInto(prompt, 'Wide on @lighthouse'); // typed out in full
    expect(byTestId(v.container, 'reference-suggestion')).toHaveLength(0);
    await typeInto(prompt, 'Wide on @lighthouse, @ma');
    expect(byTestId(v.container, 'reference-suggestion')).toHaveLength(1);
    await typeInto(prompt, 'Wide on @lighthouse, @mara '); // a space ends it
    expect(byTestId(v.container, 'reference-suggestion')).toHaveLength(0);
    expect(prompt.getAttribute('aria-expanded')).toBe('false');
  });
});
