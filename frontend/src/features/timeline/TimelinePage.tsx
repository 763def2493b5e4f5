/**
 * The shared timeline of the whole film (issue #6): a frame-accurate, zoomable ruler in
 * timecode at the project rate; segments coloured by status with their owner and who is in
 * them; shots with the thumbnail of each pick; audio tracks with waveforms; markers and
 * time-coded comments as pins; the cut player; edits (order, trims, transitions, audio,
 * markers) with undo/redo, merged live with everyone else's.
 *
 * Test ids (e2e contract):
 *   timeline-page, timeline-ruler, timeline-playhead (data-frame), timeline-timecode,
 *   timeline-presence (everyone; presence-user inside), timeline-notice, timeline-undo, timeline-redo,
 *   timeline-zoom-in, timeline-zoom-out, timeline-zoom-fit, timeline-add-marker, timeline-add-audio,
 *   segment-block-<segmentId> (data-status, data-position, data-start, data-end; title, owner inside:
 *     segment-owner-<segmentId>), segment-expand-<segmentId>, segment-move-left-<segmentId>,
 *     segment-move-right-<segmentId>, presence-<segmentId>,
 *   shot-block-<shotId> (data-in, data-out, data-position, data-start, data-end), trim-handle-in-<shotId>,
 *     trim-handle-out-<shotId>, segment-shots-<segmentId> (the shots panel), shot-row-<shotId>,
 *     trim-in-<shotId>, trim-out-<shotId> (apply on Enter/blur; a value that must be clamped shows
 *     trim-clamp-<in|out>-<shotId> with trim-clamp-apply-<in|out>-<shotId> / trim-clamp-cancel-<in|out>-<shotId>),
 *     transition-<shotId> (select),
 *     transition-frames-<shotId>, shot-move-left-<shotId>, shot-move-right-<shotId>,
 *   audio-track-<music|narration|effects>, audio-clip-<clipId> (data-start, data-track),
 *     audio-clip-panel-<clipId>, audio-start-/audio-volume-/audio-fade-in-/audio-fade-out-/audio-remove-<clipId>,
 *     audio-add-form, audio-add-track, audio-add-source, audio-add-file, audio-add-take (grouped by kind:
 *     audio-add-group-<speech|music|sound_effect|upload>), audio-add-start, audio-add-submit,
 *   marker-<markerId> (data-frame), marker-remove-<markerId>, marker-label, marker-add-submit,
 *   comment-pin-<commentId> (data-frame).
 */

import { useQuery } from '@tanstack/react-query';
import { useCallback, useMemo, useState } from 'react';

import { api } from '../../api/endpoints';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Empty, Loading } from '../../components/States';
import { usePresence } from '../../realtime/RealtimeProvider';
import { qk } from '../../state/keys';
import { useTimeline } from '../../state/queries';
import { useMe } from '../auth/session';
import { useProject } from '../projects/ProjectContext';
import { useSelection } from './hooks/useSelection';
import { useUndoKeys } from './hooks/useUndoKeys';
import { useViewport } from './hooks/useViewport';
import { useWaveforms } from './hooks/useWaveforms';
import { clipDrag } from './interactions/audioClipDrag';
import { usePointerDrag } from './interactions/pointerDrag';
import { trimDrag } from './interactions/trimHandleDrag';
import { markerRemovable } from './labels';
import { AudioLanes } from './lanes/AudioLanes';
import { LABEL_W } from './lanes/geometry';
import { NotesLane } from './lanes/NotesLane';
import { Ruler } from './lanes/Ruler';
import { SegmentsLane } from './lanes/SegmentsLane';
import { ShotsLane } from './lanes/ShotsLane';
import { commentPins, frameToX, layoutTimeline, type SegmentLayout } from './model';
import { ClipInspector, SegmentShots } from './panels';
import { HerePanel } from './panels/HerePanel';
import { PageHead } from './panels/PageHead';
import { Toolbar } from './panels/Toolbar';
import { CutPlayer } from './playback/CutPlayer';
import { useTimelineEditor } from './useTimelineEditor';
import './timeline.css';

