import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';

import { isApiError } from '../../api/client';
import { api } from '../../api/endpoints';
import type { Shot, Take } from '../../api/types';
import { describeFrames } from '../../lib/timecode';
import { qk } from '../../state/keys';
import { useTakes } from '../../state/queries';
import { useProject } from '../projects/ProjectContext';
import { GeneratePanel, JobList } from './GeneratePanel';
import { ShotForm } from './ShotForm';
import { TakeCard } from './TakeCard';
import { UploadZone } from './UploadZone';

export function ShotCard({
  shot,
  index,
  count,
  canEdit,
  onMove,
  compareIds,
  onToggleCompare,
  here,
}: {
  shot: Shot;
  index: number;
  count: number;
  canEdit: boolean;
  onMove: (shot: Shot, position: number) => void;
  compareIds: string[];
  onToggleCompare: (take: Take) => void;
  here: string[];
}) {
  const { project, rate } = useProject();
  const qc = useQueryClient();
  const takes = useTakes(project.id, shot.id);
  const [editing, setEditing] = useState(false);
  const [generating, setGenerating] = useState(false);
  // The revision the edit started from: if someone saves meanwhile, ours gets a 409
  // instead of silently overwriting theirs. After seeing the conflict, saving again wins.
  const [baseRevision, setBaseRevision] = useState(shot.revision);

  const update = useMutation({
    mutationFn: (values: { title: string; prompt: string; duration_frames: number }) =>
      api.shots.update(shot.id, baseRevision, values),
    onSuccess: (updated) => {
      qc.setQueryData<Shot[]>(qk.shots(project.id, shot.segment), (list) => list?.map((s) => (s.id === updated.id ? updated : s)));
      setEditing(false);
    },
    onError: (error) => {
      const current = isApiError(error) && error.status === 409 ? (error.body.current as { revision?: number } | undefined) : undefined;
      if (current && typeof current.revision === 'number') setBaseRevision(current.revision);
      void qc.invalidateQueries({ queryKey: qk.shots(project.id, shot.segment) });
    },
  });
  const startEditing = () => {
    setBaseRevision(shot.revision);
    setEditing(true);
  };
  const remove = useMutation({
    mutationFn: () => api.shots.remove(shot.id),
    onSuccess: () => void qc.invalidateQueries({ queryKey: qk.shots(project.id, shot.segment) }),
  });

  const list = [...(takes.data ?? [])].sort((a, b) => a.number - b.number);
  const title = shot.title || `Shot ${index + 1}`;

  const gallery = (
    <div className="take-gallery" aria-label={`Takes of ${title}`}>
      {takes.isPending && <p className="muted small">Loading takes…</p>}
      {list.map((take) => (
        <TakeCard
          key={take.id}
          take={take}
          canEdit={canEdit}
          comparing={compareIds.includes(take.id)}
          onToggleCompare={onToggleCompare}
        />
      ))}
      {!takes.isPending && list.length === 0 && (
        <p className="muted small take-gallery-empty">
          No takes yet.{canEdit ? ' Upload a clip or generate one.' : ''}
        </p>
      )}
    </div>
  );

  return (
    <section className="shot-card card" data-testid="shot-card" data-shot-id={shot.id} aria-labelledby={`shot-${shot.id}-h`}>
      <header className="shot-head">
        <div className="shot-number" aria-hidden="true">
          {index + 1}
        </div>
        <div className="shot-info">
          <h2 id={`shot-${shot.id}-h`} className="shot-title-text">
            {title}
          </h2>
          <div className="muted small">
            {describeFrames(shot.duration_frames, rate)}
            {shot.references.length > 0 && ` · ${shot.references.join(' ')}`}
            {here.length > 0 && <span className="here"> · {here.join(', ')} here</span>}
          </div>
          {!editing && shot.prompt && <p className="shot-prompt-text">{shot.prompt}</p>}
        </div>
        {canEdit && !editing && (
          <div className="shot-actions">
            <button
              type="button"
              className="button button-small button-primary"
              data-testid="generate-open"
              aria-expanded={generating}
              onClick={() => setGenerating((v) => !v)}
            >
              Generate
            </button>
            <button type="button" className="button button-small" data-testid="shot-edit" onClick={startEditing}>
              Edit
            </button>
            <span className="move-buttons">
              <button
                type="button"
                className="icon-button"
                aria-label={`Move ${title} up`}
                disabled={index === 0}
                onClick={() => onMove(shot, index - 1)}
              >
                ↑
              </button>
              <button
                type="button"
                className="icon-button"
                aria-label={`Move ${title} down`}
                disabled={index === count - 1}
                onClick={() => onMove(shot, index + 1)}
              >
                ↓
              </button>
            </span>
            <button
              type="button"
              className="icon-button danger"
              aria-label={`Delete ${title}`}
              onClick={() => {
                if (window.confirm(`Delete “${title}” and its takes?`)) remove.mutate();
              }}
            >
              ✕
            </button>
          </div>
        )}
      </header>
      {editing && shot.revision !== baseRevision && !update.isError && (
        <p className="notice small">Someone changed this shot while you were editing; saving will tell you before it overwrites.</p>
      )}
      {editing && (
        <ShotForm
          initial={{ title: shot.title, prompt: shot.prompt, duration_frames: shot.duration_frames }}
          submitLabel="Save shot"
          pending={update.isPending}
          onSubmit={(values) => update.mutate(values)}
          onCancel={() => setEditing(false)}
        />
      )}
      {generating && canEdit && <GeneratePanel shot={shot} takes={list} onClose={() => setGenerating(false)} />}
      <JobList shotId={shot.id} />
      {canEdit ? <UploadZone shotId={shot.id}>{gallery}</UploadZone> : gallery}
    </section>
  );
}
