/**
 * Data kinds and records for the codec, lake, legacy and hub tests, made by hand so the tests need
 * neither the topology loader nor the rules engine: the shop's data kinds as declared in
 * scenarios/topologies/shop.yaml (the same fields, types, keys and identities) plus one kind the
 * shop lacks (stock-level: a bool, a number, a key other than orderId and a payload size, so its
 * records carry padding). `sampleRecords` makes valid records of every kind from an index;
 * AWKWARD holds records whose text needs quoting or escaping in every format.
 */
import { RecordKinds } from '../../../systems/model/kinds.ts';
import type { DataKind, FieldDecl, ScalarField } from '../../../systems/topology/model.ts';

const str = (name: string): FieldDecl => ({ name, spec: { type: 'string' } });
const int = (name: string): FieldDecl => ({ name, spec: { type: 'int' } });
const num = (name: string): FieldDecl => ({ name, spec: { type: 'number' } });
const bool = (name: string): FieldDecl => ({ name, spec: { type: 'bool' } });
const oneOf = (name: string, values: string[]): FieldDecl => ({ name, spec: { type: 'enum', values } });
const listOf = (name: string, fields: Record<string, ScalarField['type']>, min: number, max: number): FieldDecl => ({
  name,
  spec: { type: 'list', fields: Object.entries(fields).map(([n, type]) => ({ name: n, spec: { type } as ScalarField })), min, max },
});

function kind(id: string, key: string, fields: FieldDecl[], more: Partial<DataKind> = {}): DataKind {
  return { id, key, identity: [key], fields, ...more };
}

export const SAMPLE_DATA_KINDS: readonly DataKind[] = [
  kind('order', 'orderId', [
    str('orderId'), str('customerId'), int('createdAtMs'),
    listOf('items', { sku: 'string', qty: 'int', unitPriceCents: 'int' }, 1, 50),
    int('totalCents'), str('currency'), str('country'), str('email'),
  ]),
  kind('payment', 'orderId', [str('orderId'), str('paymentId'), int('amountCents'), str('method'), oneOf('status', ['authorized', 'declined'])]),
  kind('reservation', 'orderId', [str('orderId'), str('reservationId'), str('warehouse'), listOf('lines', { sku: 'string', qty: 'int' }, 1, 50)]),
  kind('shipment', 'orderId', [str('orderId'), str('shipmentId'), str('reservationId'), str('carrier'), str('trackingNo'), int('parcels')]),
  kind('customer', 'customerId', [str('orderId'), str('customerId'), str('email'), str('country'), str('segment')], { identity: ['orderId'] }),
  kind('invoice', 'orderId', [str('orderId'), str('invoiceId'), str('paymentId'), int('amountCents'), int('taxCents')]),
  kind('insight', 'orderId', [str('orderId'), oneOf('source', ['order', 'reservation', 'customer']), str('metric'), num('value')], {
    identity: ['orderId', 'source'],
  }),
  kind('notification', 'orderId', [str('orderId'), oneOf('trigger', ['order', 'payment', 'shipment']), str('channel'), str('template')], {
    identity: ['orderId', 'trigger'],
  }),
  kind('risk-score', 'orderId', [str('orderId'), oneOf('source', ['order', 'payment']), int('score'), oneOf('verdict', ['approve', 'review', 'reject'])], {
    identity: ['orderId', 'source'],
  }),
  kind('stock-level', 'sku', [str('sku'), str('warehouse'), int('available'), bool('inStock'), num('fillRatio')], {
    identity: ['sku', 'warehouse'],
    payload: { min: 80, max: 400 },
  }),
];

/** The RecordKinds of the sample kinds: what a landscape built from them would use. */
export const sampleKinds = new RecordKinds({ dataKinds: SAMPLE_DATA_KINDS });

const SKUS = ['TSHIRT-S', 'HOODIE-M', 'JEANS-32', 'CAP-1', 'SOCKS-3PK'];
const pick = <T>(xs: readonly T[], i: number): T => xs[i % xs.length];

