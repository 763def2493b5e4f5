/** The timeline's side panels: the shots of an expanded segment (trims, transitions, order),
 * the audio clip inspector, adding audio, and markers. */

import { useQuery } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent, type KeyboardEvent } from 'react';

import type { AudioClip, AudioSource, AudioSourceKind, AudioTrackName, TimelineMarker, TimelineOp, TransitionKind } from '../../api/types';
import { AUDIO_TRACKS, TRANSITION_KINDS } from '../../api/types';
import { api } from '../../api/endpoints';
import { uploadFile } from '../../api/upload';
import { Badge } from '../../components/States';
import { label, SEGMENT_STATUS_LABEL } from '../../lib/format';
import { describeFrames, formatTimecode, timecodeBase, type Rate } from '../../lib/timecode';
import { reportError } from '../../state/errors';
import { qk } from '../../state/keys';
import { useProject } from '../projects/ProjectContext';
import { clampTrim, trimLimit, type SegmentLayout } from './model';

export const TRANSITION_LABEL: Record<TransitionKind, string> = { cut: 'Cut', crossfade: 'Crossfade', fade_black: 'Fade to black' };
export const TRACK_LABEL: Record<AudioTrackName, string> = { music: 'Music', narration: 'Narration', effects: 'Effects' };
/** Sound takes in the audio picker, grouped by what they are. */
export const SOUND_KIND_LABEL: Record<AudioSourceKind, string> = { speech: 'Speech', music: 'Music', sound_effect: 'Sound effects', upload: 'Uploaded sound' };
const SOUND_KIND_ORDER: AudioSourceKind[] = ['speech', 'music', 'sound_effect', 'upload'];

export function audioSourceLabel(s: AudioSource): string {
  const made = [s.backend, s.voice ? `voice ${s.voice}` : ''].filter(Boolean).join(' · ');
  const text = s.text ? ` — “${s.text.length > 48 ? `${s.text.slice(0, 47)}…` : s.text}”` : '';
  return `Seg ${s.segment.position + 1} · Shot ${s.shot.position + 1} · take ${s.number}${made ? ` · ${made}` : ''}${
    s.duration_seconds ? ` · ${s.duration_seconds.toFixed(1)} s` : ''
  }${text}`;
}

export const STATUS_TONE: Record<string, string> = { open: 'neutral', claimed: 'info', in_review: 'warn', approved: 'ok', locked: 'muted' };

/** A whole-number field that applies on Enter or when it loses focus (Escape puts it back). */
export function FrameInput({
  value,
  onCommit,
  testId,
  label: ariaLabel,
  disabled,
  min = 0,
  max,
  className = 'frame-input',
}: {
  value: number;
  onCommit(value: number): void;
  testId?: string;
  label: string;
  disabled?: boolean;
  min?: number;
  max?: number;
  className?: string;
}) {
  const [draft, setDraft] = useState(String(value));
  useEffect(() => setDraft(String(value)), [value]);
  const commit = () => {
    const n = Number(draft);
    if (draft.trim() === '' || !Number.isFinite(n)) {
      setDraft(String(value));
      return;
    }
    const whole = Math.round(n);
    if (whole !== value) onCommit(whole);
    else setDraft(String(value));
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      commit();
    } else if (e.key === 'Escape') {
      setDraft(String(value));
      (e.target as HTMLInputElement).blur();
    }
  };
  return (
    <input
      type="number"
      inputMode="numeric"
      className={className}
      data-testid={testId}
      aria-label={ariaLabel}
      value={draft}
      min={min}
      max={max}
      step={1}
      disabled={disabled}
      onChange={(e) => setDraft(e.target.value)}
      onBlur={commit}
      onKeyDown={onKeyDown}
    />
  );
}

type Trim = { in_frame: number; out_frame: number };

/** Why a typed in/out point cannot be used as typed, and what would be used instead; null
 * when it can be used as typed. */
export function trimClampMessage(edge: 'in' | 'out', typed: number, current: Trim, applied: Trim, limit: number | null, hasTake: boolean): string | null {
  const parts: string[] = [];
  const got = edge === 'in' ? applied.in_frame : applied.out_frame;
  if (got !== typed) {
    const ceiling = limit !== null && typed > got;
    parts.push(
      ceiling
        ? `${hasTake ? 'The take' : 'The shot'} has only ${limit} frames; the ${edge} point will be ${got}.`
        : `The ${edge} point cannot be ${typed}; it will be ${got}.`,
    );
  }
  const other = edge === 'in' ? 'out' : 'in';
  const before = edge === 'in' ? current.out_frame : current.in_frame;
  const after = edge === 'in' ? applied.out_frame : applied.in_frame;
  if (after !== before) parts.push(`The ${other} point will move from ${before} to ${after}, so that the shot keeps at least one frame.`);
  return parts.length ? parts.join(' ') : null;
}

