import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';

import { errorSentence } from '../../api/client';
import { api } from '../../api/endpoints';
import type { Backend, GenerateInput, Job, Shot, Take } from '../../api/types';
import { uploadFile } from '../../api/upload';
import { PromptField } from '../../components/PromptField';
import { ProgressBar } from '../../components/States';
import { formatMoney, toNumber } from '../../lib/format';
import { useDebounced } from '../../lib/hooks';
import { unknownTags } from '../../lib/mentions';
import { framesToSeconds } from '../../lib/timecode';
import { qk } from '../../state/keys';
import { useBackends, useReferences } from '../../state/queries';
import { useProject } from '../projects/ProjectContext';
import { isImageTake, isSoundTake, KIND_LABEL, PARENT_KINDS, TAKE_ACTION_LABEL, type GenerateDraft } from './takeActions';

export { JobList } from './JobList';

export function usableBackend(b: Backend): boolean {
  return b.configured && b.available;
}

type InputImage = GenerateDraft['inputImage'];

/** The input the form describes, without empty optional fields. */
export function buildGenerateInput(form: {
  backend: string;
  model: string;
  prompt: string;
  negativePrompt: string;
  duration: string;
  variations: string;
  seed: string;
  inputImage: string | null | { id: string; frame?: 'first' | 'last'; take?: string };
  kind?: string;
  parentTake?: string | null;
  params?: Record<string, unknown>;
}): GenerateInput {
  const input: GenerateInput = { backend: form.backend, prompt: form.prompt };
  if (form.model) input.model = form.model;
  if (form.kind) input.kind = form.kind;
  if (form.negativePrompt.trim()) input.negative_prompt = form.negativePrompt;
  const parentKind = Boolean(form.kind && PARENT_KINDS.has(form.kind));
  const duration = parseInt(form.duration, 10);
  // Upscaling and interpolating keep the parent's length.
  const keepsLength = form.kind === 'upscale' || form.kind === 'interpolate';
  if (!keepsLength && Number.isFinite(duration) && duration > 0) input.duration_frames = duration;
  const variations = parseInt(form.variations, 10);
  input.variations = Number.isFinite(variations) && variations > 0 ? variations : 1;
  const seed = parseInt(form.seed, 10);
  if (form.seed.trim() !== '' && Number.isFinite(seed)) input.seed = seed;
  const image = form.inputImage;
  if (typeof image === 'string' && image) input.input_image = image;
  else if (image && typeof image === 'object' && !parentKind) {
    input.input_image = image.id;
    if (image.take && image.frame) input.input_frame = image.frame;
  }
  if (form.parentTake && (parentKind || !form.kind)) input.parent_take = form.parentTake;
  const params = Object.fromEntries(Object.entries(form.params ?? {}).filter(([, v]) => v !== '' && v !== null && v !== undefined));
  if (Object.keys(params).length) input.params = params;
  return input;
}

/** A take shown in the panel: its thumbnail, "Take N" and a way to clear it. */
function TakeChip({ take, label, testId, onClear }: { take: Take | undefined; label: string; testId: string; onClear: () => void }) {
  const thumb = take?.media?.thumbnail_url;
  return (
    <div className="take-chip" data-testid={testId} data-take-id={take?.id ?? ''}>
      {thumb ? <img src={thumb} alt="" className="take-chip-thumb" /> : <span className="take-chip-thumb" aria-hidden="true" />}
      <span className="small">{label}</span>
      <button type="button" className="link-button small" data-testid={`${testId}-clear`} onClick={onClear} aria-label={`Clear ${label}`}>
        clear
      </button>
    </div>
  );
}

function emptyDraft(shot: Shot): GenerateDraft {
  return {
    action: null,
    backend: '',
    model: '',
    kind: '',
    prompt: shot.prompt,
    negativePrompt: shot.negative_prompt ?? '',
    duration: String(shot.duration_frames),
    seed: '',
    variations: '1',
    parentTake: null,
    inputImage: null,
    params: {},
  };
}

