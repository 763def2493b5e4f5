import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';

import { errorSentence } from '../../api/client';
import { api } from '../../api/endpoints';
import type { Take } from '../../api/types';
import { FilmstripThumb } from '../../components/FilmstripThumb';
import { Badge } from '../../components/States';
import { formatMoney, label, relativeTime, REVIEW_STATE_LABEL, TAKE_STATUS_LABEL, toNumber } from '../../lib/format';
import { formatTimecode, mediaRate } from '../../lib/timecode';
import { qk } from '../../state/keys';
import { useComments } from '../../state/queries';
import { useProject } from '../projects/ProjectContext';
import { KIND_LABEL, TAKE_ACTION_LABEL, takeSeed, type TakeAction } from './takeActions';

const REVIEW_TONE: Record<string, string> = {
  draft: 'neutral',
  submitted: 'warn',
  approved: 'ok',
  changes_requested: 'danger',
};

export function provenanceLine(take: Take): string {
  const p = take.provenance ?? {};
  if (take.source === 'generation') {
    const seed = takeSeed(take);
    const kind = take.kind || p.kind;
    const how = kind && kind !== 'text_to_video' ? KIND_LABEL[String(kind)] : null;
    const parts = [how, p.backend_title || p.backend, p.model, seed !== null ? `seed ${seed}` : null];
    return parts.filter(Boolean).join(' · ');
  }
  return `Uploaded${take.media?.original_name ? ` · ${take.media.original_name}` : ''}`;
}

