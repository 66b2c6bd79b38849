import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateOrders } from '../../../systems/orders/index.ts';
import { SystemCore } from '../../../systems/runtime/core.ts';
import { loadTopology } from '../../../systems/topology/index.ts';

// SystemCore's memory of what arrived: order ids in arrival order with a parallel array of arrival
// times (what the throughput runner's end-to-end latency reads), GET /state's `received` shape.

const topology = loadTopology('scenarios/topologies/shop.yaml');
const spec = (id: string) => ({ ...topology.systems.find((s) => s.id === id)!, costPerMessageUs: 0 });

describe('SystemCore received state', () => {
  it('stamps every arrival: atMs lines up with orderIds', () => {
    let now = 1_000;
    const core = new SystemCore(spec('B'), () => now);
    const orders = generateOrders({ seed: 3, count: 3 });
    for (const o of orders) {
      now += 7;
      expect(core.process('order', o).ok).toBe(true);
    }
    now += 7;
    core.process('order', orders[0]); // a repeat is remembered again, with its own time
    const state = core.receivedState();
    expect(Object.keys(state)).toEqual(['order']);
    expect(state.order).toEqual({
      count: 4,
      orderIds: [...orders.map((o) => o.orderId), orders[0].orderId],
      atMs: [1_007, 1_014, 1_021, 1_028],
      truncated: false,
    });
  });

  it('keeps the old fields (count, orderIds, truncated) for existing readers, and survives JSON', () => {
    const core = new SystemCore(spec('C'));
    const before = Date.now();
    const [order] = generateOrders({ seed: 4, count: 1 });
    core.process('order', order);
    const state = JSON.parse(JSON.stringify(core.receivedState())) as Record<string, { count: number; orderIds: string[]; atMs: number[]; truncated: boolean }>;
    expect(state.order.count).toBe(1);
    expect(state.order.orderIds).toEqual([order.orderId]);
    expect(state.order.truncated).toBe(false);
    expect(state.order.atMs).toHaveLength(1);
    expect(state.order.atMs[0]).toBeGreaterThanOrEqual(before);
    expect(state.order.atMs[0]).toBeLessThanOrEqual(Date.now());
  });

  it('does not stamp what it refuses', () => {
    const core = new SystemCore(spec('B'), () => 5);
    expect(core.process('order', { orderId: 'x' }).ok).toBe(false);
    expect(core.receivedState()).toEqual({});
    expect(core.rejected).toBe(1);
  });

  it('keeps what it received across a restart in its journal, and skips a torn last line', () => {
    const journal = join(mkdtempSync(join(tmpdir(), 'untangle-core-')), 'state', 'B', 'received.journal');
    const orders = generateOrders({ seed: 4, count: 3 });
    const first = new SystemCore(spec('B'), () => 10, journal);
    first.process('order', orders[0]);
    first.process('order', orders[1]);
    appendFileSync(journal, `order\t${orders[2].orderId}`); // killed mid-write: no time, no newline
    const second = new SystemCore(spec('B'), () => 20, journal);
    expect(second.receivedState().order).toEqual({ count: 2, orderIds: [orders[0].orderId, orders[1].orderId], atMs: [10, 10], truncated: false });
    second.process('order', orders[0]); // handled again after the restart: a real duplicate
    expect(second.receivedState().order.orderIds).toEqual([orders[0].orderId, orders[1].orderId, orders[0].orderId]);
    const third = new SystemCore(spec('B'), () => 30, journal);
    expect(third.receivedState().order.atMs).toEqual([10, 10, 20]);
  });
});
