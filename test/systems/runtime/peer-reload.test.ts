// Onboarding with peer reload, for real: the shop's A-D as OS processes in the legacy layout with
// peers=reload and RabbitMQ, then I joins (A calls it over REST, B publishes to it over RabbitMQ).
// A and B rewire from the peers file without a restart (same pids, a reconfiguration each), the
// flows they already had keep running with their state, and I receives every record of the orders
// sent after it joined, end to end, as the oracle expects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLandscape, type Landscape } from '../../../systems/runtime/landscape.ts';
import { driveEvents, receivedOfSystem, waitForOutcome } from '../../../systems/runtime/run-check.ts';
import { parsePractices } from '../../../systems/runtime/options.ts';
import type { ReloadState } from '../../../systems/runtime/legacy-system.ts';
import { ingressEvents } from '../../../scenarios/load/ingress-feed.ts';
import { expectedOutcome, formatVerifyReport } from '../../../systems/oracle/index.ts';
import { loadTopology } from '../../../systems/topology/index.ts';
import { peerChecks, requirePeer, RABBITMQ_URL } from '../../helpers/peers.ts';

const TOPOLOGY = 'scenarios/topologies/shop.yaml';
const EVENTS = ingressEvents(loadTopology(TOPOLOGY), 42, 60);
const BEFORE = EVENTS.slice(0, 30);
const AFTER = EVENTS.slice(30);
const hasRabbit = await requirePeer('rabbitmq', () => peerChecks.rabbitmq());

interface State {
  pid: number;
  wiring: { reload?: ReloadState; rest: { clients: Record<string, { calls: number }> } };
}

describe.runIf(hasRabbit)('legacy layout with peers=reload: onboarding without restarts', () => {
  let ls: Landscape;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'untangle-reload-'));
    ls = await startLandscape({
      topologyFile: TOPOLOGY, layout: 'legacy', workDir: dir, runId: `t${Date.now() % 1_000_000}r`, amqpUrl: RABBITMQ_URL,
      systems: ['A', 'B', 'C', 'D'], universe: ['A', 'B', 'C', 'D', 'I'], practices: parsePractices('peers=reload'),
    });
  }, 120_000);
  afterAll(async () => {
    await ls?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('adds I: A and B rewire in place, and I receives what the orders after it joined send it', async () => {
    const state = async (name: string): Promise<State> => (await ls.state(name)) as State;
    const first = await driveEvents(ls.ingressUrl, BEFORE, 4);
    expect(first.failures).toEqual({});
    const settled = await waitForOutcome(ls, BEFORE, 60_000);
    expect(settled.report.ok, formatVerifyReport(settled.report)).toBe(true);
    const pidsBefore = ls.pids();
    const callsBefore = (await state('A')).wiring.rest.clients['a-b-payment'].calls;
    expect(callsBefore).toBeGreaterThanOrEqual(BEFORE.length);
    expect((await state('A')).wiring.reload).toMatchObject({ generation: 1, reconfigurations: 0 });

    const change = await ls.addSystems(['I'], { restart: ['A', 'B'] });
    expect(change.restarts).toEqual({});
    expect(Object.keys(change.reconfigured).sort()).toEqual(['A', 'B']);
    for (const { atMs } of Object.values(change.reconfigured)) expect(atMs).toBeGreaterThanOrEqual(change.newcomersHealthyAtMs.I);
    const pidsAfter = ls.pids();
    for (const id of ['A', 'B', 'C', 'D']) {
      expect(pidsAfter[id], `${id} keeps its process`).toBe(pidsBefore[id]);
      expect(ls.supervisor.status(id).starts).toBe(1);
    }
    expect((await state('A')).wiring.reload).toMatchObject({ generation: 2, reconfigurations: 1, lastChange: '+a-i-score(out)', lastError: null, rulesOutdated: false });
    expect((await state('B')).wiring.reload).toMatchObject({ generation: 2, reconfigurations: 1, lastChange: '+b-i-payments(out)' });
    // C and D have nothing to do with I: they read the new file and changed nothing.
    for (const id of ['C', 'D']) expect((await state(id)).wiring.reload).toMatchObject({ generation: 2, reconfigurations: 0 });

    const second = await driveEvents(ls.ingressUrl, AFTER, 4);
    expect(second.failures).toEqual({});
    const check = await waitForOutcome(ls, AFTER, 60_000);
    // The lake also holds the first orders' records (unexpected here); nothing of the later ones is missing or doubled.
    expect(check.report.totals.lake, formatVerifyReport(check.report)).toMatchObject({ lost: 0, duplicated: 0, mismatched: 0 });
    expect(check.report.totals.received, formatVerifyReport(check.report)).toMatchObject({ lost: 0, duplicated: 0 });
    const wantI = expectedOutcome(ls.topology, { ingress: AFTER }, { layout: 'legacy' }).received.get('I')!;
    const gotI = (await receivedOfSystem(ls, 'I'))!;
    expect([...wantI.keys()].sort()).toEqual(['order', 'payment']);
    for (const [kind, ids] of wantI) expect(new Set(gotI[kind].ids)).toEqual(ids);
    // A's call flow to B was left running: the same client, still counting.
    expect((await state('A')).wiring.rest.clients['a-b-payment'].calls).toBeGreaterThanOrEqual(callsBefore + AFTER.length);
  }, 240_000);
});
