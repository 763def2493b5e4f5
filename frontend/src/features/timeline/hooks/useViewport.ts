/** The timeline's viewport: how wide the lanes are, the zoom (pixels per frame: first one
 * that keeps segments readable, then the user's), Ctrl/⌘ + wheel zoom, and keeping the
 * playhead in view while it plays or jumps. */

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';

import { COMFORT_SEGMENT_PX, LABEL_W } from '../lanes/geometry';
import { clampZoom, fitZoom, frameToX, stepZoom, type Layout } from '../model';

export interface Viewport {
  /** The scrolling element (set once the timeline is shown). */
  scrollRef: React.RefObject<HTMLDivElement | null>;
  /** Pixels per frame. */
  ppf: number;
  laneWidth: number;
  zoomIn(): void;
  zoomOut(): void;
  fit(): void;
}

/** `layout` is the timeline as stored (its first zoom), `duration` the one shown; `ready`
 * turns true once the scrolling element is on the page. */
export function useViewport(layout: Layout | null, duration: number, frame: number, ready: boolean): Viewport {
  const scrollRef = useRef<HTMLDivElement>(null);
  const [zoom, setZoom] = useState<number | null>(null);
  const [viewWidth, setViewWidth] = useState(900);

  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const measure = () => setViewWidth(Math.max(200, el.clientWidth - LABEL_W - 24));
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [ready]);

  const firstZoom = useMemo(() => {
    if (!layout) return 1;
    const fit = fitZoom(Math.max(layout.duration, 1), viewWidth);
    const lengths = layout.segments.map((s) => s.end - s.start).filter((n) => n > 0);
    const comfort = lengths.length ? COMFORT_SEGMENT_PX / Math.min(...lengths) : fit;
    return clampZoom(Math.min(8, Math.max(fit, comfort)));
  }, [layout, viewWidth]);
  const ppf = zoom ?? firstZoom;
  const laneWidth = Math.max(viewWidth, Math.ceil(frameToX(duration, ppf)) + 40);

  // Keep the playhead in view while it plays or jumps.
  useEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const x = frameToX(frame, ppf);
    const left = el.scrollLeft;
    const visible = el.clientWidth - LABEL_W;
    if (x < left || x > left + visible - 20) el.scrollLeft = Math.max(0, x - visible * 0.25);
  }, [frame, ppf]);

  // Ctrl/⌘ + wheel zooms (a native listener: React's wheel listeners are passive).
  const ppfRef = useRef(ppf);
  ppfRef.current = ppf;
  useEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      if (!(e.ctrlKey || e.metaKey)) return;
      e.preventDefault();
      setZoom(stepZoom(ppfRef.current, e.deltaY < 0 ? 1 : -1));
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, [ready]);

  return {
    scrollRef,
    ppf,
    laneWidth,
    zoomIn: () => setZoom(stepZoom(ppf, 1)),
    zoomOut: () => setZoom(stepZoom(ppf, -1)),
    fit: () => setZoom(fitZoom(Math.max(duration, 1), viewWidth)),
  };
}
