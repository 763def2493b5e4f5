/**
 * Plays the timeline's audio tracks (music, narration, effects) alongside the picture of the
 * cut player: one <audio> element per clip that sounds at the playhead or starts within the
 * preload window, nothing for the rest of the film.
 *
 * It follows a transport (the engine's playhead in seconds) and is told to look again on
 * every change of it (`sync`, called on each reported frame, seek and play-state change) and
 * a few times a second while playing. Each look:
 * - releases the elements of clips that no longer sound nor come soon (the clip ended, a seek
 *   went elsewhere, the timeline changed);
 * - creates the missing ones (src = the clip's file, preload) and parks upcoming ones at 0;
 * - forward playback (1× or faster): plays the sounding ones at the transport's speed,
 *   moving them when they are more than RESYNC_SECONDS from where the playhead says;
 * - paused, stepping, shuttling backwards (J) or while the video stalls for data: pauses
 *   them (and mutes them) at the playhead's position, so a seek repositions them and
 *   playing again starts in place;
 * - sets each element's volume to the clip's gain (volume × fades × ducking) at the playhead.
 */

import { clipGain, PRELOAD_SECONDS, soundingAtSeconds, upcomingAtSeconds, type AudioBed, type BedClip } from './audioBed';
import type { Transport } from './engine';

/** An element further than this from where the playhead says is moved (seconds). */
export const RESYNC_SECONDS = 0.08;
/** While paused the elements are parked closer than this to the playhead. */
const PARK_SECONDS = 0.005;
/** How often the volumes and sync are checked while playing, besides the reported frames (ms). */
const POLL_MS = 250;

interface Voice {
  clip: BedClip;
  el: HTMLAudioElement;
  cleanup: () => void;
}

export class AudioBedPlayer {
  private bed: AudioBed;
  private readonly voices = new Map<string, Voice>();
  private muted = false;
  private destroyed = false;
  private poll: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly container: HTMLElement,
    bed: AudioBed,
    private readonly source: () => Transport,
  ) {
    this.bed = bed;
  }

  /** The elements playing or waiting, by clip id (for tests and debugging). */
  elements(): HTMLAudioElement[] {
    return [...this.voices.values()].map((v) => v.el);
  }

  isMuted(): boolean {
    return this.muted;
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
    this.sync();
  }

  /** A new timeline: elements of clips that are gone or play another file are released. */
  setBed(bed: AudioBed): void {
    if (bed === this.bed) return;
    this.bed = bed;
    const byId = new Map(bed.clips.map((c) => [c.id, c]));
    for (const [id, voice] of this.voices) {
      const clip = byId.get(id);
      // Another file: a new element. The same media under a freshly signed URL keeps playing.
      const sameFile = clip && (clip.mediaId && voice.clip.mediaId ? clip.mediaId === voice.clip.mediaId : clip.src === voice.clip.src);
      if (!sameFile) this.release(id);
      else voice.clip = clip;
    }
    this.sync();
  }

  /** Bring the elements in line with the transport. */
  sync = (): void => {
    if (this.destroyed) return;
    const { seconds: t, playing, speed, stalled } = this.source();
    // While the picture is frozen waiting for data the sound waits too (paused where it is).
    const forward = playing && speed > 0 && !stalled;
    const sounding = soundingAtSeconds(this.bed, t);
    // At 4× the next two seconds of film come in half a second: look further ahead.
    const upcoming = upcomingAtSeconds(this.bed, t, PRELOAD_SECONDS * (forward ? Math.max(1, speed) : 1));
    const wanted = new Set([...sounding.map((s) => s.clip.id), ...upcoming.map((c) => c.id)]);
    for (const id of [...this.voices.keys()]) if (!wanted.has(id)) this.release(id);

    for (const { clip, offset, gain } of sounding) {
      const { el } = this.voice(clip);
      setVolume(el, gain);
      el.muted = this.muted || !forward;
      if (forward) {
        if (el.playbackRate !== speed) el.playbackRate = speed;
        if (el.paused) {
          el.currentTime = offset;
          void el.play()?.catch?.(() => {});
        } else if (Math.abs(el.currentTime - offset) > RESYNC_SECONDS) {
          el.currentTime = offset;
        }
      } else {
        if (!el.paused) el.pause();
        if (Math.abs(el.currentTime - offset) > PARK_SECONDS) el.currentTime = offset;
      }
    }
    for (const clip of upcoming) {
      const { el } = this.voice(clip);
      if (!el.paused) el.pause();
      if (el.currentTime > PARK_SECONDS) el.currentTime = 0;
      setVolume(el, clipGain(this.bed, clip, clip.start));
      el.muted = this.muted || !forward;
    }

    if (playing && speed > 0 && this.voices.size) {
      if (this.poll === null) this.poll = setInterval(this.sync, POLL_MS);
    } else {
      this.stopPoll();
    }
  };

  private voice(clip: BedClip): Voice {
    const existing = this.voices.get(clip.id);
    if (existing) return existing;
    const el = document.createElement('audio');
    el.preload = 'auto';
    el.dataset.clipId = clip.id;
    el.dataset.track = clip.track;
    el.src = clip.src;
    // Once it can seek, put it where the playhead is now (a seek before the metadata may be lost).
    const onMeta = () => this.sync();
    el.addEventListener('loadedmetadata', onMeta);
    this.container.appendChild(el);
    const voice: Voice = { clip, el, cleanup: () => el.removeEventListener('loadedmetadata', onMeta) };
    this.voices.set(clip.id, voice);
    return voice;
  }

  private release(id: string): void {
    const voice = this.voices.get(id);
    if (!voice) return;
    this.voices.delete(id);
    voice.cleanup();
    const { el } = voice;
    if (!el.paused) el.pause();
    // Drop the file so the browser frees the decoder and stops fetching.
    el.removeAttribute('src');
    try {
      el.load();
    } catch {
      /* not every environment implements load() */
    }
    el.remove();
  }

  private stopPoll(): void {
    if (this.poll !== null) clearInterval(this.poll);
    this.poll = null;
  }

  /** Playback stopped for good (the player is going away): release every element. */
  destroy(): void {
    this.destroyed = true;
    this.stopPoll();
    for (const id of [...this.voices.keys()]) this.release(id);
  }
}

function setVolume(el: HTMLAudioElement, gain: number): void {
  // HTMLMediaElement.volume throws outside [0, 1]; the bed already clamps, this keeps it so.
  const v = Math.min(1, Math.max(0, gain));
  if (Math.abs(el.volume - v) > 1e-3) el.volume = v;
}
