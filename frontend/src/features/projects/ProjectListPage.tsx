import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';

import { api } from '../../api/endpoints';
import type { Project } from '../../api/types';
import { AppHeader } from '../../components/AppHeader';
import { ErrorBanner } from '../../components/ErrorBanner';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Empty, Loading } from '../../components/States';
import { formatDuration } from '../../lib/timecode';
import { label, ROLE_LABEL } from '../../lib/format';
import { qk } from '../../state/keys';

const FPS_CHOICES = [
  { value: '24', label: '24 fps' },
  { value: '24000/1001', label: '23.976 fps' },
  { value: '25', label: '25 fps' },
  { value: '30', label: '30 fps' },
  { value: '30000/1001', label: '29.97 fps' },
];

const SIZE_CHOICES = [
  { value: '1920x1080', label: '1920 × 1080 (16:9)' },
  { value: '1280x720', label: '1280 × 720 (16:9)' },
  { value: '3840x2160', label: '3840 × 2160 (4K)' },
  { value: '1080x1920', label: '1080 × 1920 (vertical)' },
  { value: '1080x1080', label: '1080 × 1080 (square)' },
];

function CreateProjectForm({ onClose }: { onClose: () => void }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [title, setTitle] = useState('');
  const [fps, setFps] = useState('24');
  const [size, setSize] = useState('1920x1080');
  const [minutes, setMinutes] = useState('');
  const [budget, setBudget] = useState('');
  const [description, setDescription] = useState('');
  const [style, setStyle] = useState('');

  const create = useMutation({
    mutationFn: () => {
      const [width, height] = size.split('x').map(Number);
      return api.projects.create({
        title: title.trim(),
        fps,
        width,
        height,
        ...(minutes ? { target_runtime_seconds: Math.round(Number(minutes) * 60) } : {}),
        ...(budget ? { budget_amount: budget } : {}),
        ...(description.trim() ? { description: description.trim() } : {}),
        ...(style.trim() ? { style_prompt: style.trim() } : {}),
      });
    },
    onSuccess: (project) => {
      void qc.invalidateQueries({ queryKey: qk.projects });
      navigate(`/projects/${project.id}`);
    },
    meta: { inlineError: true },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };

  return (
    <form className="card form create-project" onSubmit={submit} aria-label="New film">
      <h2>New film</h2>
      <p className="muted">You will direct it: cut it into segments, invite artists, approve their takes.</p>
      <label className="field">
        <span>Title</span>
        <input data-testid="project-title" required autoFocus value={title} onChange={(e) => setTitle(e.target.value)} />
      </label>
      <div className="field-row">
        <label className="field">
          <span>Frame rate</span>
          <select value={fps} onChange={(e) => setFps(e.target.value)}>
            {FPS_CHOICES.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Resolution</span>
          <select value={size} onChange={(e) => setSize(e.target.value)}>
            {SIZE_CHOICES.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <label className="field">
        <span>Description (optional)</span>
        <textarea
          rows={2}
          maxLength={4000}
          placeholder="What the film is about, for the crew"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          data-testid="project-description"
        />
      </label>
      <label className="field">
        <span>Style prompt (optional; added to every generation prompt)</span>
        <textarea
          rows={2}
          maxLength={4000}
          placeholder="grainy 16mm, teal and amber, shallow focus"
          value={style}
          onChange={(e) => setStyle(e.target.value)}
          data-testid="project-style-prompt"
        />
      </label>
      <div className="field-row">
        <label className="field">
          <span>Target runtime (minutes)</span>
          <input type="number" min={0.1} max={1440} step="any" value={minutes} onChange={(e) => setMinutes(e.target.value)} data-testid="project-runtime" />
        </label>
        <label className="field">
          <span>Budget (USD)</span>
          <input type="number" min={0} max={9999999999} step="any" value={budget} onChange={(e) => setBudget(e.target.value)} data-testid="project-budget" />
        </label>
      </div>
      <ErrorMessage error={create.error} />
      <div className="form-actions">
        <button type="submit" className="button button-primary" data-testid="project-create-submit" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create film'}
        </button>
        <button type="button" className="button button-ghost" onClick={onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function ProjectCard({ project }: { project: Project }) {
  return (
    <Link to={`/projects/${project.id}`} className="project-card" data-testid="project-card">
      <span className="project-card-title">{project.title}</span>
      <span className="project-card-meta">
        {label(ROLE_LABEL, project.role)} · {project.segment_count ?? 0} segment{project.segment_count === 1 ? '' : 's'}
      </span>
      <span className="project-card-meta muted">
        {project.width}×{project.height} · {project.fps} fps
        {project.target_runtime_seconds ? ` · ${formatDuration(project.target_runtime_seconds)} target` : ''}
      </span>
    </Link>
  );
}

function MyInvitations() {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const invitations = useQuery({ queryKey: qk.myInvitations, queryFn: api.invitations.mine });
  const refresh = () => void qc.invalidateQueries({ queryKey: qk.myInvitations });
  const accept = useMutation({
    mutationFn: (id: string) => api.invitations.accept(id),
    onSuccess: (joined) => {
      refresh();
      void qc.invalidateQueries({ queryKey: qk.projects });
      navigate(`/projects/${joined.project.id}`);
    },
    meta: { inlineError: true },
  });
  const decline = useMutation({ mutationFn: (id: string) => api.invitations.decline(id), onSettled: refresh, meta: { inlineError: true } });
  if (!invitations.data || invitations.data.length === 0) return null;
  const busy = accept.isPending || decline.isPending;
  return (
    <section className="card my-invitations" aria-labelledby="my-invitations-h" data-testid="my-invitations">
      <h2 id="my-invitations-h">Invitations</h2>
      <ul className="plain-list divided">
        {invitations.data.map((inv) => (
          <li key={inv.id} className="row-between" data-testid="my-invitation" data-project={inv.project.title}>
            <span>
              <strong>{inv.project.title}</strong>{' '}
              <span className="muted">
                as {label(ROLE_LABEL, inv.role)}
                {inv.invited_by ? ` · from ${inv.invited_by.display_name ?? inv.invited_by.username}` : ''}
              </span>
            </span>
            <span className="row gap-s">
              <button
                type="button"
                className="button button-small button-primary"
                data-testid="my-invitation-accept"
                disabled={busy}
                onClick={() => accept.mutate(inv.id)}
              >
                Accept
              </button>
              <button
                type="button"
                className="button button-small button-ghost"
                data-testid="my-invitation-decline"
                disabled={busy}
                onClick={() => decline.mutate(inv.id)}
              >
                Decline
              </button>
            </span>
          </li>
        ))}
      </ul>
      <ErrorMessage error={accept.error ?? decline.error} />
    </section>
  );
}

export function ProjectListPage() {
  const projects = useQuery({ queryKey: qk.projects, queryFn: api.projects.list });
  const [creating, setCreating] = useState(false);

  return (
    <div className="app">
      <AppHeader />
      <main className="page">
        <ErrorBanner />
        <div className="page-head">
          <div>
            <h1>Your films</h1>
            <p className="muted">Every film you direct, produce or work on.</p>
          </div>
          {!creating && (
            <button type="button" className="button button-primary" data-testid="project-create" onClick={() => setCreating(true)}>
              New film
            </button>
          )}
        </div>
        <MyInvitations />
        {creating && <CreateProjectForm onClose={() => setCreating(false)} />}
        {projects.isPending ? (
          <Loading label="Loading your films…" />
        ) : projects.isError ? (
          <ErrorMessage error={projects.error} />
        ) : projects.data.length === 0 ? (
          <Empty title="No films yet">
            Create one to direct it, or open an invite link from a director to join theirs.
          </Empty>
        ) : (
          <div className="project-grid">
            {projects.data.map((p) => (
              <ProjectCard key={p.id} project={p} />
            ))}
          </div>
        )}
      </main>
    </div>
  );
}
