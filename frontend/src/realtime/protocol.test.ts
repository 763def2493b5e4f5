import { describe, expect, it } from 'vitest';

import { encodeClientMessage, parseServerMessage, type ServerMessage } from './protocol';

const presenceEntry = {
  user_id: 7,
  username: 'ana',
  display_name: 'Ana Lima',
  segments: ['s1'],
  shots: [],
  connections: 2,
  since: '2025-01-01T10:00:00Z',
  seen: '2025-01-01T10:04:00Z',
};

function ok(raw: unknown): ServerMessage {
  const result = parseServerMessage(raw);
  if (!result.ok) throw new Error(`expected a message, got: ${result.reason}`);
  return result.message;
}

/** What the app does with a message: the switch must narrow every case by `type`. */
function summarise(message: ServerMessage): string {
  switch (message.type) {
    case 'hello':
      return `hello ${message.data.user.username} as ${message.data.role}, ${message.data.presence.length} here`;
    case 'presence.changed':
      return `presence ${message.data.presence.map((p) => p.username).join(',')}`;
    case 'segment.claimed':
      return `claimed ${message.data.id} by ${message.data.owner?.username} r${message.revision}`;
    case 'take.approved':
      return `approved take ${message.data.id} of shot ${message.data.shot}`;
    case 'job.progress':
      return `job ${message.data.id} at ${message.data.progress}%`;
    case 'comment.created':
      return `comment on ${message.data.take} at ${message.data.frame}`;
    case 'error':
      return `error ${message.data.code}`;
    case 'pong':
      return 'pong';
    default:
      return message.type;
  }
}

describe('parseServerMessage', () => {
  it('reads hello with the presence list and heartbeat', () => {
    const message = ok(
      JSON.stringify({
        type: 'hello',
        data: {
          project: 'p1',
          user: { id: 7, username: 'ana', display_name: 'Ana Lima' },
          role: 'artist',
          presence: [presenceEntry],
          heartbeat_seconds: 20,
        },
      }),
    );
    expect(summarise(message)).toBe('hello ana as artist, 1 here');
    expect(message.type === 'hello' && message.data.heartbeat_seconds).toBe(20);
  });

  it('reads project events with their revision', () => {
    const message = ok({
      type: 'segment.claimed',
      data: { id: 's1', title: 'Cold open', status: 'claimed', owner: { id: 7, username: 'ana' }, revision: 3 },
      revision: 3,
    });
    expect(summarise(message)).toBe('claimed s1 by ana r3');
  });

  it('reads take, job and comment events', () => {
    expect(summarise(ok({ type: 'take.approved', data: { id: 't1', shot: 'sh1', review_state: 'approved' } }))).toBe(
      'approved take t1 of shot sh1',
    );
    expect(summarise(ok({ type: 'job.progress', data: { id: 'j1', shot: 'sh1', state: 'running', progress: 40 } }))).toBe(
      'job j1 at 40%',
    );
    expect(summarise(ok({ type: 'comment.created', data: { id: 'c1', take: 't1', frame: 12, body: 'x', parent: null } }))).toBe(
      'comment on t1 at 12',
    );
  });

  it('normalises presence entries and drops broken ones', () => {
    const message = ok({ type: 'presence.changed', data: { presence: [presenceEntry, { nope: true }, { user_id: 8, username: 'bo' }] } });
    expect(message.type).toBe('presence.changed');
    if (message.type !== 'presence.changed') return;
    expect(message.data.presence.map((p) => p.username)).toEqual(['ana', 'bo']);
    expect(message.data.presence[1]).toMatchObject({ display_name: 'bo', segments: [], shots: [], connections: 1 });
  });

  it('rejects what the app cannot trust', () => {
    expect(parseServerMessage('{not json')).toEqual({ ok: false, reason: 'not JSON' });
    expect(parseServerMessage({ data: {} })).toMatchObject({ ok: false, reason: 'no type' });
    expect(parseServerMessage({ type: 'take.ready', data: { id: 't1' } })).toMatchObject({ ok: false, reason: 'event without shot' });
    expect(parseServerMessage({ type: 'segment.claimed' })).toMatchObject({ ok: false, reason: 'event without data' });
    expect(parseServerMessage({ type: 'presence.changed', data: {} })).toMatchObject({ ok: false });
  });

  it('reports unknown types from a newer server instead of throwing', () => {
    expect(parseServerMessage({ type: 'storyboard.created', data: { id: 'x' } })).toEqual({
      ok: false,
      reason: 'unknown type',
      type: 'storyboard.created',
    });
  });

  it('reads error frames and pong', () => {
    expect(summarise(ok({ type: 'error', data: { code: 'not_found', detail: 'No such project.' } }))).toBe('error not_found');
    expect(summarise(ok({ type: 'pong' }))).toBe('pong');
  });
});

describe('encodeClientMessage', () => {
  it('writes presence updates and pings', () => {
    expect(JSON.parse(encodeClientMessage({ type: 'presence.update', data: { segment: 's1', shot: null } }))).toEqual({
      type: 'presence.update',
      data: { segment: 's1', shot: null },
    });
    expect(encodeClientMessage({ type: 'ping' })).toBe('{"type":"ping"}');
  });
});
