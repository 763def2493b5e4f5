import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type MouseEvent } from 'react';
import { Link, useSearchParams } from 'react-router';

import { api } from '../../api/endpoints';
import type { Comment, ReviewItem } from '../../api/types';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Empty, Loading } from '../../components/States';
import { relativeTime } from '../../lib/format';
import { formatTimecode, mediaRate } from '../../lib/timecode';
import { usePresenceLocation } from '../../realtime/RealtimeProvider';
import { qk } from '../../state/keys';
import { useComments, useReviewQueue } from '../../state/queries';
import { useProject } from '../projects/ProjectContext';
import { provenanceLine } from '../workspace/TakeCard';
import { usePlayer, usePlayerKeys } from './usePlayer';

/** Total frames of a take's media (probe, else duration × rate). */
export function totalFrames(item: Pick<ReviewItem, 'media'>): number {
  const media = item.media;
  if (!media) return 0;
  if (media.frame_count) return media.frame_count;
  const rate = mediaRate(media);
  return media.duration_seconds ? Math.round((media.duration_seconds * rate.num) / rate.den) : 0;
}

function Pins({ comments, total, onJump, rateLabel }: { comments: Comment[]; total: number; onJump: (frame: number) => void; rateLabel: (f: number) => string }) {
  if (!total) return null;
  return (
    <>
      {comments
        .filter((c) => c.frame !== null)
        .map((c) => (
          <button
            key={c.id}
            type="button"
            className="comment-pin"
            data-testid="comment-pin"
            data-frame={c.frame ?? undefined}
            style={{ left: `${Math.min(100, ((c.frame ?? 0) / Math.max(1, total - 1)) * 100)}%` }}
            title={`${c.author?.username ?? ''} at ${rateLabel(c.frame ?? 0)}: ${c.body}`}
            aria-label={`Comment by ${c.author?.username ?? 'someone'} at ${rateLabel(c.frame ?? 0)}: ${c.body}`}
            onClick={(e) => {
              e.stopPropagation();
              onJump(c.frame ?? 0);
            }}
          />
        ))}
    </>
  );
}

function ReviewStage({ item, onDone }: { item: ReviewItem; onDone: () => void }) {
  const { project, can } = useProject();
  const qc = useQueryClient();
  const video = useRef<HTMLVideoElement>(null);
  const rate = mediaRate(item.media);
  const total = totalFrames(item);
  const player = usePlayer(video, rate, total || null);
  usePlayerKeys(player, true);
  const comments = useComments(project.id, item.id);
  const [text, setText] = useState('');
  const [pin, setPin] = useState(true);
  const tc = (f: number) => formatTimecode(f, rate);

  const after = () => {
    void qc.invalidateQueries({ queryKey: qk.review(project.id) });
    void qc.invalidateQueries({ queryKey: qk.comments(project.id, item.id) });
  };
  const comment = useMutation({
    mutationFn: () => api.takes.comment(item.id, text.trim(), pin ? player.frame : null),
    onSuccess: () => {
      setText('');
      after();
    },
  });
  const approve = useMutation({
    mutationFn: () => api.takes.approve(item.id),
    onSuccess: () => {
      after();
      onDone();
    },
  });
  const requestChanges = useMutation({
    mutationFn: () => api.takes.requestChanges(item.id, text.trim(), pin ? player.frame : null),
    onSuccess: () => {
      setText('');
      after();
      onDone();
    },
  });

  const scrub = (event: MouseEvent<HTMLDivElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    player.seekFrame(Math.round(fraction * Math.max(0, total - 1)));
  };

  const busy = approve.isPending || requestChanges.isPending;
  const list = comments.data ?? [];

  return (
    <div className="review-stage">
      <div className="player">
        <video
          key={item.id}
          ref={video}
          className="review-video"
          data-testid="review-player"
          src={item.media?.proxy_url ?? item.media?.url ?? undefined}
          preload="auto"
          playsInline
          onClick={player.toggle}
          aria-label={`Take ${item.number} of ${item.shot_title || 'the shot'}`}
        />
        <div
          className="scrub-bar"
          onClick={scrub}
          role="slider"
          tabIndex={-1}
          aria-label="Position"
          aria-valuemin={0}
          aria-valuemax={Math.max(0, total - 1)}
          aria-valuenow={player.frame}
          aria-valuetext={tc(player.frame)}
        >
          <div className="scrub-fill" style={{ width: `${total > 1 ? (player.frame / (total - 1)) * 100 : 0}%` }} />
          <Pins comments={list} total={total} onJump={player.seekFrame} rateLabel={tc} />
        </div>
        <div className="transport">
          <button type="button" className="icon-button" aria-label="Back one frame (←)" onClick={() => player.step(-1)}>
            ◀︎|
          </button>
          <button type="button" className="button button-small" onClick={player.toggle} aria-label={player.playing ? 'Pause (space)' : 'Play (space)'}>
            {player.playing ? 'Pause' : 'Play'}
          </button>
          <button type="button" className="icon-button" aria-label="Forward one frame (→)" onClick={() => player.step(1)}>
            |▶︎
          </button>
          <span className="timecode" data-testid="review-timecode">
            {tc(player.frame)}
          </span>
          <span className="muted small">
            frame {player.frame + 1}
            {total ? ` of ${total}` : ''} · {(rate.num / rate.den).toFixed(3).replace(/\.?0+$/, '')} fps
            {player.speed !== 1 ? ` · ${player.speed}×` : ''}
          </span>
          <span className="muted small shortcuts" aria-hidden="true">
            ←/→ frame · J K L · space
          </span>
        </div>
      </div>

      <aside className="review-side">
        <div className="review-meta">
          <h2>
            {item.segment.title} · {item.shot_title || 'Shot'} · take {item.number}
          </h2>
          <p className="muted small">
            by {item.author?.username ?? 'someone'} · {provenanceLine(item)}
          </p>
          {item.provenance?.original_prompt || item.provenance?.prompt ? (
            <p className="small clamp-3" title={String(item.provenance?.prompt ?? '')}>
              {String(item.provenance?.original_prompt || item.provenance?.prompt)}
            </p>
          ) : null}
          <Link className="small" to={`/projects/${project.id}/segments/${item.segment.id}`}>
            Open the segment
          </Link>
        </div>

        <ol className="comment-list" aria-label="Comments">
          {list.map((c) => (
            <li key={c.id}>
              {c.frame !== null ? (
                <button type="button" className="timecode link-button" onClick={() => player.seekFrame(c.frame ?? 0)}>
                  {tc(c.frame)}
                </button>
              ) : null}{' '}
              <strong>{c.author?.username}</strong> <span className="muted small">{relativeTime(c.created_at)}</span>
              <div>{c.body}</div>
            </li>
          ))}
          {!comments.isPending && list.length === 0 && <li className="muted small">No comments yet.</li>}
        </ol>

        <div className="form review-form">
          <label className="field">
            <span>Comment</span>
            <textarea
              data-testid="review-comment"
              rows={3}
              value={text}
              onChange={(e) => setText(e.target.value)}
              onKeyDown={(e) => {
                // Enter posts the comment at the current frame; Shift+Enter starts a new line.
                if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
                  e.preventDefault();
                  if (text.trim() && !comment.isPending) comment.mutate();
                }
              }}
              placeholder={can.review ? 'What works, what should change… (Enter posts)' : 'Add a note for the artist… (Enter posts)'}
            />
          </label>
          <label className="check small">
            <input type="checkbox" checked={pin} onChange={(e) => setPin(e.target.checked)} /> Pin to {tc(player.frame)}
          </label>
          <div className="form-actions wrap">
            <button
              type="button"
              className="button"
              data-testid="review-add-comment"
              disabled={comment.isPending || !text.trim()}
              onClick={() => comment.mutate()}
            >
              Comment
            </button>
            {can.review && (
              <>
                <button
                  type="button"
                  className="button button-danger"
                  data-testid="review-request-changes"
                  disabled={busy}
                  onClick={() => requestChanges.mutate()}
                >
                  Request changes
                </button>
                <button
                  type="button"
                  className="button button-primary"
                  data-testid="review-approve"
                  disabled={busy}
                  onClick={() => approve.mutate()}
                >
                  Approve
                </button>
              </>
            )}
          </div>
        </div>
      </aside>
    </div>
  );
}

