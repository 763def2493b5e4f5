import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';

import { api } from '../../api/endpoints';
import type { Project, ProjectUpdateInput } from '../../api/types';
import { ErrorMessage } from '../../components/ErrorMessage';
import { formatMoney } from '../../lib/format';
import { formatDuration } from '../../lib/timecode';
import { qk } from '../../state/keys';
import { useProject } from '../projects/ProjectContext';
import { useSettingsFields } from './changes';

/** "Saved." for a moment after a save. */
function useSavedFlag(): [boolean, () => void] {
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (!saved) return;
    const t = setTimeout(() => setSaved(false), 2000);
    return () => clearTimeout(t);
  }, [saved]);
  return [saved, () => setSaved(true)];
}

function useProjectSave(onSaved: () => void) {
  const { project } = useProject();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (input: ProjectUpdateInput) => api.projects.update(project.id, input),
    onSuccess: (updated: Project) => {
      qc.setQueryData(qk.project(project.id), updated);
      void qc.invalidateQueries({ queryKey: qk.budget(project.id) });
      void qc.invalidateQueries({ queryKey: qk.projects });
      onSaved();
    },
    meta: { inlineError: true },
  });
}

const minutesOf = (seconds: number | null) => (seconds ? String(Math.round((seconds / 60) * 100) / 100) : '');

/** Title, description, style prompt and runtime: the director edits them, everyone else reads them. */
export function FilmSettings() {
  const { project, can } = useProject();
  return (
    <section className="card" aria-labelledby="film-settings-h">
      <h2 id="film-settings-h">The film</h2>
      {can.editFilm ? <FilmForm /> : <FilmReadOnly project={project} />}
    </section>
  );
}

function FilmReadOnly({ project }: { project: Project }) {
  return (
    <dl className="settings-readonly" data-testid="film-readonly">
      <dt>Target runtime</dt>
      <dd data-testid="film-runtime-value">{project.target_runtime_seconds ? formatDuration(project.target_runtime_seconds) : 'not set'}</dd>
      <dt>Description</dt>
      <dd>{project.description || <span className="muted">none</span>}</dd>
      <dt>Style prompt</dt>
      <dd data-testid="film-style-value">{project.style_prompt || <span className="muted">none</span>}</dd>
      <dd className="muted small">The director sets these.</dd>
    </dl>
  );
}

function FilmForm() {
  const { project } = useProject();
  const { values, set, changes } = useSettingsFields({
    title: project.title,
    description: project.description,
    style_prompt: project.style_prompt,
    minutes: minutesOf(project.target_runtime_seconds),
  });
  const [saved, markSaved] = useSavedFlag();
  const [problem, setProblem] = useState<string | null>(null);
  const save = useProjectSave(markSaved);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setProblem(null);
    const input: ProjectUpdateInput = {};
    if (changes.title !== undefined) {
      if (!changes.title.trim()) return setProblem('The film needs a title.');
      input.title = changes.title.trim();
    }
    if (changes.description !== undefined) input.description = changes.description.trim();
    if (changes.style_prompt !== undefined) input.style_prompt = changes.style_prompt.trim();
    if (changes.minutes !== undefined) {
      const runtime = changes.minutes.trim() ? Math.round(Number(changes.minutes) * 60) : null;
      if (runtime !== null && !(Number.isFinite(runtime) && runtime >= 1 && runtime <= 24 * 3600)) {
        return setProblem('The target runtime is between a second and 24 hours (1440 minutes).');
      }
      input.target_runtime_seconds = runtime;
    }
    if (Object.keys(input).length === 0) return markSaved();
    save.mutate(input);
  };

  return (
    <form className="form" onSubmit={submit} aria-label="The film">
      <label className="field">
        <span>Title</span>
        <input required maxLength={200} value={values.title} onChange={(e) => set('title', e.target.value)} data-testid="film-title" />
      </label>
      <label className="field">
        <span>Description</span>
        <textarea
          rows={2}
          maxLength={4000}
          value={values.description}
          onChange={(e) => set('description', e.target.value)}
          data-testid="film-description"
        />
      </label>
      <label className="field">
        <span>Style prompt (added to every generation prompt)</span>
        <textarea
          rows={3}
          maxLength={4000}
          placeholder="grainy 16mm, teal and amber, shallow focus"
          value={values.style_prompt}
          onChange={(e) => set('style_prompt', e.target.value)}
          data-testid="film-style-prompt"
        />
      </label>
      <label className="field narrow">
        <span>Target runtime (min)</span>
        <input
          type="number"
          min={0}
          max={1440}
          step="any"
          value={values.minutes}
          onChange={(e) => set('minutes', e.target.value)}
          data-testid="film-runtime"
        />
      </label>
      <ErrorMessage error={problem ?? save.error} />
      <div className="form-actions">
        <button type="submit" className="button button-primary" data-testid="film-save" disabled={save.isPending}>
          Save
        </button>
        {saved && (
          <span className="ok-text small" data-testid="film-saved">
            Saved.
          </span>
        )}
      </div>
    </form>
  );
}

