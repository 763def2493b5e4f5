import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';

import { errorSentence } from '../../api/client';
import { api } from '../../api/endpoints';
import type { Take } from '../../api/types';
import { Badge } from '../../components/States';
import { label, relativeTime, TAKE_STATUS_LABEL } from '../../lib/format';
import { qk } from '../../state/keys';
import { useProject } from '../projects/ProjectContext';
import { TakeDetails } from './TakeCard';
import { KIND_LABEL, takeSeed, type TakeAction } from './takeActions';

/** One sound take (speech, music, a sound effect): an audio player, no frames or review. */
function SoundTake({
  take,
  canDelete,
  canVary,
  onAction,
  takeNumber,
}: {
  take: Take;
  canDelete: boolean;
  canVary: boolean;
  onAction?: (take: Take, action: TakeAction) => void;
  takeNumber: (id: string) => number | null;
}) {
  const { project } = useProject();
  const qc = useQueryClient();
  const [showDetails, setShowDetails] = useState(false);
  const remove = useMutation({
    mutationFn: () => api.takes.remove(take.id),
    meta: { inlineError: true }, // shown next to the control
    onSuccess: () => {
      qc.setQueryData<Take[]>(qk.takes(project.id, take.shot), (list) => list?.filter((t) => t.id !== take.id));
      void qc.invalidateQueries({ queryKey: qk.takes(project.id, take.shot) });
    },
  });
  const p = take.provenance ?? {};
  const kind = take.kind || String(p.kind ?? '');
  const voice = p.params && typeof p.params === 'object' ? (p.params as Record<string, unknown>).voice : undefined;
  const text = String(p.original_prompt || p.prompt || '');
  const seed = takeSeed(take);
  const src = take.media?.proxy_url || take.media?.url || '';
  const deletable = canDelete && !take.is_pick && take.status !== 'processing';
  return (
    <li className={`sound-take status-${take.status}`} data-testid="sound-take" data-take-id={take.id} data-status={take.status} data-seed={seed ?? undefined}>
      <div className="row-between small">
        <span>
          <strong>Take {take.number}</strong> · {KIND_LABEL[kind] ?? 'Sound'}
          {voice ? ` · voice ${String(voice)}` : ''}
          {seed !== null ? ` · seed ${seed}` : ''}
        </span>
        <span className="row gap-xs">
          {take.status !== 'ready' && (
            <Badge tone={take.status === 'failed' ? 'danger' : 'neutral'}>{label(TAKE_STATUS_LABEL, take.status)}</Badge>
          )}
          <span className="muted">
            {take.author?.username ?? ''} · {relativeTime(take.created_at)}
          </span>
        </span>
      </div>
      {take.status === 'ready' && src ? (
        <audio className="sound-player" controls preload="none" src={src} aria-label={`Listen to take ${take.number}`} />
      ) : take.status === 'processing' ? (
        <p className="muted small" role="status">
          Generating…
        </p>
      ) : null}
      {text && <p className="small clamp-2 sound-text" title={text}>“{text}”</p>}
      {take.status === 'failed' && take.error && <p className="take-error small">{take.error}</p>}
      <div className="take-actions">
        <button
          type="button"
          className="link-button small"
          aria-expanded={showDetails}
          onClick={() => setShowDetails((v) => !v)}
        >
          {showDetails ? 'Hide details' : 'Details'}
        </button>
        {canVary && onAction && (
          <button type="button" className="button button-small" data-testid="take-action-vary" onClick={() => onAction(take, 'vary')}>
            Vary
          </button>
        )}
        {deletable && (
          <button
            type="button"
            className="link-button small danger"
            data-testid="take-delete"
            disabled={remove.isPending}
            onClick={() => {
              if (window.confirm(`Delete sound take ${take.number}? This cannot be undone.`)) remove.mutate();
            }}
          >
            {remove.isPending ? 'Deleting…' : 'Delete'}
          </button>
        )}
      </div>
      {remove.isError && (
        <p className="take-error small" role="alert" data-testid="take-action-error">
          {errorSentence(remove.error)}
        </p>
      )}
      {showDetails && <TakeDetails take={take} takeNumber={takeNumber} />}
    </li>
  );
}

/** A shot's sound takes — narration, music, effects — apart from its picture takes. */
export function SoundList({
  title,
  takes,
  canDelete,
  actionsFor,
  onAction,
  takeNumber,
}: {
  title: string;
  takes: Take[];
  canDelete: (take: Take) => boolean;
  actionsFor: (take: Take) => TakeAction[];
  onAction?: (take: Take, action: TakeAction) => void;
  takeNumber: (id: string) => number | null;
}) {
  if (!takes.length) return null;
  return (
    <section className="sound-list" aria-label={`Sound of ${title}`} data-testid="sound-list">
      <h3 className="small sound-list-title">Sound</h3>
      <ul>
        {takes.map((take) => (
          <SoundTake
            key={take.id}
            take={take}
            canDelete={canDelete(take)}
            canVary={actionsFor(take).includes('vary')}
            onAction={onAction}
            takeNumber={takeNumber}
          />
        ))}
      </ul>
    </section>
  );
}
