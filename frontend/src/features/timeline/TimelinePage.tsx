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

import { useQueries, useQuery } from '@tanstack/react-query';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type DragEvent, type PointerEvent as ReactPointerEvent } from 'react';

import { api } from '../../api/endpoints';
import type { AudioClip, MediaDetail, Timeline, TimelineOp } from '../../api/types';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Badge, Empty, Loading } from '../../components/States';
import { label, SEGMENT_STATUS_LABEL } from '../../lib/format';
import { isTyping } from '../../lib/playerKeys';
import { describeFrames, formatTimecode, type Rate } from '../../lib/timecode';
import type { PresenceEntry } from '../../realtime/protocol';
import { usePresence, usePresenceLocation } from '../../realtime/RealtimeProvider';
import { qk } from '../../state/keys';
import { useTimeline } from '../../state/queries';
import { useMe } from '../auth/session';
import { useProject } from '../projects/ProjectContext';
import {
  applyOp,
  audioTracks,
  clampZoom,
  clipFrames,
  commentPins,
  dropIndex,
  fitZoom,
  frameToX,
  layoutTimeline,
  locate,
  pxToFrames,
  rulerTicks,
  stepZoom,
  trimByHandle,
  waveformBars,
  xToFrame,
  type Layout,
  type SegmentLayout,
  type ShotLayout,
} from './model';
import { AddAudio, AddMarker, ClipInspector, markerRemovable, SegmentShots, STATUS_TONE, TRACK_LABEL } from './panels';
import { CutPlayer } from './playback/CutPlayer';
import { useTimelineEditor } from './useTimelineEditor';
import './timeline.css';

const LABEL_W = 112;
/** Whatever the zoom, blocks this narrow would hide their controls: the first zoom keeps segments wider. */
const COMFORT_SEGMENT_PX = 150;

type Drag =
  | { kind: 'trim'; shotId: string; edge: 'in' | 'out'; originX: number; delta: number }
  | { kind: 'clip'; clipId: string; originX: number; delta: number };

function initials(name: string): string {
  const parts = name.split(/[\s._-]+/).filter(Boolean);
  return ((parts[0]?.[0] ?? '?') + (parts[1]?.[0] ?? '')).toUpperCase();
}

function Avatars({ people, testId, max = 4 }: { people: PresenceEntry[]; testId: string; max?: number }) {
  return (
    <span className="tl-avatars" data-testid={testId} title={people.map((p) => p.display_name || p.username).join(', ')}>
      {people.slice(0, max).map((p) => (
        <span key={p.user_id} className="avatar tl-avatar" data-testid="presence-user" data-username={p.username} aria-label={p.display_name || p.username}>
          {initials(p.display_name || p.username)}
        </span>
      ))}
      {people.length > max && <span className="tl-avatar-more">+{people.length - max}</span>}
      <span className="visually-hidden">{people.map((p) => p.username).join(', ')}</span>
    </span>
  );
}

function Waveform({ peaks, width }: { peaks: number[] | undefined; width: number }) {
  const bars = useMemo(() => waveformBars(peaks ?? [], Math.min(2000, Math.max(1, Math.floor(width / 3)))), [peaks, width]);
  if (!bars.length) return null;
  const w = 100 / bars.length;
  return (
    <svg className="tl-waveform" viewBox="0 0 100 100" preserveAspectRatio="none" aria-hidden="true">
      {bars.map((b, i) => (
        <rect key={i} x={i * w} y={50 - b * 48} width={Math.max(w * 0.7, 0.2)} height={Math.max(1, b * 96)} />
      ))}
    </svg>
  );
}

