import { useEffect, useMemo, useRef, useState } from 'react';

import type { Timeline } from '../../../api/types';
import { usePlayerKeys } from '../../../lib/playerKeys';
import { formatTimecode } from '../../../lib/timecode';
import { buildAudioBed } from './audioBed';
import { AudioBedPlayer } from './audioTracks';
import { CutEngine, type EngineState } from './engine';
import { buildSchedule, fadeLevel } from './schedule';
import './CutPlayer.css';

export interface CutPlayerProps {
  timeline: Timeline;
  /** the playhead (timeline frame); a change that playback did not report is a seek */
  frame: number;
  onFrameChange(frame: number): void;
  /** J/K/L, space and ←/→ on the window (default true) */
  keyboard?: boolean;
}

const INITIAL: EngineState = { frame: 0, playing: false, speed: 1, clipIndex: -1, slate: false, broken: [] };

/** Reported frames the parent has not fed back yet (it renders only the latest of a batch). */
const RING = 64;

/**
 * Plays the cut from the proxies: two <video> elements take turns so joins have no gap,
 * slates stand in for shots without a playable pick, the playhead follows playback
 * (onFrameChange) and a new `frame` from outside seeks. Crossfades and fades to black are
 * drawn as the export renders them (schedule.ts `layersAt`); a slate is never crossfaded (a
 * cut at the end of the overlap) but fades to and from black. Keys: space, J/K/L, ←/→. The
 * timeline's audio tracks play along (audioTracks.ts), with a mute toggle in the bar.
 */
