import { useEffect, useRef } from 'react';

/** What the transport keys drive (the review player and the cut player both offer it). */
export interface TransportControls {
  toggle(): void;
  pause(): void;
  forward(): void;
  backward(): void;
  step(delta: number): void;
}

export function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}

/**
 * The editor's keys on the window: space play/pause, J/K/L shuttle, ←/→ one frame (Shift:
 * ten). Ignored while typing in a field, with Ctrl/⌘/Alt held, or when another handler took
 * the key. A focused button handles its own space, except inside `[data-player-keys="space"]`
 * (a list where space right after choosing an item should play it).
 */
export function usePlayerKeys(controls: TransportControls, enabled: boolean): void {
  const ref = useRef(controls);
  ref.current = controls;
  useEffect(() => {
    if (!enabled) return;
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      if (event.defaultPrevented || isTyping(target)) return;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const c = ref.current;
      switch (event.key) {
        case 'ArrowLeft':
          c.step(event.shiftKey ? -10 : -1);
          break;
        case 'ArrowRight':
          c.step(event.shiftKey ? 10 : 1);
          break;
        case ' ':
          if (target?.tagName === 'BUTTON' && !target.closest('[data-player-keys="space"]')) return;
          c.toggle();
          break;
        case 'k':
        case 'K':
          c.pause();
          break;
        case 'l':
        case 'L':
          c.forward();
          break;
        case 'j':
        case 'J':
          c.backward();
          break;
        default:
          return;
      }
      event.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [enabled]);
}
