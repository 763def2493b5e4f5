/**
 * The transport of the cut: two <video> elements that take turns. The one on screen plays
 * while the other already holds the next clip's proxy, seeked to its in point; at the join
 * the hidden one starts and is shown (by a data attribute, never by changing the src of the
 * playing element), and the one that finished loads the clip after. Slates (shots without a
 * playable pick) are timed by a clock. The playhead is read from the playing video's
 * currentTime on every animation frame.
 *
 * Transitions are drawn as the export renders them (schedule.ts `layersAt`): during the
 * overlap of a crossfade the hidden video already plays the incoming clip over the one on
 * screen (`data-over`, its opacity ramping up, kept in step with the playhead), and at the
 * end of the overlap it simply becomes the clip on screen while the outgoing one stops;
 * fade_black sets the opacity of the video on screen over the black screen. Each video's
 * volume follows its layer's gain.
 *
 * Kept outside React so a join is a couple of DOM writes, not a render.
 */

import {
  clampToCut,
  clipIndexAt,
  clipOutSeconds,
  entrySeekTime,
  frameAtSourceTime,
  layersAt,
  locateInClip,
  nextVideoClip,
  type Clip,
  type Layer,
  type Schedule,
} from './schedule';

export const SPEEDS = [1, 2, 4, 8];

export interface EngineState {
  frame: number;
  playing: boolean;
  /** playback speed; negative while shuttling backwards (J) */
  speed: number;
  /** the clip on screen (-1 for an empty cut) */
  clipIndex: number;
  /** the clip shows a slate (no pick, or its proxy failed to load) */
  slate: boolean;
  /** clips whose proxy failed to load: shown as slates */
  broken: number[];
}

/** Where playback is, finer than a frame: what the audio tracks follow. */
export interface Transport {
  /** timeline seconds (between frames while playing) */
  seconds: number;
  frame: number;
  playing: boolean;
  speed: number;
  /** playing forward but the video on screen is waiting for data: the picture is frozen */
  stalled: boolean;
}

interface Slot {
  video: HTMLVideoElement;
  clip: number | null;
  src: string | null;
  /** a seek to apply once the metadata is there */
  pending: number | null;
  /** the video fired `waiting` (out of data) and has not played since */
  waiting: boolean;
}

type Scheduler = {
  now: () => number;
  requestFrame: (cb: () => void) => number;
  cancelFrame: (id: number) => void;
};

const defaultScheduler: Scheduler = {
  now: () => (typeof performance !== 'undefined' ? performance.now() : Date.now()),
  requestFrame: (cb) => requestAnimationFrame(() => cb()),
  cancelFrame: (id) => cancelAnimationFrame(id),
};

/** Seconds of real time before a join at which a timer takes over from the animation frames. */
const JOIN_LOOKAHEAD = 0.1;

/** Frames the incoming video of a crossfade may drift from the playhead before it is re-seeked. */
const OVER_TOLERANCE = 2;

export class CutEngine {
  private schedule: Schedule;
  private readonly slots: [Slot, Slot];
  private active: 0 | 1 = 0;
  private clip = -1;
  private frame = 0;
  private playing = false;
  private speed = 1;
  private broken = new Set<number>();
  private raf: number | null = null;
  private joinTimer: ReturnType<typeof setTimeout> | null = null;
  private reverseTimer: ReturnType<typeof setInterval> | null = null;
  /** the clock of a slate: at real time t0 (ms) the playhead was at f0 */
  private clock: { t0: number; f0: number } | null = null;
  private readonly cleanups: Array<() => void> = [];
  private destroyed = false;

  constructor(
    videos: [HTMLVideoElement, HTMLVideoElement],
    schedule: Schedule,
    private readonly onState: (state: EngineState) => void,
    private readonly onFrame: (frame: number) => void,
    private readonly scheduler: Scheduler = defaultScheduler,
  ) {
    this.schedule = schedule;
    this.slots = [this.makeSlot(videos[0], 0), this.makeSlot(videos[1], 1)];
  }

