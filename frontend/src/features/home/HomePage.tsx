import { Link } from 'react-router';

import type { Budget, Segment, SegmentStatus, Timeline } from '../../api/types';
import { SEGMENT_STATUSES } from '../../api/types';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Empty, Loading } from '../../components/States';
import { formatMoney, relativeTime, SEGMENT_STATUS_LABEL, toNumber } from '../../lib/format';
import { formatDuration, framesToSeconds, type Rate } from '../../lib/timecode';
import { useMe } from '../auth/session';
import { usePresence, usePresenceLocation } from '../../realtime/RealtimeProvider';
import { useActivity, useBudget, useSegments, useTimeline } from '../../state/queries';
import { useProject } from '../projects/ProjectContext';
import { personName } from '../projects/people';
import { activityLines } from './activity';

/** Approved runtime: the picks' trimmed lengths, in seconds. */
export function approvedSeconds(timeline: Timeline | undefined, rate: Rate): number {
  if (!timeline) return 0;
  let frames = 0;
  for (const seg of timeline.segments) for (const shot of seg.shots) if (shot.take) frames += shot.duration_frames;
  return framesToSeconds(frames, rate);
}

export function countByStatus(segments: Segment[]): Record<SegmentStatus, number> {
  const counts = Object.fromEntries(SEGMENT_STATUSES.map((s) => [s, 0])) as Record<SegmentStatus, number>;
  for (const s of segments) counts[s.status] = (counts[s.status] ?? 0) + 1;
  return counts;
}

