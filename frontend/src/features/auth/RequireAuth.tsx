import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';

import { ErrorMessage } from '../../components/ErrorMessage';
import { Loading } from '../../components/States';
import { useSession } from './session';

/** Signed-in pages: send everybody else to /login and bring them back after. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const session = useSession();
  const location = useLocation();
  if (session.isPending) return <Loading label="Checking your session…" />;
  if (session.isError) {
    return (
      <main className="page">
        <ErrorMessage error={session.error} />
      </main>
    );
  }
  if (!session.data) {
    const next = location.pathname + location.search;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <>{children}</>;
}
