// What every client's group scenario (test/clients/*) must show: two generations of a group of three, each member
// with a share and together every partition once, no record twice, the second resuming past what the first
// committed, and the topic deleted.
import { expect } from 'vitest';

export interface GroupScenario {
  first: { shares: number[][]; distinct: number; duplicates: string[] };
  second: { shares: number[][]; distinct: number; duplicates: string[] };
  /** Records of the second generation below the offsets the first committed. */
  resumedBelowCommitted: number;
  deleted: boolean;
}

export function judgeGroupScenario(r: GroupScenario, expected = { first: 300, second: 150, partitions: 3 }): void {
  for (const g of [r.first, r.second]) {
    expect(g.shares.every((p) => p.length > 0), `every member has a share: ${JSON.stringify(g.shares)}`).toBe(true);
    expect(g.shares.flat().sort()).toEqual(Array.from({ length: expected.partitions }, (_, i) => i));
    expect(g.duplicates).toEqual([]);
  }
  expect(r.first.distinct).toBe(expected.first);
  expect(r.second.distinct).toBe(expected.second);
  expect(r.resumedBelowCommitted, 'records the first generation committed, delivered again').toBe(0);
  expect(r.deleted).toBe(true);
}
