import type { UserBrief } from '../../api/types';

/** How the UI names someone: their display name, else their username. */
export function personName(user: { username: string | null; display_name?: UserBrief['display_name'] | null } | null | undefined): string {
  if (!user) return '';
  return (user.display_name ?? '').trim() || user.username || 'someone';
}
