import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';

import { api } from '../../api/endpoints';
import type { ArtifactKind, Export, ExportArtifact, ExportKind, ExportState, Segment } from '../../api/types';
import { EXPORT_ACTIVE_STATES } from '../../api/types';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Badge, Empty, Loading } from '../../components/States';
import { relativeTime } from '../../lib/format';
import { describeFrames, type Rate } from '../../lib/timecode';
import { qk } from '../../state/keys';
import { useSegments } from '../../state/queries';
import { useMe } from '../auth/session';
import { useProject } from '../projects/ProjectContext';

export const EXPORT_STATE_LABEL: Record<ExportState, string> = {
  queued: 'Queued',
  running: 'Rendering',
  succeeded: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

const STATE_TONE: Record<ExportState, string> = {
  queued: 'neutral',
  running: 'info',
  succeeded: 'ok',
  failed: 'danger',
  cancelled: 'muted',
};

export const ARTIFACT_LABEL: Record<ArtifactKind, string> = {
  mp4: 'MP4 video',
  otio: 'OpenTimelineIO',
  otioz: 'OpenTimelineIO bundle (with media)',
  edl: 'EDL (CMX 3600)',
  srt: 'Subtitles (SRT)',
  credits: 'Credits',
  manifest: 'Provenance manifest',
};

/** The order deliverables are listed in, whatever order the server stored them. */
const ARTIFACT_ORDER: ArtifactKind[] = ['mp4', 'otio', 'otioz', 'edl', 'srt', 'credits', 'manifest'];

/** What each deliverable is for, on hover. */
export const ARTIFACT_HINT: Partial<Record<ArtifactKind, string>> = {
  otio: 'The edit for Resolve, Premiere and other editors; media linked by URL from the studio',
  otioz: 'The edit with every clip’s media inside: opens in an editor without the studio',
  edl: 'The picture cut as a CMX 3600 edit list, with dissolves and locators',
};

export function formatBytes(size: number): string {
  if (!Number.isFinite(size) || size < 0) return '';
  if (size < 1024) return `${size} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

const isActive = (state: ExportState) => EXPORT_ACTIVE_STATES.includes(state);

export function segmentLabel(segment: Pick<Segment, 'position' | 'title'>): string {
  return `Segment ${segment.position + 1}${segment.title ? ` · ${segment.title}` : ''}`;
}

/** The exports of the project, newest first. The socket pushes progress (state/cache.ts);
 * a slow poll while something renders covers a dropped connection. */
export function useExports(pid: string) {
  return useQuery({
    queryKey: qk.exports(pid),
    queryFn: () => api.exports.list(pid),
    refetchInterval: (query) => (query.state.data?.some((e) => isActive(e.state)) ? 5000 : false),
  });
}

// --- starting an export -------------------------------------------------------------------

function StartExport({ segments }: { segments: Segment[] }) {
  const { project, can } = useProject();
  const qc = useQueryClient();
  const exportable = can.isManager ? segments : can.isArtist ? segments.filter((s) => can.owns(s)) : [];
  const kinds: ExportKind[] = can.isManager ? ['final', 'segment'] : exportable.length ? ['segment'] : [];
  const [kind, setKind] = useState<ExportKind>(kinds[0] ?? 'segment');
  const [segmentId, setSegmentId] = useState('');
  const [includeUnapproved, setIncludeUnapproved] = useState(false);
  const [creditsRoll, setCreditsRoll] = useState(false);

  // The chosen segment, or the first one offered (the list may arrive or change later).
  const chosen = exportable.find((s) => s.id === segmentId) ?? exportable[0] ?? null;
  const effectiveKind: ExportKind = kinds.includes(kind) ? kind : (kinds[0] ?? 'segment');

  const start = useMutation({
    mutationFn: () =>
      api.exports.create(project.id, {
        kind: effectiveKind,
        segment: effectiveKind === 'segment' ? (chosen?.id ?? null) : null,
        include_unapproved: includeUnapproved,
        credits_roll: creditsRoll,
      }),
    onSuccess: (created) => {
      qc.setQueryData<Export[]>(qk.exports(project.id), (list) =>
        list && !list.some((e) => e.id === created.id) ? [created, ...list] : list,
      );
      void qc.invalidateQueries({ queryKey: qk.exports(project.id) });
    },
  });

  if (!kinds.length) {
    return (
      <p className="notice" data-testid="export-not-allowed">
        {can.isArtist
          ? 'Artists export the segments they own: claim a segment on the board to export it.'
          : 'Only the director, a producer or a segment’s artist can start an export. You can watch and download them here.'}
      </p>
    );
  }

  const submit = (e: FormEvent) => {
    e.preventDefault();
    start.mutate();
  };
  const needsSegment = effectiveKind === 'segment';
  return (
    <form className="card form export-form" onSubmit={submit} aria-label="New export">
      <h2>New export</h2>
      <div className="field-row wrap">
        <label className="field narrow">
          <span>What</span>
          <select data-testid="export-kind" value={effectiveKind} onChange={(e) => setKind(e.target.value as ExportKind)}>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {k === 'final' ? 'The final cut' : 'One segment'}
              </option>
            ))}
          </select>
        </label>
        {needsSegment && (
          <label className="field">
            <span>Segment</span>
            <select data-testid="export-segment" value={chosen?.id ?? ''} onChange={(e) => setSegmentId(e.target.value)}>
              {exportable.length === 0 && <option value="">No segments yet</option>}
              {exportable.map((s) => (
                <option key={s.id} value={s.id}>
                  {segmentLabel(s)}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <div className="stack export-options">
        <label className="check">
          <input
            type="checkbox"
            data-testid="export-include-unapproved"
            checked={includeUnapproved}
            onChange={(e) => setIncludeUnapproved(e.target.checked)}
          />
          Include unapproved takes
          <span className="muted small">(otherwise a slate stands in for every shot without an approved take)</span>
        </label>
        <label className="check">
          <input type="checkbox" data-testid="export-credits-roll" checked={creditsRoll} onChange={(e) => setCreditsRoll(e.target.checked)} />
          Add a credits roll at the end
        </label>
      </div>
      <div className="form-actions">
        <button
          type="submit"
          className="button button-primary"
          data-testid="export-start"
          disabled={start.isPending || (needsSegment && !chosen)}
        >
          {start.isPending ? 'Starting…' : 'Start export'}
        </button>
      </div>
    </form>
  );
}

// --- the history --------------------------------------------------------------------------

function ExportProgress({ exp }: { exp: Export }) {
  const pct = Math.max(0, Math.min(100, Math.round(exp.state === 'succeeded' ? 100 : exp.progress)));
  const tone = exp.state === 'succeeded' ? 'ok' : exp.state === 'failed' || exp.state === 'cancelled' ? 'warn' : 'accent';
  return (
    <div
      className={`export-progress export-progress-${tone}`}
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
      aria-label={`Export progress: ${pct}%`}
      data-testid={`export-progress-${exp.id}`}
    >
      <div className={`progress progress-${tone}`} aria-hidden="true">
        <div className="progress-fill" style={{ width: `${pct}%` }} />
      </div>
      <span className="export-percent">{pct}%</span>
    </div>
  );
}

function Artifacts({ exp }: { exp: Export }) {
  const sorted = [...exp.artifacts].sort((a, b) => ARTIFACT_ORDER.indexOf(a.kind) - ARTIFACT_ORDER.indexOf(b.kind));
  return (
    <ul className="artifact-list" aria-label="Downloads">
      {sorted.map((a: ExportArtifact) => (
        <li key={a.kind}>
          {a.url ? (
            <a
              className="artifact-link"
              href={a.url}
              download={a.filename || true}
              data-testid={`artifact-${a.kind}-${exp.id}`}
              data-size={a.size}
              title={ARTIFACT_HINT[a.kind] ? `${a.filename} — ${ARTIFACT_HINT[a.kind]}` : a.filename}
            >
              <span className="artifact-kind">{ARTIFACT_LABEL[a.kind] ?? a.kind}</span>
              <span className="artifact-size">{formatBytes(a.size)}</span>
            </a>
          ) : (
            <span className="artifact-link muted" data-testid={`artifact-${a.kind}-${exp.id}`}>
              {ARTIFACT_LABEL[a.kind] ?? a.kind} · not available
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}

function When({ iso }: { iso: string | null }) {
  if (!iso) return null;
  return (
    <time dateTime={iso} title={new Date(iso).toLocaleString()}>
      {relativeTime(iso)}
    </time>
  );
}

function ExportRow({ exp, rate }: { exp: Export; rate: Rate }) {
  const { project, can } = useProject();
  const me = useMe();
  const qc = useQueryClient();
  const cancel = useMutation({
    mutationFn: () => api.exports.cancel(exp.id),
    onSuccess: (updated) => {
      qc.setQueryData<Export[]>(qk.exports(project.id), (list) => list?.map((e) => (e.id === updated.id ? updated : e)));
    },
    onSettled: () => void qc.invalidateQueries({ queryKey: qk.exports(project.id) }),
  });
  const mayCancel = can.isManager || (exp.created_by?.username != null && exp.created_by.username === me.username);
  const title = exp.kind === 'final' ? 'Final cut' : exp.segment ? segmentLabel(exp.segment) : 'A segment (since deleted)';
  const options = [
    exp.options.include_unapproved ? 'unapproved takes included' : 'slates for shots without an approved take',
    ...(exp.options.credits_roll ? ['credits roll'] : []),
  ];
  return (
    <li
      className={`card export-row export-${exp.state}`}
      data-testid={`export-row-${exp.id}`}
      data-export-id={exp.id}
      data-state={exp.state}
      data-kind={exp.kind}
    >
      <div className="row-between">
        <div className="row wrap gap-s">
          <h3 className="export-title">{title}</h3>
          <Badge tone={STATE_TONE[exp.state]}>
            <span data-testid={`export-state-${exp.id}`}>{EXPORT_STATE_LABEL[exp.state] ?? exp.state}</span>
          </Badge>
        </div>
        {isActive(exp.state) && mayCancel && (
          <button
            type="button"
            className="button button-small button-ghost"
            data-testid={`export-cancel-${exp.id}`}
            disabled={cancel.isPending}
            onClick={() => cancel.mutate()}
          >
            Cancel
          </button>
        )}
      </div>
      <div className="muted small export-meta">
        <span data-testid={`export-by-${exp.id}`}>
          Started by {exp.created_by?.username ?? 'the studio'} <When iso={exp.created_at} />
        </span>
        {exp.finished_at && (
          <span>
            {exp.state === 'succeeded' ? 'finished' : 'ended'} <When iso={exp.finished_at} />
          </span>
        )}
        {exp.frames > 0 && <span>{describeFrames(exp.frames, rate)}</span>}
        <span>{options.join(', ')}</span>
      </div>
      <div className="row gap-s export-progress-row">
        <ExportProgress exp={exp} />
        {exp.state === 'queued' && <span className="muted small">Waiting for a render worker…</span>}
      </div>
      {exp.state === 'failed' && (
        <p className="export-error" role="alert" data-testid={`export-error-${exp.id}`}>
          {exp.error || 'The export failed.'}
        </p>
      )}
      {exp.artifacts.length > 0 && <Artifacts exp={exp} />}
      {typeof exp.stats.otioz_skipped === 'string' && (
        <p className="muted small" data-testid={`export-note-otioz-${exp.id}`}>
          No bundle with media: {exp.stats.otioz_skipped}
        </p>
      )}
    </li>
  );
}

/** Exports of the final cut and of single segments (issue #6): start one with its options,
 * watch it render live, and download every deliverable. */
export function ExportsPage() {
  const { project, rate } = useProject();
  const exports = useExports(project.id);
  const segments = useSegments(project.id);

  return (
    <div>
      <div className="page-head">
        <div>
          <h1>Exports</h1>
          <p className="muted">
            Render the final cut or one segment from the shared timeline, then download the film and its deliverables: OpenTimelineIO, EDL,
            subtitles, credits and the provenance manifest.
          </p>
        </div>
      </div>
      {segments.isError && <ErrorMessage error={segments.error} />}
      {segments.isPending ? <Loading label="Loading segments…" /> : <StartExport segments={segments.data ?? []} />}
      <section className="export-history" aria-label="Export history">
        <h2>History</h2>
        {exports.isPending && <Loading label="Loading exports…" />}
        {exports.isError && <ErrorMessage error={exports.error} />}
        {exports.data && exports.data.length === 0 && (
          <Empty title="No exports yet">Exports of the film and of its segments appear here with their downloads.</Empty>
        )}
        {exports.data && exports.data.length > 0 && (
          <ul className="plain-list stack" data-testid="export-list">
            {exports.data.map((exp) => (
              <ExportRow key={exp.id} exp={exp} rate={rate} />
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
