import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from 'react-router';

import { api } from '../../api/endpoints';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Loading } from '../../components/States';
import { label, ROLE_LABEL } from '../../lib/format';
import { qk } from '../../state/keys';
import { AuthLayout } from './AuthLayout';
import { useSession } from './session';

export function InvitePage() {
  const { token = '' } = useParams();
  const session = useSession();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const invite = useQuery({ queryKey: ['invite', token], queryFn: () => api.invites.peek(token), retry: false });
  const accept = useMutation({
    mutationFn: () => api.invites.accept(token),
    meta: { inlineError: true },
    onSuccess: (membership) => {
      void qc.invalidateQueries({ queryKey: qk.projects });
      navigate(`/projects/${membership.project.id}`);
    },
  });

  if (invite.isPending || session.isPending) return <Loading />;
  const next = encodeURIComponent(`/invite/${token}`);

  return (
    <AuthLayout title="You are invited">
      {invite.isError ? (
        <>
          <ErrorMessage error={invite.error} />
          <p>
            <Link to="/projects">Go to your projects</Link>
          </p>
        </>
      ) : (
        <>
          <p className="invite-lead">Join the film</p>
          <p className="invite-title" data-testid="invite-project">
            {invite.data.project.title}
          </p>
          <p className="muted">
            as <strong>{label(ROLE_LABEL, invite.data.role)}</strong>
            {invite.data.expires_at && <> · link valid until {new Date(invite.data.expires_at).toLocaleDateString()}</>}
          </p>
          <ErrorMessage error={accept.error} />
          {session.data ? (
            <div className="stack">
              <button
                type="button"
                className="button button-primary button-block"
                data-testid="invite-accept"
                onClick={() => accept.mutate()}
                disabled={accept.isPending}
                autoFocus
              >
                {accept.isPending ? 'Joining…' : `Join as ${session.data.username}`}
              </button>
              <p className="muted small">Not you? Sign out from your projects page first.</p>
            </div>
          ) : (
            <div className="stack">
              <Link className="button button-primary button-block" data-testid="invite-signup" to={`/signup?next=${next}`}>
                Create an account to join
              </Link>
              <Link className="button button-block" data-testid="invite-login" to={`/login?next=${next}`}>
                I have an account — sign in
              </Link>
            </div>
          )}
        </>
      )}
    </AuthLayout>
  );
}
