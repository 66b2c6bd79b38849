import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Payment } from '../../../systems/domain/index.ts';
import { canonicalSet, readLake, writeLegacyExport, type CanonicalRecord } from '../../../systems/lake/index.ts';
import { generateOrders, malformedOrders } from '../../../systems/orders/index.ts';
import {
  expectedOutcome,
  flowsAmong,
  formatVerifyReport,
  SHOP_FLOWS,
  verify,
} from '../../../systems/oracle/index.ts';

const N = 200;
const orders = generateOrders({ seed: 2024, count: N });
const expected = expectedOutcome(orders);
const count = (kind: string) => expected.byKind.get(kind as never)?.size ?? 0;
const authorized = [...(expected.byKind.get('payment')?.values() ?? [])].filter((c) => (c.body as Payment).status === 'authorized');

/** What each system received, as a perfect run would report it. */
function perfectReceived(): Map<string, Map<string, string[]>> {
  const m = new Map<string, Map<string, string[]>>();
  for (const [sys, kinds] of expected.received) m.set(sys, new Map([...kinds].map(([k, ids]) => [k, [...ids]])));
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

  it('is deterministic', () => {
    const again = expectedOutcome(generateOrders({ seed: 2024, count: N }));
    expect(canonicalSet(again.records).sha256).toBe(canonicalSet(expected.records).sha256);
  });

  it('a restricted landscape (A–D) expects only what A–D produce', () => {
    const flows = flowsAmong(SHOP_FLOWS, ['A', 'B', 'C', 'D']);
    expect(flows.map((f) => f.id)).toEqual(['a-b-payment', 'a-c-stock', 'c-d-pick', 'd-c-shipped']);
    const small = expectedOutcome(orders, flows);
    expect([...small.byKind.keys()].sort()).toEqual(['order', 'payment', 'reservation', 'shipment']);
    expect(small.records).toHaveLength(4 * N);
    expect([...small.received.keys()].sort()).toEqual(['B', 'C', 'D']);
    expect(expectedOutcome(orders, SHOP_FLOWS, { lakeKinds: ['order', 'invoice'] }).records).toHaveLength(N + authorized.length);
  });

  it('refuses malformed orders and counts repeated orderIds once', () => {
    const bad = malformedOrders().map((m) => m.value);
    const e = expectedOutcome([orders[0], ...bad, orders[1], orders[0]]);
    expect(e.accepted).toBe(2);
    expect(e.rejected).toHaveLength(bad.length + 1);
    expect(e.rejected.at(-1)?.reason).toMatch(/repeated orderId/);
    expect(e.byKind.get('order')?.size).toBe(2);
  });

  it('refuses a flow into a system with no handler for its kind', () => {
    expect(() => expectedOutcome(orders, [{ id: 'x', from: 'A', to: 'D', data: 'order' }])).toThrow(/x: system D has no handler/);
    expect(() => expectedOutcome(orders, [{ id: 'y', from: 'A', to: 'B', data: 'parcel' }])).toThrow(/unknown data kind/);
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
      (c) => !(c.kind === 'shipment' && ['o-2024-000005', 'o-2024-000009'].includes(c.orderId)) && !(c.kind === 'notification' && c.orderId === 'o-2024-000003' && (c.body as { trigger: string }).trigger === 'payment'),
    );
    const dup = expected.records.find((c) => c.kind === 'invoice')!;
    lake.push(dup, dup);
    lake.push({ kind: 'order', orderId: 'o-ghost', body: { ...orders[0], orderId: 'o-ghost' } });
    const i = lake.findIndex((c) => c.kind === 'payment' && c.orderId === 'o-2024-000010');
    lake[i] = { ...lake[i], body: { ...(lake[i].body as Payment), amountCents: 1 } };

    const r = verify(expected, { lake });
    expect(r.ok).toBe(false);
    const k = (kind: string) => r.kinds.find((x) => x.kind === kind)!;
    expect(k('shipment')).toMatchObject({ expected: N, present: N - 2, lost: ['o-2024-000005', 'o-2024-000009'], duplicated: [], unexpected: [] });
    expect(k('notification').lost).toEqual(['o-2024-000003/payment']);
    expect(k('invoice').duplicated).toEqual([{ id: dup.orderId, count: 3 }]);
    expect(k('order').unexpected).toEqual(['o-ghost']);
    expect(k('payment').mismatched).toEqual(['o-2024-000010']);
    expect(r.totals.lake).toMatchObject({ lost: 3, duplicated: 1, extraCopies: 2, unexpected: 1, mismatched: 1 });
    expect(r.totals.received).toBeNull();
    const text = formatVerifyReport(r);
    expect(text).toMatch(/^verification FAILED/);
    expect(text).toContain('lost: o-2024-000005, o-2024-000009');
    expect(text).toContain(`duplicated: ${dup.orderId}×3`);
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
        writeLegacyExport(lakeDir, producers[kind], kind, kind === 'shipment' ? 'xml' : 'csv', records as never, { atMs: 0 });
      }
      const r = verify(expected, { lake: readLake(lakeDir, 'legacy').records });
      // every kind lost exactly order 100's records
      expect(r.totals.lake.lost).toBe(13 + (authorized.some((c) => c.orderId === 'o-2024-000100') ? 1 : 0));
      expect(r.kinds.every((k) => k.lost.every((id) => id.startsWith('o-2024-000100')))).toBe(true);
      expect(r.totals.lake.duplicated + r.totals.lake.unexpected + r.totals.lake.mismatched).toBe(0);
    } finally {
      fs.rmSync(lakeDir, { recursive: true, force: true });
    }
  });
});