  private makeSlot(video: HTMLVideoElement, index: 0 | 1): Slot {
    const slot: Slot = { video, clip: null, src: null, pending: null, waiting: false };
    video.preload = 'auto';
    video.playsInline = true;
    video.dataset.active = 'false';
    const onMeta = () => {
      if (slot.pending !== null) {
        video.currentTime = slot.pending;
        slot.pending = null;
      }
    };
    const onTick = () => {
      if (this.active === index) this.tick();
    };
    const onEnded = () => {
      if (this.active === index && this.playing && this.speed > 0 && slot.clip === this.clip) this.join(this.clip);
    };
    const onError = () => {
      if (slot.clip === null || !slot.src) return;
      // A proxy that cannot be played is shown as a slate for its frames; the cut goes on.
      const failed = slot.clip;
      this.broken.add(failed);
      slot.clip = null;
      slot.src = null;
      if (failed === this.clip) this.enter(failed, this.frame, this.playing);
      else {
        this.paint(); // a crossfade into it is a cut now
        this.emit();
      }
    };
    // A stall freezes the picture; the audio tracks wait with it (see transport()).
    const onWaiting = () => {
      slot.waiting = true;
      if (this.active === index) this.emit();
    };
    const onPlaying = () => {
      if (!slot.waiting) return;
      slot.waiting = false;
      if (this.active === index) this.emit();
    };
    const listeners: Array<[string, () => void]> = [
      ['waiting', onWaiting],
      ['playing', onPlaying],
      ['loadedmetadata', onMeta],
      ['timeupdate', onTick],
      ['seeked', onTick],
      ['ended', onEnded],
      ['error', onError],
    ];
    listeners.forEach(([type, listener]) => video.addEventListener(type, listener));
    this.cleanups.push(() => listeners.forEach(([type, listener]) => video.removeEventListener(type, listener)));
    return slot;
  }

  // --- state -----------------------------------------------------------------------------

  state(): EngineState {
    return {
      frame: this.frame,
      playing: this.playing,
      speed: this.speed,
      clipIndex: this.clip,
      slate: this.clip >= 0 && this.isSlate(this.clip),
      broken: [...this.broken],
    };
  }

  /**
   * The playhead in timeline seconds. While playing forward it is read from the playing
   * video's currentTime (or a slate's clock), so it moves between frames; otherwise it is
   * the start of the frame shown.
   */
  transport(): Transport {
    const rate = this.schedule.rate;
    const at = (frames: number) => (frames * rate.den) / rate.num;
    let seconds = at(this.frame);
    let stalled = false;
    const clip = this.clip >= 0 ? this.schedule.clips[this.clip] : undefined;
    if (clip && this.playing && this.speed > 0) {
      let t: number | null = null;
      if (this.clock) t = at(this.clock.f0) + ((this.scheduler.now() - this.clock.t0) / 1000) * this.speed;
      else if (!this.isSlate(this.clip)) {
        const slot = this.slots[this.active];
        t = at(clip.start) + (slot.video.currentTime - at(clip.sourceIn));
        stalled = slot.waiting;
      }
      // Never outside the frame reported (before) or the clip (after): they lead the picture.
      if (t !== null && Number.isFinite(t)) seconds = Math.min(Math.max(t, seconds), at(clip.end));
    }
    return { seconds, frame: this.frame, playing: this.playing, speed: this.speed, stalled };
  }

  private emit(): void {
    if (!this.destroyed) this.onState(this.state());
  }

  private setFrame(frame: number): void {
    if (frame === this.frame) return;
    this.frame = frame;
    this.onFrame(frame);
    this.emit();
  }

  private isSlate(index: number): boolean {
    const clip = this.schedule.clips[index];
    return !clip || clip.kind === 'slate' || this.broken.has(index);
  }

  private nextPlayable(index: number, direction: 1 | -1): Clip | null {
    let clip = nextVideoClip(this.schedule, index, direction);
    while (clip && this.broken.has(clip.index)) clip = nextVideoClip(this.schedule, clip.index, direction);
    return clip;
  }

