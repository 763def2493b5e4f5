import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { PresenceEntry, ServerMessage } from './protocol';
import { backoffDelay, ProjectSocket, projectSocketUrl, type SocketStatus } from './socket';

/** A WebSocket stand-in that the test opens, feeds and closes by hand. */
class MockSocket {
  static all: MockSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  closedWith: number | null = null;

  constructor(public url: string) {
    MockSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000) {
    this.closedWith = code;
    this.readyState = 3;
  }
  // --- test helpers
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

const latest = () => MockSocket.all[MockSocket.all.length - 1];

const entry = (username: string, segments: string[] = []): PresenceEntry => ({
  user_id: username.length,
  username,
  display_name: username,
  segments,
  shots: [],
  connections: 1,
  since: '',
  seen: '',
});

const hello = (presence: PresenceEntry[] = [entry('ana')], heartbeat = 20) => ({
  type: 'hello',
  data: { project: 'p1', user: { id: 1, username: 'ana', display_name: 'Ana' }, role: 'artist', presence, heartbeat_seconds: heartbeat },
});

function makeSocket() {
  const socket = new ProjectSocket('p1', {
    url: 'ws://studio.test/ws/projects/p1/',
    WebSocketImpl: MockSocket as unknown as new (url: string) => WebSocket,
    backoff: { initialMs: 1000, maxMs: 8000, factor: 2 },
    random: () => 1, // no jitter: delays are exactly initial × 2^attempt (capped)
  });
  const statuses: SocketStatus[] = [];
  const messages: ServerMessage[] = [];
  socket.onStatus((s) => statuses.push(s));
  socket.onMessage((m) => messages.push(m));
  return { socket, statuses, messages };
}

describe('ProjectSocket', () => {
  beforeEach(() => {
    MockSocket.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('opens, reads hello and the presence list', () => {
    const { socket, statuses } = makeSocket();
    const presence: string[][] = [];
    socket.onPresence((list) => presence.push(list.map((p) => p.username)));
    socket.connect();
    expect(latest().url).toBe('ws://studio.test/ws/projects/p1/');
    latest().open();
    latest().receive(hello([entry('ana'), entry('bo')]));
    expect(socket.status).toBe('open');
    expect(statuses).toEqual(['open']);
    expect(presence).toEqual([['ana', 'bo']]);

    latest().receive({ type: 'presence.changed', data: { presence: [entry('bo', ['s1'])] } });
    expect(socket.presence.map((p) => p.username)).toEqual(['bo']);
    expect(presence[1]).toEqual(['bo']);
  });

  it('sends where this tab is, and again after a reconnect', () => {
    const { socket } = makeSocket();
    socket.connect();
    latest().open();
    latest().receive(hello());
    socket.setLocation({ segment: 's1' });
    expect(latest().sent).toContainEqual({ type: 'presence.update', data: { segment: 's1', shot: null } });

    latest().drop();
    vi.advanceTimersByTime(1000);
    const second = latest();
    second.open();
    second.receive(hello());
    expect(second.sent).toEqual([{ type: 'presence.update', data: { segment: 's1', shot: null } }]);
  });

  it('reconnects with exponential backoff, capped, and resets after hello', () => {
    const { socket, statuses } = makeSocket();
    const reconnected = vi.fn();
    socket.onReconnect(reconnected);
    socket.connect();
    latest().open();
    latest().receive(hello());
    expect(MockSocket.all).toHaveLength(1);

    // Dropped: retry after 1 s, 2 s, 4 s, 8 s, 8 s …
    const waits = [1000, 2000, 4000, 8000, 8000];
    for (const wait of waits) {
      latest().drop();
      const before = MockSocket.all.length;
      vi.advanceTimersByTime(wait - 1);
      expect(MockSocket.all.length).toBe(before);
      vi.advanceTimersByTime(1);
      expect(MockSocket.all.length).toBe(before + 1);
    }
    expect(statuses).toContain('reconnecting');
    expect(reconnected).not.toHaveBeenCalled();

    latest().open();
    latest().receive(hello());
    expect(reconnected).toHaveBeenCalledTimes(1);
    expect(socket.status).toBe('open');

    // After a successful hello the next drop starts again at 1 s.
    latest().drop();
    const before = MockSocket.all.length;
    vi.advanceTimersByTime(1000);
    expect(MockSocket.all.length).toBe(before + 1);
  });

  it('gives up on 4401 (signed out) and 4404 (not a member)', () => {
    for (const [code, status] of [
      [4401, 'unauthenticated'],
      [4404, 'not_found'],
    ] as const) {
      MockSocket.all = [];
      const { socket } = makeSocket();
      socket.connect();
      latest().open();
      latest().receive({ type: 'error', data: { code: 'not_found', detail: 'No such project, or you are not a member.' } });
      latest().drop(code);
      vi.advanceTimersByTime(60_000);
      expect(MockSocket.all).toHaveLength(1);
      expect(socket.status).toBe(status);
    }
  });

  it('pings every heartbeat and stops when closed', () => {
    const { socket } = makeSocket();
    socket.connect();
    latest().open();
    latest().receive(hello([], 5));
    vi.advanceTimersByTime(15_000);
    expect(latest().sent.filter((m) => (m as { type: string }).type === 'ping')).toHaveLength(3);

    socket.close();
    expect(latest().closedWith).toBe(1000);
    expect(socket.status).toBe('closed');
    vi.advanceTimersByTime(60_000);
    expect(MockSocket.all).toHaveLength(1);
    expect(latest().sent.filter((m) => (m as { type: string }).type === 'ping')).toHaveLength(3);
  });

  it('passes parsed events on and ignores frames it cannot read', () => {
    const ignored = vi.fn();
    const socket = new ProjectSocket('p1', {
      url: 'ws://x/',
      WebSocketImpl: MockSocket as unknown as new (url: string) => WebSocket,
      onIgnored: ignored,
    });
    const messages: ServerMessage[] = [];
    socket.onMessage((m) => messages.push(m));
    socket.connect();
    latest().open();
    latest().receive({ type: 'segment.released', data: { id: 's1', owner: null, status: 'open' }, revision: 4 });
    latest().onmessage?.({ data: 'garbage' });
    latest().receive({ type: 'brand.new', data: {} });
    expect(messages.map((m) => m.type)).toEqual(['segment.released']);
    expect(ignored).toHaveBeenCalledWith('not JSON', undefined);
    expect(ignored).toHaveBeenCalledWith('unknown type', 'brand.new');
  });

  it('reconnects at once when asked (the browser is back online)', () => {
    const { socket } = makeSocket();
    socket.connect();
    latest().open();
    latest().receive(hello());
    latest().drop();
    expect(MockSocket.all).toHaveLength(1);
    socket.reconnectNow();
    expect(MockSocket.all).toHaveLength(2);
  });
});

describe('backoffDelay and projectSocketUrl', () => {
  it('adds "equal jitter": between half and all of the exponential delay', () => {
    const backoff = { initialMs: 1000, maxMs: 30_000, factor: 2 };
    expect(backoffDelay(0, backoff, () => 0)).toBe(500);
    expect(backoffDelay(0, backoff, () => 1)).toBe(1000);
    expect(backoffDelay(3, backoff, () => 0.5)).toBe(6000);
    expect(backoffDelay(20, backoff, () => 1)).toBe(30_000);
  });

  it('uses wss behind https', () => {
    expect(projectSocketUrl('p1', { protocol: 'https:', host: 'studio.example.com' })).toBe('wss://studio.example.com/ws/projects/p1/');
    expect(projectSocketUrl('p1', { protocol: 'http:', host: '127.0.0.1:8000' })).toBe('ws://127.0.0.1:8000/ws/projects/p1/');
  });
});
