import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';

import { api } from '../../api/endpoints';
import type { Credential, Invite, Member, ReferenceKind, Role } from '../../api/types';
import { ROLES } from '../../api/types';
import { uploadFile } from '../../api/upload';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Badge, Loading, ProgressBar } from '../../components/States';
import { formatMoney, label, relativeTime, ROLE_LABEL } from '../../lib/format';
import { usePresenceLocation } from '../../realtime/RealtimeProvider';
import { qk } from '../../state/keys';
import { useCredentials, useInvites, useMembers, useReferences } from '../../state/queries';
import { useMe } from '../auth/session';
import { useProject } from '../projects/ProjectContext';

function RoleSelect({ value, onChange, testId, label: aria, disabled }: { value: Role; onChange: (r: Role) => void; testId?: string; label: string; disabled?: boolean }) {
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
  const update = useMutation({ mutationFn: (role: Role) => api.members.update(project.id, member.id, role), onSettled: refresh });
  const remove = useMutation({ mutationFn: () => api.members.remove(project.id, member.id), onSettled: refresh });
  return (
    <li className="member-row row-between" data-testid="member-row" data-username={member.user.username} data-role={member.role}>
      <span className="row gap-s">
        <span className="avatar" aria-hidden="true">
          {member.user.username.slice(0, 1).toUpperCase()}
        </span>
        <span>
          <strong>{member.user.username}</strong>
          {member.user.username === me.username && <span className="muted"> (you)</span>}
          <span className="muted small"> · joined {relativeTime(member.joined_at)}</span>
        </span>
      </span>
      {manage ? (
        <span className="row gap-s">
          <RoleSelect
            value={member.role}
            label={`Role of ${member.user.username}`}
            onChange={(r) => update.mutate(r)}
            disabled={update.isPending}
          />
          <button
            type="button"
            className="button button-small button-ghost"
            onClick={() => {
              if (window.confirm(`Remove ${member.user.username} from the film?`)) remove.mutate();
            }}
          >
            Remove
          </button>
        </span>
      ) : (
        <Badge>{label(ROLE_LABEL, member.role)}</Badge>
      )}
    </li>
  );
}

function Members({ manage }: { manage: boolean }) {
  const { project } = useProject();
  const qc = useQueryClient();
  const members = useMembers(project.id);
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<Role>('artist');
  const add = useMutation({
    mutationFn: () => api.members.add(project.id, username.trim(), role),
    onSuccess: () => {
      setUsername('');
      void qc.invalidateQueries({ queryKey: qk.members(project.id) });
    },
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
      {manage && (
        <form
          className="row gap-s add-row"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            add.mutate();
          }}
        >
          <input aria-label="Username to add" placeholder="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
          <RoleSelect value={role} onChange={setRole} label="Role for the new member" />
          <button type="submit" className="button" disabled={add.isPending}>
            Add member
          </button>
        </form>
      )}
    </section>
  );
}

