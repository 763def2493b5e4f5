/** Labels the timeline shows (transitions, tracks, sound kinds, segment status tones) and who may remove a marker. */

import type { AudioSource, AudioSourceKind, AudioTrackName, TimelineMarker, TransitionKind } from '../../api/types';

export const TRANSITION_LABEL: Record<TransitionKind, string> = { cut: 'Cut', crossfade: 'Crossfade', fade_black: 'Fade to black' };
export const TRACK_LABEL: Record<AudioTrackName, string> = { music: 'Music', narration: 'Narration', effects: 'Effects' };
/** Sound takes in the audio picker, grouped by what they are. */
export const SOUND_KIND_LABEL: Record<AudioSourceKind, string> = { speech: 'Speech', music: 'Music', sound_effect: 'Sound effects', upload: 'Uploaded sound' };
export const SOUND_KIND_ORDER: AudioSourceKind[] = ['speech', 'music', 'sound_effect', 'upload'];

export function audioSourceLabel(s: AudioSource): string {
  const made = [s.backend, s.voice ? `voice ${s.voice}` : ''].filter(Boolean).join(' · ');
  const text = s.text ? ` — “${s.text.length > 48 ? `${s.text.slice(0, 47)}…` : s.text}”` : '';
  return `Seg ${s.segment.position + 1} · Shot ${s.shot.position + 1} · take ${s.number}${made ? ` · ${made}` : ''}${
    s.duration_seconds ? ` · ${s.duration_seconds.toFixed(1)} s` : ''
  }${text}`;
}

export const STATUS_TONE: Record<string, string> = { open: 'neutral', claimed: 'info', in_review: 'warn', approved: 'ok', locked: 'muted' };

export function markerRemovable(marker: TimelineMarker, username: string, isDirector: boolean): boolean {
  return isDirector || (Boolean(marker.author) && marker.author === username);
}
