import { useMutation } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link, useNavigate } from 'react-router';

import { api } from '../api/endpoints';
import { useSession, useSetSession } from '../features/auth/session';

/** The bar on top of every signed-in page: brand, what the page adds, who is signed in. */
export function AppHeader({ children, status, nav }: { children?: ReactNode; status?: ReactNode; nav?: ReactNode }) {
  const { data: me } = useSession();
  const setSession = useSetSession();
  const navigate = useNavigate();
  const signOut = useMutation({
    mutationFn: () => api.auth.signOut(),
    onSuccess: () => {
      setSession(null);
      navigate('/login');
    },
  });

  return (
    <header className="app-header">
      <div className="app-header-inner">
        <Link to="/projects" className="brand" aria-label="Montage — your projects">
          <span className="brand-mark" aria-hidden="true">▮▮</span> Montage
        </Link>
        <div className="app-header-middle">{children}</div>
        <div className="app-header-user">
          {status}
          {me && (
            <span className="user-name" title={me.display_name}>
              {me.username}
            </span>
          )}
          <button
            type="button"
            className="button button-ghost button-small"
            data-testid="nav-signout"
            onClick={() => signOut.mutate()}
            disabled={signOut.isPending}
          >
            Sign out
          </button>
        </div>
      </div>
      {nav && <div className="app-subnav">{nav}</div>}
    </header>
  );
}