/** An in or out point. A value that has to be clamped (past the take's last frame, before
 * the other point) is not applied silently: what was typed stays visible with what would be
 * used instead, and applies only when confirmed. */
export function TrimInput({
  shotId,
  edge,
  current,
  limit,
  hasTake,
  label: ariaLabel,
  disabled,
  onApply,
}: {
  shotId: string;
  edge: 'in' | 'out';
  current: Trim;
  limit: number | null;
  hasTake: boolean;
  label: string;
  disabled?: boolean;
  onApply(trim: Trim): void;
}) {
  const value = edge === 'in' ? current.in_frame : current.out_frame;
  const [draft, setDraft] = useState(String(value));
  const [pending, setPending] = useState<{ trim: Trim; message: string } | null>(null);
  useEffect(() => {
    setDraft(String(value));
    setPending(null);
  }, [value]);
  const changed = (t: Trim) => t.in_frame !== current.in_frame || t.out_frame !== current.out_frame;
  const commit = () => {
    const n = Number(draft);
    if (draft.trim() === '' || !Number.isFinite(n)) {
      setDraft(String(value));
      setPending(null);
      return;
    }
    const typed = Math.round(n);
    const trim = clampTrim(edge === 'in' ? typed : current.in_frame, edge === 'out' ? typed : current.out_frame, limit, edge);
    const message = trimClampMessage(edge, typed, current, trim, limit, hasTake);
    if (message) {
      setPending({ trim, message });
      return;
    }
    setPending(null);
    if (changed(trim)) onApply(trim);
    else setDraft(String(value));
  };
  const confirm = () => {
    if (!pending) return;
    const { trim } = pending;
    setPending(null);
    setDraft(String(edge === 'in' ? trim.in_frame : trim.out_frame));
    if (changed(trim)) onApply(trim);
  };
  const cancel = () => {
    setPending(null);
    setDraft(String(value));
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      commit();
    } else if (e.key === 'Escape') {
      cancel();
      (e.target as HTMLInputElement).blur();
    }
  };
  const noteId = `trim-clamp-${edge}-${shotId}`;
  const applied = pending ? (edge === 'in' ? pending.trim.in_frame : pending.trim.out_frame) : null;
  return (
    <div className="trim-field">
      <input
        type="number"
        inputMode="numeric"
        className="frame-input"
        data-testid={`trim-${edge}-${shotId}`}
        aria-label={ariaLabel}
        aria-invalid={pending ? true : undefined}
        aria-describedby={pending ? noteId : undefined}
        value={draft}
        min={edge === 'in' ? 0 : 1}
        step={1}
        disabled={disabled}
        onChange={(e) => {
          setDraft(e.target.value);
          setPending(null);
        }}
        onBlur={commit}
        onKeyDown={onKeyDown}
      />
      {pending && (
        <div className="trim-clamp small" role="status" id={noteId} data-testid={noteId}>
          <span>{pending.message}</span>
          <span className="row gap-s">
            <button type="button" className="button button-small button-primary" data-testid={`trim-clamp-apply-${edge}-${shotId}`} onClick={confirm}>
              Use {applied}
            </button>
            <button type="button" className="button button-small button-ghost" data-testid={`trim-clamp-cancel-${edge}-${shotId}`} onClick={cancel}>
              Cancel
            </button>
          </span>
        </div>
      )}
    </div>
  );
}

