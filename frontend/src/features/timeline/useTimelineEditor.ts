import { useQueryClient } from '@tanstack/react-query';
import { useMemo, useReducer, useState } from 'react';

import type { Timeline, TimelineOp } from '../../api/types';
import { reportError } from '../../state/errors';
import { qk } from '../../state/keys';
import { apiTransport } from '../../state/timeline';
import { TimelineEditor } from './editor';

export interface TimelineEditing {
  edit(ops: TimelineOp[], label?: string): void;
  undo(): void;
  redo(): void;
  canUndo: boolean;
  canRedo: boolean;
  undoLabel: string | null;
  redoLabel: string | null;
  pending: boolean;
  notice: string | null;
  dismissNotice(): void;
}

/** Make an edit (ops applied in order, one undo step labelled `label`). */
export type Edit = TimelineEditing['edit'];

/** One edit session per timeline page: edits, undo/redo, and the "could not be kept" notice. */
export function useTimelineEditor(pid: string): TimelineEditing {
  const qc = useQueryClient();
  const [, bump] = useReducer((n: number) => n + 1, 0);
  const [notice, setNotice] = useState<string | null>(null);
  const editor = useMemo(
    () =>
      new TimelineEditor({
        transport: apiTransport(pid),
        read: () => qc.getQueryData<Timeline>(qk.timeline(pid)),
        write: (t) => qc.setQueryData(qk.timeline(pid), t),
        notice: setNotice,
        error: reportError,
        refresh: () => void qc.invalidateQueries({ queryKey: qk.timeline(pid) }),
        changed: bump,
      }),
    [pid, qc],
  );
  const top = (stack: { label: string }[]) => (stack.length ? stack[stack.length - 1].label : null);
  return {
    edit: (ops, label) => void editor.edit(ops, label),
    undo: () => void editor.undo(),
    redo: () => void editor.redo(),
    canUndo: editor.canUndo,
    canRedo: editor.canRedo,
    undoLabel: top(editor.undoStack),
    redoLabel: top(editor.redoStack),
    pending: editor.pending > 0,
    notice,
    dismissNotice: () => setNotice(null),
  };
}
