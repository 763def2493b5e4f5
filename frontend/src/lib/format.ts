import type { Money, ReviewState, Role, SegmentStatus, TakeStatus } from '../api/types';

export function toNumber(value: Money | null | undefined): number {
  if (value === null || value === undefined || value === '') return 0;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : 0;
}

export function formatMoney(value: Money | null | undefined, currency = 'USD'): string {
  const n = toNumber(value);
  try {
    return new Intl.NumberFormat(undefined, {
      style: 'currency',
      currency: currency || 'USD',
      minimumFractionDigits: 2,
      maximumFractionDigits: n !== 0 && Math.abs(n) < 0.01 ? 4 : 2,
    }).format(n);
  } catch {
    return `${n.toFixed(2)} ${currency}`;
  }
}

export function relativeTime(iso: string, now: number = Date.now()): string {
  const then = Date.parse(iso);
  if (!Number.isFinite(then)) return '';
  const s = Math.round((now - then) / 1000);
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.round(h / 24);
  if (d < 7) return `${d} d ago`;
  return new Date(then).toLocaleDateString();
}

export const ROLE_LABEL: Record<Role, string> = {
  director: 'Director',
  producer: 'Producer',
  artist: 'Artist',
  viewer: 'Viewer',
};

export const SEGMENT_STATUS_LABEL: Record<SegmentStatus, string> = {
  open: 'Open',
  claimed: 'In progress',
  in_review: 'In review',
  approved: 'Approved',
  locked: 'Locked',
};

export const TAKE_STATUS_LABEL: Record<TakeStatus, string> = {
  processing: 'Processing',
  ready: 'Ready',
  failed: 'Failed',
};

export const REVIEW_STATE_LABEL: Record<ReviewState, string> = {
  draft: 'Draft',
  submitted: 'Submitted',
  approved: 'Approved',
  changes_requested: 'Changes requested',
};

export function label<K extends string>(map: Record<K, string>, key: string | null | undefined): string {
  return (key && (map as Record<string, string>)[key]) || key || '';
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
