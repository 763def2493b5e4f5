import { act } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { AudioSource, TimelineOp } from '../../api/types';
import { byTestId, jsonResponse, PROJECT, render, waitFor, type Rendered } from '../../test/utils';
import { AddAudio } from './panels';

const SPEECH: AudioSource = {
  take: 'take-9', number: 2, media: 'media-9',
  shot: { id: 's1', title: 'Lamp room', position: 0 }, segment: { id: 'g1', title: 'Dusk', position: 2 },
  backend: 'local-speech', model: 'espeak-ng', text: 'The lamp has not gone out in forty years.',
  duration_seconds: 3.2, duration_frames: 77, author: 'ana', created_at: '2026-11-29T08:00:00Z',
};

async function choose(select: HTMLSelectElement, value: string) {
  await act(async () => {
    select.value = value;
    select.dispatchEvent(new Event('change', { bubbles: true }));
  });
}

let view: Rendered | null = null;
let asked: string[] = [];

beforeEach(() => {
  asked = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => {
      asked.push(url);
      if (url.endsWith('/projects/p1/timeline/audio-sources/')) return jsonResponse(200, [SPEECH]);
      return jsonResponse(404, { code: 'not_found', detail: 'Not found.' });
    }),
  );
});

afterEach(async () => {
  await view?.unmount();
  view = null;
  vi.unstubAllGlobals();
});

describe('AddAudio', () => {
  it('offers sound-only takes and places the chosen one as narration with its line', async () => {
    const edits: TimelineOp[][] = [];
    view = await render(<AddAudio frame={48} rate={{ num: 24, den: 1 }} onEdit={(ops) => edits.push(ops)} onClose={() => {}} />, {
      project: PROJECT,
    });
    expect(asked.some((u) => u.includes('audio-sources'))).toBe(false); // only asked for when needed
    await choose(byTestId(view.container, 'audio-add-source')[0] as HTMLSelectElement, 'take');
    const picker = await waitFor(() => {
      const el = byTestId(view!.container, 'audio-add-take')[0] as HTMLSelectElement;
      expect(el.options.length).toBe(2);
      return el;
    });
    expect(picker.options[1].textContent).toContain('Seg 3 · Shot 1 · take 2 · local-speech · 3.2 s');
    await choose(picker, 'take-9');
    expect((byTestId(view.container, 'audio-add-track')[0] as HTMLSelectElement).value).toBe('narration');
    await act(async () => {
      (byTestId(view!.container, 'audio-add-form')[0] as HTMLFormElement).requestSubmit();
    });
    await waitFor(() => expect(edits).toHaveLength(1));
    expect(edits[0]).toEqual([
      { op: 'add_audio', track: 'narration', media: 'take-9', start_frame: 48, volume: 1, fade_in_frames: 0, fade_out_frames: 0, text: SPEECH.text },
    ]);
  });
});
