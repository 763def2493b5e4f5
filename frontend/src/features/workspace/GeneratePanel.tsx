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
import { useActiveJobs, useBackends, useReferences } from '../../state/queries';
import { useProject } from '../projects/ProjectContext';

export function usableBackend(b: Backend): boolean {
  return b.configured && b.available;
}

/** The input the form describes, without empty optional fields. */
export function buildGenerateInput(form: {
  backend: string;
  model: string;
  prompt: string;
  negativePrompt: string;
  duration: string;
  variations: string;
  seed: string;
  inputImage: string | null;
}): GenerateInput {
  const input: GenerateInput = { backend: form.backend, prompt: form.prompt };
  if (form.model) input.model = form.model;
  if (form.negativePrompt.trim()) input.negative_prompt = form.negativePrompt;
  const duration = parseInt(form.duration, 10);
  if (Number.isFinite(duration) && duration > 0) input.duration_frames = duration;
  const variations = parseInt(form.variations, 10);
  input.variations = Number.isFinite(variations) && variations > 0 ? variations : 1;
  const seed = parseInt(form.seed, 10);
  if (form.seed.trim() !== '' && Number.isFinite(seed)) input.seed = seed;
  if (form.inputImage) input.input_image = form.inputImage;
  return input;
}

const ACTIVE = new Set(['queued', 'running']);

/** Running generation jobs of a shot, with their live progress and a cancel button. */
export function JobList({ shotId }: { shotId: string }) {
  const { project } = useProject();
  const qc = useQueryClient();
  const jobs = useActiveJobs(project.id, shotId);
  const active = (jobs.data ?? []).filter((j) => ACTIVE.has(j.state));
  const cancel = useMutation({
    mutationFn: (job: Job) => api.generation.cancel(job.id),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: qk.jobs(project.id, shotId) });
      void qc.invalidateQueries({ queryKey: qk.takes(project.id, shotId) });
    },
  });
  if (!active.length) return null;
  return (
    <ul className="job-list" aria-label="Generation jobs">
      {active.map((job) => (
        <li key={job.id} className="job-row" data-testid="job-progress" data-job-id={job.id} data-state={job.state}>
          <div className="row-between small">
            <span>
              {job.state === 'queued' ? 'Queued' : 'Generating'} · {job.backend}
              {job.model ? ` · ${job.model}` : ''}
              {job.variations > 1 ? ` · ${job.variations} variations` : ''}
            </span>
            <span className="muted">{job.progress}%</span>
          </div>
          <div className="row gap-s">
            <ProgressBar value={job.progress} label={`Generation ${job.progress}% done`} />
            <button
              type="button"
              className="button button-small button-ghost"
              data-testid="generate-cancel"
              onClick={() => cancel.mutate(job)}
              disabled={cancel.isPending || job.cancel_requested}
            >
              {job.cancel_requested ? 'Cancelling…' : 'Cancel'}
            </button>
          </div>
        </li>
      ))}
    </ul>
  );
}