function InviteRow({ invite }: { invite: Invite }) {
  const { project } = useProject();
  const qc = useQueryClient();
  const revoke = useMutation({
    mutationFn: () => api.invites.revoke(project.id, invite.id),
    onSettled: () => void qc.invalidateQueries({ queryKey: qk.invites(project.id) }),
  });
  return (
    <li className={`invite-row row-between${invite.revoked ? ' revoked' : ''}`}>
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

function Invites() {
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
  });
  return (
    <section className="card" aria-labelledby="invites-h">
      <h2 id="invites-h">Invite links</h2>
      <p className="muted small">Anyone with a link joins the film in its role — share it with the artists you want.</p>
      <div className="row gap-s wrap">
        <RoleSelect value={role} onChange={setRole} testId="invite-role" label="Role of people who use the link" />
        <label className="inline-field small">
          max uses
          <input type="number" min={1} placeholder="any" value={maxUses} onChange={(e) => setMaxUses(e.target.value)} />
        </label>
        <label className="inline-field small">
          valid days
          <input type="number" min={1} placeholder="forever" value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
        <button type="button" className="button button-primary" data-testid="invite-create" onClick={() => create.mutate()} disabled={create.isPending}>
          Create link
        </button>
      </div>
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

const KINDS: ReferenceKind[] = ['character', 'location', 'style', 'prop'];

function StyleBible({ manage }: { manage: boolean }) {
  const { project, can } = useProject();
  const me = useMe();
  const qc = useQueryClient();
  const refs = useReferences(project.id);
  const [tag, setTag] = useState('');
  const [kind, setKind] = useState<ReferenceKind>('character');
  const [name, setName] = useState('');
  const [text, setText] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const refresh = () => void qc.invalidateQueries({ queryKey: qk.references(project.id) });
  const create = useMutation({
    mutationFn: async () => {
      let images: string[] | undefined;
      if (file) {
        setProgress(0);
        try {
          const upload = await uploadFile(file, { onProgress: (p) => setProgress(p.fraction * 100) });
          images = [upload.id];
        } finally {
          setProgress(null);
        }
      }
      return api.references.create(project.id, { tag: tag.trim().replace(/^@/, ''), kind, name: name.trim(), text: text.trim(), images });
    },
    onSuccess: () => {
      setTag('');
      setName('');
      setText('');
      setFile(null);
      refresh();
    },
  });
  const remove = useMutation({ mutationFn: (id: string) => api.references.remove(project.id, id), onSettled: refresh });
  const canAdd = can.isManager || can.isArtist;

  return (
    <section className="card" aria-labelledby="bible-h">
      <h2 id="bible-h">Style bible</h2>
      <p className="muted small">Characters, places, props and looks. Use them in prompts as @tag.</p>
      {refs.isPending ? (
        <Loading />
      ) : refs.isError ? (
        <ErrorMessage error={refs.error} />
      ) : (
        <ul className="plain-list divided">
          {refs.data.map((r) => (
            <li key={r.id} className="reference-row" data-testid="reference-row" data-tag={r.tag}>
              <div className="row gap-s">
                {r.images.slice(0, 3).map((img) =>
                  img.thumbnail_url || img.url ? (
                    <img key={img.id} className="reference-image" src={img.thumbnail_url ?? img.url ?? ''} alt={`@${r.tag}`} />
                  ) : null,
                )}
                <div className="grow">
                  <strong>@{r.tag}</strong> <Badge>{r.kind}</Badge> {r.name && <span>{r.name}</span>}
                  {r.text && <div className="muted small">{r.text}</div>}
                </div>
                {manage && (
                  <button type="button" className="button button-small button-ghost" onClick={() => remove.mutate(r.id)} aria-label={`Delete @${r.tag}`}>
                    Delete
                  </button>
                )}
              </div>
            </li>
          ))}
          {refs.data.length === 0 && <li className="muted small">No references yet.</li>}
        </ul>
      )}
      {canAdd && (
        <form
          className="form reference-form"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            create.mutate();
          }}
          aria-label="Add a reference"
        >
          <div className="field-row">
            <label className="field narrow">
              <span>@tag</span>
              <input required value={tag} onChange={(e) => setTag(e.target.value)} placeholder="mara" data-testid="reference-tag" />
            </label>
            <label className="field narrow">
              <span>Kind</span>
              <select value={kind} onChange={(e) => setKind(e.target.value as ReferenceKind)}>
                {KINDS.map((k) => (
                  <option key={k}>{k}</option>
                ))}
              </select>
            </label>
            <label className="field grow">
              <span>Name</span>
              <input value={name} onChange={(e) => setName(e.target.value)} placeholder="Mara, the keeper" />
            </label>
          </div>
          <label className="field">
            <span>Description (goes into prompts that use the tag)</span>
            <input value={text} onChange={(e) => setText(e.target.value)} placeholder="60s, grey braid, yellow oilskin" />
          </label>
          <label className="field">
            <span>Image (optional)</span>
            <input type="file" accept="image/*" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          </label>
          {progress !== null && <ProgressBar value={progress} label="Uploading the image" />}
          <div className="form-actions">
            <button type="submit" className="button" disabled={create.isPending}>
              Add reference
            </button>
            <span className="muted small">{me.username} will be its author.</span>
          </div>
        </form>
      )}
    </section>
  );
}

function BudgetSettings() {
  const { project } = useProject();
  const qc = useQueryClient();
  const [amount, setAmount] = useState(project.budget_amount);
  const [currency, setCurrency] = useState(project.budget_currency);
  const [cap, setCap] = useState(project.artist_budget_cap ?? '');
  const [minutes, setMinutes] = useState(project.target_runtime_seconds ? String(project.target_runtime_seconds / 60) : '');
  const [saved, setSaved] = useState(false);
  const save = useMutation({
    mutationFn: () =>
      api.projects.update(project.id, {
        budget_amount: amount || '0',
        budget_currency: currency.trim().toUpperCase(),
        artist_budget_cap: cap === '' ? null : cap,
        target_runtime_seconds: minutes ? Math.round(Number(minutes) * 60) : null,
      }),
    onSuccess: (updated) => {
      qc.setQueryData(qk.project(project.id), updated);
      void qc.invalidateQueries({ queryKey: qk.budget(project.id) });
      setSaved(true);
      setTimeout(() => setSaved(false), 2000);
    },
  });
  return (
    <section className="card" aria-labelledby="budget-settings-h">
      <h2 id="budget-settings-h">Budget and runtime</h2>
      <form
        className="form"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <div className="field-row">
          <label className="field">
            <span>Budget</span>
            <input type="number" min={0} step="0.01" value={amount} onChange={(e) => setAmount(e.target.value)} data-testid="budget-amount" />
          </label>
          <label className="field narrow">
            <span>Currency</span>
            <input maxLength={3} value={currency} onChange={(e) => setCurrency(e.target.value)} data-testid="budget-currency" />
          </label>
          <label className="field">
            <span>Cap per artist</span>
            <input type="number" min={0} step="0.01" placeholder="no cap" value={cap} onChange={(e) => setCap(e.target.value)} data-testid="budget-cap" />
          </label>
          <label className="field">
            <span>Runtime (min)</span>
            <input type="number" min={0} step="any" value={minutes} onChange={(e) => setMinutes(e.target.value)} />
          </label>
        </div>
        <div className="form-actions">
          <button type="submit" className="button button-primary" data-testid="budget-save" disabled={save.isPending}>
            Save
          </button>
          {saved && <span className="ok-text small">Saved.</span>}
          <span className="muted small">Now {formatMoney(project.budget_amount, project.budget_currency)}.</span>
        </div>
      </form>
    </section>
  );
}

