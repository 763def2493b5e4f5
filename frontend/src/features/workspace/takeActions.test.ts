import { describe, expect, it } from 'vitest';

import { buildGenerateInput } from './GeneratePanel';
import { BACKENDS, job, media, take } from './fixtures';
import { availableActions, draftFor, isSoundTake, jobStatusText } from './takeActions';

const ctx = { shotPrompt: 'the shot prompt', shotDuration: 72 };

/** What the panel would send for a draft, unchanged. */
const sent = (d: ReturnType<typeof draftFor>) =>
  buildGenerateInput({
    backend: d.backend,
    model: d.model,
    prompt: d.prompt,
    negativePrompt: d.negativePrompt,
    duration: d.duration,
    variations: d.variations,
    seed: d.seed,
    inputImage: d.inputImage,
    kind: d.kind,
    parentTake: d.parentTake,
    params: d.params,
  });

describe('take actions prefill the generate panel', () => {
  const source = take('t1', 1);

  it('Upscale: the upscale backend, the take as parent, ×2, and no length of its own', () => {
    const d = draftFor('upscale', source, BACKENDS, ctx);
    expect(d).toMatchObject({ backend: 'local-upscale', model: 'lanczos-sharpen', kind: 'upscale', parentTake: 't1', params: { scale: 2 } });
    expect(sent(d)).toEqual({
      backend: 'local-upscale',
      model: 'lanczos-sharpen',
      kind: 'upscale',
      prompt: 'a lighthouse at dusk',
      negative_prompt: 'people',
      parent_take: 't1',
      params: { scale: 2 },
      variations: 1,
    });
  });

  it('Interpolate: twice the take’s frame rate', () => {
    const d = draftFor('interpolate', take('t2', 2, { media: media({ fps: 25 }) }), BACKENDS, ctx);
    expect(sent(d)).toMatchObject({ backend: 'local-interpolate', kind: 'interpolate', parent_take: 't2', params: { fps: 50 } });
  });

  it('Extend from last frame: the take’s own backend when it extends, the shot’s length', () => {
    const d = draftFor('extend', source, BACKENDS, ctx);
    expect(sent(d)).toMatchObject({ backend: 'local-animatic', kind: 'video_extend', parent_take: 't1', duration_frames: 72 });
  });

  it('Use as input image: the take with the frame to start from', () => {
    expect(sent(draftFor('last_frame', source, BACKENDS, ctx))).toMatchObject({
      backend: 'local-animatic',
      kind: 'image_to_video',
      input_image: 't1',
      input_frame: 'last',
    });
    const first = draftFor('first_frame', source, BACKENDS, ctx);
    expect(first.inputImage).toEqual({ id: 't1', take: 't1', frame: 'first', name: 'Take 1 (first frame)' });
    expect(sent(first).parent_take).toBeUndefined();
  });

  it('Vary: the take’s own settings with a new seed', () => {
    const d = draftFor('vary', source, BACKENDS, { ...ctx, random: () => 0.5 });
    const input = sent(d);
    expect(input).toEqual({
      backend: 'local-animatic',
      model: 'title-card',
      kind: 'text_to_video',
      prompt: 'a lighthouse at dusk',
      negative_prompt: 'people',
      duration_frames: 48,
      seed: Math.floor(0.5 * (2 ** 31 - 1)),
      params: { style: 'ink' },
      variations: 1,
    });
    expect(input.seed).not.toBe(43);
    // A random source that keeps returning the old seed still gives another one.
    const stuck = draftFor('vary', source, BACKENDS, { ...ctx, random: () => 43 / (2 ** 31 - 1) + 1e-12 });
    expect(stuck.seed).not.toBe('43');
  });

  it('Vary keeps the parent and the input frame of the take it varies', () => {
    const upscaled = take('t5', 5, {
      kind: 'upscale',
      provenance: { backend: 'local-upscale', model: 'lanczos-sharpen', kind: 'upscale', seed: 7, parent_take: 't1', params: { scale: 3 } },
    });
    expect(sent(draftFor('vary', upscaled, BACKENDS, ctx))).toMatchObject({ kind: 'upscale', parent_take: 't1', params: { scale: 3 } });
    const fromFrame = take('t6', 6, {
      kind: 'image_to_video',
      provenance: { backend: 'local-animatic', kind: 'image_to_video', seed: 9, input_image: { take: 't1', media: 'm-t1', frame: 'first' } },
    });
    expect(sent(draftFor('vary', fromFrame, BACKENDS, ctx))).toMatchObject({ input_image: 't1', input_frame: 'first' });
  });
});

