import { label, SEGMENT_STATUS_LABEL } from '../../../lib/format';
import { formatTimecode, type Rate } from '../../../lib/timecode';
import type { PresenceEntry } from '../../../realtime/protocol';
import { frameToX, type SegmentLayout } from '../model';
import { Avatars } from './Avatars';
import { COMFORT_SEGMENT_PX } from './geometry';

/** One segment on the picture lane: status colour, title, owner, who is in it, order buttons (director). */
export function SegmentBlock({
  seg,
  ppf,
  rate,
  people,
  count,
  expanded,
  selected,
  director,
  dragging,
  offset = 0,
  onSelect,
  onExpand,
  onMove,
  onDragStart,
  onDragEnd,
}: {
  seg: SegmentLayout;
  ppf: number;
  rate: Rate;
  people: PresenceEntry[];
  count: number;
  expanded: boolean;
  selected: boolean;
  director: boolean;
  dragging: boolean;
  offset?: number;
  onSelect(): void;
  onExpand(): void;
  onMove(position: number): void;
  onDragStart?(): void;
  onDragEnd?(): void;
}) {
  const { segment, index } = seg;
  const frames = seg.end - seg.start;
  const width = frames ? frameToX(frames, ppf) : COMFORT_SEGMENT_PX;
  const draggable = director && Boolean(onDragStart);
  return (
    <div
      className={`tl-segment status-${segment.status}${selected ? ' selected' : ''}${dragging ? ' dragging' : ''}${frames ? '' : ' tl-empty'}`}
      data-testid={`segment-block-${segment.id}`}
      data-status={segment.status}
      data-position={segment.position}
      data-start={seg.start}
      data-end={seg.end}
      style={{ left: frameToX(seg.start, ppf) + offset, width }}
      title={`${segment.title} · ${label(SEGMENT_STATUS_LABEL, segment.status)} · ${segment.owner?.username ?? 'unclaimed'} · ${formatTimecode(seg.start, rate)} – ${formatTimecode(seg.end, rate)} (${frames} frames)`}
      draggable={draggable}
      onDragStart={
        draggable
          ? (e) => {
              e.dataTransfer.effectAllowed = 'move';
              e.dataTransfer.setData('text/plain', segment.id);
              onDragStart!();
            }
          : undefined
      }
      onDragEnd={onDragEnd}
      onClick={(e) => {
        if ((e.target as HTMLElement).closest('button')) return;
        onSelect();
      }}
    >
      <div className="tl-segment-head">
        <button
          type="button"
          className="tl-expand"
          data-testid={`segment-expand-${segment.id}`}
          aria-expanded={expanded}
          aria-label={`${expanded ? 'Collapse' : 'Expand'} ${segment.title} to its shots`}
          onClick={onExpand}
        >
          {expanded ? '▾' : '▸'}
        </button>
        <span className="tl-segment-title">{segment.title}</span>
        {director && (
          <span className="tl-segment-move">
            <button
              type="button"
              className="tl-mini"
              data-testid={`segment-move-left-${segment.id}`}
              aria-label={`Move ${segment.title} earlier`}
              disabled={index === 0}
              onClick={() => onMove(index - 1)}
            >
              ←
            </button>
            <button
              type="button"
              className="tl-mini"
              data-testid={`segment-move-right-${segment.id}`}
              aria-label={`Move ${segment.title} later`}
              disabled={index === count - 1}
              onClick={() => onMove(index + 1)}
            >
              →
            </button>
          </span>
        )}
      </div>
      <div className="tl-segment-meta">
        <span className="tl-segment-owner" data-testid={`segment-owner-${segment.id}`}>
          {segment.owner?.username ?? 'unclaimed'}
        </span>
        <span className="tl-segment-status">{label(SEGMENT_STATUS_LABEL, segment.status)}</span>
        <span className="tl-segment-shots">
          {segment.shots.length} shot{segment.shots.length === 1 ? '' : 's'}
        </span>
        <Avatars people={people} testId={`presence-${segment.id}`} />
      </div>
    </div>
  );
}
