import { useEffect, useState, type KeyboardEvent } from 'react';

/** A whole-number field that applies on Enter or when it loses focus (Escape puts it back). */
export function FrameInput({
  value,
  onCommit,
  testId,
  label: ariaLabel,
  disabled,
  min = 0,
  max,
  className = 'frame-input',
}: {
  value: number;
  onCommit(value: number): void;
  testId?: string;
  label: string;
  disabled?: boolean;
  min?: number;
  max?: number;
  className?: string;
}) {
  const [draft, setDraft] = useState(String(value));
  useEffect(() => setDraft(String(value)), [value]);
  const commit = () => {
    const n = Number(draft);
    if (draft.trim() === '' || !Number.isFinite(n)) {
      setDraft(String(value));
      return;
    }
    const whole = Math.round(n);
    if (whole !== value) onCommit(whole);
    else setDraft(String(value));
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      commit();
    } else if (e.key === 'Escape') {
      setDraft(String(value));
      (e.target as HTMLInputElement).blur();
    }
  };
  return (
    <input
      type="number"
      inputMode="numeric"
      className={className}
      data-testid={testId}
      aria-label={ariaLabel}
      value={draft}
      min={min}
      max={max}
      step={1}
      disabled={disabled}
      onChange={(e) => setDraft(e.target.value)}
      onBlur={commit}
      onKeyDown={onKeyDown}
    />
  );
}
