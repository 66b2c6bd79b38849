import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ingressEvents } from '../../../scenarios/load/ingress-feed.ts';
import { modelOf } from '../../../systems/model/landscape-model.ts';
import { loadTopology, parseTopology, TopologyError } from '../../../systems/topology/index.ts';

// Record kinds built from their declarations: checks beyond the field types, identity, and the
// payload filler that brings a record to its declared size.

const SHOP = 'scenarios/topologies/shop.yaml';
const shop = loadTopology(SHOP);
const kinds = modelOf(shop).kinds;
const [order] = ingressEvents(shop, 3, 1).map((e) => e.record);

describe('record kinds', () => {
  it('refuses a record that breaks a declared check, naming the check', () => {
    expect(kinds.validate('order', order).ok).toBe(true);
    expect(kinds.validate('order', { ...order, totalCents: 1 })).toEqual({ ok: false, reason: 'invalid order: check "totalCents == sum(items.map(i, i.qty * i.unitPriceCents))" does not hold' });
    expect(kinds.problem('order', { ...order, email: 'not-an-address' })).toMatch(/check "email.matches/);
    expect(kinds.problem('payment', { orderId: 'o', paymentId: 'p', amountCents: -1, method: 'card', status: 'declined' })).toMatch(/check "amountCents >= 0" does not hold/);
    // The field types come first: a wrong type is named as before.
    expect(kinds.problem('order', { ...order, totalCents: 'many' })).toMatch(/totalCents/);
  });

  it('reports a check that does not compile at its line', () => {
    const text = readFileSync(SHOP, 'utf8').replace('      - currency.matches', '      - currency * 2\n      - currency.matches');
    let error: unknown;
    try {
      parseTopology(text, 'bad-check.yaml');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TopologyError);
    const issue = (error as TopologyError).issues.find((i) => i.path === 'dataKinds[0].checks[2]');
    expect(issue?.message).toMatch(/check "currency \* 2" is wrong/);
    expect(issue?.line).toBe(text.split('\n').findIndex((l) => l.includes('currency * 2')) + 1);
  });

  it('identifies records by their identity fields and pads them to their declared size', () => {
    expect(kinds.idOf('risk-score', { orderId: 'o-1', source: 'payment', score: 3, verdict: 'approve' })).toBe('o-1/payment');
    const t = parseTopology(`name: sized
dataKinds:
  - { id: doc, key: docId, payloadBytes: 2048, fields: { docId: string } }
  - { id: blob, key: blobId, payloadBytes: { min: 500, max: 900 }, fields: { blobId: string } }
systems:
  - { id: S, name: s, role: ingress, ingress: [ { kind: doc, fields: { docId: "d-\${n}" } } ], lakeExport: { format: json, scheduleMs: 1000 } }
  - id: R
    name: r
    on: { doc: { emit: [ { kind: blob, fields: { blobId: "b-\${docId}" } } ] } }
    lakeExport: { format: csv, scheduleMs: 1000 }
flows:
  - { id: s-r, from: S, to: R, data: doc, legacy: { transport: amqp, format: xml } }
`, 'sized.yaml');
    const m = modelOf(t);
    const sizes = [1, 2, 3, 4, 5].map((n) => m.ingressEvent(1, n).record).map((r) => Buffer.byteLength(JSON.stringify(r)));
    expect(sizes).toEqual([2048, 2048, 2048, 2048, 2048]);
    const blobs = [1, 2, 3, 4, 5].map((n) => m.behaviour('R').rule('doc')!.apply(m.ingressEvent(1, n).record)[0].record);
    for (const b of blobs) {
      const bytes = Buffer.byteLength(JSON.stringify(b));
      expect(bytes).toBeGreaterThanOrEqual(500);
      expect(bytes).toBeLessThanOrEqual(900);
      expect(m.kinds.validate('blob', b).ok).toBe(true);
    }
    expect(new Set(blobs.map((b) => JSON.stringify(b).length)).size).toBeGreaterThan(1); // a range, not one size
    expect(blobs[0]).toEqual(m.behaviour('R').rule('doc')!.apply(m.ingressEvent(1, 1).record)[0].record); // the same every time
  });
});
