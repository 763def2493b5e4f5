/**
 * The edit session of one person on the timeline: edits go to the server one at a time (each
 * carries the revision it was made on), the screen shows them at once, and every kept edit
 * can be undone and redone — with inverse ops computed from the timeline before it, so undo
 * is itself an ordinary edit that merges with everyone else's work.
 */

import type { Timeline, TimelineOp } from '../../api/types';
import { commitTimelineOps, type EditOutcome, type TimelineTransport } from '../../state/timeline';
import { applyOps, describeOps, inverseOps, recreatedIds, remapOps } from './model';

export interface HistoryEntry {
  /** the ops that take this entry back (undo) or forward again (redo) */
  ops: TimelineOp[];
  /** the timeline the entry's target ids existed in (to follow re-created clips and markers) */
  before: Timeline;
  label: string;
}

export interface EditorHooks {
  transport: TimelineTransport;
  /** the timeline the screen shows (the query cache) */
  read(): Timeline | undefined;
  write(timeline: Timeline): void;
  /** an edit that could not be kept after someone else's change */
  notice(message: string): void;
  /** any other failure (permission, validation, network): for the error banner */
  error(error: unknown): void;
  /** the screen should refetch the timeline (after a failure the optimistic view is dropped) */
  refresh(): void;
  /** stacks or the pending count changed */
  changed?(): void;
}

const MAX_HISTORY = 100;

type Kind = 'edit' | 'undo' | 'redo';

export class TimelineEditor {
  undoStack: HistoryEntry[] = [];
  redoStack: HistoryEntry[] = [];
  pending = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly hooks: EditorHooks) {}

  /** (an edit still on its way can be undone too: undo waits for it) */
  get canUndo(): boolean {
    return this.undoStack.length > 0 || this.pending > 0;
  }

  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }

  /** Apply `ops` as one edit (all or nothing). Resolves when the server has answered. */
  edit(ops: TimelineOp[], label = describeOps(ops)): Promise<EditOutcome | null> {
    if (!ops.length) return Promise.resolve(null);
    return this.enqueue(() => this.run('edit', ops, label, null));
  }

  /** Undo the latest kept edit — after the edits still on their way, so it is always the last one. */
  undo(): Promise<EditOutcome | null> {
    return this.enqueue(() => {
      const entry = this.undoStack.pop();
      return entry ? this.run('undo', entry.ops, entry.label, entry) : Promise.resolve(null);
    });
  }

  redo(): Promise<EditOutcome | null> {
    return this.enqueue(() => {
      const entry = this.redoStack.pop();
      return entry ? this.run('redo', entry.ops, entry.label, entry) : Promise.resolve(null);
    });
  }

  /** Wait for every queued edit (tests, and before leaving the page). */
  idle(): Promise<void> {
    return this.chain.then(() => undefined);
  }

  private enqueue(task: () => Promise<EditOutcome | null>): Promise<EditOutcome | null> {
    this.pending += 1;
    this.hooks.changed?.();
    const run = this.chain.then(task);
    this.chain = run.catch(() => undefined);
    return run.finally(() => {
      this.pending -= 1;
      this.hooks.changed?.();
    });
  }

  private async run(kind: Kind, ops: TimelineOp[], label: string, entry: HistoryEntry | null): Promise<EditOutcome | null> {
    const { hooks } = this;
    let base = hooks.read();
    if (!base) {
      base = await hooks.transport.get();
      hooks.write(base);
    }
    // Show the edit at once; the server's answer replaces it.
    hooks.write({ ...applyOps(base, ops), revision: base.revision });
    let outcome: EditOutcome;
    try {
      outcome = await commitTimelineOps(hooks.transport, base, ops);
    } catch (error) {
      hooks.write(base);
      hooks.refresh();
      if (entry) (kind === 'undo' ? this.undoStack : this.redoStack).push(entry); // still there to retry
      hooks.error(error);
      return null;
    }
    if (!outcome.kept) {
      hooks.write(outcome.current);
      const what = kind === 'undo' ? `Undo of “${label}”` : kind === 'redo' ? `Redo of “${label}”` : `Your ${label}`;
      hooks.notice(`${what} could not be kept: someone else changed the timeline first. ${outcome.reason} Everything else is as it was.`.replace(/\s+/g, ' ').trim());
      return outcome;
    }
    hooks.write(outcome.after);
    const back: HistoryEntry = { ops: inverseOps(outcome.before, ops, outcome.after), before: outcome.before, label };
    if (entry) {
      // Undoing a removal adds the clip/marker back under a new id: older entries follow it.
      const ids = recreatedIds(ops, outcome.before, outcome.after, entry.before);
      if (ids.size) {
        for (const e of [...this.undoStack, ...this.redoStack]) e.ops = remapOps(e.ops, ids);
      }
    }
    if (back.ops.length) {
      if (kind === 'undo') this.redoStack.push(back);
      else this.undoStack.push(back);
    }
    if (kind === 'edit') this.redoStack = [];
    if (this.undoStack.length > MAX_HISTORY) this.undoStack.splice(0, this.undoStack.length - MAX_HISTORY);
    return outcome;
  }
}
