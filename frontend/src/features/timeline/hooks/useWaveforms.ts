import { useQueries } from '@tanstack/react-query';
import { useMemo } from 'react';

import { api } from '../../../api/endpoints';
import type { AudioClip, MediaDetail, Timeline } from '../../../api/types';
import { qk } from '../../../state/keys';
import { audioTracks } from '../model';

/** The audio clips of the timeline and the waveform peaks of their media (by media id). */
export function useWaveforms(pid: string, timeline: Timeline | undefined): { clips: AudioClip[]; waveforms: Map<string, number[]> } {
  const clips = useMemo(() => (timeline ? audioTracks(timeline).flatMap((t) => t.clips) : []), [timeline]);
  const mediaIds = useMemo(() => Array.from(new Set(clips.map((c) => c.media?.id).filter((id): id is string => Boolean(id)))), [clips]);
  // The media's status is part of the key: a clip placed while its file is still being
  // ingested gets its waveform once the timeline reports the file ready.
  const mediaStatus = useMemo(() => new Map(clips.map((c) => [c.media?.id, c.media?.status ?? ''])), [clips]);
  const mediaDetails = useQueries({
    queries: mediaIds.map((id) => ({
      queryKey: [...qk.media(pid, id), mediaStatus.get(id) ?? ''],
      queryFn: () => api.projects.media(id),
      staleTime: 5 * 60_000,
    })),
  });
  const waveforms = useMemo(() => {
    const map = new Map<string, number[]>();
    mediaDetails.forEach((q, i) => {
      const data = q.data as MediaDetail | undefined;
      if (data?.waveform?.length) map.set(mediaIds[i], data.waveform);
    });
    return map;
  }, [mediaDetails, mediaIds]);
  return { clips, waveforms };
}
