import { useEffect, useState, type KeyboardEvent } from 'react';

import { clampTrim } from '../model';

export type Trim = { in_frame: number; out_frame: number };

/** Why a typed in/out point cannot be used as typed, and what would be used instead; null
 * when it can be used as typed. */
export function trimClampMessage(edge: 'in' | 'out', typed: number, current: Trim, applied: Trim, limit: number | null, hasTake: boolean): string | null {
  const parts: string[] = [];
  const got = edge === 'in' ? applied.in_frame : applied.out_frame;
  if (got !== typed) {
    const ceiling = limit !== null && typed > got;
    parts.push(
      ceiling
        ? `${hasTake ? 'The take' : 'The shot'} has only ${limit} frames; the ${edge} point will be ${got}.`
        : `The ${edge} point cannot be ${typed}; it will be ${got}.`,
    );
  }
  const other = edge === 'in' ? 'out' : 'in';
  const before = edge === 'in' ? current.out_frame : current.in_frame;
  const after = edge === 'in' ? applied.out_frame : applied.in_frame;
  if (after !== before) parts.push(`The ${other} point will move from ${before} to ${after}, so that the shot keeps at least one frame.`);
  return parts.length ? parts.join(' ') : null;
}

/** An in or out point. A value that has to be clamped (past the take's last frame, before
 * the other point) is not applied silently: what was typed stays visible with what would be
 * used instead, and applies only when confirmed. */
export function TrimInput({
  shotId,
  edge,
  current,
  limit,
  hasTake,
  label: ariaLabel,
  disabled,
  onApply,
}: {
  shotId: string;
  edge: 'in' | 'out';
  current: Trim;
  limit: number | null;
  hasTake: boolean;
  label: string;
  disabled?: boolean;
  onApply(trim: Trim): void;
}) {
  const value = edge === 'in' ? current.in_frame : current.out_frame;
  const [draft, setDraft] = useState(String(value));
  const [pending, setPending] = useState<{ trim: Trim; message: string } | null>(null);
  useEffect(() => {
    setDraft(String(value));
    setPending(null);
  }, [value]);
  const changed = (t: Trim) => t.in_frame !== current.in_frame || t.out_frame !== current.out_frame;
  const commit = () => {
    const n = Number(draft);
    if (draft.trim() === '' || !Number.isFinite(n)) {
      setDraft(String(value));
      setPending(null);
      return;
    }
    const typed = Math.round(n);
    const trim = clampTrim(edge === 'in' ? typed : current.in_frame, edge === 'out' ? typed : current.out_frame, limit, edge);
    const message = trimClampMessage(edge, typed, current, trim, limit, hasTake);
    if (message) {
      setPending({ trim, message });
      return;
    }
    setPending(null);
    if (changed(trim)) onApply(trim);
    else setDraft(String(value));
  };
  const confirm = () => {
    if (!pending) return;
    const { trim } = pending;
    setPending(null);
    setDraft(String(edge === 'in' ? trim.in_frame : trim.out_frame));
    if (changed(trim)) onApply(trim);
  };
  const cancel = () => {
    setPending(null);
    setDraft(String(value));
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      commit();
    } else if (e.key === 'Escape') {
      cancel();
      (e.target as HTMLInputElement).blur();
    }
  };
  const noteId = `trim-clamp-${edge}-${shotId}`;
  const applied = pending ? (edge === 'in' ? pending.trim.in_frame : pending.trim.out_frame) : null;
  return (
    <div className="trim-field">
      <input
        type="number"
        inputMode="numeric"
        className="frame-input"
        data-testid={`trim-${edge}-${shotId}`}
        aria-label={ariaLabel}
        aria-invalid={pending ? true : undefined}
        aria-describedby={pending ? noteId : undefined}
        value={draft}
        min={edge === 'in' ? 0 : 1}
        step={1}
        disabled={disabled}
        onChange={(e) => {
          setDraft(e.target.value);
          setPending(null);
        }}
        onBlur={commit}
        onKeyDown={onKeyDown}
      />
      {pending && (
        <div className="trim-clamp small" role="status" id={noteId} data-testid={noteId}>
          <span>{pending.message}</span>
          <span className="row gap-s">
            <button type="button" className="button button-small button-primary" data-testid={`trim-clamp-apply-${edge}-${shotId}`} onClick={confirm}>
              Use {applied}
            </button>
            <button type="button" className="button button-small button-ghost" data-testid={`trim-clamp-cancel-${edge}-${shotId}`} onClick={cancel}>
              Cancel
            </button>
          </span>
        </div>
      )}
    </div>
  );
}