function CredentialRow({ credential }: { credential: Credential }) {
  const { project } = useProject();
  const qc = useQueryClient();
  const [key, setKey] = useState('');
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: qk.credentials(project.id) });
    void qc.invalidateQueries({ queryKey: qk.backends(project.id) });
  };
  const put = useMutation({
    mutationFn: () => api.credentials.put(project.id, credential.backend, key.trim()),
    onSuccess: () => {
      setKey('');
      refresh();
    },
  });
  const remove = useMutation({ mutationFn: () => api.credentials.remove(project.id, credential.backend), onSettled: refresh });
  return (
    <li className="credential-row" data-testid="credential-row" data-backend={credential.backend} data-configured={credential.configured}>
      <div className="row-between">
        <span>
          <strong>{credential.title ?? credential.backend}</strong>{' '}
          {credential.configured ? (
            <Badge tone="ok">key set{credential.hint ? ` · ${credential.hint}` : ''}</Badge>
          ) : credential.needs_credentials === false ? (
            <Badge>no key needed</Badge>
          ) : (
            <Badge tone="warn">no key</Badge>
          )}
          {credential.updated_by && (
            <span className="muted small">
              {' '}
              · by {credential.updated_by.username} {credential.updated_at ? relativeTime(credential.updated_at) : ''}
            </span>
          )}
        </span>
        {credential.needs_credentials !== false && (
          <form
            className="row gap-s"
            onSubmit={(e: FormEvent) => {
              e.preventDefault();
              put.mutate();
            }}
          >
            <input
              type="password"
              autoComplete="off"
              aria-label={`API key for ${credential.title ?? credential.backend}`}
              placeholder={credential.configured ? 'replace the key' : 'paste the API key'}
              value={key}
              onChange={(e) => setKey(e.target.value)}
              data-testid="credential-key"
            />
            <button type="submit" className="button button-small" disabled={!key.trim() || put.isPending} data-testid="credential-save">
              Save
            </button>
            {credential.configured && (
              <button type="button" className="button button-small button-ghost" onClick={() => remove.mutate()}>
                Remove
              </button>
            )}
          </form>
        )}
      </div>
    </li>
  );
}

function Credentials() {
  const { project } = useProject();
  const creds = useCredentials(project.id, true);
  const list = [...(creds.data ?? [])].sort(
    (a, b) => Number(b.needs_credentials !== false) - Number(a.needs_credentials !== false) || a.backend.localeCompare(b.backend),
  );
  return (
    <section className="card" aria-labelledby="creds-h">
      <h2 id="creds-h">Provider keys</h2>
      <p className="muted small">Keys are stored encrypted and never shown again; only the last characters are hinted.</p>
      {creds.isPending ? (
        <Loading />
      ) : creds.isError ? (
        <ErrorMessage error={creds.error} />
      ) : (
        <ul className="plain-list divided">
          {list.map((c) => (
            <CredentialRow key={c.backend} credential={c} />
          ))}
        </ul>
      )}
    </section>
  );
}

export function SettingsPage() {
  const { can } = useProject();
  usePresenceLocation(null, null);
  return (
    <div className="settings">
      <div className="page-head">
        <div>
          <h1>Settings</h1>
          <p className="muted">
            {can.isManager ? 'People, invite links, the style bible, budget and provider keys.' : 'Who is in the film and its style bible.'}
          </p>
        </div>
      </div>
      <div className="settings-grid">
        <div className="settings-col">
          <Members manage={can.isManager} />
          {can.isManager && <Invites />}
          {can.isManager && <BudgetSettings />}
        </div>
        <div className="settings-col">
          <StyleBible manage={can.isManager} />
          {can.isManager && <Credentials />}
        </div>
      </div>
    </div>
  );
}