  // --- slots -----------------------------------------------------------------------------

  private slotOf(index: number): 0 | 1 | null {
    if (this.slots[this.active].clip === index) return this.active;
    if (this.slots[1 - this.active].clip === index) return (1 - this.active) as 0 | 1;
    return null;
  }

  /** Put clip `index` into slot `s` (loading its proxy unless the slot already has it) and seek it. */
  private load(s: 0 | 1, index: number, time: number): void {
    const slot = this.slots[s];
    const clip = this.schedule.clips[index];
    if (!clip?.src) return;
    if (slot.src !== clip.src) {
      slot.video.src = clip.src;
      slot.src = clip.src;
      slot.waiting = false;
    }
    slot.clip = index;
    slot.video.dataset.clip = String(index);
    this.seekSlot(s, time);
  }

  private seekSlot(s: 0 | 1, time: number): void {
    const slot = this.slots[s];
    // Before the metadata is there a browser keeps the seek as the start position; apply
    // it again when the metadata arrives so no browser starts the clip at 0.
    if (slot.video.readyState < 1) slot.pending = time;
    if (Math.abs(slot.video.currentTime - time) > 1e-6) slot.video.currentTime = time;
  }

  private show(s: 0 | 1 | null): void {
    this.slots.forEach((slot, i) => {
      const on = i === s;
      slot.video.dataset.active = on ? 'true' : 'false';
      // Only the clip on screen is heard, and not while shuttling backwards.
      slot.video.muted = !on || this.speed < 0;
    });
    if (s !== null) this.active = s;
  }

  /** Preload the nearest playable clip in the direction of travel into the slot not on screen. */
  private preload(fromIndex: number, direction: 1 | -1): void {
    const next = this.nextPlayable(fromIndex, direction);
    if (!next) return;
    const existing = this.slotOf(next.index);
    // Forwards, a clip blended in by a crossfade is parked on the overlap's first frame.
    const time =
      direction > 0
        ? next.index === fromIndex + 1 && !this.isSlate(fromIndex)
          ? entrySeekTime(next, this.schedule.rate)
          : locateInClip(next, next.start, this.schedule.rate).seekTime
        : locateInClip(next, next.end - 1, this.schedule.rate).seekTime;
    if (existing !== null && (existing !== this.active || this.isSlate(this.clip))) {
      if (this.slots[existing].video.paused) this.seekSlot(existing, time);
      return;
    }
    const target = (this.isSlate(this.clip) ? this.active : 1 - this.active) as 0 | 1;
    const other = this.slots[target];
    if (!other.video.paused) other.video.pause();
    this.load(target, next.index, time);
  }

  // --- moving the playhead ---------------------------------------------------------------

