/** The picture lane: segments in film order (dragged to reorder by the director), then a row
 * for the segments that have no shots yet and so take no time on the cut. */

import type { Rate } from '../../../lib/timecode';
import type { PresenceEntry } from '../../../realtime/protocol';
import { useSegmentDrag } from '../interactions/segmentDrag';
import type { Layout } from '../model';
import type { Edit } from '../useTimelineEditor';
import { COMFORT_SEGMENT_PX } from './geometry';
import { SegmentBlock } from './SegmentBlock';

export function SegmentsLane({
  layout,
  ppf,
  rate,
  width,
  whoIn,
  expanded,
  selected,
  director,
  onSelect,
  onSeek,
  onExpand,
  edit,
}: {
  layout: Layout;
  ppf: number;
  rate: Rate;
  width: number;
  whoIn(segmentId: string): PresenceEntry[];
  expanded: string[];
  selected: string | null;
  director: boolean;
  onSelect(segmentId: string): void;
  onSeek(frame: number): void;
  onExpand(segmentId: string): void;
  edit: Edit;
}) {
  const drag = useSegmentDrag(layout.segments, ppf, edit);
  const emptySegments = layout.segments.filter((s) => s.end === s.start);
  const move = (segment: string, position: number) => edit([{ op: 'move_segment', segment, position }], 'move segment');
  return (
    <>
      <div className="tl-row tl-picture-row">
        <div className="tl-label">Picture</div>
        <div className="tl-lane tl-segments" style={{ width }} {...drag.lane}>
          {layout.segments.map((seg) => {
            if (seg.end === seg.start) return null;
            return (
              <SegmentBlock
                key={seg.segment.id}
                seg={seg}
                ppf={ppf}
                rate={rate}
                people={whoIn(seg.segment.id)}
                count={layout.segments.length}
                expanded={expanded.includes(seg.segment.id)}
                selected={selected === seg.segment.id}
                director={director}
                {...drag.block(seg.segment.id)}
                onSelect={() => {
                  onSelect(seg.segment.id);
                  onSeek(seg.start);
                }}
                onExpand={() => onExpand(seg.segment.id)}
                onMove={(position) => move(seg.segment.id, position)}
              />
            );
          })}
          {drag.lineX !== null && <span className="tl-drop-line" style={{ left: drag.lineX }} />}
        </div>
      </div>

      {emptySegments.length > 0 && (
        <div className="tl-row tl-empty-row">
          <div className="tl-label" title="Segments without shots take no time on the cut yet">
            Empty
            <span className="muted small">no shots yet</span>
          </div>
          <div className="tl-lane" style={{ width }}>
            {emptySegments.map((seg, k) => {
              const stacked = emptySegments.slice(0, k).filter((s) => s.start === seg.start).length;
              return (
                <SegmentBlock
                  key={seg.segment.id}
                  seg={seg}
                  ppf={ppf}
                  rate={rate}
                  offset={stacked * (COMFORT_SEGMENT_PX + 6)}
                  people={whoIn(seg.segment.id)}
                  count={layout.segments.length}
                  expanded={expanded.includes(seg.segment.id)}
                  selected={selected === seg.segment.id}
                  director={director}
                  dragging={false}
                  onSelect={() => onSelect(seg.segment.id)}
                  onExpand={() => onExpand(seg.segment.id)}
                  onMove={(position) => move(seg.segment.id, position)}
                />
              );
            })}
          </div>
        </div>
      )}
    </>
  );
}
