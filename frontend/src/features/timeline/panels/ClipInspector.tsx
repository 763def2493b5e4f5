import { useEffect, useState } from 'react';

import type { AudioClip, AudioTrackName, TimelineOp } from '../../../api/types';
import { describeFrames, formatTimecode, type Rate } from '../../../lib/timecode';
import { TRACK_LABEL } from '../labels';
import { FrameInput } from './FrameInput';
import { TrackOptions } from './TrackOptions';

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
