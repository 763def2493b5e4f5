import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';

import { api } from '../../../api/endpoints';
import type { AudioTrackName, TimelineOp } from '../../../api/types';
import { uploadFile } from '../../../api/upload';
import { formatTimecode, type Rate } from '../../../lib/timecode';
import { reportError } from '../../../state/errors';
import { qk } from '../../../state/keys';
import { useProject } from '../../projects/ProjectContext';
import { audioSourceLabel, SOUND_KIND_LABEL, SOUND_KIND_ORDER } from '../labels';
import { TrackOptions } from './TrackOptions';

/** Place music, narration or effects: from a file (uploaded here) or a sound take (speech,
 * music, a sound effect), offered grouped by kind; picking one moves to the track it suits
 * unless the track was chosen by hand. */
export function AddAudio({ frame, rate, onEdit, onClose }: { frame: number; rate: Rate; onEdit(ops: TimelineOp[], label?: string): void; onClose(): void }) {
  const [track, setTrack] = useState<AudioTrackName>('music');
  const [trackChosen, setTrackChosen] = useState(false);
  const [source, setSource] = useState<'file' | 'take'>('file');
  const [file, setFile] = useState<File | null>(null);
  const [takeId, setTakeId] = useState('');
  const [start, setStart] = useState(frame);
  const [volume, setVolume] = useState(100);
  const [text, setText] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const { project } = useProject();
  const sources = useQuery({
    queryKey: qk.audioSources(project.id),
    queryFn: () => api.projects.audioSources(project.id),
    enabled: source === 'take',
  });
  const pickTake = (id: string) => {
    setTakeId(id);
    const picked = sources.data?.find((s) => s.take === id);
    // A speech take's line becomes the narration clip's subtitle text (still editable).
    if (picked?.text && !text && picked.kind === 'speech') setText(picked.text);
    if (picked && !trackChosen) setTrack(picked.track);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let media = takeId.trim();
    try {
      if (source === 'file') {
        if (!file) return;
        setProgress(0);
        const upload = await uploadFile(file, { project: project.id, onProgress: (p) => setProgress(p.fraction) });
        media = upload.id;
      }
      if (!media) return;
      onEdit(
        [{ op: 'add_audio', track, media, start_frame: Math.max(0, Math.round(start)), volume: volume / 100, fade_in_frames: 0, fade_out_frames: 0, ...(text ? { text } : {}) }],
        'add audio',
      );
      onClose();
    } catch (error) {
      reportError(error);
    } finally {
      setProgress(null);
    }
  };

  return (
    <form className="card form tl-add-audio" onSubmit={submit} aria-label="Add audio" data-testid="audio-add-form">
      <div className="field-row">
        <label className="field narrow">
          <span>Track</span>
          <select
            data-testid="audio-add-track"
            value={track}
            onChange={(e) => {
              setTrack(e.target.value as AudioTrackName);
              setTrackChosen(true);
            }}
          >
            <TrackOptions />
          </select>
        </label>
        <label className="field narrow">
          <span>From</span>
          <select data-testid="audio-add-source" value={source} onChange={(e) => setSource(e.target.value as 'file' | 'take')}>
            <option value="file">A file (upload)</option>
            <option value="take">A sound take (speech, music, effects)</option>
          </select>
        </label>
        {source === 'file' ? (
          <label className="field grow">
            <span>Audio or video file</span>
            <input type="file" accept="audio/*,video/*" data-testid="audio-add-file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          </label>
        ) : (
          <label className="field grow">
            <span>Sound take (speech, music, sound effects)</span>
            <select data-testid="audio-add-take" value={takeId} onChange={(e) => pickTake(e.target.value)} disabled={sources.isLoading}>
              <option value="">
                {sources.isLoading
                  ? 'Loading takes…'
                  : sources.data?.length
                    ? 'Choose a take'
                    : 'No sound takes yet (generate speech, music or a sound effect in a shot)'}
              </option>
              {SOUND_KIND_ORDER.map((kind) => {
                const group = sources.data?.filter((s) => (s.kind ?? 'upload') === kind) ?? [];
                return group.length ? (
                  <optgroup key={kind} label={SOUND_KIND_LABEL[kind]} data-testid={`audio-add-group-${kind}`}>
                    {group.map((s) => (
                      <option key={s.take} value={s.take}>
                        {audioSourceLabel(s)}
                      </option>
                    ))}
                  </optgroup>
                ) : null;
              })}
            </select>
          </label>
        )}
      </div>
      <div className="field-row">
        <label className="field narrow">
          <span>Start (frame)</span>
          <input type="number" min={0} step={1} data-testid="audio-add-start" value={start} onChange={(e) => setStart(Number(e.target.value))} />
          <span className="muted small">{formatTimecode(start, rate)}</span>
        </label>
        <label className="field narrow">
          <span>Volume (%)</span>
          <input type="number" min={0} max={400} step={1} value={volume} onChange={(e) => setVolume(Number(e.target.value))} />
        </label>
        {track === 'narration' && (
          <label className="field grow">
            <span>Text (for subtitles)</span>
            <input value={text} onChange={(e) => setText(e.target.value)} />
          </label>
        )}
      </div>
      <div className="form-actions">
        <button type="submit" className="button button-primary" data-testid="audio-add-submit" disabled={progress !== null || (source === 'file' ? !file : !takeId.trim())}>
          {progress !== null ? `Uploading ${Math.round(progress * 100)}%` : 'Place on the timeline'}
        </button>
        <button type="button" className="button button-ghost" onClick={onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}