  /**
   * Show clip `index` at timeline `frame`; start it when `play` (forward playback).
   * `continuing`: the join after a crossfade, where the clip is already playing in step.
   */
  private enter(index: number, frame: number, play: boolean, continuing = false): void {
    this.clearJoinTimer();
    this.clip = index;
    const clip = this.schedule.clips[index];
    const direction: 1 | -1 = this.speed < 0 ? -1 : 1;
    if (this.isSlate(index)) {
      this.slots.forEach((slot) => {
        if (!slot.video.paused) slot.video.pause();
      });
      this.clock = { t0: this.scheduler.now(), f0: frame };
      this.frame = -1; // force a report
      this.setFrame(frame);
      this.preload(index, direction);
      this.paint();
      return;
    }
    this.clock = null;
    const loc = locateInClip(clip, frame, this.schedule.rate);
    let s = this.slotOf(index);
    if (s === null) {
      // A slot that already has this proxy (after a new edit) needs no reload.
      const same = this.slots.findIndex((slot) => slot.src === clip.src);
      const fresh = this.slots.every((slot) => slot.clip === null);
      s = (same >= 0 ? same : fresh ? this.active : 1 - this.active) as 0 | 1;
      this.load(s, index, loc.seekTime);
    } else {
      // Already playing since the crossfade into it: a small lead or lag is not worth a seek.
      const inStep = continuing && !this.slots[s].video.paused;
      const tolerance = inStep ? OVER_TOLERANCE * 2 * this.halfFrame() : this.halfFrame();
      if (Math.abs(this.slots[s].video.currentTime - loc.seekTime) > tolerance) this.seekSlot(s, loc.seekTime);
    }
    const slot = this.slots[s];
    if (play && this.speed > 0) {
      slot.video.playbackRate = this.speed;
      // Start the incoming clip first, then swap: the preloaded element already shows its
      // first frame, so there is no black frame between the two.
      void slot.video.play()?.catch?.(() => this.stopped());
    }
    this.show(s);
    const layers = this.layers(frame);
    const over = layers[1];
    const other = this.slots[1 - s];
    // The outgoing clip of a crossfade stops here; the incoming one of a crossfade at this frame goes on.
    if (!other.video.paused && !(over && other.clip === over.clip.index)) other.video.pause();
    this.frame = -1;
    this.setFrame(frame);
    // During a crossfade the other video holds the incoming clip (the next one forwards):
    // preloading the previous clip there (backwards) would take it away.
    if (!over) this.preload(index, direction);
    this.paint(layers);
  }

  private layers(frame = this.frame): Layer[] {
    return this.clip >= 0 ? layersAt(this.schedule, frame, this.broken) : [];
  }

  /**
   * Put the layers of the frame on screen: the opacity and volume of the video on screen,
   * and during a crossfade the incoming clip in the other video, positioned on the same
   * frame (and playing in step with the playhead while playing forward).
   */
  private paint(layers: Layer[] = this.layers()): void {
    if (this.destroyed) return;
    const [base, over] = layers;
    const baseSlot = base && !this.isSlate(base.clip.index) ? this.slotOf(base.clip.index) : null;
    const overSlot = over && baseSlot !== null ? ((1 - baseSlot) as 0 | 1) : null;
    const forward = this.playing && this.speed > 0;
    this.slots.forEach((slot, i) => {
      const video = slot.video;
      if (i === baseSlot) {
        video.dataset.over = 'false';
        setOpacity(video, base.opacity);
        setVolume(video, base.gain);
      } else if (i === overSlot) {
        if (slot.clip !== over.clip.index) {
          if (!video.paused) video.pause();
          this.load(overSlot, over.clip.index, over.seekTime);
        } else if (forward && !this.slots[baseSlot!].video.paused) {
          // In step with the video on screen: the same time past the frame's start.
          const expected = over.sourceSeconds + (this.slots[baseSlot!].video.currentTime - base.sourceSeconds);
          if (Math.abs(video.currentTime - expected) > OVER_TOLERANCE * 2 * this.halfFrame()) this.seekSlot(overSlot, Math.max(0, expected));
        } else if (!forward) {
          this.seekSlot(overSlot, over.seekTime);
        }
        video.dataset.over = 'true';
        video.muted = this.speed < 0;
        setOpacity(video, over.opacity);
        setVolume(video, over.gain);
        if (forward && video.paused) {
          video.playbackRate = this.speed;
          // A video that will not play stays on its frame; the cut goes on.
          void video.play()?.catch?.(() => {});
        }
      } else {
        video.dataset.over = 'false';
        setOpacity(video, 1);
        setVolume(video, 1);
        if (!video.paused && i !== this.active) video.pause();
      }
    });
  }

  private halfFrame(): number {
    return (0.5 * this.schedule.rate.den) / this.schedule.rate.num;
  }

  /** The clip on screen has played to its out point: go on with the next one (or stop at the end). */
  private join(fromIndex: number): void {
    if (fromIndex !== this.clip || !this.playing) return;
    const clip = this.schedule.clips[fromIndex];
    const next = this.schedule.clips[fromIndex + 1];
    if (!next) {
      this.pauseAt(clip.end - 1);
      return;
    }
    this.enter(next.index, next.start, true, true);
  }

