import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';

import { api } from '../../api/endpoints';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Loading } from '../../components/States';
import { AuthLayout } from './AuthLayout';
import { safeNext, useSession, useSetSession } from './session';

export function SignupPage() {
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const session = useSession();
  const setSession = useSetSession();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');

  const signUp = useMutation({
    mutationFn: async () => {
      const name = username.trim();
      await api.auth.register({ username: name, password, ...(email.trim() ? { email: email.trim() } : {}) });
      // Registering does not sign in: start the session right away.
      return api.auth.signIn(name, password);
    },
    meta: { inlineError: true },
    onSuccess: (me) => {
      qc.removeQueries({ queryKey: ['projects'] });
      setSession(me);
      navigate(next, { replace: true });
    },
  });

  if (session.isPending) return <Loading />;
  if (session.data && !signUp.isPending && !signUp.isSuccess) return <Navigate to={next} replace />;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    signUp.mutate();
  };

  return (
    <AuthLayout
      title="Create your account"
      footer={
        <>
          Already have one? <Link to={`/login${params.get('next') ? `?next=${encodeURIComponent(next)}` : ''}`}>Sign in</Link>
        </>
      }
    >
      <form className="form" onSubmit={submit}>
        <label className="field">
          <span>Username</span>
          <input
            data-testid="signup-username"
            name="username"
            autoComplete="username"
            autoFocus
            required
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        <label className="field">
          <span>
            E-mail <small className="muted">(optional)</small>
          </span>
          <input
            data-testid="signup-email"
            name="email"
            type="email"
            autoComplete="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            data-testid="signup-password"
            name="password"
            type="password"
            autoComplete="new-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <small className="muted">At least 8 characters; not only digits, not a common password.</small>
        </label>
        <ErrorMessage error={signUp.error} />
        <button className="button button-primary button-block" type="submit" data-testid="signup-submit" disabled={signUp.isPending}>
          {signUp.isPending ? 'Creating your account…' : 'Create account'}
        </button>
      </form>
    </AuthLayout>
  );
}
