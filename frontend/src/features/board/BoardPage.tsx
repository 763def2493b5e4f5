import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type DragEvent, type FormEvent } from 'react';
import { Link } from 'react-router';

import { api } from '../../api/endpoints';
import type { Member, Segment } from '../../api/types';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Badge, Empty, Loading } from '../../components/States';
import { label, SEGMENT_STATUS_LABEL } from '../../lib/format';
import { formatDuration, framesToSeconds } from '../../lib/timecode';
import { usePresence, usePresenceLocation } from '../../realtime/RealtimeProvider';
import { qk } from '../../state/keys';
import { useMembers, useSegments } from '../../state/queries';
import { patchTimeline } from '../../state/timeline';
import { personName } from '../projects/people';
import { useProject } from '../projects/ProjectContext';

export const STATUS_TONE: Record<string, string> = {
  open: 'neutral',
  claimed: 'info',
  in_review: 'warn',
  approved: 'ok',
  locked: 'muted',
};

/** The list with `id` moved to `position` (what the board shows before the server answers). */
export function moveInList<T extends { id: string }>(list: T[], id: string, position: number): T[] {
  const from = list.findIndex((s) => s.id === id);
  if (from < 0) return list;
  const next = [...list];
  const [item] = next.splice(from, 1);
  next.splice(Math.max(0, Math.min(position, next.length)), 0, item);
  return next;
}

