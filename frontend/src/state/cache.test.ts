import { QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';

import type { Job, Segment } from '../api/types';
import { applyProjectEvent, isFeedEvent } from './cache';
import { qk } from './keys';

const segment = (id: string, revision: number, owner: Segment['owner'] = null): Segment => ({
  id,
  project: 'p1',
  position: 0,
  title: id,
  synopsis: '',
  target_frames: null,
  owner,
  claimed_at: null,
  status: owner ? 'claimed' : 'open',
  revision,
  shot_count: 0,
  approved_count: 0,
  submitted_count: 0,
  created_at: '',
});

function setup() {
  const qc = new QueryClient();
  qc.setQueryData(qk.segments('p1'), [segment('s1', 1), segment('s2', 1)]);
  qc.setQueryData(qk.activity('p1'), []);
  qc.setQueryData(qk.takes('p1', 'sh1'), []);
  qc.setQueryData(qk.takes('p1', 'sh2'), []);
  return qc;
}

const stale = (qc: QueryClient, key: readonly unknown[]) => qc.getQueryState(key)?.isInvalidated;

describe('applyProjectEvent', () => {
  it('shows another person’s claim at once and refetches the board and the feed', () => {
    const qc = setup();
    applyProjectEvent(qc, 'p1', {
      type: 'segment.claimed',
      data: { id: 's1', status: 'claimed', owner: { id: 4, username: 'bo' }, revision: 2, title: 's1' },
    });
    const list = qc.getQueryData<Segment[]>(qk.segments('p1'))!;
    expect(list[0]).toMatchObject({ owner: { username: 'bo' }, status: 'claimed', revision: 2 });
    expect(list[1].owner).toBeNull();
    expect(stale(qc, qk.segments('p1'))).toBe(true);
    expect(stale(qc, qk.activity('p1'))).toBe(true);
  });

  it('does not roll a segment back with an older event', () => {
    const qc = setup();
    qc.setQueryData(qk.segments('p1'), [segment('s1', 5, { id: 4, username: 'bo' })]);
    applyProjectEvent(qc, 'p1', { type: 'segment.released', data: { id: 's1', status: 'open', owner: null, revision: 3 } });
    expect(qc.getQueryData<Segment[]>(qk.segments('p1'))![0].owner).toEqual({ id: 4, username: 'bo' });
  });

  it('refetches only the takes of the shot a take event is about', () => {
    const qc = setup();
    applyProjectEvent(qc, 'p1', { type: 'take.approved', data: { id: 't1', shot: 'sh1', review_state: 'approved' } });
    expect(stale(qc, qk.takes('p1', 'sh1'))).toBe(true);
    expect(stale(qc, qk.takes('p1', 'sh2'))).toBe(false);
  });

  it('applies job progress in place without refetching the feed', () => {
    const qc = setup();
    qc.setQueryData<Partial<Job>[]>(qk.jobs('p1', 'sh1'), [{ id: 'j1', state: 'queued', progress: 0 }]);
    applyProjectEvent(qc, 'p1', { type: 'job.progress', data: { id: 'j1', shot: 'sh1', state: 'running', progress: 45 } });
    expect(qc.getQueryData<Job[]>(qk.jobs('p1', 'sh1'))![0]).toMatchObject({ state: 'running', progress: 45 });
    expect(stale(qc, qk.activity('p1'))).toBe(false);
  });

  it('knows which events reach the activity feed', () => {
    expect(isFeedEvent('take.approved')).toBe(true);
    expect(isFeedEvent('job.progress')).toBe(false);
    expect(isFeedEvent('shot.updated')).toBe(false);
  });
});