/** A valid record of `kindId` made from `i` (the same i gives the same record; order ids are o-<i>). */
export function sampleRecord(kindId: string, i: number): Record<string, unknown> {
  const orderId = `o-${i}`;
  switch (kindId) {
    case 'order': {
      const items = Array.from({ length: 1 + (i % 3) }, (_, n) => ({ sku: pick(SKUS, i + n), qty: 1 + ((i + n) % 4), unitPriceCents: 999 + 100 * n }));
      return {
        orderId, customerId: `c-${i % 17}`, createdAtMs: 1_704_067_200_000 + i * 1000, items,
        totalCents: items.reduce((sum, it) => sum + it.qty * it.unitPriceCents, 0), currency: 'EUR', country: pick(['DE', 'FR', 'GB'], i), email: `c${i % 17}@example.com`,
      };
    }
    case 'payment':
      return { orderId, paymentId: `pay-${orderId}`, amountCents: 1000 + i, method: pick(['card', 'sepa', 'invoice'], i), status: i % 20 === 3 ? 'declined' : 'authorized' };
    case 'reservation':
      return { orderId, reservationId: `res-${orderId}`, warehouse: pick(['wh-berlin', 'wh-lyon'], i), lines: Array.from({ length: 1 + (i % 2) }, (_, n) => ({ sku: pick(SKUS, i + n), qty: 1 + n })) };
    case 'shipment':
      return { orderId, shipmentId: `shp-${orderId}`, reservationId: `res-${orderId}`, carrier: pick(['dhl', 'ups', 'gls'], i), trackingNo: `DHL${(i * 7919).toString(16).padStart(12, '0')}`, parcels: 1 + (i % 3) };
    case 'customer':
      return { orderId, customerId: `c-${i % 17}`, email: `c${i % 17}@example.com`, country: pick(['DE', 'FR', 'GB'], i), segment: pick(['vip', 'regular', 'occasional'], i) };
    case 'invoice':
      return { orderId, invoiceId: `inv-${orderId}`, paymentId: `pay-${orderId}`, amountCents: 1000 + i, taxCents: Math.round(((1000 + i) * 19) / 119) };
    case 'insight':
      return { orderId, source: pick(['order', 'reservation', 'customer'], i), metric: `metric-${i % 5}`, value: i / 8 };
    case 'notification':
      return { orderId, trigger: pick(['order', 'payment', 'shipment'], i), channel: pick(['email', 'sms', 'push'], i), template: `template-${i % 4}` };
    case 'risk-score': {
      const score = (i * 37) % 101;
      return { orderId, source: pick(['order', 'payment'], i), score, verdict: score >= 80 ? 'reject' : score >= 50 ? 'review' : 'approve' };
    }
    case 'stock-level':
      return sampleKinds.get('stock-level').pad({ sku: pick(SKUS, i), warehouse: `wh-${i}`, available: i % 9, inStock: i % 9 !== 0, fillRatio: (i % 9) / 8 });
    default:
      throw new Error(`no sample records of kind ${kindId}`);
  }
}

/** `count` valid records of `kindId`, for indexes from `first`. */
export function sampleRecords(kindId: string, count: number, first = 0): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, n) => sampleRecord(kindId, first + n));
}

/** Records whose text needs quoting or escaping in every format, and values easy to get wrong. */
export const AWKWARD: Readonly<Record<string, Record<string, unknown>[]>> = {
  insight: [
    { orderId: 'o,1 "quoted"', source: 'order', metric: ` <b>&amp; 'x' ü 😀 , "y" `, value: 0.1 + 0.2 },
    { orderId: 'o-2', source: 'customer', metric: 'big', value: 1e21 },
    { orderId: 'o-3', source: 'reservation', metric: 'neg', value: -12.5e-7 },
    { orderId: 'o-3b', source: 'order', metric: '', value: Number.MAX_SAFE_INTEGER + 2 },
  ],
  // ':' and '|' are fine outside lists; text that looks like a number or a boolean stays text.
  notification: [
    { orderId: 'o&<4>', trigger: 'payment', channel: '"sms"', template: 'a|b:c,d;e' },
    { orderId: '007', trigger: 'order', channel: 'true', template: '1e3' },
  ],
  order: [
    {
      orderId: ' o-5 ',
      customerId: 'c,5',
      createdAtMs: 0,
      items: [{ sku: 'X,"1" <&>', qty: 1, unitPriceCents: 0 }, { sku: 'ÄÖÜ-ß', qty: -2, unitPriceCents: Number.MAX_SAFE_INTEGER }],
      totalCents: -1,
      currency: 'EUR',
      country: ' ',
      email: 'a"b@example.com',
    },
  ],
  'risk-score': [{ orderId: '<riskScore>', source: 'payment', score: 3, verdict: 'review' }],
  'stock-level': [
    sampleKinds.get('stock-level').pad({ sku: '&amp;', warehouse: '"wh"', available: 0, inStock: false, fillRatio: 1e-7 }),
    { sku: 'S', warehouse: 'W', available: 1, inStock: true, fillRatio: 0.5, padding: '' },
  ],
};
