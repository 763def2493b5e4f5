import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type ChangeEvent, type FormEvent } from 'react';

import { errorSentence } from '../../api/client';
import { api } from '../../api/endpoints';
import type { Credential, CredentialTestResult } from '../../api/types';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Badge, Loading } from '../../components/States';
import { relativeTime } from '../../lib/format';
import { qk } from '../../state/keys';
import { useCredentials } from '../../state/queries';
import { personName } from '../projects/people';
import { useProject } from '../projects/ProjectContext';

/** Backends whose settings are a host and a workflow graph rather than (only) a key. */
const HOST_BACKENDS = new Set(['comfyui']);

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** A ComfyUI workflow as pasted or picked: an API-format graph (node id → {class_type, inputs}). */
export function parseWorkflow(text: string): Parsed<Record<string, unknown> | null> {
  if (!text.trim()) return { ok: true, value: null };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `The workflow is not valid JSON (${error instanceof Error ? error.message : 'parse error'}).` };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, error: 'The workflow must be a JSON object: ComfyUI’s API-format graph.' };
  }
  const graph = value as Record<string, unknown>;
  if (Array.isArray(graph.nodes) && 'links' in graph) {
    return { ok: false, error: 'This is the editor’s workflow file; in ComfyUI use Workflow → Export (API) and paste that instead.' };
  }
  const nodes = Object.values(graph);
  if (nodes.length === 0 || !nodes.every((n) => n && typeof n === 'object' && typeof (n as { class_type?: unknown }).class_type === 'string')) {
    return { ok: false, error: 'Every node of an API-format workflow has a class_type; export it with Workflow → Export (API).' };
  }
  return { ok: true, value: graph };
}

/** "192.168.1.20:8188" or "http://gpu-box:8188" → "http://192.168.1.20:8188"; a bare name
 * gets ComfyUI's port ("gpu-box" → "http://gpu-box:8188"), as the adapter reads it. */
export function parseHost(text: string): Parsed<string> {
  const raw = text.trim().replace(/\/+$/, '');
  if (!raw) return { ok: true, value: '' };
  try {
    const url = new URL(raw.includes('://') ? raw : `http://${raw}`);
    if (!raw.includes('://') && !url.port) url.port = '8188';
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    if (!url.hostname) throw new Error('host');
    return { ok: true, value: `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}` };
  } catch {
    return { ok: false, error: 'The host is an address such as http://192.168.1.20:8188.' };
  }
}

function TestConnection({ credential, unsaved = false }: { credential: Credential; unsaved?: boolean }) {
  const { project } = useProject();
  const [result, setResult] = useState<CredentialTestResult | null>(null);
  const test = useMutation({
    mutationFn: () => api.credentials.test(project.id, credential.backend),
    onMutate: () => setResult(null),
    onSuccess: setResult,
    meta: { inlineError: true },
  });
  return (
    <span className="credential-test row gap-s">
      <button
        type="button"
        className="button button-small"
        data-testid="credential-test"
        onClick={() => test.mutate()}
        disabled={test.isPending || unsaved}
        title={unsaved ? 'Save the settings first: the test uses what is stored' : undefined}
      >
        {test.isPending ? 'Testing…' : 'Test connection'}
      </button>
      {unsaved && <span className="muted small">Save the settings to test them.</span>}
      {result && (
        <span
          className={`small ${result.ok ? 'ok-text' : 'error-text'}`}
          role={result.ok ? 'status' : 'alert'}
          data-testid="credential-test-result"
          data-ok={String(result.ok)}
        >
          {result.detail}
        </span>
      )}
      {test.error && (
        <span className="small error-text" role="alert" data-testid="credential-test-result" data-ok="false">
          {errorSentence(test.error)}
        </span>
      )}
    </span>
  );
}

