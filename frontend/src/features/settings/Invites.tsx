import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';

import { api } from '../../api/endpoints';
import type { Invite, Role } from '../../api/types';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Badge } from '../../components/States';
import { label, ROLE_LABEL } from '../../lib/format';
import { qk } from '../../state/keys';
import { useInvites } from '../../state/queries';
import { useProject } from '../projects/ProjectContext';
import { RoleSelect } from './Members';

function InviteRow({ invite }: { invite: Invite }) {
  const { project } = useProject();
  const qc = useQueryClient();
  const revoke = useMutation({
    mutationFn: () => api.invites.revoke(project.id, invite.id),
    onSettled: () => void qc.invalidateQueries({ queryKey: qk.invites(project.id) }),
    meta: { inlineError: true },
  });
  return (
    <li className={`invite-row${invite.revoked ? ' revoked' : ''}`}>
      <div className="row-between">
        <span className="small">
          <Badge>{label(ROLE_LABEL, invite.role)}</Badge> <code className="invite-link">{invite.url}</code>
          <span className="muted">
            {' '}
            · used {invite.uses}
            {invite.max_uses ? ` of ${invite.max_uses}` : ''} times
            {invite.expires_at ? ` · until ${new Date(invite.expires_at).toLocaleDateString()}` : ''}
          </span>
        </span>
        {invite.revoked ? (
          <span className="muted small">revoked</span>
        ) : (
          <span className="row gap-s">
            <CopyButton text={invite.url} />
            <button type="button" className="button button-small button-ghost" onClick={() => revoke.mutate()} disabled={revoke.isPending}>
              Revoke
            </button>
          </span>
        )}
      </div>
      <ErrorMessage error={revoke.error} />
    </li>
  );
}

function CopyButton({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="button button-small"
      data-testid="invite-copy"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        } catch {
          window.prompt('Copy the invite link:', text);
        }
      }}
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}

export function Invites() {
  const { project } = useProject();
  const qc = useQueryClient();
  const invites = useInvites(project.id, true);
  const [role, setRole] = useState<Role>('artist');
  const [maxUses, setMaxUses] = useState('');
  const [days, setDays] = useState('14');
  const [created, setCreated] = useState<Invite | null>(null);
  const create = useMutation({
    mutationFn: () =>
      api.invites.create(project.id, {
        role,
        max_uses: maxUses ? Number(maxUses) : null,
        expires_in_days: days ? Number(days) : null,
      }),
    onSuccess: (invite) => {
      setCreated(invite);
      void qc.invalidateQueries({ queryKey: qk.invites(project.id) });
    },
    meta: { inlineError: true },
  });
  return (
    <section className="card" aria-labelledby="invites-h">
      <h2 id="invites-h">Invite links</h2>
      <p className="muted small">Anyone with a link joins the film in its role — share it with the artists you want.</p>
      <div className="row gap-s wrap">
        <RoleSelect value={role} onChange={setRole} testId="invite-role" label="Role of people who use the link" />
        <label className="inline-field small">
          max uses
          <input type="number" min={1} max={10000} placeholder="any" value={maxUses} onChange={(e) => setMaxUses(e.target.value)} />
        </label>
        <label className="inline-field small">
          valid days
          <input type="number" min={1} max={365} placeholder="forever" value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
        <button type="button" className="button button-primary" data-testid="invite-create" onClick={() => create.mutate()} disabled={create.isPending}>
          Create link
        </button>
      </div>
      <ErrorMessage error={create.error} />
      {created && (
        <div className="created-invite">
          <span className="small">New {label(ROLE_LABEL, created.role).toLowerCase()} link:</span>
          <code data-testid="invite-url">{created.url}</code>
          <CopyButton text={created.url} />
        </div>
      )}
      {invites.data && invites.data.length > 0 && (
        <ul className="plain-list divided">
          {invites.data.map((i) => (
            <InviteRow key={i.id} invite={i} />
          ))}
        </ul>
      )}
    </section>
  );
}
