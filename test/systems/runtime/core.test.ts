import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingressEvents } from '../../../scenarios/load/ingress-feed.ts';
import { SystemCore } from '../../../systems/runtime/core.ts';
import { loadTopology } from '../../../systems/topology/index.ts';

// SystemCore: the declared rule of a system run on what it receives, and its memory of what
// arrived: record ids in arrival order with a parallel array of arrival times (what the throughput
// runner's end-to-end latency reads), GET /state's `received` shape.

const topology = loadTopology('scenarios/topologies/shop.yaml');
const spec = (id: string) => topology.systems.find((s) => s.id === id)!;
const orders = (seed: number, count: number) => ingressEvents(topology, seed, count).map((e) => e.record);

describe('SystemCore', () => {
  it('runs the system\'s declared rule and returns what it emits', async () => {
    const [order] = orders(3, 1);
    const b = await new SystemCore(spec('B'), topology).handle('order', order);
    expect(b.ok && b.outputs.map((o) => o.kind)).toEqual(['payment']);
    const f = new SystemCore(spec('F'), topology);
    const declined = await f.handle('payment', { orderId: 'o-1', paymentId: 'pay-o-1', amountCents: 100, method: 'card', status: 'declined' });
    expect(declined).toEqual({ ok: true, outputs: [] }); // the rule's condition: only authorized payments are invoiced
    const paid = await f.handle('payment', { orderId: 'o-1', paymentId: 'pay-o-1', amountCents: 11_900, method: 'card', status: 'authorized' });
    expect(paid.ok && paid.outputs).toEqual([{ kind: 'invoice', record: { orderId: 'o-1', invoiceId: 'inv-o-1', paymentId: 'pay-o-1', amountCents: 11_900, taxCents: 1_900 } }]);
  });

  it('refuses a kind it has no rule for, and an invalid record, with a reason', async () => {
    const core = new SystemCore(spec('B'), topology);
    expect(await core.handle('invoice', {})).toEqual({ ok: false, reason: 'system B has no rule for invoice records' });
    const bad = await core.handle('order', { orderId: 'x' });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/invalid order: customerId/);
    expect(core.rejected).toBe(2);
  });

  it('takes ingress records only at the ingress, for its ingress kinds', () => {
    const [order] = orders(3, 1);
    expect(new SystemCore(spec('A'), topology).accept('order', order)).toEqual({ ok: true, outputs: [{ kind: 'order', record: order }] });
    expect(new SystemCore(spec('B'), topology).accept('order', order).ok).toBe(false);
  });

  it('stamps every arrival: atMs lines up with ids', async () => {
    let now = 1_000;
    const core = new SystemCore(spec('B'), topology, () => now);
    const list = orders(3, 3);
    for (const o of list) {
      now += 7;
      expect((await core.handle('order', o)).ok).toBe(true);
    }
    now += 7;
    await core.handle('order', list[0]); // a repeat is remembered again, with its own time
    const state = core.receivedState();
    expect(Object.keys(state)).toEqual(['order']);
    expect(state.order).toEqual({
      count: 4,
      ids: [...list.map((o) => o.orderId), list[0].orderId],
      atMs: [1_007, 1_014, 1_021, 1_028],
      truncated: false,
    });
  });

  it('does not stamp what it refuses', async () => {
    const core = new SystemCore(spec('B'), topology, () => 5);
    expect((await core.handle('order', { orderId: 'x' })).ok).toBe(false);
    expect(core.receivedState()).toEqual({});
  });

  it('keeps what it received across a restart in its journal, and skips a torn last line', async () => {
    const journal = join(mkdtempSync(join(tmpdir(), 'untangle-core-')), 'state', 'B', 'received.journal');
    const list = orders(4, 3);
    const first = new SystemCore(spec('B'), topology, () => 10, journal);
    await first.handle('order', list[0]);
    await first.handle('order', list[1]);
    appendFileSync(journal, `order\t${list[2].orderId}`); // killed mid-write: no time, no newline
    const second = new SystemCore(spec('B'), topology, () => 20, journal);
    expect(second.receivedState().order).toEqual({ count: 2, ids: [list[0].orderId, list[1].orderId], atMs: [10, 10], truncated: false });
    await second.handle('order', list[0]); // handled again after the restart: a real duplicate
    expect(second.receivedState().order.ids).toEqual([list[0].orderId, list[1].orderId, list[0].orderId]);
    const third = new SystemCore(spec('B'), topology, () => 30, journal);
    expect(third.receivedState().order.atMs).toEqual([10, 10, 20]);
  });
});