function HostSettings({ credential, onSaved }: { credential: Credential; onSaved: () => void }) {
  const { project } = useProject();
  const config = credential.config ?? {};
  const storedWorkflow = config.workflow;
  const [host, setHost] = useState(String(config.host ?? config.base_url ?? ''));
  const [workflow, setWorkflow] = useState(
    storedWorkflow ? (typeof storedWorkflow === 'string' ? storedWorkflow : JSON.stringify(storedWorkflow, null, 2)) : '',
  );
  const [problem, setProblem] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [unsaved, setUnsaved] = useState(false);
  const save = useMutation({
    mutationFn: (next: Record<string, unknown>) => api.credentials.putConfig(project.id, credential.backend, next),
    onSuccess: () => {
      setSaved(true);
      setUnsaved(false);
      onSaved();
    },
    meta: { inlineError: true },
  });
  const checkWorkflow = (text: string) => {
    const parsed = parseWorkflow(text);
    setProblem(parsed.ok ? null : parsed.error);
    return parsed;
  };
  const pick = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    if (!file) return;
    const text = await file.text();
    setWorkflow(text);
    setSaved(false);
    setUnsaved(true);
    checkWorkflow(text);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const h = parseHost(host);
    if (!h.ok) {
      setProblem(h.error);
      return;
    }
    const w = checkWorkflow(workflow);
    if (!w.ok) return;
    // The rest of the config is kept; base_url would win over host in the adapter, so it goes.
    const { host: _h, base_url: _b, workflow: _w, ...rest } = config;
    void _h;
    void _b;
    void _w;
    save.mutate({ ...rest, host: h.value, ...(w.value ? { workflow: w.value } : {}) });
  };
  return (
    <form className="form credential-config" onSubmit={submit} aria-label={`${credential.title ?? credential.backend} settings`}>
      <label className="field">
        <span>Host</span>
        <input
          value={host}
          placeholder="http://192.168.1.20:8188"
          onChange={(e) => {
            setHost(e.target.value);
            setSaved(false);
            setUnsaved(true);
            setProblem(null);
          }}
          data-testid="credential-host"
        />
      </label>
      <label className="field">
        <span>Workflow (API format JSON; empty uses the built-in Wan 2.1 graphs)</span>
        <textarea
          rows={5}
          className="code-input"
          spellCheck={false}
          value={workflow}
          placeholder='{"3": {"class_type": "KSampler", "inputs": {"seed": "{{seed}}"}}}'
          onChange={(e) => {
            setWorkflow(e.target.value);
            setSaved(false);
            setUnsaved(true);
            setProblem(null);
          }}
          data-testid="credential-workflow"
        />
      </label>
      <label className="field">
        <span>…or pick the exported file</span>
        <input type="file" accept=".json,application/json" onChange={(e) => void pick(e)} data-testid="credential-workflow-file" />
      </label>
      <ErrorMessage error={problem ?? save.error} />
      <div className="form-actions">
        <button type="submit" className="button button-small button-primary" disabled={save.isPending} data-testid="credential-config-save">
          Save settings
        </button>
        {saved && (
          <span className="ok-text small" data-testid="credential-config-saved">
            Saved.
          </span>
        )}
      </div>
      <TestConnection credential={credential} unsaved={unsaved} />
    </form>
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
    meta: { inlineError: true },
  });
  const remove = useMutation({ mutationFn: () => api.credentials.remove(project.id, credential.backend), onSettled: refresh, meta: { inlineError: true } });
  const hostBackend = HOST_BACKENDS.has(credential.backend);
  const testable = credential.configured || credential.needs_credentials === false;
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
              · by {personName(credential.updated_by)} {credential.updated_at ? relativeTime(credential.updated_at) : ''}
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
      <ErrorMessage error={put.error ?? remove.error} />
      {hostBackend ? <HostSettings credential={credential} onSaved={refresh} /> : testable && <TestConnection credential={credential} />}
    </li>
  );
}

export function Credentials() {
  const { project } = useProject();
  const creds = useCredentials(project.id, true);
  // Rows that need something from people first: keys, then hosts, then the rest.
  const rank = (c: Credential) => (c.needs_credentials !== false ? 0 : HOST_BACKENDS.has(c.backend) ? 1 : 2);
  const list = [...(creds.data ?? [])].sort((a, b) => rank(a) - rank(b) || a.backend.localeCompare(b.backend));
  return (
    <section className="card" aria-labelledby="creds-h">
      <h2 id="creds-h">Provider keys and hosts</h2>
      <p className="muted small">
        Keys are stored encrypted and never shown again; only the last characters are hinted. “Test connection” asks the provider whether
        the settings work, without generating anything.
      </p>
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