export function ReviewPage() {
  const { project, can } = useProject();
  const queue = useReviewQueue(project.id);
  const [params, setParams] = useSearchParams();
  const selectedId = params.get('take');
  usePresenceLocation(null, null);

  const items = queue.data ?? [];
  const selected = items.find((t) => t.id === selectedId) ?? null;

  const select = (id: string | null) => {
    const next = new URLSearchParams(params);
    if (id) next.set('take', id);
    else next.delete('take');
    setParams(next, { replace: true });
  };

  // When the selected take leaves the queue (reviewed), move on to the next one.
  const lastIndex = useRef(0);
  useEffect(() => {
    const index = items.findIndex((t) => t.id === selectedId);
    if (index >= 0) lastIndex.current = index;
  }, [items, selectedId]);

  const onDone = () => {
    const rest = items.filter((t) => t.id !== selectedId);
    const next = rest[Math.min(lastIndex.current, rest.length - 1)];
    select(next ? next.id : null);
  };

  return (
    <div className="review">
      <div className="page-head">
        <div>
          <h1>Review</h1>
          <p className="muted">
            {can.review
              ? 'Submitted takes, oldest first. Approve one take per shot or ask for changes.'
              : 'Takes waiting for the director. You can watch them and comment.'}
          </p>
        </div>
      </div>
      {queue.isPending ? (
        <Loading label="Loading the review queue…" />
      ) : queue.isError ? (
        <ErrorMessage error={queue.error} />
      ) : items.length === 0 ? (
        <Empty title="Nothing to review">Submitted takes appear here as soon as artists send them for review.</Empty>
      ) : (
        <div className="review-layout">
          <ol className="review-queue" aria-label="Review queue" data-player-keys="space">
            {items.map((item) => (
              <li key={item.id}>
                <button
                  type="button"
                  className={`review-item${item.id === selectedId ? ' selected' : ''}`}
                  data-testid="review-item"
                  data-take-id={item.id}
                  aria-current={item.id === selectedId ? 'true' : undefined}
                  onClick={() => select(item.id)}
                >
                  {item.media?.thumbnail_url ? (
                    <img src={item.media.thumbnail_url} alt="" className="review-thumb" />
                  ) : (
                    <span className="review-thumb" />
                  )}
                  <span className="review-item-text">
                    <strong className="clamp-1">{item.shot_title || 'Untitled shot'}</strong>
                    <span className="small clamp-1">
                      {item.segment.title} · take {item.number}
                    </span>
                    <span className="muted small">
                      {item.author?.username} · {relativeTime(item.created_at)}
                      {item.comment_count ? ` · ${item.comment_count} comment${item.comment_count === 1 ? '' : 's'}` : ''}
                    </span>
                  </span>
                </button>
              </li>
            ))}
          </ol>
          {selected ? (
            <ReviewStage key={selected.id} item={selected} onDone={onDone} />
          ) : (
            <div className="review-placeholder">
              <Empty title="Choose a take">Select a take on the left to play it, comment and decide.</Empty>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
