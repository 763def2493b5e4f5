import type { PointerEvent as ReactPointerEvent } from 'react';

import type { Timeline } from '../../../api/types';
import type { Rate } from '../../../lib/timecode';
import { TRACK_LABEL } from '../labels';
import { audioTracks } from '../model';
import { ClipBlock } from './ClipBlock';

/** One lane per audio track (music, narration, effects) with its clips and their waveforms. */
export function AudioLanes({
  timeline,
  ppf,
  rate,
  width,
  waveforms,
  selectedClip,
  editable,
  onSelect,
  onClipPointerDown,
}: {
  timeline: Timeline;
  ppf: number;
  rate: Rate;
  width: number;
  waveforms: Map<string, number[]>;
  selectedClip: string | null;
  editable: boolean;
  onSelect(clipId: string): void;
  onClipPointerDown(e: ReactPointerEvent, clipId: string): void;
}) {
  return (
    <>
      {audioTracks(timeline).map(({ track, clips }) => (
        <div key={track} className="tl-row tl-audio-row">
          <div className="tl-label">{TRACK_LABEL[track]}</div>
          <div className="tl-lane tl-audio" data-testid={`audio-track-${track}`} style={{ width }}>
            {clips.map((clip) => (
              <ClipBlock
                key={clip.id}
                clip={clip}
                ppf={ppf}
                rate={rate}
                peaks={clip.media ? waveforms.get(clip.media.id) : undefined}
                selected={selectedClip === clip.id}
                editable={editable}
                onSelect={() => onSelect(clip.id)}
                onPointerDown={(e) => editable && onClipPointerDown(e, clip.id)}
              />
            ))}
          </div>
        </div>
      ))}
    </>
  );
}
