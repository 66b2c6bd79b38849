// outbox=durable for real: systems A, B, E and F of the shop as OS processes in the legacy layout (A
// takes orders over REST, calls B synchronously and drops batch files for E; F polls B's payment
// feed; each exports to the lake on its own schedule). A and B are killed with kill -9 while their
// lake exports, A's batch drop and B's feed hold records not yet handed over, and restarted; the
// oracle then finds nothing lost and nothing twice in the lake or at any receiver.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingressEvents } from '../../../scenarios/load/ingress-feed.ts';
import type { OutboxCounters } from '../../../systems/legacy/outbox.ts';
import { formatVerifyReport } from '../../../systems/oracle/index.ts';
import { startLandscape, type Landscape } from '../../../systems/runtime/landscape.ts';
import { parsePractices } from '../../../systems/runtime/options.ts';
import { driveEvents, waitForOutcome } from '../../../systems/runtime/run-check.ts';
import { loadTopology } from '../../../systems/topology/index.ts';

const TOPOLOGY = 'scenarios/topologies/shop.yaml';
const SYSTEMS = ['A', 'B', 'E', 'F'];
const EVENTS = ingressEvents(loadTopology(TOPOLOGY), 7, 60);
const CHUNK = 10;

type Outboxes = Record<string, OutboxCounters>;

describe('outbox=durable: kill -9 of legacy systems between their scheduled hand-overs', () => {
  let ls: Landscape | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    await ls?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loses no record and duplicates none', async () => {
    dir = mkdtempSync(join(tmpdir(), 'untangle-durable-outbox-'));
    ls = await startLandscape({
      topologyFile: TOPOLOGY, layout: 'legacy', workDir: dir, runId: `t${Date.now() % 1_000_000}o`, systems: SYSTEMS,
      practices: parsePractices('outbox=durable'),
    });
    const landscape = ls;
    const outboxes = async (name: string): Promise<Outboxes> => ((await landscape.state(name)) as { wiring: { outboxes: Outboxes } }).wiring.outboxes;

    // Orders in chunks until A's and B's lake exports both hold records not yet exported: then kill both.
    let sent = 0;
    let before: Record<string, Outboxes> = {};
    while (sent < EVENTS.length) {
      const drive = await driveEvents(ls.ingressUrl, EVENTS.slice(sent, sent + CHUNK), 4);
      expect(drive.failures).toEqual({});
      sent += CHUNK;
      before = { A: await outboxes('A'), B: await outboxes('B') };
      if (before.A['lake-order']?.depth > 0 && before.B['lake-payment']?.depth > 0) break;
    }
    await Promise.all(['A', 'B'].map((name) => landscape.supervisor.kill(name, 'SIGKILL')));
    console.log(`killed A and B after ${sent} orders; their outboxes then: ${JSON.stringify(before)}`);
    expect(before.A['lake-order'].depth).toBeGreaterThan(0);
    expect(before.B['lake-payment'].depth).toBeGreaterThan(0);
    expect(Object.keys(before.A).sort()).toEqual(['batch-a-e-orders', 'lake-order']);
    expect(Object.keys(before.B).sort()).toEqual(['feed-payment', 'lake-payment']);

    // B first: A's synchronous calls need it.
    for (const name of ['B', 'A']) await landscape.supervisor.restart(name);
    const after = await outboxes('B');
    expect(after['feed-payment'].lastSeq).toBeGreaterThanOrEqual(before.B['feed-payment'].lastSeq); // the same feed, not a new one
    const rest = await driveEvents(ls.ingressUrl, EVENTS.slice(sent), 4);
    expect(rest.failures).toEqual({});

    const check = await waitForOutcome(ls, EVENTS, 60_000, { quietMs: 15_000, pollMs: 500 });
    console.log(`settled ${check.waitedMs} ms after the last order: lake ${JSON.stringify(check.report.totals.lake)}`);
    expect(check.report.totals.lake, formatVerifyReport(check.report)).toMatchObject({ lost: 0, duplicated: 0, unexpected: 0, mismatched: 0 });
    expect(check.report.totals.received, formatVerifyReport(check.report)).toMatchObject({ lost: 0, duplicated: 0 });
    const pollers = ((await ls.state('F')) as { wiring: { rest: { pollers: Record<string, { resets: number }> } } }).wiring.rest.pollers;
    expect(pollers['b-f-payments'].resets).toBe(0); // F went on from its cursor: B's feed kept its epoch
  }, 120_000);
});