export function TimelinePage() {
  const { project, rate, can } = useProject();
  const me = useMe();
  const pid = project.id;
  const timelineQuery = useTimeline(pid);
  const comments = useQuery({ queryKey: qk.timelineComments(pid), queryFn: () => api.projects.timelineComments(pid) });
  const presence = usePresence();
  const editing = useTimelineEditor(pid);
  const [frame, setFrame] = useState(0);
  const selection = useSelection();

  const timeline = timelineQuery.data;
  const layoutRaw = useMemo(() => (timeline ? layoutTimeline(timeline) : null), [timeline]);
  // While a handle or clip is dragged the screen shows the edit it would make.
  const pointer = usePointerDrag(timeline, layoutRaw);
  const shown = pointer.shown;
  const layout = useMemo(() => (shown ? layoutTimeline(shown) : null), [shown]);
  const viewport = useViewport(layoutRaw, layout?.duration ?? 0, frame, timeline !== undefined);
  const { ppf, laneWidth } = viewport;
  const seek = useCallback((f: number) => setFrame(Math.max(0, Math.round(f))), []);
  useUndoKeys(editing);
  const { clips, waveforms } = useWaveforms(pid, shown);

  if (timelineQuery.isPending) return <Loading label="Loading the timeline…" />;
  if (timelineQuery.isError || !timeline || !layout || !shown) return <ErrorMessage error={timelineQuery.error} />;

  const editAudio = can.isManager;
  const canMark = project.role !== 'viewer' && project.role !== null;
  const pins = commentPins(layout, comments.data ?? []);
  const selectedClip = clips.find((c) => c.id === selection.clip) ?? null;
  const edit = editing.edit;
  const expandedLayouts = selection.expanded.map((id) => layout.segments.find((s) => s.segment.id === id)).filter((s): s is SegmentLayout => Boolean(s));
  const trimming = pointer.drag?.kind === 'trim' ? pointer.drag.shotId : null;

  return (
    <div className="timeline-page" data-testid="timeline-page">
      <PageHead project={project} rate={rate} layout={layout} revision={timeline.revision} saving={editing.pending} everyone={presence} />

      {editing.notice && (
        <div className="tl-notice" data-testid="timeline-notice" role="status" aria-live="polite">
          <span>{editing.notice}</span>
          <button type="button" className="error-dismiss" aria-label="Dismiss the notice" onClick={editing.dismissNotice}>
            ×
          </button>
        </div>
      )}

      <div className="tl-top">
        <div className="tl-player">
          <CutPlayer timeline={timeline} frame={frame} onFrameChange={seek} />
        </div>
        <HerePanel layout={layout} frame={frame} rate={rate} pins={pins} />
      </div>

      <Toolbar editing={editing} viewport={viewport} frame={frame} rate={rate} canMark={canMark} canAddAudio={editAudio} />

      {layout.segments.length === 0 ? (
        <Empty title="Nothing on the timeline yet">The director cuts the film into segments on the board; they appear here in order.</Empty>
      ) : null}

      <div className="tl-scroll" ref={viewport.scrollRef}>
        <div className="tl-canvas" style={{ width: laneWidth + LABEL_W }} {...pointer.canvas(ppf, edit)}>
          <Ruler
            layout={layout}
            ppf={ppf}
            rate={rate}
            frame={frame}
            width={laneWidth}
            onSeek={seek}
            markers={shown.markers}
            canRemove={(id) => {
              const m = (shown.markers ?? []).find((x) => x.id === id);
              return Boolean(m && project.role !== 'viewer' && markerRemovable(m, me.username, can.isDirector));
            }}
            onRemoveMarker={(id) => edit([{ op: 'remove_marker', marker: id }], 'remove marker')}
          />
          <SegmentsLane
            layout={layout}
            ppf={ppf}
            rate={rate}
            width={laneWidth}
            whoIn={(segmentId) => presence.filter((p) => p.segments.includes(segmentId))}
            expanded={selection.expanded}
            selected={selection.segment}
            director={can.manageSegments}
            onSelect={selection.selectSegment}
            onSeek={seek}
            onExpand={selection.toggleExpand}
            edit={edit}
          />
          {expandedLayouts.length > 0 && (
            <ShotsLane
              segments={expandedLayouts}
              ppf={ppf}
              rate={rate}
              width={laneWidth}
              editable={(seg) => can.editSegment(seg.segment)}
              selectedShot={selection.shot}
              trimming={trimming}
              onSelectShot={(seg, s) => {
                selection.selectShot(seg.segment.id, s.shot.id);
                seek(s.start);
              }}
              onHandleDown={(e, shotId, edge) => pointer.start(e, trimDrag(shotId, edge, e.clientX))}
              edit={edit}
            />
          )}
          <NotesLane pins={pins} ppf={ppf} rate={rate} width={laneWidth} onSeek={seek} />
          <AudioLanes
            timeline={shown}
            ppf={ppf}
            rate={rate}
            width={laneWidth}
            waveforms={waveforms}
            selectedClip={selection.clip}
            editable={editAudio}
            onSelect={selection.selectClip}
            onClipPointerDown={(e, clipId) => pointer.start(e, clipDrag(clipId, e.clientX))}
          />
          <div className="tl-playhead" data-testid="timeline-playhead" data-frame={frame} style={{ left: LABEL_W + frameToX(frame, ppf) }} aria-hidden="true" />
        </div>
      </div>

      {selectedClip && <ClipInspector clip={selectedClip} rate={rate} editable={editAudio} onEdit={edit} onClose={() => selection.selectClip(null)} />}

      {expandedLayouts.map((seg) => (
        <SegmentShots
          key={seg.segment.id}
          seg={seg}
          rate={rate}
          editable={can.editSegment(seg.segment)}
          selectedShot={selection.shot}
          onSelectShot={(shotId, f) => {
            selection.selectShot(seg.segment.id, shotId);
            seek(f);
          }}
          onEdit={edit}
          onClose={() => selection.collapse(seg.segment.id)}
        />
      ))}
    </div>
  );
}