function CreateSegment() {
  const { project, rate } = useProject();
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const [title, setTitle] = useState('');
  const [synopsis, setSynopsis] = useState('');
  const [seconds, setSeconds] = useState('');
  const create = useMutation({
    mutationFn: () =>
      api.segments.create(project.id, {
        title: title.trim(),
        synopsis: synopsis.trim(),
        ...(seconds ? { target_frames: Math.max(1, Math.round((Number(seconds) * rate.num) / rate.den)) } : {}),
      }),
    onSuccess: () => {
      setTitle('');
      setSynopsis('');
      setSeconds('');
      setOpen(false);
      void qc.invalidateQueries({ queryKey: qk.segments(project.id) });
    },
    meta: { inlineError: true },
  });
  if (!open) {
    return (
      <button type="button" className="button button-primary" data-testid="segment-create" onClick={() => setOpen(true)}>
        New segment
      </button>
    );
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <form className="card form inline-form" onSubmit={submit} aria-label="New segment">
      <div className="field-row">
        <label className="field grow">
          <span>Title</span>
          <input data-testid="segment-create-title" required autoFocus value={title} onChange={(e) => setTitle(e.target.value)} />
        </label>
        <label className="field narrow">
          <span>Length (s)</span>
          <input type="number" min={1} step="any" value={seconds} onChange={(e) => setSeconds(e.target.value)} />
        </label>
      </div>
      <label className="field">
        <span>Synopsis</span>
        <input value={synopsis} onChange={(e) => setSynopsis(e.target.value)} placeholder="What happens in this part of the film" />
      </label>
      <ErrorMessage error={create.error} />
      <div className="form-actions">
        <button type="submit" className="button button-primary" data-testid="segment-create-submit" disabled={create.isPending}>
          Add segment
        </button>
        <button type="button" className="button button-ghost" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function AssignSelect({ segment, members, onError }: { segment: Segment; members: Member[]; onError: (error: unknown) => void }) {
  const qc = useQueryClient();
  const { project } = useProject();
  const assign = useMutation({
    mutationFn: (username: string) => (username ? api.segments.assign(segment.id, username) : api.segments.release(segment.id)),
    onMutate: () => onError(null),
    onError,
    onSettled: () => void qc.invalidateQueries({ queryKey: qk.segments(project.id) }),
    meta: { inlineError: true },
  });
  const owners = members.filter((m) => m.role === 'artist' || m.role === 'director');
  return (
    <select
      className="select-small"
      data-testid="segment-assign"
      aria-label={`Assign “${segment.title}”`}
      value={segment.owner?.username ?? ''}
      disabled={assign.isPending || segment.status === 'locked'}
      onChange={(e) => assign.mutate(e.target.value)}
    >
      <option value="">Unassigned</option>
      {owners.map((m) => (
        <option key={m.id} value={m.user.username}>
          {personName(m.user)}
        </option>
      ))}
    </select>
  );
}

function SegmentRow({
  segment,
  index,
  count,
  members,
  here,
  onMove,
  dragging,
  onDragStart,
  onDropAt,
}: {
  segment: Segment;
  index: number;
  count: number;
  members: Member[];
  here: string[];
  onMove: (segment: Segment, position: number) => void;
  dragging: boolean;
  onDragStart: (id: string) => void;
  onDropAt: (position: number) => void;
}) {
  const { project, can, rate } = useProject();
  const qc = useQueryClient();
  const [over, setOver] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const refresh = () => void qc.invalidateQueries({ queryKey: qk.segments(project.id) });
  // Errors show in the row whose button caused them, not in the page banner.
  const rowAction = <T,>(mutationFn: () => Promise<T>) => ({
    mutationFn,
    onMutate: () => setError(null),
    onError: setError,
    onSettled: refresh,
    meta: { inlineError: true },
  });
  const claim = useMutation(rowAction(() => api.segments.claim(segment.id)));
  const release = useMutation(rowAction(() => api.segments.release(segment.id)));
  const lock = useMutation(rowAction(() => api.segments.setLocked(segment.id, segment.status !== 'locked')));
  const mine = can.owns(segment);
  const locked = segment.status === 'locked';
  // Only an open segment can be claimed (someone else's claim is theirs until released).
  const showClaim = can.claim && !segment.owner && segment.status === 'open';
  const seconds = segment.target_frames ? framesToSeconds(segment.target_frames, rate) : null;

  const dragProps = can.manageSegments
    ? {
        draggable: true,
        onDragStart: (e: DragEvent) => {
          e.dataTransfer.effectAllowed = 'move';
          e.dataTransfer.setData('text/plain', segment.id);
          onDragStart(segment.id);
        },
        onDragOver: (e: DragEvent) => {
          e.preventDefault();
          setOver(true);
        },
        onDragLeave: () => setOver(false),
        onDrop: (e: DragEvent) => {
          e.preventDefault();
          setOver(false);
          onDropAt(index);
        },
      }
    : {};

  return (
    <tr
      className={`segment-row${mine ? ' mine' : ''}${over ? ' drop-target' : ''}${dragging ? ' dragging' : ''}`}
      data-testid="segment-row"
      data-segment-id={segment.id}
      data-status={segment.status}
      {...dragProps}
    >
      <td className="cell-pos">
        {can.manageSegments && (
          <span className="drag-handle" aria-hidden="true" title="Drag to reorder">
            ⋮⋮
          </span>
        )}
        {index + 1}
      </td>
      <td className="cell-title">
        <Link to={`/projects/${project.id}/segments/${segment.id}`} className="segment-title" data-testid="segment-title">
          {segment.title}
        </Link>
        {segment.synopsis && <div className="muted small clamp-1">{segment.synopsis}</div>}
        {here.length > 0 && <div className="here small">Here now: {here.join(', ')}</div>}
      </td>
      <td>
        <span className="segment-owner" data-testid="segment-owner" title={segment.owner ? `@${segment.owner.username}` : undefined}>
          {personName(segment.owner)}
        </span>
        {!segment.owner && <span className="muted small">—</span>}
      </td>
      <td>
        <span data-testid="segment-status">
          <Badge tone={STATUS_TONE[segment.status]}>{label(SEGMENT_STATUS_LABEL, segment.status)}</Badge>
        </span>
      </td>
      <td className="cell-num">
        {segment.shot_count ?? 0}
        {seconds !== null && <div className="muted small">{formatDuration(seconds)} target</div>}
      </td>
      <td className="cell-num">
        <span title="approved shots">{segment.approved_count ?? 0}</span>
        {(segment.submitted_count ?? 0) > 0 && <span className="muted small"> · {segment.submitted_count} in review</span>}
      </td>
      <td className="cell-actions">
        {showClaim && (
          <button
            type="button"
            className="button button-small button-primary"
            data-testid="segment-claim"
            onClick={() => claim.mutate()}
            disabled={claim.isPending}
            title="Make this segment yours"
          >
            Claim
          </button>
        )}
        {can.release(segment) && !can.manageSegments && !locked && (
          <button
            type="button"
            className="button button-small"
            data-testid="segment-release"
            onClick={() => release.mutate()}
            disabled={release.isPending}
          >
            Release
          </button>
        )}
        {can.lockSegments && (
          <button
            type="button"
            className={`button button-small${locked ? '' : ' button-ghost'}`}
            data-testid={locked ? 'segment-unlock' : 'segment-lock'}
            onClick={() => lock.mutate()}
            disabled={lock.isPending}
            title={locked ? 'Let the owner and you edit it again' : 'Freeze it: no edits, claims or new takes until unlocked'}
          >
            {locked ? 'Unlock' : 'Lock'}
          </button>
        )}
        {can.manageSegments && (
          <>
            <AssignSelect segment={segment} members={members} onError={setError} />
            {segment.owner && !locked && (
              <button
                type="button"
                className="button button-small button-ghost"
                data-testid="segment-release"
                onClick={() => release.mutate()}
                disabled={release.isPending}
              >
                Release
              </button>
            )}
            <span className="move-buttons">
              <button
                type="button"
                className="icon-button"
                aria-label={`Move “${segment.title}” up`}
                data-testid="segment-move-up"
                disabled={index === 0}
                onClick={() => onMove(segment, index - 1)}
              >
                ↑
              </button>
              <button
                type="button"
                className="icon-button"
                aria-label={`Move “${segment.title}” down`}
                data-testid="segment-move-down"
                disabled={index === count - 1}
                onClick={() => onMove(segment, index + 1)}
              >
                ↓
              </button>
            </span>
          </>
        )}
        {/* Not "Open": that is a status on this board. */}
        <Link className="button button-small" data-testid="segment-open" to={`/projects/${project.id}/segments/${segment.id}`}>
          {can.editSegment(segment) ? 'Work on it' : 'View'}
        </Link>
        {Boolean(error) && <ErrorMessage error={error} onDismiss={() => setError(null)} />}
      </td>
    </tr>
  );
}

export function BoardPage() {
  const { project, can } = useProject();
  const qc = useQueryClient();
  const segments = useSegments(project.id);
  const members = useMembers(project.id);
  const presence = usePresence();
  const [dragId, setDragId] = useState<string | null>(null);
  usePresenceLocation(null, null);

  const move = useMutation({
    mutationFn: ({ segment, position }: { segment: Segment; position: number }) =>
      patchTimeline(qc, project.id, [{ op: 'move_segment', segment: segment.id, position }]),
    onMutate: ({ segment, position }) => {
      qc.setQueryData<Segment[]>(qk.segments(project.id), (list) => (list ? moveInList(list, segment.id, position) : list));
    },
    onSettled: () => void qc.invalidateQueries({ queryKey: qk.segments(project.id) }),
    meta: { inlineError: true },
  });

  const list = [...(segments.data ?? [])];
  const whoIsIn = (id: string) => presence.filter((p) => p.segments.includes(id)).map((p) => p.display_name || p.username);
  const mineCount = list.filter((s) => can.owns(s)).length;

  return (
    <div className="board">
      <div className="page-head">
        <div>
          <h1>Segments</h1>
          <p className="muted">
            {can.isArtist
              ? `Claim an open segment to work on it. ${mineCount ? `You have ${mineCount}.` : ''}`
              : can.manageSegments
                ? 'Cut the film into segments, order them, assign or let artists claim them.'
                : 'Every segment of the film and who is working on it.'}
          </p>
        </div>
        {can.manageSegments && <CreateSegment />}
      </div>
      {move.error && <ErrorMessage error={move.error} onDismiss={() => move.reset()} />}
      {segments.isPending ? (
        <Loading label="Loading segments…" />
      ) : segments.isError ? (
        <ErrorMessage error={segments.error} />
      ) : list.length === 0 ? (
        <Empty title="No segments yet">
          {can.manageSegments ? 'Add the first segment of the film with “New segment”.' : 'The director has not cut the film into segments yet.'}
        </Empty>
      ) : (
        <table className="table segment-table">
          <thead>
            <tr>
              <th scope="col" className="cell-pos">
                #
              </th>
              <th scope="col">Segment</th>
              <th scope="col">Owner</th>
              <th scope="col">Status</th>
              <th scope="col" className="cell-num">
                Shots
              </th>
              <th scope="col" className="cell-num">
                Approved
              </th>
              <th scope="col" className="cell-actions">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody onDragEnd={() => setDragId(null)}>
            {list.map((segment, index) => (
              <SegmentRow
                key={segment.id}
                segment={segment}
                index={index}
                count={list.length}
                members={members.data ?? []}
                here={whoIsIn(segment.id)}
                onMove={(s, position) => move.mutate({ segment: s, position })}
                dragging={dragId === segment.id}
                onDragStart={setDragId}
                onDropAt={(position) => {
                  const dragged = list.find((s) => s.id === dragId);
                  setDragId(null);
                  if (dragged && list.indexOf(dragged) !== position) move.mutate({ segment: dragged, position });
                }}
              />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
