import { useState, type MouseEvent } from 'react';

import type { Media } from '../api/types';

/** Which filmstrip tile to show for a pointer at `fraction` (0..1) across the thumbnail. */
export function filmstripIndex(fraction: number, frames: number): number {
  if (frames <= 1) return 0;
  return Math.min(frames - 1, Math.max(0, Math.floor(fraction * frames)));
}

/** CSS for showing tile `index` of a horizontal strip of `frames` tiles. */
export function filmstripStyle(url: string, index: number, frames: number) {
  return {
    backgroundImage: `url("${url}")`,
    backgroundSize: `${frames * 100}% 100%`,
    backgroundPosition: `${frames > 1 ? (index / (frames - 1)) * 100 : 0}% 0`,
  };
}

/**
 * A take's thumbnail; hovering scrubs through the filmstrip (one sprite image, no video
 * decoding), so a gallery of dozens of takes stays light.
 */
export function FilmstripThumb({ media, alt, onActivate }: { media: Media | null; alt: string; onActivate?: () => void }) {
  const [fraction, setFraction] = useState<number | null>(null);
  const frames = media?.filmstrip_frames ?? 0;
  const strip = media?.filmstrip_url && frames > 0 ? media.filmstrip_url : null;
  const wide = !media?.width || !media?.height || media.width / media.height >= 16 / 9;
  const aspect = media?.width && media?.height ? `${media.width} / ${media.height}` : '16 / 9';

  const onMove = (event: MouseEvent<HTMLElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    setFraction(box.width ? Math.min(1, Math.max(0, (event.clientX - box.left) / box.width)) : 0);
  };

  const inner = { aspectRatio: aspect, ...(wide ? { width: '100%' } : { height: '100%' }) };
  const content =
    strip && fraction !== null ? (
      <div className="thumb-frame" style={{ ...inner, ...filmstripStyle(strip, filmstripIndex(fraction, frames), frames) }} />
    ) : media?.thumbnail_url ? (
      <img className="thumb-frame" style={inner} src={media.thumbnail_url} alt={alt} loading="lazy" draggable={false} />
    ) : (
      <div className="thumb-empty" aria-hidden="true">
        ▶
      </div>
    );

  const Tag = onActivate ? 'button' : 'div';
  return (
    <Tag
      {...(onActivate ? { type: 'button' as const, onClick: onActivate, 'aria-label': `Play ${alt}` } : {})}
      className="thumb"
      onMouseMove={strip ? onMove : undefined}
      onMouseLeave={() => setFraction(null)}
    >
      {content}
      {strip && fraction !== null && <span className="scrub-line" style={{ left: `${fraction * 100}%` }} aria-hidden="true" />}
    </Tag>
  );
}