/** Budget, currency and cap per artist: what the director and producers may change. */
export function BudgetSettings() {
  const { project } = useProject();
  const { values, set, changes } = useSettingsFields({
    budget_amount: project.budget_amount,
    budget_currency: project.budget_currency,
    artist_budget_cap: project.artist_budget_cap ?? '',
  });
  const [saved, markSaved] = useSavedFlag();
  const [problem, setProblem] = useState<string | null>(null);
  const save = useProjectSave(markSaved);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setProblem(null);
    const input: ProjectUpdateInput = {};
    if (changes.budget_currency !== undefined) {
      const code = changes.budget_currency.trim().toUpperCase();
      if (!/^[A-Z]{3}$/.test(code)) return setProblem('The currency is a three-letter code such as USD or EUR.');
      input.budget_currency = code;
    }
    if (changes.budget_amount !== undefined) {
      if (changes.budget_amount === '' || !(Number(changes.budget_amount) >= 0)) return setProblem('The budget is an amount of 0 or more.');
      input.budget_amount = changes.budget_amount;
    }
    if (changes.artist_budget_cap !== undefined) {
      if (changes.artist_budget_cap !== '' && !(Number(changes.artist_budget_cap) >= 0)) return setProblem('The cap per artist is an amount of 0 or more (empty: no cap).');
      input.artist_budget_cap = changes.artist_budget_cap === '' ? null : changes.artist_budget_cap;
    }
    if (Object.keys(input).length === 0) return markSaved();
    save.mutate(input);
  };

  return (
    <section className="card" aria-labelledby="budget-settings-h">
      <h2 id="budget-settings-h">Budget</h2>
      <form className="form" onSubmit={submit} aria-label="Budget">
        <div className="field-row">
          <label className="field">
            <span>Budget</span>
            <input type="number" min={0} max={9999999999} step="any" required value={values.budget_amount} onChange={(e) => set('budget_amount', e.target.value)} data-testid="budget-amount" />
          </label>
          <label className="field narrow">
            <span>Currency</span>
            <input maxLength={3} value={values.budget_currency} onChange={(e) => set('budget_currency', e.target.value)} data-testid="budget-currency" />
          </label>
          <label className="field">
            <span>Cap per artist</span>
            <input type="number" min={0} max={9999999999} step="any" placeholder="no cap" value={values.artist_budget_cap} onChange={(e) => set('artist_budget_cap', e.target.value)} data-testid="budget-cap" />
          </label>
        </div>
        <ErrorMessage error={problem ?? save.error} />
        <div className="form-actions">
          <button type="submit" className="button button-primary" data-testid="budget-save" disabled={save.isPending}>
            Save
          </button>
          {saved && (
            <span className="ok-text small" data-testid="budget-saved">
              Saved.
            </span>
          )}
          <span className="muted small" data-testid="budget-now">
            Now {formatMoney(project.budget_amount, project.budget_currency)}.
          </span>
        </div>
      </form>
    </section>
  );
}
