/**
 * One websocket per open project: connects, says where this tab is (presence), keeps the
 * connection alive with pings, and reconnects with exponential backoff and jitter. A close
 * with 4401 (signed out) or 4404 (not a member) is final — retrying cannot help.
 *
 * The socket knows nothing about React or the cache: listeners get parsed messages, the
 * presence list and status changes; `reconnected` tells them events may have been missed.
 */

import {
  CLOSE_NOT_FOUND,
  CLOSE_UNAUTHENTICATED,
  encodeClientMessage,
  parseServerMessage,
  type ClientMessage,
  type HelloMessage,
  type PresenceEntry,
  type ServerMessage,
} from './protocol';

export type SocketStatus = 'connecting' | 'open' | 'reconnecting' | 'unauthenticated' | 'not_found' | 'closed';

export interface Backoff {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 30_000, factor: 2 };

/** Delay before reconnect attempt `attempt` (0-based): exponential, capped, with "equal jitter". */
export function backoffDelay(attempt: number, backoff: Backoff = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * Math.pow(backoff.factor, Math.max(0, attempt)));
  return Math.round(base / 2 + (random() * base) / 2);
}

export function projectSocketUrl(projectId: string, loc: { protocol: string; host: string } = location): string {
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${loc.host}/ws/projects/${encodeURIComponent(projectId)}/`;
}

type WebSocketCtor = new (url: string) => WebSocket;

export interface ProjectSocketOptions {
  url?: string;
  WebSocketImpl?: WebSocketCtor;
  backoff?: Backoff;
  random?: () => number;
  /** Called for frames that do not parse (bad JSON, unknown type). */
  onIgnored?: (reason: string, type?: string) => void;
}

export interface Location {
  segment: string | null;
  shot: string | null;
}

type Listener<T> = (value: T) => void;

export class ProjectSocket {
  readonly projectId: string;
  private readonly url: string;
  private readonly WebSocketImpl: WebSocketCtor;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private readonly onIgnored?: ProjectSocketOptions['onIgnored'];

  private ws: WebSocket | null = null;
  private attempt = 0;
  private helloCount = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  private location: Location = { segment: null, shot: null };

  private _status: SocketStatus = 'connecting';
  private _presence: PresenceEntry[] = [];
  private _hello: HelloMessage['data'] | null = null;

  private readonly messageListeners = new Set<Listener<ServerMessage>>();
  private readonly statusListeners = new Set<Listener<SocketStatus>>();
  private readonly presenceListeners = new Set<Listener<PresenceEntry[]>>();
  private readonly reconnectListeners = new Set<Listener<void>>();

  constructor(projectId: string, options: ProjectSocketOptions = {}) {
    this.projectId = projectId;
    this.url = options.url ?? projectSocketUrl(projectId);
    this.WebSocketImpl = options.WebSocketImpl ?? WebSocket;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.random = options.random ?? Math.random;
    this.onIgnored = options.onIgnored;
  }

  // --- public API ------------------------------------------------------------------------

  get status(): SocketStatus {
    return this._status;
  }

  get presence(): PresenceEntry[] {
    return this._presence;
  }

  get hello(): HelloMessage['data'] | null {
    return this._hello;
  }

  connect(): void {
    this.stopped = false;
    this.open();
  }

  /** Close for good (leaving the project page). */
  close(): void {
    this.stopped = true;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000);
      } catch {
        /* already closed */
      }
    }
    this.setStatus('closed');
  }

  /** Where this tab is now; sent now if connected and again after every reconnect. */
  setLocation(location: Partial<Location>): void {
    this.location = { segment: location.segment ?? null, shot: location.shot ?? null };
    if (this._status === 'open') this.send({ type: 'presence.update', data: this.location });
  }

  /** Try now instead of waiting for the backoff (e.g. the browser came back online). */
  reconnectNow(): void {
    if (this.stopped || this._status === 'open' || this._status === 'unauthenticated' || this._status === 'not_found') return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.open();
  }

  onMessage(listener: Listener<ServerMessage>): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  onStatus(listener: Listener<SocketStatus>): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  onPresence(listener: Listener<PresenceEntry[]>): () => void {
    this.presenceListeners.add(listener);
    return () => this.presenceListeners.delete(listener);
  }

  /** After a reconnect: events may have been missed, refetch what is on screen. */
  onReconnect(listener: Listener<void>): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  // --- internals -------------------------------------------------------------------------

  private send(message: ClientMessage): void {
    if (this.ws && this.ws.readyState === 1 /* OPEN */) this.ws.send(encodeClientMessage(message));
  }

  private open(): void {
    if (this.stopped) return;
    this.setStatus(this.helloCount > 0 || this.attempt > 0 ? 'reconnecting' : 'connecting');
    let ws: WebSocket;
    try {
      ws = new this.WebSocketImpl(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onmessage = (event: MessageEvent) => this.handleFrame(event.data);
    ws.onclose = (event: CloseEvent) => this.handleClose(ws, event.code);
    ws.onerror = () => {
      /* a close follows every error; handled there */
    };
  }

  private handleFrame(raw: unknown): void {
    const parsed = parseServerMessage(raw);
    if (!parsed.ok) {
      this.onIgnored?.(parsed.reason, parsed.type);
      return;
    }
    const message = parsed.message;
    switch (message.type) {
      case 'hello': {
        this._hello = message.data;
        this.attempt = 0;
        const reconnected = this.helloCount > 0;
        this.helloCount += 1;
        this.setStatus('open');
        this.setPresence(message.data.presence);
        this.startHeartbeat(message.data.heartbeat_seconds);
        if (this.location.segment || this.location.shot) this.send({ type: 'presence.update', data: this.location });
        if (reconnected) this.reconnectListeners.forEach((l) => l());
        break;
      }
      case 'presence.changed':
        this.setPresence(message.data.presence);
        break;
      default:
        break;
    }
    this.messageListeners.forEach((l) => l(message));
  }

  private handleClose(ws: WebSocket, code: number): void {
    if (ws !== this.ws) return; // an old socket we already replaced
    this.ws = null;
    this.clearHeartbeat();
    if (this.stopped) return;
    if (code === CLOSE_UNAUTHENTICATED) {
      this.setStatus('unauthenticated');
      return;
    }
    if (code === CLOSE_NOT_FOUND) {
      this.setStatus('not_found');
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt, this.backoff, this.random);
    this.attempt += 1;
    this.setStatus('reconnecting');
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.open();
    }, delay);
  }

  private startHeartbeat(seconds: number): void {
    this.clearHeartbeat();
    this.heartbeatTimer = setInterval(() => this.send({ type: 'ping' }), Math.max(1, seconds) * 1000);
  }

  private clearHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private clearTimers(): void {
    this.clearHeartbeat();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private setStatus(status: SocketStatus): void {
    if (status === this._status) return;
    this._status = status;
    this.statusListeners.forEach((l) => l(status));
  }

  private setPresence(presence: PresenceEntry[]): void {
    this._presence = presence;
    this.presenceListeners.forEach((l) => l(presence));
  }
}
