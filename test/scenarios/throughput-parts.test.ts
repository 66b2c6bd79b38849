import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ingressEvents } from '../../scenarios/load/ingress-feed.ts';
import { modelOf } from '../../systems/model/landscape-model.ts';
import { writeLegacyExport, type CanonicalRecord } from '../../systems/lake/index.ts';
import { expectedOutcome, ingressRootKey, recordKey } from '../../systems/oracle/index.ts';
import type { ReceivedState } from '../../systems/runtime/core.ts';
import { loadTopology, restrictTo } from '../../systems/topology/index.ts';
import { evaluateStep, expectStep, LakeWatcher, percentile, receivedOf, type LakeRead } from '../../scenarios/runners/throughput/effects.ts';
import { costBetween, type CostSample } from '../../scenarios/runners/throughput/cost.ts';

// The throughput runner's bookkeeping without processes: a step's oracle sees only its own orders
// (records of other steps are neither unexpected nor present), end-to-end latency is the last
// effect's arrival minus the send time, and process costs are deltas that notice restarts.

const topology = restrictTo(loadTopology('scenarios/topologies/shop.yaml'), ['A', 'B', 'C', 'D']);
const kinds = modelOf(topology).kinds;
const events = ingressEvents(topology, 5, 4);
const orders = events.map((e) => e.record as { orderId: string });
const all = expectedOutcome(topology, { ingress: events });
const dir = mkdtempSync(path.join(tmpdir(), 'untangle-tput-parts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every system's received state for all four orders; arrival at base + 10 * order index. */
function statesFor(base: number, skip?: { system: string; kind: string; orderId: string }): Map<string, ReceivedState[]> {
  const states = new Map<string, ReceivedState[]>();
  for (const [system, kinds] of all.received) {
    const st: ReceivedState = {};
    for (const [kind, ids] of kinds) {
      const list = [...ids].filter((id) => !(skip && skip.system === system && skip.kind === kind && skip.orderId === id));
      st[kind] = { count: list.length, ids: list, atMs: list.map((id) => base + 10 * orders.findIndex((o) => o.orderId === id)), truncated: false };
    }
    // What the ingress remembers of its own intake is no flow: it must be ignored.
    st.unrelated = { count: 1, ids: [orders[0].orderId], atMs: [1e15], truncated: false };
    states.set(system, [st]);
  }
  return states;
}

describe('a step oracle over its own orders', () => {
  const step = events.slice(0, 2).map((event, i) => ({ event, sentAtMs: 1_000 + i }));
  const exp = expectStep(topology, 'hub', step);
  const ids = exp.keys;
  const lakeOf = (records: readonly CanonicalRecord[], fileMs: (r: CanonicalRecord) => number): LakeRead =>
    ({ records: records.filter((r) => ids.has(recordKey(r.kind, r.id))).map((record) => ({ record, fileMs: fileMs(record) })), badLines: 0 });
  const root = (i: number) => ingressRootKey('order', orders[i].orderId);

  it('expects, per order, its lake records and its receipts', () => {
    expect(exp.sentAtMs.size).toBe(2);
    expect(exp.lakeKeys.get(root(0))!.length).toBe(4); // order, payment, reservation, shipment
    const o = orders[0].orderId;
    expect(exp.receiverKeys.get(root(0))!.sort()).toEqual([`B\u0000order\u0000${o}`, `C\u0000order\u0000${o}`, `C\u0000shipment\u0000${o}`, `D\u0000reservation\u0000${o}`]);
  });

  it('is complete when every effect of its orders is there, whatever else the landscape holds', () => {
    const lake = lakeOf(all.records, (r) => (r.kind === 'shipment' ? 3_000 : 2_000));
    const received = receivedOf(topology, statesFor(2_500), ids);
    const e = evaluateStep(exp, lake, { ...received, bytes: new Map() });
    expect(e).toMatchObject({ accepted: 2, complete: 2, completionRate: 1, missingLake: 0, missingReceived: 0 });
    expect(e.report?.ok).toBe(true);
    expect(e.report?.totals.lake.unexpected).toBe(0);
    expect(e.report?.totals.received?.unexpected).toBe(0);
    // The last effect is the shipment in the lake at 3,000 ms; receipts came at 2,500 and 2,510.
    expect(e.e2eMs.sort((a, b) => a - b)).toEqual([3_000 - 1_001, 3_000 - 1_000]);
  });

  it('takes the latest receipt when it comes after the lake', () => {
    const e = evaluateStep(exp, lakeOf(all.records, () => 2_000), { ...receivedOf(topology, statesFor(4_000), ids), bytes: new Map() });
    expect(e.e2eMs).toEqual([4_000 - 1_000, 4_010 - 1_001]);
  });

  it('counts an order with a missing receipt or a wrong lake record as incomplete', () => {
    const missing = receivedOf(topology, statesFor(2_500, { system: 'D', kind: 'reservation', orderId: orders[1].orderId }), ids);
    const e1 = evaluateStep(exp, lakeOf(all.records, () => 2_000), { ...missing, bytes: new Map() });
    expect(e1).toMatchObject({ complete: 1, completionRate: 0.5, missingReceived: 1, missingLake: 0 });

    const altered = all.records.map((r) => (r.kind === 'payment' && r.id === orders[0].orderId ? { ...r, body: { ...r.body, amountCents: 1 } } : r));
    const e2 = evaluateStep(exp, lakeOf(altered, () => 2_000), { ...receivedOf(topology, statesFor(2_500), ids), bytes: new Map() });
    expect(e2).toMatchObject({ complete: 1, missingLake: 1 });
    expect(e2.report?.totals.lake.mismatched).toBe(1);
  });

  it('a receipt without a time proves delivery but gives no latency', () => {
    const states = statesFor(2_500);
    for (const [st] of states.values()) for (const k of Object.keys(st)) delete st[k].atMs;
    const e = evaluateStep(exp, lakeOf(all.records, () => 2_000), { ...receivedOf(topology, states, ids), bytes: new Map() });
    expect(e).toMatchObject({ complete: 2, completionRate: 1 });
    expect(e.e2eMs).toEqual([]);
  });
});

describe('LakeWatcher', () => {
  it('reads only the given records, each with the mtime of its file', () => {
    writeLegacyExport(dir, 'A', kinds.get('order'), 'json', events.slice(0, 3).map((e) => e.record));
    writeLegacyExport(dir, 'A', kinds.get('order'), 'json', events.slice(3).map((e) => e.record));
    const watcher = new LakeWatcher(dir, 'legacy', kinds);
    const ids = new Set([recordKey('order', orders[0].orderId), recordKey('order', orders[3].orderId)]);
    const read = watcher.read(ids);
    expect(read.records.map((r) => r.record.id).sort()).toEqual([orders[0].orderId, orders[3].orderId].sort());
    const folder = path.join(dir, 'legacy', 'A', 'order');
    const [date] = readdirSync(folder);
    const files = readdirSync(path.join(folder, date)).sort();
    const mtime = (f: string) => statSync(path.join(folder, date, f)).mtimeMs;
    expect(read.records.find((r) => r.record.id === orders[0].orderId)!.fileMs).toBe(mtime(files[0]));
    expect(read.records.find((r) => r.record.id === orders[3].orderId)!.fileMs).toBe(mtime(files[1]));
    expect(watcher.read(ids)).toBe(read); // nothing new in the lake: no second read
  });
});

describe('costBetween', () => {
  const sample = (atMs: number, entries: [string, { pid: number; cpuS: number; writtenBytes: number | null } | null][]): CostSample => ({ atMs, byName: new Map(entries) });

  it('gives CPU and bytes deltas, the busiest process, and leaves restarted or vanished ones out', () => {
    const a = sample(0, [['A', { pid: 1, cpuS: 1, writtenBytes: 100 }], ['B', { pid: 2, cpuS: 1, writtenBytes: 100 }], ['rabbitmq', { pid: 3, cpuS: 5, writtenBytes: null }], ['C', { pid: 4, cpuS: 0, writtenBytes: 0 }], ['D', { pid: 5, cpuS: 0, writtenBytes: 0 }]]);
    const b = sample(1000, [['A', { pid: 1, cpuS: 1.5, writtenBytes: 1_100 }], ['B', { pid: 2, cpuS: 2, writtenBytes: 600 }], ['rabbitmq', { pid: 3, cpuS: 5.25, writtenBytes: null }], ['C', { pid: 9, cpuS: 3, writtenBytes: 9 }], ['D', null]]);
    const cost = costBetween(a, b, new Map([['B', 200]]));
    expect(cost.perProcess).toEqual([{ process: 'B', seconds: 1 }, { process: 'A', seconds: 0.5 }, { process: 'rabbitmq', seconds: 0.25 }]);
    expect(cost.totalCpuS).toBeCloseTo(1.75, 6);
    expect(cost.bytesWritten).toBe(1_000 + 300);
    expect(cost.bottleneck).toBe('B');
    expect(cost.problems).toHaveLength(2);
    expect(cost.problems.join('\n')).toMatch(/C: restarted/);
    expect(cost.problems.join('\n')).toMatch(/D: not running at the end/);
  });

  it('gives each process the mean of its resident memory at the two samples, null when either is unreadable', () => {
    const a: CostSample = { atMs: 0, byName: new Map([['A', { pid: 1, cpuS: 0, writtenBytes: 0, rssBytes: 100_000_000 }], ['rabbitmq', { pid: 2, cpuS: 0, writtenBytes: null, rssBytes: null }]]) };
    const b: CostSample = { atMs: 1000, byName: new Map([['A', { pid: 1, cpuS: 1, writtenBytes: 0, rssBytes: 120_000_001 }], ['rabbitmq', { pid: 2, cpuS: 0.5, writtenBytes: null, rssBytes: 90_000_000 }]]) };
    expect(costBetween(a, b).deltas.map((d) => [d.process, d.rssBytes])).toEqual([['A', 110_000_001], ['rabbitmq', null]]);
  });
});

describe('percentile', () => {
  it('is nearest-rank, null for nothing', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([5], 99)).toBe(5);
    expect(percentile([4, 1, 3, 2], 50)).toBe(2);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 99)).toBe(99);
    expect(percentile(Array.from({ length: 1000 }, (_, i) => i + 1), 99)).toBe(990);
  });
});
