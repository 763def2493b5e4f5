import { useState, type FormEvent } from 'react';

import type { TimelineOp } from '../../../api/types';
import { formatTimecode, type Rate } from '../../../lib/timecode';

/** A marker at the playhead. */
export function AddMarker({ frame, rate, onEdit, onClose }: { frame: number; rate: Rate; onEdit(ops: TimelineOp[], label?: string): void; onClose(): void }) {
  const [text, setText] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    onEdit([{ op: 'add_marker', frame, label: text.trim() }], 'add marker');
    onClose();
  };
  return (
    <form className="tl-add-marker inline-field" onSubmit={submit} aria-label="Add marker">
      <span className="muted small">Marker at {formatTimecode(frame, rate)}</span>
      <input autoFocus data-testid="marker-label" value={text} onChange={(e) => setText(e.target.value)} placeholder="Label" maxLength={200} />
      <button type="submit" className="button button-small button-primary" data-testid="marker-add-submit">
        Add
      </button>
      <button type="button" className="button button-small button-ghost" onClick={onClose}>
        Cancel
      </button>
    </form>
  );
}
