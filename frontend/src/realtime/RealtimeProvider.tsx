/**
 * React side of the project socket: one ProjectSocket per open project, its events applied
 * to the query cache (state/cache.ts), and hooks for presence, status and raw events.
 */

import { useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';

import { applyProjectEvent } from '../state/cache';
import { qk } from '../state/keys';
import type { PresenceEntry, ServerMessage } from './protocol';
import { ProjectSocket, type SocketStatus } from './socket';

const SocketContext = createContext<ProjectSocket | null>(null);

export type SocketFactory = (projectId: string) => ProjectSocket;

const defaultFactory: SocketFactory = (projectId) => new ProjectSocket(projectId);

export function RealtimeProvider({
  projectId,
  children,
  createSocket = defaultFactory,
}: {
  projectId: string;
  children: ReactNode;
  createSocket?: SocketFactory;
}) {
  const qc = useQueryClient();
  const [socket, setSocket] = useState<ProjectSocket | null>(null);

  useEffect(() => {
    const s = createSocket(projectId);
    const offMessage = s.onMessage((message) => {
      if (message.type === 'hello' || message.type === 'pong' || message.type === 'error') return;
      applyProjectEvent(qc, projectId, message);
    });
    const offReconnect = s.onReconnect(() => void qc.invalidateQueries({ queryKey: qk.projectAll(projectId) }));
    const offStatus = s.onStatus((status) => {
      // Signed out in another tab, or removed from the project: let the pages find out.
      if (status === 'unauthenticated') void qc.invalidateQueries({ queryKey: qk.session });
      if (status === 'not_found') void qc.invalidateQueries({ queryKey: qk.project(projectId) });
    });
    const online = () => s.reconnectNow();
    window.addEventListener('online', online);
    s.connect();
    setSocket(s);
    return () => {
      window.removeEventListener('online', online);
      offMessage();
      offReconnect();
      offStatus();
      s.close();
    };
  }, [projectId, qc, createSocket]);

  return <SocketContext.Provider value={socket}>{children}</SocketContext.Provider>;
}

export function useProjectSocket(): ProjectSocket | null {
  return useContext(SocketContext);
}

const NO_PRESENCE: PresenceEntry[] = [];
const noop = () => () => {};

export function usePresence(): PresenceEntry[] {
  const socket = useProjectSocket();
  return useSyncExternalStore(
    socket ? (cb) => socket.onPresence(cb) : noop,
    () => (socket ? socket.presence : NO_PRESENCE),
    () => NO_PRESENCE,
  );
}

export function useSocketStatus(): SocketStatus {
  const socket = useProjectSocket();
  return useSyncExternalStore(
    socket ? (cb) => socket.onStatus(cb) : noop,
    () => (socket ? socket.status : 'connecting'),
    () => 'connecting',
  );
}

/** Run `handler` for every message of the project socket (latest handler, no resubscribe). */
export function useProjectMessages(handler: (message: ServerMessage) => void): void {
  const socket = useProjectSocket();
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    if (!socket) return;
    return socket.onMessage((message) => ref.current(message));
  }, [socket]);
}

/** Tell the others where this tab is while the calling component is mounted. */
export function usePresenceLocation(segment: string | null, shot: string | null = null): void {
  const socket = useProjectSocket();
  useEffect(() => {
    if (!socket) return;
    socket.setLocation({ segment, shot });
    return () => socket.setLocation({ segment: null, shot: null });
  }, [socket, segment, shot]);
}