export function CutPlayer({ timeline, frame, onFrameChange, keyboard = true }: CutPlayerProps) {
  const schedule = useMemo(() => buildSchedule(timeline), [timeline]);
  const bed = useMemo(() => buildAudioBed(timeline), [timeline]);
  const tracksBox = useRef<HTMLDivElement>(null);
  const tracksRef = useRef<AudioBedPlayer | null>(null);
  const bedRef = useRef(bed);
  const [tracksMuted, setTracksMuted] = useState(false);
  const tracksMutedRef = useRef(tracksMuted);
  const videoA = useRef<HTMLVideoElement>(null);
  const videoB = useRef<HTMLVideoElement>(null);
  const engineRef = useRef<CutEngine | null>(null);
  const reported = useRef<number[]>([]);
  const onFrameRef = useRef(onFrameChange);
  const scheduleRef = useRef(schedule);
  const frameRef = useRef(frame);
  const [state, setState] = useState<EngineState>(INITIAL);

  useEffect(() => {
    onFrameRef.current = onFrameChange;
  }, [onFrameChange]);

  useEffect(() => {
    const tracks = new AudioBedPlayer(tracksBox.current!, bedRef.current, () => engine.transport());
    const engine = new CutEngine(
      [videoA.current!, videoB.current!],
      scheduleRef.current,
      (s) => {
        setState(s);
        // Every reported frame, seek and play-state change: the audio tracks follow.
        tracks.sync();
      },
      (f) => {
        reported.current.push(f);
        if (reported.current.length > RING) reported.current.shift();
        onFrameRef.current(f);
      },
    );
    engineRef.current = engine;
    tracksRef.current = tracks;
    if (tracksMutedRef.current) tracks.setMuted(true);
    engine.seek(frameRef.current);
    setState(engine.state());
    tracks.sync();
    return () => {
      engine.destroy();
      tracks.destroy();
      engineRef.current = null;
      tracksRef.current = null;
    };
  }, []);

  useEffect(() => {
    scheduleRef.current = schedule;
    engineRef.current?.setSchedule(schedule);
  }, [schedule]);

  useEffect(() => {
    bedRef.current = bed;
    tracksRef.current?.setBed(bed);
  }, [bed]);

  useEffect(() => {
    tracksMutedRef.current = tracksMuted;
    tracksRef.current?.setMuted(tracksMuted);
  }, [tracksMuted]);

  useEffect(() => {
    frameRef.current = frame;
    const engine = engineRef.current;
    if (!engine) return;
    const ring = reported.current;
    const at = ring.lastIndexOf(frame);
    const current = engine.state();
    if (at >= 0 && (current.playing || current.frame === frame)) {
      // The parent caught up with playback; what came before will not come back.
      ring.splice(0, at + 1);
      return;
    }
    ring.length = 0;
    engine.seek(frame);
  }, [frame]);

  usePlayerKeys(
    {
      toggle: () => engineRef.current?.toggle(),
      pause: () => engineRef.current?.pause(),
      forward: () => engineRef.current?.forward(),
      backward: () => engineRef.current?.backward(),
      step: (delta) => engineRef.current?.step(delta),
    },
    keyboard,
  );

  const clip = state.clipIndex >= 0 ? schedule.clips[state.clipIndex] : undefined;
  const broken = clip ? state.broken.includes(clip.index) : false;
  const slate = clip && (clip.kind === 'slate' || broken) ? (clip.slate ?? { line1: `SEGMENT ${clip.segmentNumber} · SHOT ${clip.shotNumber}`, line2: '' }) : null;
  // A slate fades to and from black like a picture (fade_black); it is never crossfaded (a cut).
  const slateLevel = slate && clip ? fadeLevel(clip, state.frame) : 1;
  const empty = schedule.clips.length === 0;
  const size = timeline as unknown as { width?: number | null; height?: number | null };
  const aspect = size.width && size.height ? `${size.width} / ${size.height}` : '16 / 9';
  const speedLabel = state.playing && state.speed !== 1 ? `${state.speed < 0 ? '◀ ' : ''}${Math.abs(state.speed)}×` : '';

  return (
    <div
      className="cut-player"
      data-testid="cut-player"
      data-playing={state.playing ? 'true' : 'false'}
      data-speed={state.speed}
      data-frame={state.frame}
      data-clip={state.clipIndex}
    >
      <div className="cut-player__screen" style={{ aspectRatio: aspect }}>
        <video ref={videoA} className="cut-player__video" data-testid="cut-player-video-a" playsInline />
        <video ref={videoB} className="cut-player__video" data-testid="cut-player-video-b" playsInline />
        {slate && clip && (
          <div
            className="cut-player__slate"
            data-testid="cut-player-slate"
            data-shot-id={clip.shotId}
            style={slateLevel < 1 ? { opacity: slateLevel } : undefined}
          >
            <div className="cut-player__slate-line1">{slate.line1}</div>
            <div className="cut-player__slate-line2">{broken ? 'PROXY UNAVAILABLE' : slate.line2}</div>
            {clip.shotTitle && <div className="cut-player__slate-title">{clip.shotTitle}</div>}
          </div>
        )}
        {empty && <div className="cut-player__empty">Nothing to play yet: the timeline has no shots.</div>}
      </div>
      {/* The audio tracks' <audio> elements (managed by AudioBedPlayer, not by React). */}
      <div ref={tracksBox} className="cut-player__tracks" data-testid="cut-player-tracks" hidden />
      <div className="cut-player__bar">
        <button type="button" className="cut-player__button" data-testid="cut-player-step-back" aria-label="Back one frame" disabled={empty} onClick={() => engineRef.current?.step(-1)}>
          <StepIcon direction="back" />
        </button>
        <button
          type="button"
          className="cut-player__button cut-player__button--play"
          data-testid="cut-player-play"
          aria-label={state.playing ? 'Pause' : 'Play'}
          aria-pressed={state.playing}
          disabled={empty}
          onClick={() => engineRef.current?.toggle()}
        >
          {state.playing ? '❚❚' : '▶'}
        </button>
        <button type="button" className="cut-player__button" data-testid="cut-player-step-forward" aria-label="Forward one frame" disabled={empty} onClick={() => engineRef.current?.step(1)}>
          <StepIcon direction="forward" />
        </button>
        <span className="cut-player__timecode" data-testid="cut-player-timecode">
          {formatTimecode(state.frame, schedule.rate)}
          <span className="cut-player__total"> / {formatTimecode(schedule.duration, schedule.rate)}</span>
        </span>
        {speedLabel && (
          <span className="cut-player__speed" data-testid="cut-player-speed">
            {speedLabel}
          </span>
        )}
        <button
          type="button"
          className="cut-player__button cut-player__tracks-mute"
          data-testid="cut-player-tracks-mute"
          data-muted={tracksMuted ? 'true' : 'false'}
          aria-pressed={tracksMuted}
          aria-label={tracksMuted ? 'Unmute the audio tracks' : 'Mute the audio tracks'}
          title={
            bed.clips.length
              ? `${tracksMuted ? 'Unmute' : 'Mute'} the music, narration and effects tracks (${bed.clips.length} clip${bed.clips.length === 1 ? '' : 's'})`
              : 'No playable clips on the audio tracks'
          }
          onClick={() => setTracksMuted((m) => !m)}
        >
          <SpeakerIcon muted={tracksMuted} />
          <span className="cut-player__tracks-label">Tracks</span>
        </button>
        <span className="cut-player__now" data-testid="cut-player-now">
          {clip
            ? `Segment ${clip.segmentNumber}${clip.segmentTitle ? ` (${clip.segmentTitle})` : ''} · Shot ${clip.shotNumber}${clip.shotTitle ? ` — ${clip.shotTitle}` : ''}${clip.takeNumber != null && clip.kind === 'video' ? ` · take ${clip.takeNumber}` : ''}`
            : ''}
        </span>
      </div>
    </div>
  );
}

/** A speaker, struck through when the audio tracks are muted. */
function SpeakerIcon({ muted }: { muted: boolean }) {
  return (
    <svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true" focusable="false">
      <path d="M1 5h3l4-3v10L4 9H1z" fill="currentColor" />
      {muted ? (
        <path d="M9.5 4.5l4 5M13.5 4.5l-4 5" stroke="currentColor" strokeWidth="1.4" fill="none" />
      ) : (
        <path d="M10 4.5c1 1.4 1 3.6 0 5M11.8 3c1.8 2.3 1.8 5.7 0 8" stroke="currentColor" strokeWidth="1.2" fill="none" />
      )}
    </svg>
  );
}

/** Frame-step icons drawn as SVG (the ⏮/⏭ glyphs are missing from many system fonts). */
function StepIcon({ direction }: { direction: 'back' | 'forward' }) {
  const d = direction === 'back' ? 'M3 2h2v10H3zM12 2v10L6 7z' : 'M9 2h2v10H9zM2 2v10l6-5z';
  return (
    <svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true" focusable="false">
      <path d={d} fill="currentColor" />
    </svg>
  );
}
