import type { Project } from '../../../api/types';
import { describeFrames, formatTimecode, type Rate } from '../../../lib/timecode';
import type { PresenceEntry } from '../../../realtime/protocol';
import { initials } from '../lanes/Avatars';
import type { Layout } from '../model';

/** The page's title line (segments, length, rate, revision, saving) and everyone in the project now. */
export function PageHead({
  project,
  rate,
  layout,
  revision,
  saving,
  everyone,
}: {
  project: Project;
  rate: Rate;
  layout: Layout;
  revision: number;
  saving: boolean;
  everyone: PresenceEntry[];
}) {
  const duration = layout.duration;
  return (
    <div className="page-head">
      <div>
        <h1>Timeline</h1>
        <p className="muted">
          {layout.segments.length} segment{layout.segments.length === 1 ? '' : 's'} · {describeFrames(duration, rate)} · {formatTimecode(duration, rate)} at{' '}
          {project.fps_rational === '24000/1001' ? '23.976' : project.fps_rational === '30000/1001' ? '29.97' : project.fps} fps · revision {revision}
          {saving && <span className="tl-saving"> · saving…</span>}
        </p>
      </div>
      <div className="tl-presence" data-testid="timeline-presence" aria-label="People in the project now">
        {everyone.length === 0 ? (
          <span className="muted small">Only you</span>
        ) : (
          everyone.map((p) => {
            const where = p.segments.map((id) => layout.segments.find((s) => s.segment.id === id)?.segment.title).filter(Boolean);
            return (
              <span key={p.user_id} className="tl-person" data-testid="presence-user" data-username={p.username} title={where.length ? `In ${where.join(', ')}` : 'On the project'}>
                <span className="avatar tl-avatar">{initials(p.display_name || p.username)}</span>
                <span className="tl-person-name">{p.username}</span>
                {where.length > 0 && <span className="muted small">· {where.join(', ')}</span>}
              </span>
            );
          })
        )}
      </div>
    </div>
  );
}
