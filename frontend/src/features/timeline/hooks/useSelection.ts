import { useState } from 'react';

import { usePresenceLocation } from '../../../realtime/RealtimeProvider';

/** What is selected on the timeline (a segment, a shot, an audio clip) and which segments are
 * expanded to their shots; the selected segment and shot are where others see us. */
export function useSelection() {
  const [expanded, setExpanded] = useState<string[]>([]);
  const [segment, setSegment] = useState<string | null>(null);
  const [shot, setShot] = useState<string | null>(null);
  const [clip, setClip] = useState<string | null>(null);
  usePresenceLocation(segment, shot);

  const selectSegment = (id: string) => {
    setSegment(id);
    setShot(null);
  };
  return {
    expanded,
    segment,
    shot,
    clip,
    selectSegment,
    selectShot(segmentId: string, shotId: string) {
      setSegment(segmentId);
      setShot(shotId);
    },
    selectClip: setClip,
    toggleExpand(id: string) {
      setExpanded((list) => (list.includes(id) ? list.filter((x) => x !== id) : [...list, id]));
      selectSegment(id);
    },
    collapse: (id: string) => setExpanded((list) => list.filter((x) => x !== id)),
  };
}