  private stopped(): void {
    if (this.destroyed) return;
    this.playing = false;
    this.stopLoop();
    this.emit();
  }

  /** One step of forward playback: read the clock (a video's currentTime or a slate's timer). */
  private tick = (): void => {
    if (!this.playing || this.speed < 0 || this.clip < 0) return;
    const clip = this.schedule.clips[this.clip];
    const rate = this.schedule.rate;
    if (this.clock) {
      const elapsed = ((this.scheduler.now() - this.clock.t0) / 1000) * this.speed;
      const frame = this.clock.f0 + Math.floor((elapsed * rate.num) / rate.den + 1e-6);
      if (frame >= clip.end) {
        const next = this.schedule.clips[this.clip + 1];
        if (!next) {
          this.pauseAt(clip.end - 1);
          return;
        }
        // Keep the clock's phase over consecutive slates so they never drift.
        const t0 = this.clock.t0 + (((clip.end - this.clock.f0) * rate.den) / rate.num / this.speed) * 1000;
        this.enter(next.index, next.start, true);
        if (this.clock) this.clock.t0 = t0;
        this.tick();
        return;
      }
      this.setFrame(frame);
      this.paint();
      return;
    }
    const video = this.slots[this.active].video;
    const frame = frameAtSourceTime(clip, video.currentTime, rate);
    if (frame >= clip.end) {
      this.join(clip.index);
      return;
    }
    this.setFrame(Math.max(clip.start, frame));
    this.paint();
    // Close to the out point: a timer cuts on time rather than on the next animation frame.
    const remaining = (clipOutSeconds(clip, rate) - video.currentTime) / this.speed;
    if (remaining < JOIN_LOOKAHEAD && this.joinTimer === null && !video.paused) {
      const index = clip.index;
      this.joinTimer = setTimeout(() => {
        this.joinTimer = null;
        this.join(index);
      }, Math.max(0, remaining * 1000));
    }
  };

  private loop = (): void => {
    this.raf = null;
    if (!this.playing || this.speed < 0) return;
    this.tick();
    if (this.playing && this.speed > 0) this.raf = this.scheduler.requestFrame(this.loop);
  };

  private startLoop(): void {
    if (this.raf === null) this.raf = this.scheduler.requestFrame(this.loop);
  }

  private stopLoop(): void {
    if (this.raf !== null) this.scheduler.cancelFrame(this.raf);
    this.raf = null;
    this.clearJoinTimer();
    if (this.reverseTimer) clearInterval(this.reverseTimer);
    this.reverseTimer = null;
  }

  private clearJoinTimer(): void {
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    this.joinTimer = null;
  }

  private pauseAt(frame: number): void {
    this.playing = false;
    this.speed = 1;
    this.stopLoop();
    this.slots.forEach((slot) => {
      if (!slot.video.paused) slot.video.pause();
    });
    this.clock = null;
    this.seek(frame);
    this.emit();
  }

  // --- public transport ------------------------------------------------------------------

  /** Show `frame` (a click on the ruler, a step); playback goes on if it was playing forward. */
  seek(target: number): void {
    if (this.destroyed) return;
    const frame = clampToCut(this.schedule, target);
    const index = clipIndexAt(this.schedule, frame);
    if (index < 0) {
      this.clip = -1;
      this.show(null);
      this.paint([]);
      this.frame = -1;
      this.setFrame(0);
      return;
    }
    const forward = this.playing && this.speed > 0;
    this.enter(index, frame, forward);
    if (forward) this.startLoop();
  }

  play(speed = 1): void {
    if (this.destroyed || this.clip < 0) return;
    this.stopLoop();
    const atEnd = this.frame >= this.schedule.duration - 1;
    this.playing = true;
    this.speed = speed;
    if (speed < 0) {
      this.playReverse(-speed);
      return;
    }
    if (atEnd) this.enter(clipIndexAt(this.schedule, 0), 0, true);
    else this.enter(this.clip, this.frame, true);
    this.startLoop();
    this.emit();
  }

