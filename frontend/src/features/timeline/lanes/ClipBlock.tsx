import { useMemo, type PointerEvent as ReactPointerEvent } from 'react';

import type { AudioClip } from '../../../api/types';
import { formatTimecode, type Rate } from '../../../lib/timecode';
import { TRACK_LABEL } from '../labels';
import { clipFrames, frameToX, waveformBars } from '../model';

function Waveform({ peaks, width }: { peaks: number[] | undefined; width: number }) {
  const bars = useMemo(() => waveformBars(peaks ?? [], Math.min(2000, Math.max(1, Math.floor(width / 3)))), [peaks, width]);
  if (!bars.length) return null;
  const w = 100 / bars.length;
  return (
    <svg className="tl-waveform" viewBox="0 0 100 100" preserveAspectRatio="none" aria-hidden="true">
      {bars.map((b, i) => (
        <rect key={i} x={i * w} y={50 - b * 48} width={Math.max(w * 0.7, 0.2)} height={Math.max(1, b * 96)} />
      ))}
    </svg>
  );
}

/** One audio clip: its waveform, fades and name; dragged sideways to move it (managers). */
export function ClipBlock({
  clip,
  ppf,
  rate,
  peaks,
  selected,
  editable,
  onSelect,
  onPointerDown,
}: {
  clip: AudioClip;
  ppf: number;
  rate: Rate;
  peaks: number[] | undefined;
  selected: boolean;
  editable: boolean;
  onSelect(): void;
  onPointerDown(e: ReactPointerEvent): void;
}) {
  const frames = clipFrames(clip, rate);
  const width = Math.max(4, frameToX(frames, ppf));
  const name = clip.media?.original_name || clip.text || TRACK_LABEL[clip.track];
  return (
    <div
      className={`tl-clip track-${clip.track}${selected ? ' selected' : ''}${editable ? ' editable' : ''}${clip.length_frames ? '' : ' unknown-length'}`}
      data-testid={`audio-clip-${clip.id}`}
      data-start={clip.start_frame}
      data-track={clip.track}
      style={{ left: frameToX(clip.start_frame, ppf), width }}
      title={`${name} · ${formatTimecode(clip.start_frame, rate)} · volume ${Math.round(clip.volume * 100)}%`}
      onPointerDown={onPointerDown}
      onClick={onSelect}
      role="button"
      tabIndex={0}
      onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && onSelect()}
    >
      <Waveform peaks={peaks} width={width} />
      {clip.fade_in_frames > 0 && <span className="tl-fade in" style={{ width: Math.min(width, frameToX(clip.fade_in_frames, ppf)) }} />}
      {clip.fade_out_frames > 0 && <span className="tl-fade out" style={{ width: Math.min(width, frameToX(clip.fade_out_frames, ppf)) }} />}
      <span className="tl-clip-name">{name}</span>
    </div>
  );
}
