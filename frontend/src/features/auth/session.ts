import { useQuery, useQueryClient } from '@tanstack/react-query';

import { isApiError } from '../../api/client';
import { api } from '../../api/endpoints';
import type { Me } from '../../api/types';
import { qk } from '../../state/keys';

/** Who is signed in: a user, null when nobody is (401/403), undefined while asking. */
export async function fetchSession(): Promise<Me | null> {
  try {
    return await api.auth.session();
  } catch (error) {
    if (isApiError(error) && (error.status === 401 || error.status === 403)) return null;
    throw error;
  }
}

export function useSession() {
  return useQuery({ queryKey: qk.session, queryFn: fetchSession, staleTime: 5 * 60_000, retry: 1 });
}

/** The signed-in user (only under RequireAuth, where the session is known). */
export function useMe(): Me {
  const { data } = useSession();
  if (!data) throw new Error('useMe outside a signed-in page');
  return data;
}

export function useSetSession() {
  const qc = useQueryClient();
  return (me: Me | null) => {
    if (me === null) {
      // Nothing of the previous user may survive in the cache.
      qc.clear();
    }
    qc.setQueryData(qk.session, me);
  };
}

/** Only same-site paths are followed after sign-in (no open redirects). */
export function safeNext(next: string | null | undefined, fallback = '/projects'): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  return next;
}
