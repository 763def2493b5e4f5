import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';

import { isApiError } from '../../api/client';
import { api } from '../../api/endpoints';
import type { Shot, Take } from '../../api/types';
import { describeFrames } from '../../lib/timecode';
import { qk } from '../../state/keys';
import { useBackends, useTakes } from '../../state/queries';
import { useMe } from '../auth/session';
import { useProject } from '../projects/ProjectContext';
import { GeneratePanel } from './GeneratePanel';
import { JobList } from './JobList';
import { ShotForm } from './ShotForm';
import { SoundList } from './SoundList';
import { TakeCard } from './TakeCard';
import { availableActions, draftFor, isSoundTake, type GenerateDraft, type TakeAction } from './takeActions';
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
  hideFailed = false,
}: {
  shot: Shot;
  index: number;
  count: number;
  canEdit: boolean;
  onMove: (shot: Shot, position: number) => void;
  compareIds: string[];
  onToggleCompare: (take: Take) => void;
  here: string[];
  /** Leave failed takes out of the gallery (the workspace's remembered filter). */
  hideFailed?: boolean;
}) {
  const { project, rate, can } = useProject();
  const me = useMe();
  const qc = useQueryClient();
  const takes = useTakes(project.id, shot.id);
  const backends = useBackends(project.id);
  const [editing, setEditing] = useState(false);
  const [generating, setGenerating] = useState(false);
  // A take action's starting point for the generate panel; `panelKey` remounts the panel
  // so that each action starts from its own draft.
  const [draft, setDraft] = useState<GenerateDraft | null>(null);
  const [panelKey, setPanelKey] = useState(0);
  const panelRef = useRef<HTMLDivElement>(null);
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
  const picture = list.filter((t) => !isSoundTake(t));
  const sound = list.filter(isSoundTake);
  const shown = hideFailed ? picture.filter((t) => t.status !== 'failed') : picture;
  const hiddenCount = picture.length - shown.length;
  const numbers = new Map(list.map((t) => [t.id, t.number]));
  const takeNumber = (id: string) => numbers.get(id) ?? null;
  const backendList = backends.data ?? [];
  const actionsFor = (take: Take) => (canEdit ? availableActions(take, backendList) : []);
  // The take's author in a segment they may edit, or the director.
  const canDelete = (take: Take) => canEdit && (can.isDirector || take.author?.username === me.username);

  const onAction = (take: Take, action: TakeAction) => {
    setDraft(draftFor(action, take, backendList, { shotPrompt: shot.prompt, shotDuration: shot.duration_frames }));
    setPanelKey((k) => k + 1);
    setGenerating(true);
    requestAnimationFrame(() => panelRef.current?.scrollIntoView?.({ block: 'nearest', behavior: 'smooth' }));
  };

  const gallery = (
    <div className="take-gallery" aria-label={`Takes of ${title}`}>
      {takes.isPending && <p className="muted small">Loading takes…</p>}
      {shown.map((take) => (
        <TakeCard
          key={take.id}
          take={take}
          canEdit={canEdit}
          canDelete={canDelete(take)}
          comparing={compareIds.includes(take.id)}
          onToggleCompare={onToggleCompare}
          actions={actionsFor(take)}
          onAction={onAction}
          takeNumber={takeNumber}
        />
      ))}
      {!takes.isPending && picture.length === 0 && (
        <p className="muted small take-gallery-empty">
          No takes yet.{canEdit ? ' Upload a clip or generate one.' : ''}
        </p>
      )}
      {hiddenCount > 0 && (
        <p className="muted small take-gallery-empty" data-testid="failed-hidden">
          {hiddenCount} failed take{hiddenCount === 1 ? '' : 's'} hidden.
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
              onClick={() => {
                setDraft(null);
                setPanelKey((k) => k + 1);
                setGenerating((v) => !v);
              }}
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
      {generating && canEdit && (
        <div ref={panelRef}>
          <GeneratePanel key={panelKey} shot={shot} takes={list} draft={draft} onClose={() => setGenerating(false)} />
        </div>
      )}
      <JobList shotId={shot.id} />
      {canEdit ? <UploadZone shotId={shot.id}>{gallery}</UploadZone> : gallery}
      <SoundList
        title={title}
        takes={hideFailed ? sound.filter((t) => t.status !== 'failed') : sound}
        canDelete={canDelete}
        actionsFor={actionsFor}
        onAction={onAction}
        takeNumber={takeNumber}
      />
    </section>
  );
}
