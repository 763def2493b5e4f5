import { QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';

import { applyProjectEvent } from '../../state/cache';
import { qk } from '../../state/keys';

const stale = (qc: QueryClient, key: readonly unknown[]) => qc.getQueryState(key)?.isInvalidated;

function setup() {
  const qc = new QueryClient();
  qc.setQueryData(qk.timeline('p1'), { revision: 3 });
  qc.setQueryData(qk.timelineComments('p1'), []);
  return qc;
}

describe('the timeline live', () => {
  it('refetches the timeline when someone else edits it', () => {
    const qc = setup();
    applyProjectEvent(qc, 'p1', { type: 'timeline.changed', data: { revision: 4, ops: ['trim'] }, revision: 4 } as never);
    expect(stale(qc, qk.timeline('p1'))).toBe(true);
    expect(stale(qc, qk.timelineComments('p1'))).toBe(false);
  });

  it('refetches the pins when a comment is posted or a pick changes', () => {
    const qc = setup();
    applyProjectEvent(qc, 'p1', { type: 'comment.created', data: { id: 'c', take: 't', frame: 3, body: 'x', parent: null } });
    expect(stale(qc, qk.timelineComments('p1'))).toBe(true);
    const qc2 = setup();
    applyProjectEvent(qc2, 'p1', { type: 'take.approved', data: { id: 't', shot: 's' } });
    expect(stale(qc2, qk.timelineComments('p1'))).toBe(true);
    expect(stale(qc2, qk.timeline('p1'))).toBe(true);
  });
});
