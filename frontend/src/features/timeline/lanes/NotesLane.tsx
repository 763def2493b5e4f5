import { formatTimecode, type Rate } from '../../../lib/timecode';
import { frameToX, type Pin } from '../model';

/** Time-coded comments on the picks, as pins; a pin seeks to its frame. */
export function NotesLane({ pins, ppf, rate, width, onSeek }: { pins: Pin[]; ppf: number; rate: Rate; width: number; onSeek(frame: number): void }) {
  return (
    <div className="tl-row tl-notes-row">
      <div className="tl-label">
        Notes
        <span className="muted small">{pins.length ? `${pins.length} on picks` : 'none'}</span>
      </div>
      <div className="tl-lane tl-notes" style={{ width }}>
        {pins.map((p) => (
          <button
            key={p.comment.id}
            type="button"
            className="tl-pin"
            data-testid={`comment-pin-${p.comment.id}`}
            data-frame={p.frame}
            style={{ left: frameToX(p.frame, ppf) }}
            title={`${p.comment.author?.username ?? 'someone'} at ${formatTimecode(p.frame, rate)}: ${p.comment.body}`}
            aria-label={`Note by ${p.comment.author?.username ?? 'someone'} at ${formatTimecode(p.frame, rate)}: ${p.comment.body}`}
            onClick={() => onSeek(p.frame)}
          >
            ●
          </button>
        ))}
      </div>
    </div>
  );
}
