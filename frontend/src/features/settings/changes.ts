import { useEffect, useState } from 'react';

/** The fields of `next` that differ from `current` (what a settings form sends: only what
 * changed, so it never asks to change a field the person may not touch). */
export function changedFields<T extends Record<string, unknown>>(current: T, next: T, same: (a: unknown, b: unknown) => boolean = sameValue): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(next) as (keyof T)[]) {
    if (!same(current[key], next[key])) out[key] = next[key];
  }
  return out;
}

/** Equal as settings: money "250.00" equals "250", null equals "". */
export function sameValue(a: unknown, b: unknown): boolean {
  const blank = (v: unknown) => v === null || v === undefined || v === '';
  if (blank(a) || blank(b)) return blank(a) && blank(b);
  if (typeof a === 'string' && typeof b === 'string' && /^-?\d+(\.\d+)?$/.test(a) && /^-?\d+(\.\d+)?$/.test(b)) return Number(a) === Number(b);
  return a === b;
}

/**
 * A settings form's fields (as the inputs hold them: strings), following the saved values:
 * a field the person has not touched takes a new saved value (someone else's change, or
 * this form's own save); one they edited keeps what they typed. `changes` are the fields
 * that differ from the saved values, i.e. what the person changed.
 */
export function useSettingsFields<T extends Record<string, string>>(saved: T) {
  const [base, setBase] = useState<T>(saved);
  const [values, setValues] = useState<T>(saved);
  const savedKey = JSON.stringify(saved);
  useEffect(() => {
    const next = JSON.parse(savedKey) as T;
    setValues((current) => {
      const out = { ...current };
      for (const key of Object.keys(next) as (keyof T)[]) if (sameValue(current[key], base[key])) out[key] = next[key];
      return out;
    });
    setBase(next);
  }, [savedKey]);
  const set = (key: keyof T, value: string) => setValues((current) => ({ ...current, [key]: value }));
  return { values, set, changes: changedFields(base, values) };
}
