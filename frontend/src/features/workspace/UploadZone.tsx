import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState, type DragEvent, type ReactNode } from 'react';

import { errorSentence } from '../../api/client';
import { api } from '../../api/endpoints';
import type { Take } from '../../api/types';
import { uploadFile } from '../../api/upload';
import { ProgressBar } from '../../components/States';
import { qk } from '../../state/keys';
import { useProject } from '../projects/ProjectContext';

interface UploadRow {
  key: number;
  name: string;
  fraction: number;
  stage: 'uploading' | 'finishing' | 'failed';
  controller: AbortController;
  /** Why it failed, shown on the file's row (not only in the page banner). */
  error?: string;
}

let nextKey = 1;

/**
 * Drop video files on a shot (or choose them) to add takes: each file goes straight to
 * storage with a progress bar, then becomes a take that is processed on the server.
 */
export function UploadZone({ shotId, children }: { shotId: string; children?: ReactNode }) {
  const qc = useQueryClient();
  const { project } = useProject();
  const [rows, setRows] = useState<UploadRow[]>([]);
  const [over, setOver] = useState(false);
  const inputId = useId();
  const mounted = useRef(true);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const update = (key: number, patch: Partial<UploadRow>) =>
    mounted.current && setRows((list) => list.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  const remove = (key: number) => mounted.current && setRows((list) => list.filter((r) => r.key !== key));

  const start = (file: File) => {
    const key = nextKey++;
    const controller = new AbortController();
    setRows((list) => [...list, { key, name: file.name, fraction: 0, stage: 'uploading', controller }]);
    void (async () => {
      try {
        const upload = await uploadFile(file, {
          project: project.id,
          signal: controller.signal,
          onProgress: (p) => update(key, { fraction: p.fraction }),
        });
        update(key, { stage: 'finishing', fraction: 1 });
        const take = await api.takes.fromUpload(shotId, upload.id);
        qc.setQueryData<Take[]>(qk.takes(project.id, shotId), (list) =>
          list ? (list.some((t) => t.id === take.id) ? list : [...list, take]) : list,
        );
        void qc.invalidateQueries({ queryKey: qk.takes(project.id, shotId) });
        remove(key);
      } catch (error) {
        if (error instanceof DOMException && error.name === 'AbortError') remove(key);
        else update(key, { stage: 'failed', error: errorSentence(error) });
      }
    })();
  };

  const onFiles = (files: FileList | null) => {
    if (!files) return;
    Array.from(files).forEach(start);
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    onFiles(event.dataTransfer.files);
  };

  return (
    <div
      className={`upload-zone${over ? ' drag-over' : ''}`}
      onDragOver={(e) => {
        if (Array.from(e.dataTransfer.types).includes('Files')) {
          e.preventDefault();
          setOver(true);
        }
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      {children}
      <div className="upload-hint">
        <input
          id={inputId}
          type="file"
          accept="video/*"
          multiple
          className="visually-hidden"
          data-testid="take-upload-input"
          onChange={(e) => {
            onFiles(e.target.files);
            e.target.value = '';
          }}
        />
        <label htmlFor={inputId} className="upload-label">
          <span aria-hidden="true">⤒</span> Drop video files here or <span className="link-like">choose files</span>
        </label>
      </div>
      {rows.map((row) =>
        row.stage === 'failed' ? (
          <div key={row.key} className="upload-row" data-testid="upload-error" role="alert">
            <span className="take-error small">
              {row.name}: {row.error}
            </span>
            <button type="button" className="link-button small" onClick={() => remove(row.key)}>
              Dismiss
            </button>
          </div>
        ) : (
          <div key={row.key} className="upload-row" data-testid="upload-progress">
            <span className="upload-name small">
              {row.stage === 'finishing' ? 'Creating take…' : `Uploading ${row.name}`} · {Math.round(row.fraction * 100)}%
            </span>
            <ProgressBar value={row.fraction * 100} label={`Uploading ${row.name}`} />
            {row.stage === 'uploading' && (
              <button type="button" className="link-button small" onClick={() => row.controller.abort()}>
                Cancel
              </button>
            )}
          </div>
        ),
      )}
    </div>
  );
}

