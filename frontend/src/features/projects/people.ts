import type { UserBrief } from '../../api/types';

/** How the UI names someone: their display name, else their username. */
export function personName(user: Pick<UserBrief, 'username' | 'display_name'> | null | undefined): string {
  if (!user) return '';
  return (user.display_name ?? '').trim() || user.username;
}
