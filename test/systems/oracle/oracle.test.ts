import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingressEvents } from '../../../scenarios/load/ingress-feed.ts';
import { canonicalSet, readLake, writeLegacyExport, type CanonicalRecord } from '../../../systems/lake/index.ts';
import { modelOf } from '../../../systems/model/landscape-model.ts';
import { expectedOutcome, formatVerifyReport, ingressRootKey, recordKey, verify } from '../../../systems/oracle/index.ts';
import { loadTopology, parseTopology, restrictTo } from '../../../systems/topology/index.ts';

const N = 200;
const shop = loadTopology('scenarios/topologies/shop.yaml');
const kinds = modelOf(shop).kinds;
const events = ingressEvents(shop, 2024, N);
const expected = expectedOutcome(shop, { ingress: events });
const count = (kind: string) => expected.byKind.get(kind)?.size ?? 0;
const authorized = [...(expected.byKind.get('payment')?.values() ?? [])].filter((c) => c.body.status === 'authorized');
const orderId = (n: number) => `o-2024-${String(n).padStart(6, '0')}`;

/** What each system received, as a perfect run would report it. */
function perfectReceived(): Map<string, Map<string, string[]>> {
  const m = new Map<string, Map<string, string[]>>();
  for (const [sys, ks] of expected.received) m.set(sys, new Map([...ks].map(([k, ids]) => [k, [...ids]])));
  return m;
}