function Ruler({ layout, ppf, rate, frame, width, onSeek, markers, canRemove, onRemoveMarker }: {
  layout: Layout;
  ppf: number;
  rate: Rate;
  frame: number;
  width: number;
  onSeek(frame: number): void;
  markers: Timeline['markers'];
  canRemove(markerId: string): boolean;
  onRemoveMarker(markerId: string): void;
}) {
  const laneRef = useRef<HTMLDivElement>(null);
  const scrubbing = useRef(false);
  const frameAt = (clientX: number) => {
    const left = laneRef.current?.getBoundingClientRect().left ?? 0;
    return xToFrame(clientX - left, ppf, Math.max(1, layout.duration));
  };
  const { ticks } = useMemo(() => rulerTicks(0, Math.max(layout.duration, Math.ceil(width / ppf)), ppf, rate), [layout.duration, width, ppf, rate]);
  return (
    <div className="tl-row tl-ruler-row">
      <div className="tl-label tl-label-time" data-testid="timeline-timecode">
        {formatTimecode(frame, rate)}
        <span className="muted small">frame {frame}</span>
      </div>
      <div
        ref={laneRef}
        className="tl-lane tl-ruler"
        data-testid="timeline-ruler"
        style={{ width }}
        role="slider"
        aria-label="Playhead"
        aria-valuemin={0}
        aria-valuemax={Math.max(0, layout.duration - 1)}
        aria-valuenow={frame}
        aria-valuetext={formatTimecode(frame, rate)}
        tabIndex={0}
        onPointerDown={(e) => {
          if ((e.target as HTMLElement).closest('.tl-marker')) return;
          scrubbing.current = true;
          (e.currentTarget as HTMLElement).setPointerCapture?.(e.pointerId);
          onSeek(frameAt(e.clientX));
        }}
        onPointerMove={(e) => scrubbing.current && onSeek(frameAt(e.clientX))}
        onPointerUp={() => (scrubbing.current = false)}
        onPointerCancel={() => (scrubbing.current = false)}
        onClick={(e) => {
          // Keyboard users and synthetic clicks (no pointerdown) still seek.
          if ((e.target as HTMLElement).closest('.tl-marker')) return;
          if (!e.detail || !scrubbing.current) onSeek(frameAt(e.clientX));
        }}
      >
        {ticks.map((t) => (
          <span key={t.frame} className={`tl-tick${t.major ? ' major' : ''}`} style={{ left: t.x }}>
            {t.label && <span className="tl-tick-label">{t.label}</span>}
          </span>
        ))}
        {(markers ?? []).map((m) => (
          <span key={m.id} className="tl-marker" data-testid={`marker-${m.id}`} data-frame={m.frame} style={{ left: frameToX(m.frame, ppf) }}>
            <button type="button" className="tl-marker-flag" title={`${m.label} · ${formatTimecode(m.frame, rate)}${m.author ? ` · ${m.author}` : ''}`} onClick={() => onSeek(m.frame)}>
              {m.label}
            </button>
            {canRemove(m.id) && (
              <button type="button" className="tl-marker-remove" data-testid={`marker-remove-${m.id}`} aria-label={`Remove marker ${m.label}`} onClick={() => onRemoveMarker(m.id)}>
                ×
              </button>
            )}
          </span>
        ))}
      </div>
    </div>
  );
}

