import { AUDIO_TRACKS } from '../../../api/types';
import { TRACK_LABEL } from '../labels';

/** The audio tracks as the options of a select. */
export function TrackOptions() {
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