describe('expectedOutcome', () => {
  it('follows the shop flows to the exact record set', () => {
    expect(expected.accepted).toBe(N);
    expect(expected.rejected).toEqual([]);
    expect(count('order')).toBe(N);
    expect(count('payment')).toBe(N);
    expect(count('reservation')).toBe(N);
    expect(count('shipment')).toBe(N);
    expect(count('customer')).toBe(N);
    expect(authorized.length).toBeLessThan(N);
    expect(count('invoice')).toBe(authorized.length);
    expect(count('insight')).toBe(3 * N);
    expect(count('notification')).toBe(3 * N);
    expect(count('risk-score')).toBe(2 * N);
    expect(expected.records).toHaveLength(N * 13 + authorized.length);
  });

  it('says what each system must receive, and through which flows', () => {
    const got = (sys: string, kind: string) => expected.received.get(sys)?.get(kind)?.size;
    for (const [sys, kind] of [['B', 'order'], ['C', 'order'], ['C', 'shipment'], ['D', 'reservation'], ['G', 'customer'], ['H', 'payment'], ['I', 'payment']]) {
      expect(got(sys, kind), `${sys} <- ${kind}`).toBe(N);
    }
    expect(got('E', 'invoice')).toBe(authorized.length);
    expect(got('A', 'order')).toBeUndefined();
    expect(expected.flowsInto.get('H')?.get('shipment')).toEqual(['d-h-shipment']);
  });

  it('knows the ingress event every record descends from', () => {
    const root = ingressRootKey('order', orderId(7));
    expect(expected.rootOf.get(recordKey('shipment', orderId(7)))).toBe(root);
    expect(expected.rootOf.get(recordKey('risk-score', `${orderId(7)}/payment`))).toBe(root);
    expect(expected.rootOf.size).toBe(expected.records.length);
  });

  it('is deterministic', () => {
    const again = expectedOutcome(shop, { ingress: ingressEvents(shop, 2024, N) });
    expect(canonicalSet(again.records).sha256).toBe(canonicalSet(expected.records).sha256);
  });

  it('a restricted landscape (A–D) expects only what A–D produce; the legacy lake only what systems export', () => {
    const ad = restrictTo(shop, ['A', 'B', 'C', 'D']);
    expect(ad.flows.map((f) => f.id)).toEqual(['a-b-payment', 'a-c-stock', 'c-d-pick', 'd-c-shipped']);
    const small = expectedOutcome(ad, { ingress: events });
    expect([...small.byKind.keys()].sort()).toEqual(['order', 'payment', 'reservation', 'shipment']);
    expect(small.records).toHaveLength(4 * N);
    expect([...small.received.keys()].sort()).toEqual(['B', 'C', 'D']);
    const noExport = parseTopology(fs.readFileSync('scenarios/topologies/shop.yaml', 'utf8').replace('    lakeExport: { format: json, scheduleMs: 2000 }\n    on:\n      order:\n        emit:\n          - kind: payment', '    on:\n      order:\n        emit:\n          - kind: payment'), 'shop-b-no-export.yaml', { derived: true });
    expect(expectedOutcome(noExport, { ingress: events }, { layout: 'legacy' }).byKind.get('payment')?.size ?? 0).toBe(0);
    expect(expectedOutcome(noExport, { ingress: events }, { layout: 'hub' }).byKind.get('payment')?.size).toBe(N);
  });

  it('refuses invalid ingress records and counts repeated ids once', () => {
    const bad = [{ orderId: 'x' }, null, 'an order', { ...events[0].record, items: [] }].map((record) => ({ kind: 'order', record }));
    const e = expectedOutcome(shop, { ingress: [events[0], ...bad, events[1], events[0]] });
    expect(e.accepted).toBe(2);
    expect(e.rejected).toHaveLength(bad.length + 1);
    expect(e.rejected[0].reason).toMatch(/invalid order/);
    expect(e.rejected.at(-1)?.reason).toMatch(/repeated order/);
    expect(e.byKind.get('order')?.size).toBe(2);
  });

  it('follows the records of scheduled sources, tick by tick', () => {
    const t = parseTopology(`name: ticks
dataKinds:
  - { id: rate, key: code, identity: [code, day], fields: { code: string, day: int, value: number } }
  - { id: quote, key: code, identity: [code, day], fields: { code: string, day: int, value: number } }
  - { id: sale, key: id, fields: { id: string } }
systems:
  - { id: S, name: shop, role: ingress, ingress: [ { kind: sale, fields: { id: "s-\${n}" } } ], lakeExport: { format: json, scheduleMs: 1000 } }
  - id: R
    name: rates
    sources: [ { kind: rate, everyMs: 1000, records: 2, fields: { code: "\${n == 1 ? 'EUR' : 'USD'}", day: "\${tick}", value: "\${random()}" } } ]
  - id: Q
    name: quotes
    on: { rate: { emit: [ { kind: quote, when: "code == 'EUR'" } ] } }
    lakeExport: { format: csv, scheduleMs: 1000 }
flows:
  - { id: r-q, from: R, to: Q, data: rate, legacy: { transport: amqp, format: json } }
`, 'ticks.yaml');
    const e = expectedOutcome(t, { sources: [{ system: 'R', source: 0, ticks: 3 }], seed: 9 });
    expect([...e.byKind.get('rate')!.keys()]).toEqual(['EUR/1', 'USD/1', 'EUR/2', 'USD/2', 'EUR/3', 'USD/3']);
    expect([...e.byKind.get('quote')!.keys()]).toEqual(['EUR/1', 'EUR/2', 'EUR/3']);
    expect(e.received.get('Q')?.get('rate')?.size).toBe(6);
    expect(e.rootOf.get(recordKey('quote', 'EUR/2'))).toBe('source:R/0/2');
    // The same seed makes the same records; another seed other values.
    expect(canonicalSet(expectedOutcome(t, { sources: [{ system: 'R', source: 0, ticks: 3 }], seed: 9 }).records).sha256).toBe(canonicalSet(e.records).sha256);
    expect(canonicalSet(expectedOutcome(t, { sources: [{ system: 'R', source: 0, ticks: 3 }], seed: 10 }).records).sha256).not.toBe(canonicalSet(e.records).sha256);
    // The legacy lake holds only what exporting systems made: R exports nothing.
    expect(expectedOutcome(t, { sources: [{ system: 'R', source: 0, ticks: 3 }], seed: 9 }, { layout: 'legacy' }).byKind.get('rate')?.size ?? 0).toBe(0);
  });
});

