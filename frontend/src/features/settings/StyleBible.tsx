import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';

import { api } from '../../api/endpoints';
import type { ReferenceKind } from '../../api/types';
import { uploadFile } from '../../api/upload';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Badge, Loading, ProgressBar } from '../../components/States';
import { qk } from '../../state/keys';
import { useReferences } from '../../state/queries';
import { useMe } from '../auth/session';
import { personName } from '../projects/people';
import { useProject } from '../projects/ProjectContext';

const KINDS: ReferenceKind[] = ['character', 'location', 'style', 'prop'];

export function StyleBible({ manage }: { manage: boolean }) {
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
          const upload = await uploadFile(file, { project: project.id, onProgress: (p) => setProgress(p.fraction * 100) });
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
    meta: { inlineError: true },
  });
  const remove = useMutation({ mutationFn: (id: string) => api.references.remove(project.id, id), onSettled: refresh, meta: { inlineError: true } });
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
      <ErrorMessage error={remove.error} />
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
          <ErrorMessage error={create.error} />
          <div className="form-actions">
            <button type="submit" className="button" disabled={create.isPending}>
              Add reference
            </button>
            <span className="muted small">{personName(me)} will be its author.</span>
          </div>
        </form>
      )}
    </section>
  );
}