export function GeneratePanel({
  shot,
  takes,
  draft,
  onClose,
}: {
  shot: Shot;
  takes: Take[];
  /** Where a take action starts the form (remount the panel with a new `key` for a new draft). */
  draft?: GenerateDraft | null;
  onClose: () => void;
}) {
  const { project, rate } = useProject();
  const qc = useQueryClient();
  const backends = useBackends(project.id);
  const references = useReferences(project.id);
  const ids = useId();
  const start = draft ?? emptyDraft(shot);

  const [backend, setBackend] = useState(start.backend);
  const [model, setModel] = useState(start.model);
  const [kind, setKind] = useState(start.kind);
  const [prompt, setPrompt] = useState(start.prompt);
  const [negativePrompt, setNegativePrompt] = useState(start.negativePrompt);
  const [duration, setDuration] = useState(start.duration);
  const [variations, setVariations] = useState(start.variations);
  const [seed, setSeed] = useState(start.seed);
  const [parentTake, setParentTake] = useState<string | null>(start.parentTake);
  const [image, setImage] = useState<InputImage>(start.inputImage);
  const [params, setParams] = useState<Record<string, unknown>>(start.params);
  const [imageProgress, setImageProgress] = useState<number | null>(null);
  const [imageError, setImageError] = useState<string | null>(null);

  const list = useMemo(() => backends.data ?? [], [backends.data]);
  const selected = list.find((b) => b.name === backend);
  const models = selected?.models ?? [];
  const selectedModel = models.find((m) => m.name === model);
  const maxVariations = selectedModel?.max_variations ?? 8;
  const kinds = selected?.kinds ?? [];
  const effectiveKind = kind || (kinds.length === 1 ? kinds[0] : '');
  const needsParent = PARENT_KINDS.has(effectiveKind);
  const sound = effectiveKind === 'speech' || effectiveKind === 'sound_effect' || effectiveKind === 'music';
  const voices = selected?.voices ?? [];

  // Choose a working backend (and its first model) once the list arrives.
  useEffect(() => {
    if (!backend && list.length) {
      const first = list.find(usableBackend) ?? list[0];
      setBackend(first.name);
      setModel(first.models[0]?.name ?? '');
    }
  }, [list, backend]);

  const setParam = (name: string, value: unknown) => setParams((p) => ({ ...p, [name]: value }));

  const input = buildGenerateInput({
    backend,
    model,
    prompt,
    negativePrompt,
    duration: sound && effectiveKind === 'speech' ? '' : duration,
    variations,
    seed,
    inputImage: image,
    kind,
    parentTake: needsParent ? parentTake : null,
    params,
  });
  const settledKey = useDebounced(JSON.stringify(input), 350);
  // While an @tag is half typed the estimate would only say it is unknown.
  const unknown = references.data ? unknownTags(prompt, references.data) : [];
  const missingParent = needsParent && !parentTake;
  const estimate = useQuery({
    queryKey: ['estimate', shot.id, settledKey],
    queryFn: () => api.generation.estimate(shot.id, JSON.parse(settledKey) as GenerateInput),
    // Gate on the debounced input the query will send, not the live field: right after the
    // panel opens the live backend is set while the settled one is still empty.
    enabled:
      Boolean((JSON.parse(settledKey) as GenerateInput).backend) &&
      Boolean(selected && usableBackend(selected)) &&
      unknown.length === 0 &&
      !missingParent,
    placeholderData: keepPreviousData,
    retry: false,
    staleTime: 30_000,
  });

  const generate = useMutation({
    mutationFn: () => api.generation.generate(shot.id, input),
    meta: { inlineError: true }, // shown next to the control
    // The error is shown next to the Generate button (below), not only in the page banner.
    onSuccess: (result) => {
      qc.setQueryData<Job[]>(qk.jobs(project.id, shot.id), (jobs) => [result.job, ...(jobs ?? []).filter((j) => j.id !== result.job.id)]);
      qc.setQueryData<Take[]>(qk.takes(project.id, shot.id), (existing) => {
        if (!existing) return existing;
        const known = new Set(existing.map((t) => t.id));
        return [...existing, ...result.takes.filter((t) => !known.has(t.id))];
      });
      void qc.invalidateQueries({ queryKey: qk.budget(project.id) });
      // A fixed seed would make every new batch identical; leave it to the person.
    },
  });

  const chooseImage = async (file: File | undefined) => {
    if (!file) return;
    setImageError(null);
    setImageProgress(0);
    try {
      const upload = await uploadFile(file, { project: project.id, onProgress: (p) => setImageProgress(p.fraction * 100) });
      setImage({ id: upload.id, name: file.name });
    } catch (error) {
      setImageError(errorSentence(error));
    } finally {
      setImageProgress(null);
    }
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    generate.mutate();
  };

  const readyTakes = takes.filter((t) => t.status === 'ready');
  const videoTakes = readyTakes.filter((t) => !isSoundTake(t) && !isImageTake(t));
  const stillTakes = readyTakes.filter(isImageTake);
  const parent = takes.find((t) => t.id === parentTake);
  const imageTake = image?.take ? takes.find((t) => t.id === image.take) : undefined;
  const frames = parseInt(duration, 10);
  const est = estimate.data;
  let estimateText = 'Choose a backend to see the cost.';
  if (selected && !usableBackend(selected)) estimateText = selected.reason || 'This backend is not set up for this project.';
  else if (missingParent) estimateText = `Choose the take to ${KIND_LABEL[effectiveKind]?.toLowerCase() ?? 'work on'}.`;
  else if (unknown.length) estimateText = `Choose a reference for ${unknown.map((t) => `@${t}`).join(', ')} to see the cost.`;
  else if (estimate.isError) estimateText = `No estimate: ${errorSentence(estimate.error)}`;
  else if (est) {
    estimateText = `Estimated cost ${formatMoney(est.estimated_cost, est.currency)}${
      est.variations > 1 ? ` for ${est.variations} variations` : ''
    } · ${formatMoney(est.remaining, est.currency)} left in the budget${est.affordable ? '' : ' — not enough budget'}`;
  } else if (estimate.isFetching) estimateText = 'Estimating…';

  const heading = start.action ? `${TAKE_ACTION_LABEL[start.action]}${parent ? ` take ${parent.number}` : ''}` : 'Generate';

  return (
    <form
      className="generate-panel"
      onSubmit={submit}
      aria-label={`Generate takes for shot ${shot.position + 1}`}
      data-testid="generate-panel"
      data-kind={effectiveKind}
    >
      <div className="row-between">
        <h3>{heading}</h3>
        <button type="button" className="link-button" onClick={onClose} aria-label="Close the generate panel">
          Close
        </button>
      </div>
      <div className="field-row">
        <label className="field">
          <span>Backend</span>
          <select
            data-testid="generate-backend"
            value={backend}
            onChange={(e) => {
              const next = list.find((b) => b.name === e.target.value);
              setBackend(e.target.value);
              setModel(next?.models[0]?.name ?? '');
              if (kind && next && !next.kinds.includes(kind)) setKind('');
            }}
          >
            {list.length === 0 && <option value="">Loading…</option>}
            {list.map((b) => (
              <option key={b.name} value={b.name}>
                {b.title}
                {usableBackend(b) ? '' : b.available ? ' (needs an API key)' : ' (unavailable)'}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Model</span>
          <select data-testid="generate-model" value={model} onChange={(e) => setModel(e.target.value)}>
            {models.length === 0 && <option value="">Default</option>}
            {models.map((m) => (
              <option key={m.name} value={m.name}>
                {m.title}
              </option>
            ))}
          </select>
        </label>
        {kinds.length > 1 && (
          <label className="field">
            <span>What</span>
            <select data-testid="generate-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
              <option value="">Automatic</option>
              {kinds.map((k) => (
                <option key={k} value={k}>
                  {KIND_LABEL[k] ?? k}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>

      {needsParent && (
        <div className="field">
          <span id={`${ids}-parent`}>Take to {KIND_LABEL[effectiveKind]?.toLowerCase() ?? 'use'}</span>
          {parent ? (
            <TakeChip
              take={parent}
              label={`Take ${parent.number}`}
              testId="generate-parent-chip"
              onClear={() => setParentTake(null)}
            />
          ) : parentTake ? (
            <TakeChip take={undefined} label="A take no longer in this shot" testId="generate-parent-chip" onClear={() => setParentTake(null)} />
          ) : null}
          <select
            aria-labelledby={`${ids}-parent`}
            data-testid="generate-parent"
            value={parentTake ?? ''}
            onChange={(e) => setParentTake(e.target.value || null)}
          >
            <option value="">Choose a ready take…</option>
            {videoTakes.map((t) => (
              <option key={t.id} value={t.id}>
                Take {t.number}
                {t.media?.width && t.media.height ? ` · ${t.media.width}×${t.media.height}` : ''}
              </option>
            ))}
          </select>
          {videoTakes.length === 0 && <small className="muted">This shot has no ready video take yet.</small>}
        </div>
      )}

      {effectiveKind === 'upscale' && (
        <label className="field field-narrow">
          <span>Scale</span>
          <select data-testid="generate-scale" value={String(params.scale ?? 2)} onChange={(e) => setParam('scale', Number(e.target.value))}>
            {[1.5, 2, 3, 4].map((s) => (
              <option key={s} value={String(s)}>
                ×{s}
              </option>
            ))}
          </select>
        </label>
      )}
      {effectiveKind === 'interpolate' && (
        <label className="field field-narrow">
          <span>Frame rate (fps)</span>
          <input
            data-testid="generate-fps"
            type="number"
            min={1}
            max={240}
            value={String(params.fps ?? '')}
            placeholder="48"
            onChange={(e) => setParam('fps', e.target.value === '' ? '' : Number(e.target.value))}
          />
        </label>
      )}
      {effectiveKind === 'speech' && voices.length > 0 && (
        <label className="field field-narrow">
          <span>Voice</span>
          <select data-testid="generate-voice" value={String(params.voice ?? '')} onChange={(e) => setParam('voice', e.target.value)}>
            <option value="">Default voice</option>
            {voices.map((v) => (
              <option key={v.id} value={v.id}>
                {v.name}
                {v.language ? ` (${v.language})` : ''}
              </option>
            ))}
          </select>
        </label>
      )}

      {/* Upscaling and interpolating work on the picture alone: no prompt to write. */}
      {effectiveKind !== 'upscale' && effectiveKind !== 'interpolate' && (
        <PromptField
          label={effectiveKind === 'speech' ? 'Text to speak' : 'Prompt'}
          testId="generate-prompt"
          value={prompt}
          onChange={setPrompt}
          references={references.data ?? []}
          rows={3}
        />
      )}
      {!needsParent && !sound && (
        <details className="more-options" open={Boolean(image) || undefined}>
          <summary>Negative prompt and input image</summary>
          <label className="field">
            <span>Negative prompt</span>
            <input value={negativePrompt} onChange={(e) => setNegativePrompt(e.target.value)} placeholder="What to avoid" />
          </label>
          <div className="field">
            <span id={`${ids}-img`}>Input image</span>
            {image &&
              (image.take ? (
                <TakeChip
                  take={imageTake}
                  label={imageTake ? `Take ${imageTake.number}${image.frame && !isImageTake(imageTake) ? ` (${image.frame} frame)` : ''}` : image.name}
                  testId="generate-image-chip"
                  onClear={() => setImage(null)}
                />
              ) : (
                <small data-testid="generate-image-chip">
                  Using {image.name}{' '}
                  <button type="button" className="link-button" data-testid="generate-image-chip-clear" onClick={() => setImage(null)}>
                    remove
                  </button>
                </small>
              ))}
            <div className="row gap-s">
              <input
                type="file"
                accept="image/*"
                aria-labelledby={`${ids}-img`}
                data-testid="generate-input-image"
                onChange={(e) => void chooseImage(e.target.files?.[0])}
              />
              {readyTakes.length > 0 && (
                <select
                  aria-label="Or start from a frame of a take"
                  data-testid="generate-input-take"
                  value={image?.take ? `${image.take}:${image.frame ?? 'last'}` : ''}
                  onChange={(e) => {
                    const [id, frame] = e.target.value.split(':') as [string, 'first' | 'last'];
                    const t = readyTakes.find((x) => x.id === id);
                    setImage(t ? { id: t.id, take: t.id, frame, name: `Take ${t.number} (${frame} frame)` } : null);
                  }}
                >
                  <option value="">…or from a take</option>
                  {videoTakes.flatMap((t) =>
                    (['first', 'last'] as const).map((frame) => (
                      <option key={`${t.id}:${frame}`} value={`${t.id}:${frame}`}>
                        Take {t.number} ({frame} frame)
                      </option>
                    )),
                  )}
                  {stillTakes.map((t) => (
                    <option key={t.id} value={`${t.id}:first`}>
                      Take {t.number} (still)
                    </option>
                  ))}
                </select>
              )}
            </div>
            {imageProgress !== null && <ProgressBar value={imageProgress} label="Uploading the input image" />}
            {imageError && (
              <small className="warn-text" role="alert">
                {imageError}
              </small>
            )}
          </div>
        </details>
      )}
      <div className="field-row">
        {effectiveKind !== 'upscale' && effectiveKind !== 'interpolate' && effectiveKind !== 'speech' && (
          <label className="field">
            <span>Duration (frames)</span>
            <input
              data-testid="generate-duration"
              type="number"
              min={1}
              value={duration}
              onChange={(e) => setDuration(e.target.value)}
            />
            <small className="muted">{Number.isFinite(frames) && frames > 0 ? `${framesToSeconds(frames, rate).toFixed(2)} s` : ' '}</small>
          </label>
        )}
        <label className="field">
          <span>Variations</span>
          <input
            data-testid="generate-variations"
            type="number"
            min={1}
            max={maxVariations}
            value={variations}
            onChange={(e) => setVariations(e.target.value)}
          />
        </label>
        <label className="field">
          <span>Seed</span>
          <input
            data-testid="generate-seed"
            type="number"
            min={0}
            placeholder="random"
            value={seed}
            onChange={(e) => setSeed(e.target.value)}
          />
        </label>
      </div>
      <div className="generate-footer">
        <p
          className={`estimate${est && !est.affordable ? ' warn-text' : ''}`}
          data-testid="generate-estimate"
          aria-live="polite"
          data-cost={est ? String(toNumber(est.estimated_cost)) : undefined}
        >
          {estimateText}
        </p>
        <button
          type="submit"
          className="button button-primary"
          data-testid="generate-submit"
          disabled={generate.isPending || !backend || imageProgress !== null || missingParent}
        >
          {generate.isPending ? 'Starting…' : `Generate${parseInt(variations, 10) > 1 ? ` ${parseInt(variations, 10)} takes` : ''}`}
        </button>
      </div>
      {generate.isError && (
        <p className="take-error small" role="alert" data-testid="generate-error">
          {errorSentence(generate.error)}
        </p>
      )}
    </form>
  );
}
