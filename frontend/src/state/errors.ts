/**
 * The page-wide error slot: the latest failed action's sentence. Mutations report here
 * (see queryClient.ts); the banner shows it until dismissed, the next success, or navigation.
 */

import { useSyncExternalStore } from 'react';

import { errorSentence } from '../api/client';

export interface ReportedError {
  id: number;
  message: string;
}

type Listener = () => void;

let current: ReportedError | null = null;
let counter = 0;
const listeners = new Set<Listener>();

function emit() {
  listeners.forEach((l) => l());
}

export const errorStore = {
  get: () => current,
  report(error: unknown) {
    if (error instanceof DOMException && error.name === 'AbortError') return;
    counter += 1;
    current = { id: counter, message: errorSentence(error) };
    emit();
  },
  clear() {
    if (current === null) return;
    current = null;
    emit();
  },
  subscribe(listener: Listener) {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  },
};

export function useReportedError(): ReportedError | null {
  return useSyncExternalStore(errorStore.subscribe, errorStore.get, errorStore.get);
}

export const reportError = (error: unknown) => errorStore.report(error);
