import type { ReactNode } from 'react';
import { Link } from 'react-router';

/** The centred card of the sign-in, sign-up and invite pages. */
export function AuthLayout({ title, children, footer }: { title: string; children: ReactNode; footer?: ReactNode }) {
  return (
    <div className="auth-page">
      <main className="auth-card">
        <Link to="/projects" className="brand brand-large">
          <span className="brand-mark" aria-hidden="true">▮▮</span> Montage
        </Link>
        <h1>{title}</h1>
        {children}
        {footer && <div className="auth-footer">{footer}</div>}
      </main>
    </div>
  );
}
