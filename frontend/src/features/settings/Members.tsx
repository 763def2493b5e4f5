import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';

import { api } from '../../api/endpoints';
import type { Invitation, Member, Role } from '../../api/types';
import { ROLES } from '../../api/types';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Badge, Loading } from '../../components/States';
import { label, relativeTime, ROLE_LABEL } from '../../lib/format';
import { qk } from '../../state/keys';
import { useMembers } from '../../state/queries';
import { useMe } from '../auth/session';
import { personName } from '../projects/people';
import { useProject } from '../projects/ProjectContext';

export function RoleSelect({
  value,
  onChange,
  testId,
  label: aria,
  disabled,
}: {
  value: Role;
  onChange: (r: Role) => void;
  testId?: string;
  label: string;
  disabled?: boolean;
}) {
  return (
    <select data-testid={testId} aria-label={aria} value={value} disabled={disabled} onChange={(e) => onChange(e.target.value as Role)}>
      {ROLES.map((r) => (
        <option key={r} value={r}>
          {ROLE_LABEL[r]}
        </option>
      ))}
    </select>
  );
}

function MemberRow({ member, manage }: { member: Member; manage: boolean }) {
  const { project } = useProject();
  const me = useMe();
  const qc = useQueryClient();
  const refresh = () => void qc.invalidateQueries({ queryKey: qk.members(project.id) });
  const update = useMutation({
    mutationFn: (role: Role) => api.members.update(project.id, member.id, role),
    onSettled: refresh,
    meta: { inlineError: true },
  });
  const remove = useMutation({ mutationFn: () => api.members.remove(project.id, member.id), onSettled: refresh, meta: { inlineError: true } });
  const name = personName(member.user);
  return (
    <li className="member-row" data-testid="member-row" data-username={member.user.username} data-role={member.role}>
      <div className="row-between">
        <span className="row gap-s">
          <span className="avatar" aria-hidden="true">
            {name.slice(0, 1).toUpperCase()}
          </span>
          <span>
            <strong>{name}</strong>
            {name !== member.user.username && <span className="muted small"> @{member.user.username}</span>}
            {member.user.username === me.username && <span className="muted"> (you)</span>}
            <span className="muted small"> · joined {relativeTime(member.joined_at)}</span>
          </span>
        </span>
        {manage ? (
          <span className="row gap-s">
            <RoleSelect value={member.role} label={`Role of ${name}`} onChange={(r) => update.mutate(r)} disabled={update.isPending} />
            <button
              type="button"
              className="button button-small button-ghost"
              onClick={() => {
                if (window.confirm(`Remove ${name} from the film?`)) remove.mutate();
              }}
            >
              Remove
            </button>
          </span>
        ) : (
          <Badge>{label(ROLE_LABEL, member.role)}</Badge>
        )}
      </div>
      <ErrorMessage error={update.error ?? remove.error} />
    </li>
  );
}

function PendingInvitations() {
  const { project } = useProject();
  const qc = useQueryClient();
  const pending = useQuery({ queryKey: qk.invitations(project.id), queryFn: () => api.invitations.list(project.id) });
  const cancel = useMutation({
    mutationFn: (id: string) => api.invitations.cancel(project.id, id),
    onSettled: () => void qc.invalidateQueries({ queryKey: qk.invitations(project.id) }),
    meta: { inlineError: true },
  });
  if (pending.isPending) return null;
  if (pending.isError) return <ErrorMessage error={pending.error} />;
  if (pending.data.length === 0) return null;
  return (
    <div className="pending-invitations">
      <h3 className="small muted">Invited, waiting for an answer</h3>
      <ul className="plain-list divided" data-testid="pending-invitations">
        {pending.data.map((inv: Invitation) => (
          <li key={inv.id} className="row-between" data-testid="pending-invitation" data-username={inv.username}>
            <span>
              <strong>@{inv.username}</strong> <span className="muted small">as {label(ROLE_LABEL, inv.role)} · invited {relativeTime(inv.created_at)}</span>
            </span>
            <button
              type="button"
              className="button button-small button-ghost"
              data-testid="pending-invitation-cancel"
              disabled={cancel.isPending}
              onClick={() => cancel.mutate(inv.id)}
            >
              Cancel
            </button>
          </li>
        ))}
      </ul>
      <ErrorMessage error={cancel.error} />
    </div>
  );
}

export function Members({ manage }: { manage: boolean }) {
  const { project } = useProject();
  const qc = useQueryClient();
  const members = useMembers(project.id);
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<Role>('artist');
  const add = useMutation({
    mutationFn: () => api.members.add(project.id, username.trim(), role),
    onSuccess: () => {
      setUsername('');
      void qc.invalidateQueries({ queryKey: qk.invitations(project.id) });
    },
    meta: { inlineError: true },
  });
  return (
    <section className="card" aria-labelledby="members-h">
      <h2 id="members-h">Members</h2>
      {members.isPending ? (
        <Loading />
      ) : members.isError ? (
        <ErrorMessage error={members.error} />
      ) : (
        <ul className="plain-list divided">
          {members.data.map((m) => (
            <MemberRow key={m.id} member={m} manage={manage} />
          ))}
        </ul>
      )}
      {manage && <PendingInvitations />}
      {manage && (
        <form
          className="row gap-s add-row"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            add.mutate();
          }}
        >
          <input
            aria-label="Username to invite"
            placeholder="username"
            required
            maxLength={150}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            data-testid="member-invite-username"
          />
          <RoleSelect value={role} onChange={setRole} label="Role for the new member" />
          <button type="submit" className="button" disabled={add.isPending} data-testid="member-invite-submit">
            Invite
          </button>
        </form>
      )}
      {manage && add.isSuccess && (
        <p className="small muted" role="status" data-testid="member-invite-sent">
          {add.data.detail}
        </p>
      )}
      {manage && <p className="small muted">They join when they accept the invitation on their list of films.</p>}
      <ErrorMessage error={add.error} />
    </section>
  );
}
