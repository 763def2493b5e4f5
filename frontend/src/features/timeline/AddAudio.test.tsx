import { act } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { AudioSource, TimelineOp } from '../../api/types';
import { byTestId, jsonResponse, PROJECT, render, waitFor, type Rendered } from '../../test/utils';
import { AddAudio } from './panels';

const SPEECH: AudioSource = {
  take: 'take-9', kind: 'speech', track: 'narration', voice: 'en-us', number: 2, media: 'media-9',
  shot: { id: 's1', title: 'Lamp room', position: 0 }, segment: { id: 'g1', title: 'Dusk', position: 2 },
  backend: 'local-speech', model: 'espeak-ng', text: 'The lamp has not gone out in forty years.',
  duration_seconds: 3.2, duration_frames: 77, author: 'ana', created_at: '2026-11-29T08:00:00Z',
};

const MUSIC: AudioSource = {
  ...SPEECH, take: 'take-10', kind: 'music', track: 'music', voice: '', number: 3, media: 'media-10',
  backend: 'elevenlabs', model: 'music_v1', text: 'slow cello under the storm', duration_seconds: 30, duration_frames: 720,
};
const GULLS: AudioSource = {
  ...SPEECH, take: 'take-11', kind: 'sound_effect', track: 'effects', voice: '', number: 4, media: 'media-11',
  backend: 'elevenlabs', model: 'eleven_text_to_sound_v2', text: 'gulls', duration_seconds: 5, duration_frames: 120,
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
      if (url.endsWith('/projects/p1/timeline/audio-sources/')) return jsonResponse(200, [GULLS, SPEECH, MUSIC]);
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
      expect(el.options.length).toBe(4);
      return el;
    });
    // Grouped by kind: speech, music, sound effects.
    const groups = Array.from(picker.querySelectorAll('optgroup'));
    expect(groups.map((g) => [g.label, g.querySelectorAll('option').length])).toEqual([['Speech', 1], ['Music', 1], ['Sound effects', 1]]);
    expect(picker.options[1].textContent).toContain('Seg 3 · Shot 1 · take 2 · local-speech · voice en-us · 3.2 s');
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

  it('moves a music or sound-effect take to its track, unless the track was chosen by hand', async () => {
    const edits: TimelineOp[][] = [];
    view = await render(<AddAudio frame={0} rate={{ num: 24, den: 1 }} onEdit={(ops) => edits.push(ops)} onClose={() => {}} />, {
      project: PROJECT,
    });
    await choose(byTestId(view.container, 'audio-add-source')[0] as HTMLSelectElement, 'take');
    const picker = await waitFor(() => {
      const el = byTestId(view!.container, 'audio-add-take')[0] as HTMLSelectElement;
      expect(el.options.length).toBe(4);
      return el;
    });
    const track = () => (byTestId(view!.container, 'audio-add-track')[0] as HTMLSelectElement).value;
    await choose(picker, 'take-11');
    expect(track()).toBe('effects');
    await choose(picker, 'take-10');
    expect(track()).toBe('music');
    await choose(byTestId(view.container, 'audio-add-track')[0] as HTMLSelectElement, 'narration');
    await choose(picker, 'take-11');
    expect(track()).toBe('narration'); // chosen by hand: kept
    await act(async () => {
      (byTestId(view!.container, 'audio-add-form')[0] as HTMLFormElement).requestSubmit();
    });
    await waitFor(() => expect(edits).toHaveLength(1));
    expect(edits[0][0]).toMatchObject({ op: 'add_audio', track: 'narration', media: 'take-11', start_frame: 0 });
  });
});
