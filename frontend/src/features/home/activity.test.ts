import { describe, expect, it } from 'vitest';

import type { ActivityEntry } from '../../api/types';
import { activityLines, describeActivity, money } from './activity';

const dana = { id: 1, username: 'dana', display_name: 'Dana' };
const ana = { id: 3, username: 'ana', display_name: 'Ana' };
const bo = { id: 4, username: 'bo', display_name: 'bo' };
const pablo = { id: 5, username: 'pablo', display_name: 'Pablo' };

let seq = 0;
const entry = (type: string, actor: ActivityEntry['actor'], data: Record<string, unknown>): ActivityEntry => ({
  id: String((seq += 1)),
  type,
  actor,
  data,
  at: '2026-01-01T00:00:00Z',
});

const line = (e: ActivityEntry) => {
  const [l] = activityLines([e]);
  return `${l.who ? `${l.who} ` : ''}${l.text}`;
};

describe('activity lines say who did what to whom', () => {
  it('approvals name the take, its shot and its author', () => {
    expect(line(entry('take.approved', dana, { number: 2, shot_title: 'Waves', author: ana }))).toBe('Dana approved take 2 of “Waves” by Ana');
  });

  it('claims name the segment', () => {
    expect(line(entry('segment.claimed', ana, { title: 'Cold open', owner: ana }))).toBe('Ana claimed “Cold open”');
    expect(line(entry('segment.assigned', dana, { title: 'Cold open', owner: ana }))).toBe('Dana assigned “Cold open” to Ana');
    expect(line(entry('segment.updated', dana, { title: 'Cold open', status: 'locked' }))).toBe('Dana locked “Cold open”');
  });

  it('a generation says how many takes of which shot, and hides the takes it opened', () => {
    const lines = activityLines([
      entry('take.created', bo, { job: 'j1', number: 4, status: 'processing', shot_title: 'Waves', author: bo }),
      entry('take.created', bo, { job: 'j1', number: 3, status: 'processing', shot_title: 'Waves', author: bo }),
      entry('job.created', bo, { id: 'j1', variations: 2, backend: 'fal', shot: 'sh1' }),
    ]);
    expect(lines.map((l) => `${l.who} ${l.text}`)).toEqual(['bo generated 2 takes of “Waves” with fal']);
  });

  it('looks up a shot title by id when the entry has none', () => {
    const [l] = activityLines([entry('take.submitted', ana, { number: 1, shot: 'sh9', author: ana })], { shotTitle: (id) => (id === 'sh9' ? 'Harbour' : undefined) });
    expect(l.text).toBe('submitted take 1 of “Harbour” for review');
  });

  it('budget changes say the new amount', () => {
    expect(line(entry('project.updated', pablo, { fields: ['budget_amount'], changes: { budget_amount: '250.00' }, currency: 'USD' }))).toBe(
      'Pablo set the budget to 250 USD',
    );
    expect(
      line(entry('project.updated', dana, { fields: ['style_prompt', 'target_runtime_seconds'], changes: { target_runtime_seconds: 300 }, currency: 'USD' })),
    ).toBe('Dana set the target runtime to 5:00 and changed the style prompt');
    expect(money('12.5', 'EUR')).toBe('12.50 EUR');
  });

  it('events without an actor read as sentences', () => {
    const l = activityLines([entry('take.ready', null, { number: 3, shot_title: 'Waves', author: bo })])[0];
    expect(l.who).toBeNull();
    expect(l.text).toBe('Take 3 of “Waves” by bo is ready');
    expect(line(entry('take.failed', null, { number: 1, shot_title: 'Waves', author: bo, error: 'ComfyUI refused.' }))).toBe(
      'Take 1 of “Waves” by bo failed: ComfyUI refused.',
    );
  });

  it('people are named by display name, and requests for changes say to whom', () => {
    expect(line(entry('member.added', dana, { user: { id: 9, username: 'chen', display_name: 'Chen Wu' }, role: 'artist' }))).toBe(
      'Dana added Chen Wu as an artist',
    );
    expect(line(entry('member.added', ana, { user: ana, role: 'artist' }))).toBe('Ana joined as an artist');
    expect(describeActivity(entry('take.changes_requested', dana, { number: 2, shot_title: 'Waves', author: ana, body: 'Slower pan' }))).toBe(
      'asked Ana for changes on take 2 of “Waves”: “Slower pan”',
    );
  });
});
