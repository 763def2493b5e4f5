import { useState } from 'react';

import type { Rate } from '../../../lib/timecode';
import type { Viewport } from '../hooks/useViewport';
import type { TimelineEditing } from '../useTimelineEditor';
import { AddAudio } from './AddAudio';
import { AddMarker } from './AddMarker';

/** Undo/redo, zoom, and adding a marker at the playhead or audio (each for who may); the
 * audio form opens under the toolbar. */
export function Toolbar({
  editing,
  viewport,
  frame,
  rate,
  canMark,
  canAddAudio,
}: {
  editing: TimelineEditing;
  viewport: Viewport;
  frame: number;
  rate: Rate;
  canMark: boolean;
  canAddAudio: boolean;
}) {
  const [adding, setAdding] = useState<'marker' | 'audio' | null>(null);
  const { ppf } = viewport;
  const edit = editing.edit;
  return (
    <>
      <div className="tl-toolbar" role="toolbar" aria-label="Timeline tools">
        <button type="button" className="button button-small" data-testid="timeline-undo" disabled={!editing.canUndo} onClick={editing.undo} title={editing.undoLabel ? `Undo ${editing.undoLabel} (Ctrl/⌘+Z)` : 'Nothing to undo'}>
          ↶ Undo
        </button>
        <button type="button" className="button button-small" data-testid="timeline-redo" disabled={!editing.canRedo} onClick={editing.redo} title={editing.redoLabel ? `Redo ${editing.redoLabel} (Shift+Ctrl/⌘+Z)` : 'Nothing to redo'}>
          ↷ Redo
        </button>
        <span className="tl-toolbar-sep" />
        <button type="button" className="icon-button" data-testid="timeline-zoom-out" aria-label="Zoom out" onClick={viewport.zoomOut}>
          −
        </button>
        <button type="button" className="icon-button" data-testid="timeline-zoom-in" aria-label="Zoom in" onClick={viewport.zoomIn}>
          +
        </button>
        <button type="button" className="button button-small button-ghost" data-testid="timeline-zoom-fit" onClick={viewport.fit}>
          Fit
        </button>
        <span className="muted small">{ppf >= 1 ? `${ppf.toFixed(ppf < 10 ? 1 : 0)} px/frame` : `${(1 / ppf).toFixed(1)} frames/px`}</span>
        <span className="tl-toolbar-sep" />
        {canMark && (
          <button type="button" className="button button-small" data-testid="timeline-add-marker" onClick={() => setAdding(adding === 'marker' ? null : 'marker')}>
            Marker at playhead
          </button>
        )}
        {canAddAudio && (
          <button type="button" className="button button-small" data-testid="timeline-add-audio" onClick={() => setAdding(adding === 'audio' ? null : 'audio')}>
            Add audio
          </button>
        )}
        {adding === 'marker' && <AddMarker frame={frame} rate={rate} onEdit={edit} onClose={() => setAdding(null)} />}
      </div>
      {adding === 'audio' && <AddAudio frame={frame} rate={rate} onEdit={edit} onClose={() => setAdding(null)} />}
    </>
  );
}