export function TimelinePage() {
  const { project, rate, can } = useProject();
  const me = useMe();
  const pid = project.id;
  const timelineQuery = useTimeline(pid);
  const comments = useQuery({ queryKey: qk.timelineComments(pid), queryFn: () => api.projects.timelineComments(pid) });
  const presence = usePresence();
  const editing = useTimelineEditor(pid);

  const [frame, setFrame] = useState(0);
  const [zoom, setZoom] = useState<number | null>(null);
  const [expanded, setExpanded] = useState<string[]>([]);
  const [selectedSegment, setSelectedSegment] = useState<string | null>(null);
  const [selectedShot, setSelectedShot] = useState<string | null>(null);
  const [selectedClip, setSelectedClip] = useState<string | null>(null);
  const [adding, setAdding] = useState<'marker' | 'audio' | null>(null);
  const [drag, setDrag] = useState<Drag | null>(null);
  const [dragSegment, setDragSegment] = useState<string | null>(null);
  const [dragShot, setDragShot] = useState<string | null>(null);
  const [dropAt, setDropAt] = useState<{ lane: 'segments' | string; x: number } | null>(null);
  const scrollRef = useRef<HTMLDivElement>(null);
  const [viewWidth, setViewWidth] = useState(900);

  usePresenceLocation(selectedSegment, selectedShot);

  const timeline = timelineQuery.data;
  const layoutRaw = useMemo(() => (timeline ? layoutTimeline(timeline) : null), [timeline]);

  // While a handle or clip is dragged the screen shows the edit it would make.
  const shown: Timeline | undefined = useMemo(() => {
    if (!timeline || !drag || !drag.delta) return timeline;
    return applyOp(timeline, dragOp(timeline, drag, layoutRaw!)!);
  }, [timeline, drag, layoutRaw]);
  const layout = useMemo(() => (shown ? layoutTimeline(shown) : null), [shown]);

  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const measure = () => setViewWidth(Math.max(200, el.clientWidth - LABEL_W - 24));
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [timeline !== undefined]);

  const duration = layout?.duration ?? 0;
  const firstZoom = useMemo(() => {
    if (!layoutRaw) return 1;
    const fit = fitZoom(Math.max(layoutRaw.duration, 1), viewWidth);
    const lengths = layoutRaw.segments.map((s) => s.end - s.start).filter((n) => n > 0);
    const comfort = lengths.length ? COMFORT_SEGMENT_PX / Math.min(...lengths) : fit;
    return clampZoom(Math.min(8, Math.max(fit, comfort)));
  }, [layoutRaw, viewWidth]);
  const ppf = zoom ?? firstZoom;
  const laneWidth = Math.max(viewWidth, Math.ceil(frameToX(duration, ppf)) + 40);

  // Keep the playhead in view while it plays or jumps.
  useEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const x = frameToX(frame, ppf);
    const left = el.scrollLeft;
    const visible = el.clientWidth - LABEL_W;
    if (x < left || x > left + visible - 20) el.scrollLeft = Math.max(0, x - visible * 0.25);
  }, [frame, ppf]);

  // Ctrl/⌘ + wheel zooms (a native listener: React's wheel listeners are passive).
  const ppfRef = useRef(ppf);
  ppfRef.current = ppf;
  const hasTimeline = timeline !== undefined;
  useEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      if (!(e.ctrlKey || e.metaKey)) return;
      e.preventDefault();
      setZoom(stepZoom(ppfRef.current, e.deltaY < 0 ? 1 : -1));
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, [hasTimeline]);

  const seek = useCallback((f: number) => setFrame(Math.max(0, Math.round(f))), []);

  // Undo / redo keys (not while typing in a field: the field's own undo wins there).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e.target)) return;
      if (!(e.ctrlKey || e.metaKey)) return;
      const key = e.key.toLowerCase();
      if (key === 'z' && !e.shiftKey) {
        e.preventDefault();
        editing.undo();
      } else if ((key === 'z' && e.shiftKey) || key === 'y') {
        e.preventDefault();
        editing.redo();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [editing]);

  const clips = useMemo(() => (shown ? audioTracks(shown).flatMap((t) => t.clips) : []), [shown]);
  const mediaIds = useMemo(() => Array.from(new Set(clips.map((c) => c.media?.id).filter((id): id is string => Boolean(id)))), [clips]);
  // The media's status is part of the key: a clip placed while its file is still being
  // ingested gets its waveform once the timeline reports the file ready.
  const mediaStatus = useMemo(() => new Map(clips.map((c) => [c.media?.id, c.media?.status ?? ''])), [clips]);
  const mediaDetails = useQueries({
    queries: mediaIds.map((id) => ({
      queryKey: [...qk.media(pid, id), mediaStatus.get(id) ?? ''],
      queryFn: () => api.projects.media(id),
      staleTime: 5 * 60_000,
    })),
  });
  const waveforms = useMemo(() => {
    const map = new Map<string, number[]>();
    mediaDetails.forEach((q, i) => {
      const data = q.data as MediaDetail | undefined;
      if (data?.waveform?.length) map.set(mediaIds[i], data.waveform);
    });
    return map;
  }, [mediaDetails, mediaIds]);

  if (timelineQuery.isPending) return <Loading label="Loading the timeline…" />;
  if (timelineQuery.isError || !timeline || !layout || !shown) return <ErrorMessage error={timelineQuery.error} />;

  const editAudio = can.isManager;
  const canMark = project.role !== 'viewer' && project.role !== null;
  const whoIn = (segmentId: string) => presence.filter((p) => p.segments.includes(segmentId));
  const segEditable = (seg: SegmentLayout) => can.editSegment(seg.segment);
  const here = locate(layout, frame);
  const pins = commentPins(layout, comments.data ?? []);
  const selectedClipData = clips.find((c) => c.id === selectedClip) ?? null;
  const edit = (ops: TimelineOp[], lbl?: string) => editing.edit(ops, lbl);

  const selectSegment = (id: string) => {
    setSelectedSegment(id);
    setSelectedShot(null);
  };
  const toggleExpand = (id: string) => {
    setExpanded((list) => (list.includes(id) ? list.filter((x) => x !== id) : [...list, id]));
    selectSegment(id);
  };

  // --- drags -----------------------------------------------------------------------------
  const laneX = (e: { clientX: number }, el: HTMLElement | null) => e.clientX - (el?.getBoundingClientRect().left ?? 0);

  const startHandleDrag = (e: ReactPointerEvent, d: Drag) => {
    e.stopPropagation();
    e.preventDefault();
    (e.currentTarget as HTMLElement).setPointerCapture?.(e.pointerId);
    setDrag(d);
  };
  const moveHandleDrag = (e: ReactPointerEvent) => {
    if (!drag) return;
    setDrag({ ...drag, delta: pxToFrames(e.clientX - drag.originX, ppf) });
  };
  const endHandleDrag = () => {
    if (!drag) return;
    const op = drag.delta ? dragOp(timeline, drag, layoutRaw!) : null;
    setDrag(null);
    if (op) edit([op]);
  };

  const segmentExtents = layout.segments.map((s) => [frameToX(s.start, ppf), frameToX(s.end, ppf)] as [number, number]);
  const onSegmentsDragOver = (e: DragEvent<HTMLDivElement>) => {
    if (!dragSegment) return;
    e.preventDefault();
    setDropAt({ lane: 'segments', x: laneX(e, e.currentTarget) });
  };
  const onSegmentsDrop = (e: DragEvent<HTMLDivElement>) => {
    if (!dragSegment) return;
    e.preventDefault();
    const from = layout.segments.findIndex((s) => s.segment.id === dragSegment);
    const to = dropIndex(segmentExtents, from, laneX(e, e.currentTarget));
    setDragSegment(null);
    setDropAt(null);
    if (from >= 0 && to !== from) edit([{ op: 'move_segment', segment: dragSegment, position: to }], 'move segment');
  };

  const dropLineX = (lane: string, list: Array<[number, number]>, dragged: number) => {
    if (!dropAt || dropAt.lane !== lane) return null;
    const idx = dropIndex(list, dragged, dropAt.x);
    const others = list.filter((_, i) => i !== dragged);
    return idx < others.length ? others[idx][0] : (others[others.length - 1]?.[1] ?? 0);
  };

  const everyone = presence;
  const expandedLayouts = expanded.map((id) => layout.segments.find((s) => s.segment.id === id)).filter((s): s is SegmentLayout => Boolean(s));
  const emptySegments = layout.segments.filter((s) => s.end === s.start);

  return (
    <div className="timeline-page" data-testid="timeline-page">
      <div className="page-head">
        <div>
          <h1>Timeline</h1>
          <p className="muted">
            {layout.segments.length} segment{layout.segments.length === 1 ? '' : 's'} · {describeFrames(duration, rate)} · {formatTimecode(duration, rate)} at{' '}
            {project.fps_rational === '24000/1001' ? '23.976' : project.fps_rational === '30000/1001' ? '29.97' : project.fps} fps · revision {timeline.revision}
            {editing.pending && <span className="tl-saving"> · saving…</span>}
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
            <div className="muted small">{duration ? 'Past the end of the cut' : 'The cut is empty'}</div>
          )}
          {pins.filter((p) => Math.abs(p.frame - frame) <= 2).map((p) => (
            <blockquote key={p.comment.id} className="tl-here-note small">
              <strong>{p.comment.author?.username ?? 'someone'}:</strong> {p.comment.body}
            </blockquote>
          ))}
        </div>
      </div>

      <div className="tl-toolbar" role="toolbar" aria-label="Timeline tools">
        <button type="button" className="button button-small" data-testid="timeline-undo" disabled={!editing.canUndo} onClick={editing.undo} title={editing.undoLabel ? `Undo ${editing.undoLabel} (Ctrl/⌘+Z)` : 'Nothing to undo'}>
          ↶ Undo
        </button>
        <button type="button" className="button button-small" data-testid="timeline-redo" disabled={!editing.canRedo} onClick={editing.redo} title={editing.redoLabel ? `Redo ${editing.redoLabel} (Shift+Ctrl/⌘+Z)` : 'Nothing to redo'}>
          ↷ Redo
        </button>
        <span className="tl-toolbar-sep" />
        <button type="button" className="icon-button" data-testid="timeline-zoom-out" aria-label="Zoom out" onClick={() => setZoom(stepZoom(ppf, -1))}>
          −
        </button>
        <button type="button" className="icon-button" data-testid="timeline-zoom-in" aria-label="Zoom in" onClick={() => setZoom(stepZoom(ppf, 1))}>
          +
        </button>
        <button type="button" className="button button-small button-ghost" data-testid="timeline-zoom-fit" onClick={() => setZoom(fitZoom(Math.max(duration, 1), viewWidth))}>
          Fit
        </button>
        <span className="muted small">{ppf >= 1 ? `${ppf.toFixed(ppf < 10 ? 1 : 0)} px/frame` : `${(1 / ppf).toFixed(1)} frames/px`}</span>
        <span className="tl-toolbar-sep" />
        {canMark && (
          <button type="button" className="button button-small" data-testid="timeline-add-marker" onClick={() => setAdding(adding === 'marker' ? null : 'marker')}>
            Marker at playhead
          </button>
        )}
        {editAudio && (
          <button type="button" className="button button-small" data-testid="timeline-add-audio" onClick={() => setAdding(adding === 'audio' ? null : 'audio')}>
            Add audio
          </button>
        )}
        {adding === 'marker' && <AddMarker frame={frame} rate={rate} onEdit={edit} onClose={() => setAdding(null)} />}
      </div>
      {adding === 'audio' && <AddAudio frame={frame} rate={rate} onEdit={edit} onClose={() => setAdding(null)} />}

      {layout.segments.length === 0 ? (
        <Empty title="Nothing on the timeline yet">The director cuts the film into segments on the board; they appear here in order.</Empty>
      ) : null}

      <div
        className="tl-scroll"
        ref={scrollRef}
      >
        <div className="tl-canvas" style={{ width: laneWidth + LABEL_W }} onPointerMove={moveHandleDrag} onPointerUp={endHandleDrag} onPointerCancel={() => setDrag(null)}>
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

          {/* picture: segments */}
          <div className="tl-row tl-picture-row">
            <div className="tl-label">Picture</div>
            <div className="tl-lane tl-segments" style={{ width: laneWidth }} onDragOver={onSegmentsDragOver} onDrop={onSegmentsDrop} onDragLeave={() => setDropAt(null)}>
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
                    selected={selectedSegment === seg.segment.id}
                    director={can.manageSegments}
                    dragging={dragSegment === seg.segment.id}
                    onSelect={() => {
                      selectSegment(seg.segment.id);
                      seek(seg.start);
                    }}
                    onExpand={() => toggleExpand(seg.segment.id)}
                    onMove={(position) => edit([{ op: 'move_segment', segment: seg.segment.id, position }], 'move segment')}
                    onDragStart={() => setDragSegment(seg.segment.id)}
                    onDragEnd={() => {
                      setDragSegment(null);
                      setDropAt(null);
                    }}
                  />
                );
              })}
              {dragSegment && (() => {
                const x = dropLineX('segments', segmentExtents, layout.segments.findIndex((s) => s.segment.id === dragSegment));
                return x === null ? null : <span className="tl-drop-line" style={{ left: x }} />;
              })()}
            </div>
          </div>

          {emptySegments.length > 0 && (
            <div className="tl-row tl-empty-row">
              <div className="tl-label" title="Segments without shots take no time on the cut yet">
                Empty
                <span className="muted small">no shots yet</span>
              </div>
              <div className="tl-lane" style={{ width: laneWidth }}>
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
                      selected={selectedSegment === seg.segment.id}
                      director={can.manageSegments}
                      dragging={false}
                      onSelect={() => selectSegment(seg.segment.id)}
                      onExpand={() => toggleExpand(seg.segment.id)}
                      onMove={(position) => edit([{ op: 'move_segment', segment: seg.segment.id, position }], 'move segment')}
                    />
                  );
                })}
              </div>
            </div>
          )}

          {/* shots of expanded segments */}
          {expandedLayouts.length > 0 && (
            <div className="tl-row tl-shots-row">
              <div className="tl-label">Shots</div>
              <div className="tl-lane tl-shots" style={{ width: laneWidth }}>
                {expandedLayouts.map((seg) => {
                  const editable = segEditable(seg);
                  const extents = seg.shots.map((s) => [frameToX(s.start, ppf), frameToX(s.end, ppf)] as [number, number]);
                  const draggedIndex = seg.shots.findIndex((s) => s.shot.id === dragShot);
                  return (
                    <div
                      key={seg.segment.id}
                      className="tl-shot-group"
                      onDragOver={(e) => {
                        if (draggedIndex < 0) return;
                        e.preventDefault();
                        setDropAt({ lane: seg.segment.id, x: laneX(e, e.currentTarget.parentElement) });
                      }}
                      onDrop={(e) => {
                        if (draggedIndex < 0 || !dragShot) return;
                        e.preventDefault();
                        const to = dropIndex(extents, draggedIndex, laneX(e, e.currentTarget.parentElement));
                        setDragShot(null);
                        setDropAt(null);
                        if (to !== draggedIndex) edit([{ op: 'move_shot', shot: dragShot, position: to }], 'move shot');
                      }}
                      style={{ left: frameToX(seg.start, ppf), width: Math.max(2, frameToX(seg.end - seg.start, ppf)) }}
                    >
                      {seg.shots.map((s) => (
                        <ShotBlock
                          key={s.shot.id}
                          layout={s}
                          segStart={seg.start}
                          ppf={ppf}
                          rate={rate}
                          editable={editable}
                          selected={selectedShot === s.shot.id}
                          dragging={drag?.kind === 'trim' && drag.shotId === s.shot.id}
                          onSelect={() => {
                            setSelectedSegment(seg.segment.id);
                            setSelectedShot(s.shot.id);
                            seek(s.start);
                          }}
                          onHandleDown={(e, edge) => startHandleDrag(e, { kind: 'trim', shotId: s.shot.id, edge, originX: e.clientX, delta: 0 })}
                          onDragStart={() => setDragShot(s.shot.id)}
                          onDragEnd={() => {
                            setDragShot(null);
                            setDropAt(null);
                          }}
                        />
                      ))}
                      {draggedIndex >= 0 && (() => {
                        const x = dropLineX(seg.segment.id, extents, draggedIndex);
                        return x === null ? null : <span className="tl-drop-line" style={{ left: x - frameToX(seg.start, ppf) }} />;
                      })()}
                    </div>
                  );
                })}
              </div>
            </div>
          )}

          {/* notes: time-coded comments on the picks */}
          <div className="tl-row tl-notes-row">
            <div className="tl-label">
              Notes
              <span className="muted small">{pins.length ? `${pins.length} on picks` : 'none'}</span>
            </div>
            <div className="tl-lane tl-notes" style={{ width: laneWidth }}>
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
                  onClick={() => seek(p.frame)}
                >
                  ●
                </button>
              ))}
            </div>
          </div>

          {/* audio */}
          {audioTracks(shown).map(({ track, clips: trackClips }) => (
            <div key={track} className="tl-row tl-audio-row">
              <div className="tl-label">{TRACK_LABEL[track]}</div>
              <div className="tl-lane tl-audio" data-testid={`audio-track-${track}`} style={{ width: laneWidth }}>
                {trackClips.map((clip) => (
                  <ClipBlock
                    key={clip.id}
                    clip={clip}
                    ppf={ppf}
                    rate={rate}
                    peaks={clip.media ? waveforms.get(clip.media.id) : undefined}
                    selected={selectedClip === clip.id}
                    editable={editAudio}
                    onSelect={() => setSelectedClip(clip.id)}
                    onPointerDown={(e) => editAudio && startHandleDrag(e, { kind: 'clip', clipId: clip.id, originX: e.clientX, delta: 0 })}
                  />
                ))}
              </div>
            </div>
          ))}

          <div className="tl-playhead" data-testid="timeline-playhead" data-frame={frame} style={{ left: LABEL_W + frameToX(frame, ppf) }} aria-hidden="true" />
        </div>
      </div>

      {selectedClipData && (
        <ClipInspector clip={selectedClipData} rate={rate} editable={editAudio} onEdit={edit} onClose={() => setSelectedClip(null)} />
      )}

      {expandedLayouts.map((seg) => (
        <SegmentShots
          key={seg.segment.id}
          seg={seg}
          rate={rate}
          editable={segEditable(seg)}
          selectedShot={selectedShot}
          onSelectShot={(shotId, f) => {
            setSelectedSegment(seg.segment.id);
            setSelectedShot(shotId);
            seek(f);
          }}
          onEdit={edit}
          onClose={() => setExpanded((list) => list.filter((x) => x !== seg.segment.id))}
        />
      ))}
    </div>
  );
}

