/** The timeline's side panels, one file each: the shots of an expanded segment (trims,
 * transitions, order), the audio clip inspector, adding audio, and adding a marker. */

export { AddAudio } from './AddAudio';
export { AddMarker } from './AddMarker';
export { ClipInspector } from './ClipInspector';
export { FrameInput } from './FrameInput';
export { SegmentShots } from './SegmentShots';
export { trimClampMessage, TrimInput } from './TrimInput';
export { audioSourceLabel, markerRemovable, SOUND_KIND_LABEL, STATUS_TONE, TRACK_LABEL, TRANSITION_LABEL } from '../labels';
