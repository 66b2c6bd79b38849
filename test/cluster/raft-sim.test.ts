// Randomized, deterministic simulation of a Raft cluster (3 or 5 nodes, chosen per seed) under
// message drops, delays/reordering, duplication, partitions (including an isolated leader) and
// crash/restart from storage, with clients proposing throughout and nodes compacting their logs
// into snapshots (so lagging followers catch up by InstallSnapshot and restarted nodes restore a
// snapshot). Invariants are checked continuously by the harness; after the faults stop a fresh
// command must commit everywhere.
//
//   RAFT_SIM_SEEDS=5000 npx vitest run test/cluster/raft-sim.test.ts   # more seeds
//   RAFT_SIM_SEED=123   npx vitest run test/cluster/raft-sim.test.ts   # replay one seed
import { describe, expect, it } from 'vitest';
import { runRaftSim, type SimStats } from './raft-sim-harness.ts';

const CHAOS_MS = 5_000; // simulated ms of faults per seed (≈4 ms of wall time per seed on 2 cores)
const LIVENESS_BUDGET_MS = 5_000; // simulated ms after healing for a fresh command to commit everywhere

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return n;
}

const single = envInt('RAFT_SIM_SEED');
const seeds = single !== undefined ? [single] : Array.from({ length: envInt('RAFT_SIM_SEEDS') ?? 1000 }, (_, i) => i + 1);

describe('raft network simulation', () => {
  it(`keeps election safety, committed entries and state-machine safety, and recovers (${seeds.length} seeds)`, () => {
    const total = { nodes3: 0, nodes5: 0, leaders: 0, crashes: 0, partitions: 0, committed: 0, dropped: 0, duplicated: 0, compactions: 0, installs: 0, restores: 0, maxRecoveryMs: 0 };
    for (const seed of seeds) {
      // Throws on the first violated invariant, with the seed (and replay hint) in the message.
      const s: SimStats = runRaftSim({ seed, chaosMs: CHAOS_MS, livenessBudgetMs: LIVENESS_BUDGET_MS });
      if (s.nodes === 3) total.nodes3++;
      else total.nodes5++;
      total.leaders += s.leadersElected;
      total.crashes += s.crashes;
      total.partitions += s.partitions;
      total.committed += s.committedEntries;
      total.dropped += s.dropped;
      total.duplicated += s.duplicated;
      total.compactions += s.compactions;
      total.installs += s.snapshotsInstalled;
      total.restores += s.snapshotRestores;
      total.maxRecoveryMs = Math.max(total.maxRecoveryMs, s.recoveryMs);
      expect(s.committedEntries, `seed ${seed}: nothing committed`).toBeGreaterThan(0);
    }
    if (seeds.length >= 100) {
      // The faults really happened, on both cluster sizes: the run above is not vacuous.
      expect(total.nodes3).toBeGreaterThan(seeds.length / 4);
      expect(total.nodes5).toBeGreaterThan(seeds.length / 4);
      expect(total.leaders).toBeGreaterThan(seeds.length * 2);
      expect(total.crashes).toBeGreaterThan(seeds.length * 2);
      expect(total.partitions).toBeGreaterThan(seeds.length * 2);
      expect(total.dropped).toBeGreaterThan(seeds.length * 10);
      expect(total.duplicated).toBeGreaterThan(seeds.length * 10);
      // Snapshots really were taken, sent to lagging followers and restored after crashes.
      expect(total.compactions).toBeGreaterThan(seeds.length * 5);
      expect(total.installs).toBeGreaterThan(seeds.length * 2);
      expect(total.restores).toBeGreaterThan(seeds.length * 2);
    }
  });

  it('is deterministic: the same seed replays the same run', () => {
    const a = runRaftSim({ seed: 4242, chaosMs: 2_000, livenessBudgetMs: LIVENESS_BUDGET_MS });
    const b = runRaftSim({ seed: 4242, chaosMs: 2_000, livenessBudgetMs: LIVENESS_BUDGET_MS });
    expect(b).toEqual(a);
  });
});