/** The op a handle or clip drag makes (null when it changes nothing). */
function dragOp(timeline: Timeline, drag: Drag, layout: Layout): TimelineOp | null {
  if (drag.kind === 'trim') {
    for (const seg of layout.segments) {
      const s = seg.shots.find((x) => x.shot.id === drag.shotId);
      if (!s) continue;
      const t = trimByHandle(s.shot, drag.edge, drag.delta);
      if (t.in_frame === s.shot.in_frame && t.out_frame === s.shot.out_frame) return null;
      return { op: 'trim', shot: drag.shotId, ...t };
    }
    return null;
  }
  const clip = audioTracks(timeline).flatMap((t) => t.clips).find((c) => c.id === drag.clipId);
  if (!clip) return null;
  const start = Math.max(0, clip.start_frame + drag.delta);
  return start === clip.start_frame ? null : { op: 'update_audio', clip: clip.id, start_frame: start };
}

function SegmentBlock({
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

function ShotBlock({
  layout,
  segStart,
  ppf,
  rate,
  editable,
  selected,
  dragging,
  onSelect,
  onHandleDown,
  onDragStart,
  onDragEnd,
}: {
  layout: ShotLayout;
  segStart: number;
  ppf: number;
  rate: Rate;
  editable: boolean;
  selected: boolean;
  dragging: boolean;
  onSelect(): void;
  onHandleDown(e: ReactPointerEvent, edge: 'in' | 'out'): void;
  onDragStart(): void;
  onDragEnd(): void;
}) {
  const { shot } = layout;
  const thumb = shot.take?.media?.thumbnail_url ?? null;
  const frames = layout.end - layout.start;
  const t = shot.transition;
  return (
    <div
      className={`tl-shot${selected ? ' selected' : ''}${shot.take ? '' : ' no-pick'}${dragging ? ' trimming' : ''}`}
      data-testid={`shot-block-${shot.id}`}
      data-in={shot.in_frame}
      data-out={shot.out_frame}
      data-position={shot.position}
      data-start={layout.start}
      data-end={layout.end}
      style={{ left: frameToX(layout.start - segStart, ppf), width: Math.max(2, frameToX(frames, ppf)) }}
      title={`${shot.title || `Shot ${layout.index + 1}`} · in ${shot.in_frame} · out ${shot.out_frame} · ${frames} frames (${formatTimecode(frames, rate)})${t && t.kind !== 'cut' ? ` · ${t.kind} ${t.frames}` : ''}`}
      draggable={editable}
      onDragStart={(e) => {
        e.stopPropagation();
        e.dataTransfer.effectAllowed = 'move';
        e.dataTransfer.setData('text/plain', shot.id);
        onDragStart();
      }}
      onDragEnd={onDragEnd}
      onClick={onSelect}
    >
      {thumb ? (
        <img className="tl-shot-thumb" src={thumb} alt="" loading="lazy" draggable={false} />
      ) : (
        <span className="tl-shot-slate">{shot.take ? `take ${shot.take.number}` : 'no pick'}</span>
      )}
      {t && t.kind !== 'cut' && layout.index > 0 && (
        <span className={`tl-transition-mark ${t.kind}`} style={{ width: Math.max(4, frameToX(t.frames, ppf)) }} title={`${t.kind} ${t.frames} frames`} />
      )}
      <span className="tl-shot-title">{shot.title || `Shot ${layout.index + 1}`}</span>
      {editable && (
        <>
          <span className="tl-handle in" data-testid={`trim-handle-in-${shot.id}`} aria-hidden="true" onPointerDown={(e) => onHandleDown(e, 'in')} onClick={(e) => e.stopPropagation()} />
          <span className="tl-handle out" data-testid={`trim-handle-out-${shot.id}`} aria-hidden="true" onPointerDown={(e) => onHandleDown(e, 'out')} onClick={(e) => e.stopPropagation()} />
        </>
      )}
    </div>
  );
}

function ClipBlock({
  clip,
  ppf,
  rate,
  peaks,
  selected,
  editable,
  onSelect,
  onPointerDown,
}: {
  clip: AudioClip;
  ppf: number;
  rate: Rate;
  peaks: number[] | undefined;
  selected: boolean;
  editable: boolean;
  onSelect(): void;
  onPointerDown(e: ReactPointerEvent): void;
}) {
  const frames = clipFrames(clip, rate);
  const width = Math.max(4, frameToX(frames, ppf));
  const name = clip.media?.original_name || clip.text || TRACK_LABEL[clip.track];
  return (
    <div
      className={`tl-clip track-${clip.track}${selected ? ' selected' : ''}${editable ? ' editable' : ''}${clip.length_frames ? '' : ' unknown-length'}`}
      data-testid={`audio-clip-${clip.id}`}
      data-start={clip.start_frame}
      data-track={clip.track}
      style={{ left: frameToX(clip.start_frame, ppf), width }}
      title={`${name} · ${formatTimecode(clip.start_frame, rate)} · volume ${Math.round(clip.volume * 100)}%`}
      onPointerDown={onPointerDown}
      onClick={onSelect}
      role="button"
      tabIndex={0}
      onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && onSelect()}
    >
      <Waveform peaks={peaks} width={width} />
      {clip.fade_in_frames > 0 && <span className="tl-fade in" style={{ width: Math.min(width, frameToX(clip.fade_in_frames, ppf)) }} />}
      {clip.fade_out_frames > 0 && <span className="tl-fade out" style={{ width: Math.min(width, frameToX(clip.fade_out_frames, ppf)) }} />}
      <span className="tl-clip-name">{name}</span>
    </div>
  );
}
