import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';

import { api } from '../../api/endpoints';
import type { Shot, Take } from '../../api/types';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Badge, Empty, Loading } from '../../components/States';
import { label, SEGMENT_STATUS_LABEL } from '../../lib/format';
import { formatDuration, framesToSeconds } from '../../lib/timecode';
import { usePresence, usePresenceLocation } from '../../realtime/RealtimeProvider';
import { qk } from '../../state/keys';
import { useSegment, useShots } from '../../state/queries';
import { patchTimeline } from '../../state/timeline';
import { moveInList, STATUS_TONE } from '../board/BoardPage';
import { useProject } from '../projects/ProjectContext';
import { ComparePanel } from './ComparePanel';
import { ShotCard } from './ShotCard';
import { ShotForm } from './ShotForm';
import { HIDE_FAILED_KEY, useStoredFlag } from './storedFlag';

export function WorkspacePage() {
  const { segmentId = '' } = useParams();
  const { project, can, rate } = useProject();
  const qc = useQueryClient();
  const segment = useSegment(project.id, segmentId);
  const shots = useShots(project.id, segmentId);
  const presence = usePresence();
  const [adding, setAdding] = useState(false);
  const [compare, setCompare] = useState<Take[]>([]);
  const [hideFailed, setHideFailed] = useStoredFlag(HIDE_FAILED_KEY);
  usePresenceLocation(segmentId, null);

  const refreshSegment = () => {
    void qc.invalidateQueries({ queryKey: qk.segment(project.id, segmentId) });
    void qc.invalidateQueries({ queryKey: qk.segments(project.id) });
  };
  const claim = useMutation({ mutationFn: () => api.segments.claim(segmentId), onSettled: refreshSegment });
  const release = useMutation({ mutationFn: () => api.segments.release(segmentId), onSettled: refreshSegment });
  const create = useMutation({
    mutationFn: (values: { title: string; prompt: string; duration_frames: number }) => api.shots.create(segmentId, values),
    onSuccess: (shot) => {
      qc.setQueryData<Shot[]>(qk.shots(project.id, segmentId), (list) => (list ? [...list.filter((s) => s.id !== shot.id), shot] : list));
      void qc.invalidateQueries({ queryKey: qk.shots(project.id, segmentId) });
      setAdding(false);
    },
  });
  const move = useMutation({
    mutationFn: ({ shot, position }: { shot: Shot; position: number }) =>
      patchTimeline(qc, project.id, [{ op: 'move_shot', shot: shot.id, position }]),
    onMutate: ({ shot, position }) => {
      qc.setQueryData<Shot[]>(qk.shots(project.id, segmentId), (list) => (list ? moveInList(list, shot.id, position) : list));
    },
    onSettled: () => void qc.invalidateQueries({ queryKey: qk.shots(project.id, segmentId) }),
  });

  if (segment.isPending) return <Loading label="Opening the segment…" />;
  if (segment.isError) return <ErrorMessage error={segment.error} />;

  const seg = segment.data;
  const canEdit = can.editSegment(seg);
  const list = [...(shots.data ?? [])].sort((a, b) => a.position - b.position);
  const plannedFrames = list.reduce((n, s) => n + s.duration_frames, 0);
  const others = presence.filter((p) => p.segments.includes(seg.id)).map((p) => p.username);
  const hereOnShot = (shotId: string) => presence.filter((p) => p.shots.includes(shotId)).map((p) => p.username);
  const defaultDuration = Math.round((4 * rate.num) / rate.den);

  const toggleCompare = (take: Take) =>
    setCompare((current) =>
      current.some((t) => t.id === take.id) ? current.filter((t) => t.id !== take.id) : [...current, take].slice(-2),
    );

  return (
    <div className="workspace">
      <nav className="breadcrumbs small" aria-label="Breadcrumbs">
        <Link to={`/projects/${project.id}/segments`}>Segments</Link> <span aria-hidden="true">›</span> {seg.position + 1}.{' '}
        {seg.title}
      </nav>
      <div className="page-head">
        <div>
          <h1>
            {seg.title} <Badge tone={STATUS_TONE[seg.status]}>{label(SEGMENT_STATUS_LABEL, seg.status)}</Badge>
          </h1>
          {seg.synopsis && <p className="lead">{seg.synopsis}</p>}
          <p className="muted small">
            {seg.owner ? `Owned by ${seg.owner.username}` : 'Nobody owns this segment yet'} · {list.length} shot
            {list.length === 1 ? '' : 's'} · {formatDuration(framesToSeconds(plannedFrames, rate))} planned
            {seg.target_frames ? ` of ${formatDuration(framesToSeconds(seg.target_frames, rate))}` : ''}
            {others.length > 0 && ` · here now: ${others.join(', ')}`}
          </p>
        </div>
        <div className="row">
          {can.claim && !seg.owner && (
            <button type="button" className="button button-primary" data-testid="segment-claim" onClick={() => claim.mutate()}>
              Claim this segment
            </button>
          )}
          {can.isArtist && can.owns(seg) && (
            <button type="button" className="button" data-testid="segment-release" onClick={() => release.mutate()}>
              Release
            </button>
          )}
          <label className="check small" title="Remembered in this browser">
            <input type="checkbox" data-testid="hide-failed" checked={hideFailed} onChange={(e) => setHideFailed(e.target.checked)} />
            Hide failed takes
          </label>
          {canEdit && !adding && (
            <button type="button" className="button button-primary" data-testid="shot-add" onClick={() => setAdding(true)}>
              Add shot
            </button>
          )}
        </div>
      </div>

      {!canEdit && (
        <p className="notice small">
          {can.isArtist
            ? seg.owner
              ? `${seg.owner.username} is working on this segment; you can watch and comment.`
              : 'Claim this segment to add shots and takes.'
            : seg.status === 'locked'
              ? 'This segment is locked.'
              : 'You can watch this segment; the owner and the director edit it.'}
        </p>
      )}

      {compare.length === 2 && <ComparePanel takes={[compare[0], compare[1]]} onClose={() => setCompare([])} />}
      {compare.length === 1 && <p className="notice small">Pick one more take to compare with take {compare[0].number}.</p>}

      {adding && (
        <section className="card">
          <h2>New shot</h2>
          <ShotForm
            initial={{ title: '', prompt: '', duration_frames: defaultDuration }}
            submitLabel="Add shot"
            pending={create.isPending}
            onSubmit={(values) => create.mutate(values)}
            onCancel={() => setAdding(false)}
          />
        </section>
      )}

      {shots.isPending ? (
        <Loading label="Loading shots…" />
      ) : shots.isError ? (
        <ErrorMessage error={shots.error} />
      ) : list.length === 0 && !adding ? (
        <Empty title="No shots yet">{canEdit ? 'Break the segment into shots with “Add shot”.' : 'The owner has not added shots yet.'}</Empty>
      ) : (
        <div className="shot-list">
          {list.map((shot, index) => (
            <ShotCard
              key={shot.id}
              shot={shot}
              index={index}
              count={list.length}
              canEdit={canEdit}
              onMove={(s, position) => move.mutate({ shot: s, position })}
              compareIds={compare.map((t) => t.id)}
              onToggleCompare={toggleCompare}
              here={hereOnShot(shot.id)}
              hideFailed={hideFailed}
            />
          ))}
        </div>
      )}
    </div>
  );
}
