import { Badge } from '../../../components/States';
import { label, SEGMENT_STATUS_LABEL } from '../../../lib/format';
import { formatTimecode, type Rate } from '../../../lib/timecode';
import { STATUS_TONE } from '../labels';
import { locate, type Layout, type Pin } from '../model';

/** What is under the playhead: the segment, its owner, the shot and its frame, notes there. */
export function HerePanel({ layout, frame, rate, pins }: { layout: Layout; frame: number; rate: Rate; pins: Pin[] }) {
  const here = locate(layout, frame);
  return (
    <div className="tl-here card">
      <div className="tl-here-tc">{formatTimecode(frame, rate)}</div>
      {here.segment ? (
        <>
          <div>
            <strong>{here.segment.segment.title}</strong>{' '}
            <Badge tone={STATUS_TONE[here.segment.segment.status]}>{label(SEGMENT_STATUS_LABEL, here.segment.segment.status)}</Badge>
          </div>
          <div className="muted small">{here.segment.segment.owner ? `Owner ${here.segment.segment.owner.username}` : 'Unclaimed'}</div>
          {here.shot && (
            <div className="small">
              {here.shot.shot.title || `Shot ${here.shot.index + 1}`} · frame {here.shot.shot.in_frame + (frame - here.shot.start)} of the{' '}
              {here.shot.shot.take ? `pick (take ${here.shot.shot.take.number})` : 'slate'}
            </div>
          )}
        </>
      ) : (
        <div className="muted small">{layout.duration ? 'Past the end of the cut' : 'The cut is empty'}</div>
      )}
      {pins.filter((p) => Math.abs(p.frame - frame) <= 2).map((p) => (
        <blockquote key={p.comment.id} className="tl-here-note small">
          <strong>{p.comment.author?.username ?? 'someone'}:</strong> {p.comment.body}
        </blockquote>
      ))}
    </div>
  );
}
