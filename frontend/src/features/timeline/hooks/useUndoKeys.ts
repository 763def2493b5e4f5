import { useEffect } from 'react';

import { isTyping } from '../../../lib/playerKeys';
import type { TimelineEditing } from '../useTimelineEditor';

/** Ctrl/⌘+Z undoes, Shift+Ctrl/⌘+Z or Ctrl/⌘+Y redoes (not while typing in a field: the
 * field's own undo wins there). */
export function useUndoKeys(editing: TimelineEditing): void {
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
}
