// A legacy system's running flows moved from one plan to another in one process (batch files and
// REST routes, no RabbitMQ): a new flow starts and carries records, a removed one flushes what it
// holds, an unchanged one keeps running with its state, and a record route comes and goes while
// the server listens.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/run.ts';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LegacyCounterRegistry } from '../../../systems/legacy/counters.ts';
import { createRestApp } from '../../../systems/legacy/rest-server.ts';
import { codecFor } from '../../../systems/legacy/common.ts';
import { batchWriterForFlow } from '../../../systems/legacy/flow-wiring.ts';
import { planFlows } from '../../../systems/legacy/flow-set.ts';
import { LiveFlows } from '../../../systems/runtime/legacy-flows.ts';
import { modelOf } from '../../../systems/model/landscape-model.ts';
import { expectedOutcome } from '../../../systems/oracle/index.ts';
import { ingressEvents } from '../../../scenarios/load/ingress-feed.ts';
import { loadTopology, restrictTo } from '../../../systems/topology/index.ts';

const shop = loadTopology('scenarios/topologies/shop.yaml');
const kinds = modelOf(shop).kinds;
const peers = Object.fromEntries(shop.systems.map((s, i) => [s.id, [`http://127.0.0.1:${4000 + i}`]]));
const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

const until = (check: () => boolean): Promise<void> => waitFor(check, 8000, 'the condition');

describe('legacy running flows', () => {
  it('starts new flows, flushes removed ones and leaves unchanged ones running', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'untangle-flows-'));
    dirs.push(workDir);
    const before = restrictTo(shop, ['A', 'B', 'C', 'E']);
    const after = restrictTo(shop, ['A', 'B', 'C', 'E', 'G']);
    const received: string[] = [];
    const counters = new LegacyCounterRegistry();
    const flows = new LiveFlows({
      me: 'E', systemId: 'E', several: false, workDir, sharedDir: join(workDir, 'shared', 'E'),
      rest: createRestApp({ codec: codecFor(kinds) }), counters, validate: kinds.problem, logger: () => undefined,
      receive: async (kind, records) => { for (const r of records) received.push(kinds.idOf(kind, r)); },
    });
    try {
      expect((await flows.apply(before, planFlows(before, 'E', peers))).diff.added.map((p) => p.key)).toEqual(['in:a-e-orders']);
      expect(flows.sendsOf('customer')).toEqual([]);
      // Orders arrive as A's batch files.
      const events = ingressEvents(after, 7, 6);
      const dropOrders = async (from: number, to: number): Promise<void> => {
        const writer = batchWriterForFlow(shop, shop.flows.find((f) => f.id === 'a-e-orders')!, join(workDir, 'inbox', 'E'));
        writer.add(...events.slice(from, to).map((e) => e.record));
        await writer.stop();
      };
      // The picker counts a file once its records are handed over: wait for both.
      const pickedFiles = (): number => counters.snapshot().batch.pickers['a-e-orders'].files;
      await dropOrders(0, 3);
      await until(() => received.length === 3 && pickedFiles() === 1);
      const picked = pickedFiles();

      // G joins: E now sends it customers; its picker of A's orders is untouched.
      const grown = await flows.apply(after, planFlows(after, 'E', peers));
      expect(grown.diff.added.map((p) => p.key)).toEqual(['out:e-g-customers']);
      expect(grown.diff.unchanged.map((p) => p.key)).toEqual(['in:a-e-orders']);
      expect(grown.problems).toEqual([]);
      const customers = [...expectedOutcome(after, { ingress: events }).byKind.get('customer')!.values()].map((c) => c.body);
      expect(customers.length).toBeGreaterThan(0);
      const [{ send }] = flows.sendsOf('customer');
      await send(customers);
      await dropOrders(3, 6);
      await until(() => received.length === 6 && pickedFiles() >= picked + 1);
      expect(pickedFiles()).toBe(picked + 1); // the same picker, still counting

      // G leaves: the writer of e-g-customers (every 5 s) flushes what it holds as it stops.
      const gInbox = join(workDir, 'inbox', 'G', 'e-g-customers');
      expect(existsSync(gInbox) ? readdirSync(gInbox) : []).toEqual([]);
      const shrunk = await flows.apply(before, planFlows(before, 'E', peers));
      expect(shrunk.diff.removed.map((p) => p.key)).toEqual(['out:e-g-customers']);
      expect(readdirSync(gInbox).filter((f) => f.endsWith('.csv'))).toHaveLength(1);
      expect(flows.sendsOf('customer')).toEqual([]);
      expect(counters.snapshot().batch.writers['e-g-customers']).toBeUndefined();
      expect(received.sort()).toEqual(events.map((e) => e.id).sort());
    } finally {
      await flows.close();
    }
  });

  it('adds and removes a record route while the server listens', async () => {
    const app = createRestApp({ codec: codecFor(kinds) });
    const listener = await app.listen(0);
    try {
      const got: unknown[] = [];
      const post = () => fetch(`${listener.url}/in/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ingressEvents(shop, 1, 1)[0].record) });
      expect((await post()).status).toBe(404);
      const route = app.acceptRecords('/in/x', 'order', (records) => { got.push(...records); });
      expect(() => app.acceptRecords('/in/x', 'order', () => undefined)).toThrow(/POST \/in\/x is served already/);
      expect((await post()).status).toBe(204);
      expect(got).toHaveLength(1);
      route.remove();
      expect((await post()).status).toBe(404);
      app.acceptRecords('/in/x', 'order', () => undefined);
      expect((await post()).status).toBe(204);
    } finally {
      await listener.close();
    }
  });
});