function describeParams(params: unknown): string {
  if (!params || typeof params !== 'object') return '';
  return Object.entries(params as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

/** How the take was made, in full: what a person needs to make it again. */
export function TakeDetails({ take, takeNumber }: { take: Take; takeNumber: (id: string) => number | null }) {
  const p = take.provenance ?? {};
  const seed = takeSeed(take);
  const parentId = typeof p.parent_take === 'string' ? p.parent_take : take.parent;
  const image = p.input_image && typeof p.input_image === 'object' ? (p.input_image as Record<string, unknown>) : null;
  const imageTake = image && typeof image.take === 'string' ? image.take : null;
  const frame = (image?.frame ?? p.input_frame) as string | undefined;
  const number = (id: string | null) => (id ? takeNumber(id) : null);
  const rows: [string, string][] = [];
  const kind = take.kind || String(p.kind ?? '');
  if (kind) rows.push(['Made by', KIND_LABEL[kind] ?? kind]);
  if (take.source === 'generation') {
    rows.push(['Backend', String(p.backend_title || p.backend || '')]);
    if (p.model) rows.push(['Model', String(p.model)]);
    rows.push(['Seed', seed === null ? 'not recorded' : String(seed)]);
  }
  if (parentId) rows.push(['From', number(parentId) ? `Take ${number(parentId)}` : 'a take that was deleted']);
  if (image) {
    const which = imageTake ? (number(imageTake) ? `Take ${number(imageTake)}` : 'a take of another shot or a deleted one') : 'an uploaded image';
    rows.push(['Input image', `${which}${imageTake && frame ? ` (${frame} frame)` : ''}`]);
  }
  const params = describeParams(p.params);
  if (params) rows.push(['Settings', params]);
  if (typeof p.duration_frames === 'number') rows.push(['Asked length', `${p.duration_frames} frames`]);
  const m = take.media;
  if (m?.width && m.height) rows.push(['Picture', `${m.width}×${m.height}${m.fps ? ` · ${Math.round(m.fps * 1000) / 1000} fps` : ''}`]);
  if (p.negative_prompt) rows.push(['Avoid', String(p.negative_prompt)]);
  const prompt = String(p.original_prompt || p.prompt || '');
  if (prompt) rows.push(['Prompt', prompt]);
  if (p.requested_by || p.uploaded_by) rows.push(['By', String(p.requested_by || p.uploaded_by)]);
  return (
    <dl className="take-details small" data-testid="take-details">
      {rows.map(([k, v]) => (
        <div key={k} className="take-details-row">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function TakeComments({ take }: { take: Take }) {
  const { project } = useProject();
  const comments = useComments(project.id, take.id);
  const rate = mediaRate(take.media);
  if (comments.isPending) return <p className="muted small">Loading comments…</p>;
  if (comments.isError || !comments.data.length) return <p className="muted small">No comments yet.</p>;
  return (
    <ul className="take-comments">
      {comments.data.map((c) => (
        <li key={c.id}>
          <strong>{c.author?.username ?? 'someone'}</strong>
          {c.frame !== null && <span className="timecode"> {formatTimecode(c.frame, rate)}</span>}{' '}
          <span>{c.body}</span>
        </li>
      ))}
    </ul>
  );
}

export function TakeCard({
  take,
  canEdit,
  canDelete = false,
  comparing,
  onToggleCompare,
  actions = [],
  onAction,
  takeNumber = () => null,
}: {
  take: Take;
  canEdit: boolean;
  /** The author (in their segment) or the director; never offered for the pick. */
  canDelete?: boolean;
  comparing: boolean;
  onToggleCompare: (take: Take) => void;
  /** Iterations this take offers (Upscale, Interpolate, …), for whoever may generate here. */
  actions?: TakeAction[];
  onAction?: (take: Take, action: TakeAction) => void;
  /** The number of a take of this shot (for "from take N"), or null. */
  takeNumber?: (id: string) => number | null;
}) {
  const { project } = useProject();
  const qc = useQueryClient();
  const [playing, setPlaying] = useState(false);
  const [showDetails, setShowDetails] = useState(false);
  const [showComments, setShowComments] = useState(take.review_state === 'changes_requested');
  // A verdict that arrives live opens the director's notes right away.
  useEffect(() => {
    if (take.review_state === 'changes_requested') setShowComments(true);
  }, [take.review_state]);
  const submit = useMutation({
    mutationFn: () => api.takes.submit(take.id),
    meta: { inlineError: true }, // shown next to the control
    onSuccess: (updated) => {
      qc.setQueryData<Take[]>(qk.takes(project.id, take.shot), (list) => list?.map((t) => (t.id === updated.id ? updated : t)));
      void qc.invalidateQueries({ queryKey: qk.review(project.id) });
    },
  });
  const remove = useMutation({
    mutationFn: () => api.takes.remove(take.id),
    meta: { inlineError: true }, // shown next to the control
    onSuccess: () => {
      qc.setQueryData<Take[]>(qk.takes(project.id, take.shot), (list) => list?.filter((t) => t.id !== take.id));
      void qc.invalidateQueries({ queryKey: qk.takes(project.id, take.shot) });
      void qc.invalidateQueries({ queryKey: qk.review(project.id) });
    },
  });
  const deletable = canDelete && !take.is_pick && take.status !== 'processing';
  const confirmDelete = () => {
    const what = take.status === 'failed' ? `failed take ${take.number}` : `take ${take.number}`;
    if (window.confirm(`Delete ${what}? Its file and comments go with it; this cannot be undone.`)) remove.mutate();
  };

  const ready = take.status === 'ready';
  const video = take.medium === undefined || take.medium === 'video';
  const canSubmit = canEdit && ready && video && (take.review_state === 'draft' || take.review_state === 'changes_requested');
  const seed = takeSeed(take);
  const p = take.provenance ?? {};
  const parentId = take.parent ?? (typeof p.parent_take === 'string' ? p.parent_take : null);
  const parentNumber = parentId ? takeNumber(parentId) : null;
  // Upscales and interpolations carry their parent's prompt, which did not make them.
  const derived = take.kind === 'upscale' || take.kind === 'interpolate';
  const prompt = p.original_prompt || p.prompt || '';
  const cost = toNumber(take.cost);
  const alt = `take ${take.number}`;

  return (
    <article
      className={`take-card status-${take.status}${take.is_pick ? ' is-pick' : ''}${comparing ? ' comparing' : ''}`}
      data-testid="take-card"
      data-take-id={take.id}
      data-status={take.status}
      data-review-state={take.review_state}
      data-seed={seed ?? undefined}
      aria-label={`Take ${take.number}`}
    >
      <div className="take-media">
        {playing && ready && take.media?.proxy_url ? (
          <video
            className="take-video"
            src={take.media.proxy_url}
            controls
            autoPlay
            onEnded={() => setPlaying(false)}
            aria-label={`Playing ${alt}`}
          />
        ) : take.status === 'processing' ? (
          <div className="thumb thumb-processing" role="status">
            <span className="spinner" aria-hidden="true" />
            {take.source === 'generation' ? 'Generating…' : 'Processing…'}
          </div>
        ) : take.status === 'failed' ? (
          <div className="thumb thumb-failed">Failed</div>
        ) : (
          <FilmstripThumb media={take.media} alt={alt} onActivate={() => setPlaying(true)} />
        )}
      </div>
      <div className="take-body">
        <div className="row-between">
          <strong>Take {take.number}</strong>
          <span className="row gap-xs">
            {take.status !== 'ready' && (
              <Badge tone={take.status === 'failed' ? 'danger' : 'neutral'}>{label(TAKE_STATUS_LABEL, take.status)}</Badge>
            )}
            {(take.review_state !== 'draft' || take.is_pick) && (
              <Badge tone={REVIEW_TONE[take.review_state]}>{take.is_pick ? '★ Pick' : label(REVIEW_STATE_LABEL, take.review_state)}</Badge>
            )}
          </span>
        </div>
        <div className="take-prov small" title={prompt} data-testid="take-provenance">
          {provenanceLine(take)}
        </div>
        {parentNumber !== null && (
          <div className="small muted" data-testid="take-parent">
            from take {parentNumber}
          </div>
        )}
        {prompt && !derived && <div className="take-prompt small muted clamp-2" title={prompt}>{prompt}</div>}
        {take.status === 'failed' && take.error && <p className="take-error small">{take.error}</p>}
        <div className="take-meta small muted">
          {take.author?.username ?? ''} · {relativeTime(take.created_at)}
          {cost > 0 && ` · ${formatMoney(cost, project.budget_currency)}`}
          {take.media?.duration_seconds ? ` · ${take.media.duration_seconds.toFixed(1)} s` : ''}
        </div>
        <div className="take-actions">
          {canSubmit && (
            <button
              type="button"
              className="button button-small button-primary"
              data-testid="take-submit"
              onClick={() => submit.mutate()}
              disabled={submit.isPending}
            >
              {take.review_state === 'changes_requested' ? 'Resubmit' : 'Submit for review'}
            </button>
          )}
          {ready && (
            <label className="check small">
              <input type="checkbox" checked={comparing} onChange={() => onToggleCompare(take)} data-testid="take-compare" />
              Compare
            </label>
          )}
          <button
            type="button"
            className="link-button small"
            aria-expanded={showComments}
            onClick={() => setShowComments((v) => !v)}
          >
            {showComments ? 'Hide comments' : `Comments${take.comment_count ? ` (${take.comment_count})` : ''}`}
          </button>
          <button
            type="button"
            className="link-button small"
            aria-expanded={showDetails}
            data-testid="take-details-toggle"
            onClick={() => setShowDetails((v) => !v)}
          >
            {showDetails ? 'Hide details' : 'Details'}
          </button>
          {deletable && (
            <button
              type="button"
              className="link-button small danger"
              data-testid="take-delete"
              onClick={confirmDelete}
              disabled={remove.isPending}
            >
              {remove.isPending ? 'Deleting…' : 'Delete'}
            </button>
          )}
        </div>
        {canEdit && onAction && actions.length > 0 && (
          <details className="take-iterate">
            <summary className="small" data-testid="take-iterate">
              Make more from this take
            </summary>
            <div className="take-iterate-actions" role="group" aria-label={`Make more from take ${take.number}`}>
              {actions.map((action) => (
                <button
                  key={action}
                  type="button"
                  className="button button-small"
                  data-testid={`take-action-${action.replace('_', '-')}`}
                  onClick={() => onAction(take, action)}
                >
                  {TAKE_ACTION_LABEL[action]}
                </button>
              ))}
            </div>
          </details>
        )}
        {submit.isError && (
          <p className="take-error small" role="alert" data-testid="take-action-error">
            {errorSentence(submit.error)}
          </p>
        )}
        {remove.isError && (
          <p className="take-error small" role="alert" data-testid="take-action-error">
            {errorSentence(remove.error)}
          </p>
        )}
        {showDetails && <TakeDetails take={take} takeNumber={takeNumber} />}
        {showComments && <TakeComments take={take} />}
      </div>
    </article>
  );
}
