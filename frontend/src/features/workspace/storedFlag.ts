import { useCallback, useState } from 'react';

/** The workspace's "Hide failed takes" filter, remembered in this browser. */
export const HIDE_FAILED_KEY = 'montage.workspace.hideFailed';

function read(key: string, fallback: boolean): boolean {
  try {
    const value = window.localStorage.getItem(key);
    return value === null ? fallback : value === '1';
  } catch {
    return fallback; // storage blocked (private mode, policy): the default, for this page only
  }
}

/** A yes/no setting kept in localStorage under `key`. */
export function useStoredFlag(key: string, fallback = false): [boolean, (value: boolean) => void] {
  const [value, setValue] = useState(() => read(key, fallback));
  const set = useCallback(
    (next: boolean) => {
      setValue(next);
      try {
        window.localStorage.setItem(key, next ? '1' : '0');
      } catch {
        // not remembered, still applied
      }
    },
    [key],
  );
  return [value, set];
}