export function GeneratePanel({ shot, takes, onClose }: { shot: Shot; takes: Take[]; onClose: () => void }) {
  const { project, rate } = useProject();
  const qc = useQueryClient();
  const backends = useBackends(project.id);
  const references = useReferences(project.id);
  const ids = useId();

  const [backend, setBackend] = useState('');
  const [model, setModel] = useState('');
  const [prompt, setPrompt] = useState(shot.prompt);
  const [negativePrompt, setNegativePrompt] = useState(shot.negative_prompt ?? '');
  const [duration, setDuration] = useState(String(shot.duration_frames));
  const [variations, setVariations] = useState('1');
  const [seed, setSeed] = useState('');
  const [image, setImage] = useState<{ id: string; name: string } | null>(null);
  const [imageProgress, setImageProgress] = useState<number | null>(null);
  const [imageError, setImageError] = useState<string | null>(null);

  const list = useMemo(() => backends.data ?? [], [backends.data]);
  const selected = list.find((b) => b.name === backend);
  const models = selected?.models ?? [];
  const selectedModel = models.find((m) => m.name === model);
  const maxVariations = selectedModel?.max_variations ?? 8;

  // Choose a working backend (and its first model) once the list arrives.
  useEffect(() => {
    if (!backend && list.length) {
      const first = list.find(usableBackend) ?? list[0];
      setBackend(first.name);
      setModel(first.models[0]?.name ?? '');
    }
  }, [list, backend]);

  const input = buildGenerateInput({ backend, model, prompt, negativePrompt, duration, variations, seed, inputImage: image?.id ?? null });
  const settledKey = useDebounced(JSON.stringify(input), 350);
  // While an @tag is half typed the estimate would only say it is unknown.
  const unknown = references.data ? unknownTags(prompt, references.data) : [];
  const estimate = useQuery({
    queryKey: ['estimate', shot.id, settledKey],
    queryFn: () => api.generation.estimate(shot.id, JSON.parse(settledKey) as GenerateInput),
    // Gate on the debounced input the query will send, not the live field: right after the
    // panel opens the live backend is set while the settled one is still empty.
    enabled:
      Boolean((JSON.parse(settledKey) as GenerateInput).backend) &&
      Boolean(selected && usableBackend(selected)) &&
      unknown.length === 0,
    placeholderData: keepPreviousData,
    retry: false,
    staleTime: 30_000,
  });

  const generate = useMutation({
    mutationFn: () => api.generation.generate(shot.id, input),
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
      const upload = await uploadFile(file, { onProgress: (p) => setImageProgress(p.fraction * 100) });
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
  const frames = parseInt(duration, 10);
  const est = estimate.data;
  let estimateText = 'Choose a backend to see the cost.';
  if (selected && !usableBackend(selected)) estimateText = selected.reason || 'This backend is not set up for this project.';
  else if (unknown.length) estimateText = `Choose a reference for ${unknown.map((t) => `@${t}`).join(', ')} to see the cost.`;
  else if (estimate.isError) estimateText = `No estimate: ${errorSentence(estimate.error)}`;
  else if (est) {
    estimateText = `Estimated cost ${formatMoney(est.estimated_cost, est.currency)}${
      est.variations > 1 ? ` for ${est.variations} variations` : ''
    } · ${formatMoney(est.remaining, est.currency)} left in the budget${est.affordable ? '' : ' — not enough budget'}`;
  } else if (estimate.isFetching) estimateText = 'Estimating…';

  return (
    <form className="generate-panel" onSubmit={submit} aria-label={`Generate takes for shot ${shot.position + 1}`}>
      <div className="row-between">
        <h3>Generate</h3>
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
      </div>
      <PromptField
        label="Prompt"
        testId="generate-prompt"
        value={prompt}
        onChange={setPrompt}
        references={references.data ?? []}
        rows={3}
      />
      <details className="more-options">
        <summary>Negative prompt and input image</summary>
        <label className="field">
          <span>Negative prompt</span>
          <input value={negativePrompt} onChange={(e) => setNegativePrompt(e.target.value)} placeholder="What to avoid" />
        </label>
        <div className="field">
          <span id={`${ids}-img`}>Input image</span>
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
                aria-label="Or start from the last frame of a take"
                value={image && image.name.startsWith('Take ') ? image.id : ''}
                onChange={(e) => {
                  const t = readyTakes.find((x) => x.id === e.target.value);
                  setImage(t ? { id: t.id, name: `Take ${t.number} (last frame)` } : null);
                }}
              >
                <option value="">…or from a take</option>
                {readyTakes.map((t) => (
                  <option key={t.id} value={t.id}>
                    Take {t.number} (last frame)
                  </option>
                ))}
              </select>
            )}
          </div>
          {imageProgress !== null && <ProgressBar value={imageProgress} label="Uploading the input image" />}
          {imageError && <small className="warn-text">{imageError}</small>}
          {image && (
            <small>
              Using {image.name}{' '}
              <button type="button" className="link-button" onClick={() => setImage(null)}>
                remove
              </button>
            </small>
          )}
        </div>
      </details>
      <div className="field-row">
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
          disabled={generate.isPending || !backend || imageProgress !== null}
        >
          {generate.isPending ? 'Starting…' : `Generate${parseInt(variations, 10) > 1 ? ` ${parseInt(variations, 10)} takes` : ''}`}
        </button>
      </div>
    </form>
  );
}