/** The shots of one segment, in order, with their trims, transitions and order buttons. */
export function SegmentShots({
  seg,
  rate,
  editable,
  selectedShot,
  onSelectShot,
  onEdit,
  onClose,
}: {
  seg: SegmentLayout;
  rate: Rate;
  editable: boolean;
  selectedShot: string | null;
  onSelectShot(shotId: string, frame: number): void;
  onEdit(ops: TimelineOp[], label?: string): void;
  onClose(): void;
}) {
  const { segment, shots } = seg;
  const halfSecond = Math.max(1, Math.round(timecodeBase(rate) / 2));
  return (
    <section className="card tl-shots-panel" aria-label={`Shots of ${segment.title}`} data-testid={`segment-shots-${segment.id}`}>
      <div className="tl-panel-head">
        <h2>
          {segment.position + 1}. {segment.title}
        </h2>
        <Badge tone={STATUS_TONE[segment.status]}>{label(SEGMENT_STATUS_LABEL, segment.status)}</Badge>
        <span className="muted small">
          {segment.owner ? `Owner ${segment.owner.username}` : 'Unclaimed'} · {formatTimecode(seg.start, rate)} · {describeFrames(seg.end - seg.start, rate)}
        </span>
        {!editable && <span className="muted small">Read only: only the segment's owner or the director edits its shots.</span>}
        <button type="button" className="button button-small button-ghost tl-panel-close" onClick={onClose}>
          Collapse
        </button>
      </div>
      {shots.length === 0 ? (
        <p className="muted">This segment has no shots yet.</p>
      ) : (
        <table className="table tl-shot-table">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Shot</th>
              <th scope="col">In</th>
              <th scope="col">Out</th>
              <th scope="col">Length</th>
              <th scope="col">Transition in</th>
              <th scope="col">
                <span className="visually-hidden">Order</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shots.map((layout, index) => {
              const { shot } = layout;
              const limit = trimLimit(shot);
              const transition = shot.transition ?? { kind: 'cut' as TransitionKind, frames: 0 };
              const trim = (t: Trim) => onEdit([{ op: 'trim', shot: shot.id, ...t }], 'trim');
              return (
                <tr key={shot.id} className={selectedShot === shot.id ? 'selected' : undefined} data-testid={`shot-row-${shot.id}`}>
                  <td className="cell-pos">{index + 1}</td>
                  <td>
                    <button type="button" className="link-like" onClick={() => onSelectShot(shot.id, layout.start)}>
                      {shot.title || `Shot ${index + 1}`}
                    </button>
                    <div className="muted small">
                      {shot.take ? `Take ${shot.take.number}${shot.take.author ? ` · ${shot.take.author}` : ''}` : 'No pick yet (slate)'}
                      {limit !== null && ` · ${limit} frames available`}
                    </div>
                  </td>
                  <td>
                    <TrimInput
                      shotId={shot.id}
                      edge="in"
                      current={{ in_frame: shot.in_frame, out_frame: shot.out_frame }}
                      limit={limit}
                      hasTake={Boolean(shot.take)}
                      label={`In point of ${shot.title || `shot ${index + 1}`} (frame)`}
                      disabled={!editable}
                      onApply={trim}
                    />
                  </td>
                  <td>
                    <TrimInput
                      shotId={shot.id}
                      edge="out"
                      current={{ in_frame: shot.in_frame, out_frame: shot.out_frame }}
                      limit={limit}
                      hasTake={Boolean(shot.take)}
                      label={`Out point of ${shot.title || `shot ${index + 1}`} (frame)`}
                      disabled={!editable}
                      onApply={trim}
                    />
                  </td>
                  <td className="small">
                    {layout.end - layout.start} fr
                    <div className="muted">{formatTimecode(layout.end - layout.start, rate)}</div>
                  </td>
                  <td>
                    <div className="tl-transition">
                      <select
                        className="select-small"
                        data-testid={`transition-${shot.id}`}
                        aria-label={`Transition into ${shot.title || `shot ${index + 1}`}`}
                        value={transition.kind}
                        disabled={!editable}
                        onChange={(e) => {
                          const kind = e.target.value as TransitionKind;
                          onEdit([{ op: 'transition', shot: shot.id, kind, frames: kind === 'cut' ? 0 : transition.frames || halfSecond }], 'transition');
                        }}
                      >
                        {TRANSITION_KINDS.map((k) => (
                          <option key={k} value={k}>
                            {TRANSITION_LABEL[k]}
                          </option>
                        ))}
                      </select>
                      <FrameInput
                        value={transition.kind === 'cut' ? 0 : transition.frames}
                        testId={`transition-frames-${shot.id}`}
                        label={`Transition frames into ${shot.title || `shot ${index + 1}`}`}
                        disabled={!editable || transition.kind === 'cut'}
                        min={1}
                        onCommit={(v) => onEdit([{ op: 'transition', shot: shot.id, kind: transition.kind, frames: Math.max(1, v) }], 'transition')}
                      />
                    </div>
                  </td>
                  <td className="cell-actions">
                    <button
                      type="button"
                      className="icon-button"
                      data-testid={`shot-move-left-${shot.id}`}
                      aria-label={`Move ${shot.title || `shot ${index + 1}`} earlier`}
                      disabled={!editable || index === 0}
                      onClick={() => onEdit([{ op: 'move_shot', shot: shot.id, position: index - 1 }], 'move shot')}
                    >
                      ←
                    </button>
                    <button
                      type="button"
                      className="icon-button"
                      data-testid={`shot-move-right-${shot.id}`}
                      aria-label={`Move ${shot.title || `shot ${index + 1}`} later`}
                      disabled={!editable || index === shots.length - 1}
                      onClick={() => onEdit([{ op: 'move_shot', shot: shot.id, position: index + 1 }], 'move shot')}
                    >
                      →
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Volume, fades, start and text of one audio clip. */
export function ClipInspector({
  clip,
  rate,
  editable,
  onEdit,
  onClose,
}: {
  clip: AudioClip;
  rate: Rate;
  editable: boolean;
  onEdit(ops: TimelineOp[], label?: string): void;
  onClose(): void;
}) {
  const update = (fields: Partial<AudioClip>) => onEdit([{ op: 'update_audio', clip: clip.id, ...fields } as TimelineOp], 'audio change');
  const [text, setText] = useState(clip.text ?? '');
  useEffect(() => setText(clip.text ?? ''), [clip.text]);
  return (
    <section className="card tl-clip-panel" aria-label="Audio clip" data-testid={`audio-clip-panel-${clip.id}`}>
      <div className="tl-panel-head">
        <h2>{clip.media?.original_name || TRACK_LABEL[clip.track]}</h2>
        <span className="muted small">
          {TRACK_LABEL[clip.track]} · starts {formatTimecode(clip.start_frame, rate)}
          {clip.length_frames ? ` · ${describeFrames(clip.length_frames, rate)}` : ' · length not known yet'}
        </span>
        <button type="button" className="button button-small button-ghost tl-panel-close" onClick={onClose}>
          Close
        </button>
      </div>
      <div className="field-row tl-clip-fields">
        <label className="field narrow">
          <span>Track</span>
          <select
            className="select-small"
            data-testid={`audio-track-select-${clip.id}`}
            value={clip.track}
            disabled={!editable}
            onChange={(e) => update({ track: e.target.value as AudioTrackName })}
          >
            <TrackOptions />
          </select>
        </label>
        <label className="field narrow">
          <span>Start (frame)</span>
          <FrameInput value={clip.start_frame} testId={`audio-start-${clip.id}`} label="Start frame" disabled={!editable} onCommit={(v) => update({ start_frame: Math.max(0, v) })} />
        </label>
        <label className="field narrow">
          <span>Volume (%)</span>
          <FrameInput
            value={Math.round(clip.volume * 100)}
            testId={`audio-volume-${clip.id}`}
            label="Volume in percent"
            disabled={!editable}
            max={400}
            onCommit={(v) => update({ volume: Math.min(400, Math.max(0, v)) / 100 })}
          />
        </label>
        <label className="field narrow">
          <span>Fade in (frames)</span>
          <FrameInput value={clip.fade_in_frames} testId={`audio-fade-in-${clip.id}`} label="Fade in frames" disabled={!editable} onCommit={(v) => update({ fade_in_frames: Math.max(0, v) })} />
        </label>
        <label className="field narrow">
          <span>Fade out (frames)</span>
          <FrameInput value={clip.fade_out_frames} testId={`audio-fade-out-${clip.id}`} label="Fade out frames" disabled={!editable} onCommit={(v) => update({ fade_out_frames: Math.max(0, v) })} />
        </label>
      </div>
      {clip.track === 'narration' && (
        <label className="field">
          <span>Text (for subtitles)</span>
          <input value={text} disabled={!editable} onChange={(e) => setText(e.target.value)} onBlur={() => text !== (clip.text ?? '') && update({ text })} />
        </label>
      )}
      {editable && (
        <div className="form-actions">
          <button type="button" className="button button-small button-danger" data-testid={`audio-remove-${clip.id}`} onClick={() => { onEdit([{ op: 'remove_audio', clip: clip.id }], 'remove audio'); onClose(); }}>
            Remove from the timeline
          </button>
        </div>
      )}
    </section>
  );
}

/** The audio tracks as the options of a select. */
function TrackOptions() {
  return (
    <>
      {AUDIO_TRACKS.map((t) => (
        <option key={t} value={t}>
          {TRACK_LABEL[t]}
        </option>
      ))}
    </>
  );
}

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

/** A marker at the playhead. */
export function AddMarker({ frame, rate, onEdit, onClose }: { frame: number; rate: Rate; onEdit(ops: TimelineOp[], label?: string): void; onClose(): void }) {
  const [text, setText] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    onEdit([{ op: 'add_marker', frame, label: text.trim() }], 'add marker');
    onClose();
  };
  return (
    <form className="tl-add-marker inline-field" onSubmit={submit} aria-label="Add marker">
      <span className="muted small">Marker at {formatTimecode(frame, rate)}</span>
      <input autoFocus data-testid="marker-label" value={text} onChange={(e) => setText(e.target.value)} placeholder="Label" maxLength={200} />
      <button type="submit" className="button button-small button-primary" data-testid="marker-add-submit">
        Add
      </button>
      <button type="button" className="button button-small button-ghost" onClick={onClose}>
        Cancel
      </button>
    </form>
  );
}

export function markerRemovable(marker: TimelineMarker, username: string, isDirector: boolean): boolean {
  return isDirector || (Boolean(marker.author) && marker.author === username);
}
