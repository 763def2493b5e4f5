import type { TimelineOp, TransitionKind } from '../../../api/types';
import { TRANSITION_KINDS } from '../../../api/types';
import { Badge } from '../../../components/States';
import { label, SEGMENT_STATUS_LABEL } from '../../../lib/format';
import { describeFrames, formatTimecode, timecodeBase, type Rate } from '../../../lib/timecode';
import { STATUS_TONE, TRANSITION_LABEL } from '../labels';
import { trimLimit, type SegmentLayout } from '../model';
import { FrameInput } from './FrameInput';
import { TrimInput, type Trim } from './TrimInput';

/** The shots of one segment, in order, with their trims, transitions and order buttons. */
export function SegmentShots({
  seg,
  rate,
  editable,
  selectedShot,
  onSelectShot,
  onEdit,
  onClose,
}: {
  seg: SegmentLayout;
  rate: Rate;
  editable: boolean;
  selectedShot: string | null;
  onSelectShot(shotId: string, frame: number): void;
  onEdit(ops: TimelineOp[], label?: string): void;
  onClose(): void;
}) {
  const { segment, shots } = seg;
  const halfSecond = Math.max(1, Math.round(timecodeBase(rate) / 2));
  return (
    <section className="card tl-shots-panel" aria-label={`Shots of ${segment.title}`} data-testid={`segment-shots-${segment.id}`}>
      <div className="tl-panel-head">
        <h2>
          {segment.position + 1}. {segment.title}
        </h2>
        <Badge tone={STATUS_TONE[segment.status]}>{label(SEGMENT_STATUS_LABEL, segment.status)}</Badge>
        <span className="muted small">
          {segment.owner ? `Owner ${segment.owner.username}` : 'Unclaimed'} · {formatTimecode(seg.start, rate)} · {describeFrames(seg.end - seg.start, rate)}
        </span>
        {!editable && <span className="muted small">Read only: only the segment's owner or the director edits its shots.</span>}
        <button type="button" className="button button-small button-ghost tl-panel-close" onClick={onClose}>
          Collapse
        </button>
      </div>
      {shots.length === 0 ? (
        <p className="muted">This segment has no shots yet.</p>
      ) : (
        <table className="table tl-shot-table">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Shot</th>
              <th scope="col">In</th>
              <th scope="col">Out</th>
              <th scope="col">Length</th>
              <th scope="col">Transition in</th>
              <th scope="col">
                <span className="visually-hidden">Order</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shots.map((layout, index) => {
              const { shot } = layout;
              const limit = trimLimit(shot);
              const transition = shot.transition ?? { kind: 'cut' as TransitionKind, frames: 0 };
              const trim = (t: Trim) => onEdit([{ op: 'trim', shot: shot.id, ...t }], 'trim');
              return (
                <tr key={shot.id} className={selectedShot === shot.id ? 'selected' : undefined} data-testid={`shot-row-${shot.id}`}>
                  <td className="cell-pos">{index + 1}</td>
                  <td>
                    <button type="button" className="link-like" onClick={() => onSelectShot(shot.id, layout.start)}>
                      {shot.title || `Shot ${index + 1}`}
                    </button>
                    <div className="muted small">
                      {shot.take ? `Take ${shot.take.number}${shot.take.author ? ` · ${shot.take.author}` : ''}` : 'No pick yet (slate)'}
                      {limit !== null && ` · ${limit} frames available`}
                    </div>
                  </td>
                  <td>
                    <TrimInput
                      shotId={shot.id}
                      edge="in"
                      current={{ in_frame: shot.in_frame, out_frame: shot.out_frame }}
                      limit={limit}
                      hasTake={Boolean(shot.take)}
                      label={`In point of ${shot.title || `shot ${index + 1}`} (frame)`}
                      disabled={!editable}
                      onApply={trim}
                    />
                  </td>
                  <td>
                    <TrimInput
                      shotId={shot.id}
                      edge="out"
                      current={{ in_frame: shot.in_frame, out_frame: shot.out_frame }}
                      limit={limit}
                      hasTake={Boolean(shot.take)}
                      label={`Out point of ${shot.title || `shot ${index + 1}`} (frame)`}
                      disabled={!editable}
                      onApply={trim}
                    />
                  </td>
                  <td className="small">
                    {layout.end - layout.start} fr
                    <div className="muted">{formatTimecode(layout.end - layout.start, rate)}</div>
                  </td>
                  <td>
                    <div className="tl-transition">
                      <select
                        className="select-small"
                        data-testid={`transition-${shot.id}`}
                        aria-label={`Transition into ${shot.title || `shot ${index + 1}`}`}
                        value={transition.kind}
                        disabled={!editable}
                        onChange={(e) => {
                          const kind = e.target.value as TransitionKind;
                          onEdit([{ op: 'transition', shot: shot.id, kind, frames: kind === 'cut' ? 0 : transition.frames || halfSecond }], 'transition');
                        }}
                      >
                        {TRANSITION_KINDS.map((k) => (
                          <option key={k} value={k}>
                            {TRANSITION_LABEL[k]}
                          </option>
                        ))}
                      </select>
                      <FrameInput
                        value={transition.kind === 'cut' ? 0 : transition.frames}
                        testId={`transition-frames-${shot.id}`}
                        label={`Transition frames into ${shot.title || `shot ${index + 1}`}`}
                        disabled={!editable || transition.kind === 'cut'}
                        min={1}
                        onCommit={(v) => onEdit([{ op: 'transition', shot: shot.id, kind: transition.kind, frames: Math.max(1, v) }], 'transition')}
                      />
                    </div>
                  </td>
                  <td className="cell-actions">
                    <button
                      type="button"
                      className="icon-button"
                      data-testid={`shot-move-left-${shot.id}`}
                      aria-label={`Move ${shot.title || `shot ${index + 1}`} earlier`}
                      disabled={!editable || index === 0}
                      onClick={() => onEdit([{ op: 'move_shot', shot: shot.id, position: index - 1 }], 'move shot')}
                    >
                      ←
                    </button>
                    <button
                      type="button"
                      className="icon-button"
                      data-testid={`shot-move-right-${shot.id}`}
                      aria-label={`Move ${shot.title || `shot ${index + 1}`} later`}
                      disabled={!editable || index === shots.length - 1}
                      onClick={() => onEdit([{ op: 'move_shot', shot: shot.id, position: index + 1 }], 'move shot')}
                    >
                      →
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
