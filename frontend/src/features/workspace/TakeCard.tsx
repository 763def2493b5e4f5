import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';

import { api } from '../../api/endpoints';
import type { Take } from '../../api/types';
import { FilmstripThumb } from '../../components/FilmstripThumb';
import { Badge } from '../../components/States';
import { formatMoney, label, relativeTime, REVIEW_STATE_LABEL, TAKE_STATUS_LABEL, toNumber } from '../../lib/format';
import { formatTimecode, mediaRate } from '../../lib/timecode';
import { qk } from '../../state/keys';
import { useComments } from '../../state/queries';
import { useProject } from '../projects/ProjectContext';

const REVIEW_TONE: Record<string, string> = {
  draft: 'neutral',
  submitted: 'warn',
  approved: 'ok',
  changes_requested: 'danger',
};

export function provenanceLine(take: Take): string {
  const p = take.provenance ?? {};
  if (take.source === 'generation') {
    const parts = [p.backend_title || p.backend, p.model, p.seed !== undefined && p.seed !== null ? `seed ${p.seed}` : null];
    return parts.filter(Boolean).join(' · ');
  }
  return `Uploaded${take.media?.original_name ? ` · ${take.media.original_name}` : ''}`;
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
  comparing,
  onToggleCompare,
}: {
  take: Take;
  canEdit: boolean;
  comparing: boolean;
  onToggleCompare: (take: Take) => void;
}) {
  const { project } = useProject();
  const qc = useQueryClient();
  const [playing, setPlaying] = useState(false);
  const [showComments, setShowComments] = useState(take.review_state === 'changes_requested');
  // A verdict that arrives live opens the director's notes right away.
  useEffect(() => {
    if (take.review_state === 'changes_requested') setShowComments(true);
  }, [take.review_state]);
  const submit = useMutation({
    mutationFn: () => api.takes.submit(take.id),
    onSuccess: (updated) => {
      qc.setQueryData<Take[]>(qk.takes(project.id, take.shot), (list) => list?.map((t) => (t.id === updated.id ? updated : t)));
      void qc.invalidateQueries({ queryKey: qk.review(project.id) });
    },
  });

  const ready = take.status === 'ready';
  const canSubmit = canEdit && ready && (take.review_state === 'draft' || take.review_state === 'changes_requested');
  const p = take.provenance ?? {};
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
        <div className="take-prov small" title={prompt}>
          {provenanceLine(take)}
        </div>
        {prompt && <div className="take-prompt small muted clamp-2" title={prompt}>{prompt}</div>}
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
        </div>
        {showComments && <TakeComments take={take} />}
      </div>
    </article>
  );
}
