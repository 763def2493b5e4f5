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
