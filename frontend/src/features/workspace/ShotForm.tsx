import { useState, type FormEvent } from 'react';

import { PromptField } from '../../components/PromptField';
import { framesToSeconds } from '../../lib/timecode';
import { useReferences } from '../../state/queries';
import { useProject } from '../projects/ProjectContext';

export interface ShotFormValues {
  title: string;
  prompt: string;
  duration_frames: number;
}

/** Title, prompt (with @reference completion) and duration in frames — for new and existing shots. */
export function ShotForm({
  initial,
  submitLabel,
  pending,
  onSubmit,
  onCancel,
}: {
  initial: ShotFormValues;
  submitLabel: string;
  pending: boolean;
  onSubmit: (values: ShotFormValues) => void;
  onCancel: () => void;
}) {
  const { project, rate } = useProject();
  const references = useReferences(project.id);
  const [title, setTitle] = useState(initial.title);
  const [prompt, setPrompt] = useState(initial.prompt);
  const [duration, setDuration] = useState(String(initial.duration_frames));
  const frames = parseInt(duration, 10);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit({ title: title.trim(), prompt, duration_frames: frames });
  };

  return (
    <form className="form shot-form" onSubmit={submit} onKeyDown={(e) => e.key === 'Escape' && onCancel()}>
      <div className="field-row">
        <label className="field grow">
          <span>Title</span>
          <input data-testid="shot-title" value={title} autoFocus onChange={(e) => setTitle(e.target.value)} placeholder="Wide: the lighthouse at dusk" />
        </label>
        <label className="field narrow">
          <span>Duration (frames)</span>
          <input
            data-testid="shot-duration"
            type="number"
            min={1}
            required
            value={duration}
            onChange={(e) => setDuration(e.target.value)}
          />
          <small className="muted">{Number.isFinite(frames) && frames > 0 ? `${framesToSeconds(frames, rate).toFixed(2)} s at ${project.fps} fps` : ' '}</small>
        </label>
      </div>
      <PromptField label="Prompt" testId="shot-prompt" value={prompt} onChange={setPrompt} references={references.data ?? []} />
      <div className="form-actions">
        <button type="submit" className="button button-primary" data-testid="shot-save" disabled={pending}>
          {pending ? 'Saving…' : submitLabel}
        </button>
        <button type="button" className="button button-ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