  /** J: browsers cannot play video backwards, so step back at the shuttle speed by timed seeks. */
  private playReverse(step: number): void {
    this.slots.forEach((slot) => {
      if (!slot.video.paused) slot.video.pause();
    });
    this.clock = null;
    this.enter(this.clip, this.frame, false);
    const frameMs = (1000 * this.schedule.rate.den) / this.schedule.rate.num;
    this.reverseTimer = setInterval(() => {
      const target = this.frame - step;
      if (target <= 0) {
        this.pauseAt(0);
        return;
      }
      const index = clipIndexAt(this.schedule, target);
      this.enter(index, target, false);
    }, frameMs);
    this.emit();
  }

  pause(): void {
    if (this.destroyed) return;
    const wasPlaying = this.playing;
    this.playing = false;
    this.speed = 1;
    this.stopLoop();
    this.slots.forEach((slot) => {
      if (!slot.video.paused) slot.video.pause();
    });
    this.clock = null;
    // Settle on the frame the video stopped on.
    if (wasPlaying && this.clip >= 0 && !this.isSlate(this.clip)) {
      const clip = this.schedule.clips[this.clip];
      const video = this.slots[this.active].video;
      const frame = Math.min(Math.max(frameAtSourceTime(clip, video.currentTime, this.schedule.rate), clip.start), clip.end - 1);
      this.enter(this.clip, frame, false);
    }
    this.emit();
  }

  toggle(): void {
    if (this.playing) this.pause();
    else this.play(1);
  }

  /** L: play; again: faster (1×, 2×, 4×, 8×). After J it first goes back to 1× forward. */
  forward(): void {
    const next = this.playing && this.speed > 0 ? SPEEDS[Math.min(SPEEDS.indexOf(this.speed) + 1, SPEEDS.length - 1)] : 1;
    if (this.playing && this.speed > 0) {
      // Same clip, new rate: no re-entry, the video keeps playing.
      this.speed = next;
      if (this.clock) this.clock = { t0: this.scheduler.now(), f0: this.frame };
      else
        this.slots.forEach((slot) => {
          // the video on screen, and the incoming one of a crossfade
          if (slot === this.slots[this.active] || !slot.video.paused) slot.video.playbackRate = next;
        });
      this.clearJoinTimer();
      this.emit();
      return;
    }
    this.play(next);
  }

  /** J: back at 1×; again: faster. */
  backward(): void {
    const current = this.playing && this.speed < 0 ? -this.speed : 0;
    const next = current ? SPEEDS[Math.min(SPEEDS.indexOf(current) + 1, SPEEDS.length - 1)] : 1;
    this.pause();
    this.play(-next);
  }

  step(delta: number): void {
    this.pause();
    this.seek(this.frame + delta);
  }

  /** A new edit (trims, order): keep the playhead's frame, reload what changed. */
  setSchedule(schedule: Schedule): void {
    if (schedule === this.schedule) return;
    const wasPlaying = this.playing;
    const speed = this.speed;
    this.pause();
    this.schedule = schedule;
    this.broken.clear();
    this.slots.forEach((slot) => {
      // The proxy stays loaded (same src is not reloaded); the clip numbers are new.
      slot.clip = null;
    });
    this.seek(this.frame);
    if (wasPlaying) this.play(speed);
  }

  destroy(): void {
    this.stopLoop();
    this.destroyed = true;
    this.cleanups.forEach((fn) => fn());
    this.slots.forEach((slot) => {
      if (!slot.video.paused) slot.video.pause();
    });
  }
}

function setOpacity(video: HTMLVideoElement, opacity: number): void {
  const value = opacity >= 1 ? '' : String(Math.max(0, opacity));
  if (video.style.opacity !== value) video.style.opacity = value;
}

/** HTMLMediaElement.volume throws outside [0, 1]. */
function setVolume(video: HTMLVideoElement, gain: number): void {
  const v = Math.min(1, Math.max(0, gain));
  if (Math.abs(video.volume - v) > 1e-3) video.volume = v;
}