function ProgressSummary() {
  const { project, rate } = useProject();
  const segments = useSegments(project.id);
  const timeline = useTimeline(project.id);
  const list = segments.data ?? [];
  const counts = countByStatus(list);
  const approved = approvedSeconds(timeline.data, rate);
  const planned = timeline.data ? framesToSeconds(timeline.data.duration_frames, rate) : 0;
  const target = project.target_runtime_seconds ?? 0;
  const goal = target || planned;
  const shots = list.reduce((n, s) => n + (s.shot_count ?? 0), 0);
  const approvedShots = list.reduce((n, s) => n + (s.approved_count ?? 0), 0);

  return (
    <section className="card" data-testid="progress-summary" aria-labelledby="progress-h">
      <h2 id="progress-h">Progress</h2>
      {segments.isPending ? (
        <Loading />
      ) : segments.isError ? (
        <ErrorMessage error={segments.error} />
      ) : (
        <>
          <p className="big-figure">
            <strong>{formatDuration(approved)}</strong>
            <span className="muted">
              {' '}
              {goal ? `of ${formatDuration(goal)} ${target ? 'target runtime' : 'planned'} approved` : 'approved · no target runtime set yet'}
            </span>
          </p>
          <div className="meter" aria-label={`${Math.round(goal ? (approved / goal) * 100 : 0)}% of the runtime approved`}>
            <div className="meter-fill meter-ok" style={{ width: `${Math.min(100, goal ? (approved / goal) * 100 : 0)}%` }} />
          </div>
          <p className="muted small">
            {approvedShots} of {shots} shots approved · {formatDuration(planned)} planned in {list.length} segments
          </p>
          {list.length > 0 && (
            <div className="status-stack" aria-hidden="true">
              {SEGMENT_STATUSES.filter((s) => counts[s]).map((s) => (
                <div key={s} className={`status-seg status-${s}`} style={{ flexGrow: counts[s] }} />
              ))}
            </div>
          )}
          <ul className="status-legend">
            {SEGMENT_STATUSES.map((s) => (
              <li key={s} data-status={s}>
                <span className={`dot status-${s}`} aria-hidden="true" />
                {SEGMENT_STATUS_LABEL[s]} <strong>{counts[s]}</strong>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

export function budgetShares(budget: Budget) {
  const amount = toNumber(budget.amount);
  const spent = toNumber(budget.spent);
  const reserved = toNumber(budget.reserved);
  const pct = (n: number) => (amount > 0 ? Math.min(100, (n / amount) * 100) : 0);
  return { amount, spent, reserved, remaining: toNumber(budget.remaining), spentPct: pct(spent), reservedPct: pct(reserved) };
}

function BudgetCard() {
  const { project } = useProject();
  const budget = useBudget(project.id);
  return (
    <section className="card" aria-labelledby="budget-h">
      <h2 id="budget-h">Budget</h2>
      {budget.isPending ? (
        <Loading />
      ) : budget.isError ? (
        <ErrorMessage error={budget.error} />
      ) : (
        (() => {
          const b = budgetShares(budget.data);
          const cur = budget.data.currency;
          const tone = b.amount > 0 && b.remaining / b.amount < 0.1 ? 'warn' : 'ok';
          return (
            <div data-testid="budget-bar">
              <p className="big-figure">
                <strong>{formatMoney(b.remaining, cur)}</strong> <span className="muted">left of {formatMoney(b.amount, cur)}</span>
              </p>
              <div
                className="meter"
                role="meter"
                aria-valuemin={0}
                aria-valuemax={b.amount}
                aria-valuenow={b.spent + b.reserved}
                aria-label="Budget used"
              >
                <div className={`meter-fill meter-${tone === 'warn' ? 'warn' : 'spent'}`} style={{ width: `${b.spentPct}%` }} />
                <div className="meter-fill meter-reserved" style={{ width: `${Math.min(100 - b.spentPct, b.reservedPct)}%` }} />
              </div>
              <p className="muted small">
                {formatMoney(b.spent, cur)} spent · {formatMoney(b.reserved, cur)} held for running jobs
              </p>
              {budget.data.by_artist.length > 0 && (
                <ul className="plain-list compact">
                  {budget.data.by_artist.slice(0, 6).map((row) => (
                    <li key={row.user.id} className="row-between">
                      <span>{personName(row.user)}</span>
                      <span className="muted">
                        {formatMoney(toNumber(row.spent) + toNumber(row.reserved), cur)}
                        {row.cap !== null && row.cap !== undefined ? ` of ${formatMoney(row.cap, cur)} cap` : ''}
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </div>
          );
        })()
      )}
    </section>
  );
}

function PresenceCard() {
  const { project } = useProject();
  const me = useMe();
  const presence = usePresence();
  const segments = useSegments(project.id);
  const titles = new Map((segments.data ?? []).map((s) => [s.id, s.title]));
  return (
    <section className="card" aria-labelledby="presence-h">
      <h2 id="presence-h">Online now</h2>
      <ul className="presence-list" data-testid="presence-list">
        {presence.map((p) => {
          const where = p.segments.map((id) => titles.get(id)).filter(Boolean);
          return (
            <li key={p.user_id} className="presence-user" data-testid="presence-user" data-username={p.username}>
              <span className="avatar" aria-hidden="true">
                {(p.display_name || p.username).slice(0, 1).toUpperCase()}
              </span>
              <span className="presence-name">
                {p.display_name || p.username}
                {p.username === me.username && <span className="muted"> (you)</span>}
              </span>
              {where.length > 0 && (
                <span className="muted small">
                  in{' '}
                  {where.map((t, i) => (
                    <span key={i}>
                      {i > 0 && ', '}
                      {t}
                    </span>
                  ))}
                </span>
              )}
            </li>
          );
        })}
      </ul>
      {presence.length === 0 && <p className="muted">Connecting to see who is here…</p>}
    </section>
  );
}

function ActivityCard() {
  const { project } = useProject();
  const activity = useActivity(project.id);
  const timeline = useTimeline(project.id);
  const shotTitles = new Map<string, string>();
  for (const seg of timeline.data?.segments ?? []) for (const shot of seg.shots) if (shot.title) shotTitles.set(shot.id, shot.title);
  const lines = activityLines(activity.data ?? [], { shotTitle: (id) => shotTitles.get(id) });
  return (
    <section className="card card-tall" aria-labelledby="activity-h">
      <h2 id="activity-h">Activity</h2>
      {activity.isPending ? (
        <Loading />
      ) : activity.isError ? (
        <ErrorMessage error={activity.error} />
      ) : (
        <ol className="activity-feed" data-testid="activity-feed" aria-live="polite">
          {lines.map((line) => (
            <li key={line.id} className="activity-item" data-testid="activity-item" data-type={line.type}>
              {line.who && (
                <>
                  <span className="activity-actor">{line.who}</span>{' '}
                </>
              )}
              <span className="activity-text">{line.text}</span>
              <time className="muted small" dateTime={line.at} title={new Date(line.at).toLocaleString()}>
                {relativeTime(line.at)}
              </time>
            </li>
          ))}
          {activity.data.length === 0 && (
            <li>
              <Empty title="Nothing has happened yet">Segments, takes and reviews will show up here as they happen.</Empty>
            </li>
          )}
        </ol>
      )}
    </section>
  );
}

export function HomePage() {
  const { project, can } = useProject();
  usePresenceLocation(null, null);
  return (
    <div className="home">
      <div className="page-head">
        <div>
          <h1>{project.title}</h1>
          <p className="muted">
            {project.width}×{project.height} · {project.fps} fps
            {project.description ? ` · ${project.description}` : ''}
          </p>
        </div>
        <div className="row">
          <Link className="button" to={`/projects/${project.id}/segments`}>
            {can.isArtist ? 'Find a segment to work on' : 'Open the segment board'}
          </Link>
          {can.review && (
            <Link className="button button-primary" to={`/projects/${project.id}/review`}>
              Review takes
            </Link>
          )}
        </div>
      </div>
      <div className="home-grid">
        <div className="home-col">
          <ProgressSummary />
          <BudgetCard />
          <PresenceCard />
        </div>
        <ActivityCard />
      </div>
    </div>
  );
}