describe('which actions a take offers', () => {
  it('a ready video take offers every iteration its project’s backends can do', () => {
    expect(availableActions(take('t1', 1), BACKENDS)).toEqual(['upscale', 'interpolate', 'extend', 'first_frame', 'last_frame', 'vary']);
    const onlyAnimatic = BACKENDS.filter((b) => b.name === 'local-animatic');
    expect(availableActions(take('t1', 1), onlyAnimatic)).toEqual(['extend', 'first_frame', 'last_frame', 'vary']);
  });

  it('nothing while processing or failed; uploads cannot be varied; sound only varies', () => {
    expect(availableActions(take('t1', 1, { status: 'failed' }), BACKENDS)).toEqual([]);
    expect(availableActions(take('t1', 1, { status: 'processing' }), BACKENDS)).toEqual([]);
    expect(availableActions(take('t1', 1, { source: 'upload', provenance: { source: 'upload' } }), BACKENDS)).not.toContain('vary');
    const speech = take('t3', 3, { kind: 'speech', medium: 'audio', provenance: { backend: 'local-speech', kind: 'speech', seed: 1 } });
    expect(availableActions(speech, BACKENDS)).toEqual(['vary']);
  });

  it('sound takes are told apart by kind or, without one, by their audio-only file', () => {
    expect(isSoundTake(take('a', 1, { medium: 'audio' }))).toBe(true);
    expect(isSoundTake(take('b', 2, { medium: undefined, kind: 'music' }))).toBe(true);
    expect(isSoundTake(take('c', 3, { medium: undefined, kind: undefined, provenance: {}, media: media({ kind: 'audio' }) }))).toBe(true);
    expect(isSoundTake(take('d', 4))).toBe(false);
  });
});

describe('job status text', () => {
  it('says where the work is, with real progress', () => {
    expect(jobStatusText(job({ state: 'queued', phase: 'queued' }))).toBe('Queued');
    expect(jobStatusText(job({ state: 'running', phase: 'submitted' }))).toBe('Submitted');
    expect(jobStatusText(job({ state: 'running', phase: 'running', progress: 45 }))).toBe('Running · 45%');
    expect(jobStatusText(job({ state: 'running', phase: 'downloading', progress: 90 }))).toBe('Downloading');
  });

  it('never says "Queued · 0%" for a running job, even without a phase', () => {
    const text = jobStatusText(job({ state: 'running', phase: undefined, progress: 0 }));
    expect(text).toBe('Running');
    expect(text).not.toMatch(/Queued/);
    // A local job still queued in its row whose work already reports progress, and a stale
    // "queued" phase after a progress event: both are running.
    expect(jobStatusText(job({ state: 'queued', phase: 'running', progress: 10 }))).toBe('Running · 10%');
    expect(jobStatusText(job({ state: 'running', phase: 'queued', progress: 30 }))).toBe('Running · 30%');
    expect(jobStatusText(job({ state: 'queued', phase: 'queued', progress: 0 }))).toBe('Queued');
  });

  it('shows a retry with its attempt and the provider’s message', () => {
    const retrying = job({ state: 'running', phase: 'submitted', retry: { attempt: 2, max_attempts: 4, message: 'HTTP 503 from the provider', at: null } });
    expect(jobStatusText(retrying)).toBe('Retrying (attempt 2 of 4): HTTP 503 from the provider');
    expect(jobStatusText({ ...retrying, cancel_requested: true })).toBe('Cancelling…');
  });
});