describe('verify', () => {
  it('a perfect run is ok', () => {
    const r = verify(expected, { lake: [...expected.records].reverse(), received: perfectReceived() });
    expect(r.ok).toBe(true);
    expect(r.totals.lake).toMatchObject({ expected: expected.records.length, present: expected.records.length, lost: 0 });
    expect(r.totals.received?.lost).toBe(0);
    expect(formatVerifyReport(r)).toMatch(/^verification OK/);
  });

  it('names lost, duplicated, unexpected and changed records exactly', () => {
    const lake: CanonicalRecord[] = expected.records.filter(
      (c) => !(c.kind === 'shipment' && ['o-2024-000005', 'o-2024-000009'].includes(c.id)) && !(c.kind === 'notification' && c.id === 'o-2024-000003/payment'),
    );
    const dup = expected.records.find((c) => c.kind === 'invoice')!;
    lake.push(dup, dup);
    lake.push({ kind: 'order', id: 'o-ghost', body: { ...events[0].record, orderId: 'o-ghost' } });
    const i = lake.findIndex((c) => c.kind === 'payment' && c.id === 'o-2024-000010');
    lake[i] = { ...lake[i], body: { ...lake[i].body, amountCents: 1 } };

    const r = verify(expected, { lake });
    expect(r.ok).toBe(false);
    const k = (kind: string) => r.kinds.find((x) => x.kind === kind)!;
    expect(k('shipment')).toMatchObject({ expected: N, present: N - 2, lost: ['o-2024-000005', 'o-2024-000009'], duplicated: [], unexpected: [] });
    expect(k('notification').lost).toEqual(['o-2024-000003/payment']);
    expect(k('invoice').duplicated).toEqual([{ id: dup.id, count: 3 }]);
    expect(k('order').unexpected).toEqual(['o-ghost']);
    expect(k('payment').mismatched).toEqual(['o-2024-000010']);
    expect(r.totals.lake).toMatchObject({ lost: 3, duplicated: 1, extraCopies: 2, unexpected: 1, mismatched: 1 });
    expect(r.totals.received).toBeNull();
    const text = formatVerifyReport(r);
    expect(text).toMatch(/^verification FAILED/);
    expect(text).toContain('lost: o-2024-000005, o-2024-000009');
    expect(text).toContain(`duplicated: ${dup.id}×3`);
  });

  it('checks what each system received, per flow', () => {
    const received = perfectReceived();
    const h = received.get('H')!;
    h.set('payment', h.get('payment')!.filter((id) => id !== 'o-2024-000007'));
    const d = received.get('D')!;
    d.set('reservation', [...d.get('reservation')!, 'o-2024-000001']);
    received.set('F', new Map([...received.get('F')!, ['order', ['o-2024-000002']]]));
    const r = verify(expected, { lake: expected.records, received });
    expect(r.ok).toBe(false);
    const rcv = (sys: string, kind: string) => r.receivers.find((x) => x.system === sys && x.inputKind === kind)!;
    expect(rcv('H', 'payment')).toMatchObject({ flows: ['b-h-payments'], lost: ['o-2024-000007'], present: N - 1 });
    expect(rcv('D', 'reservation').duplicated).toEqual([{ id: 'o-2024-000001', count: 2 }]);
    expect(rcv('F', 'order')).toMatchObject({ flows: [], expected: 0, unexpected: ['o-2024-000002'] });
    expect(r.totals.lake.lost).toBe(0);
    expect(r.totals.received).toMatchObject({ lost: 1, duplicated: 1, unexpected: 1 });
    expect(formatVerifyReport(r)).toContain('H <- payment (b-h-payments)');
  });

  it('works end to end on a lake written legacy-style', () => {
    const lakeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'untangle-oracle-'));
    try {
      const producers: Record<string, string> = { order: 'A', payment: 'B', reservation: 'C', shipment: 'D', customer: 'E', invoice: 'F', insight: 'G', notification: 'H', 'risk-score': 'I' };
      for (const [kind, byId] of expected.byKind) {
        const records = [...byId.values()].map((c) => c.body).filter((b) => b.orderId !== 'o-2024-000100');
        writeLegacyExport(lakeDir, producers[kind], kinds.get(kind), kind === 'shipment' ? 'xml' : 'csv', records, { atMs: 0 });
      }
      const r = verify(expected, { lake: readLake(lakeDir, 'legacy', kinds).records });
      // every kind lost exactly order 100's records
      expect(r.totals.lake.lost).toBe(13 + (authorized.some((c) => c.id === 'o-2024-000100') ? 1 : 0));
      expect(r.kinds.every((k) => k.lost.every((id) => id.startsWith('o-2024-000100')))).toBe(true);
      expect(r.totals.lake.duplicated + r.totals.lake.unexpected + r.totals.lake.mismatched).toBe(0);
    } finally {
      fs.rmSync(lakeDir, { recursive: true, force: true });
    }
  });
});
