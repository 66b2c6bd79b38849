// What the hub takes from the landscape's data kinds, without a broker: the subscriber's and lake
// sink's validator (hubValidator) and the dedupe identity of a record (dedupeIdFor).
import { describe, expect, test } from 'vitest';
import { dedupeIdFor, hubValidator } from '../../../systems/hub/index.ts';
import { sampleKinds, sampleRecord } from '../codecs/samples.ts';

describe('hubValidator', () => {
  const validate = hubValidator(sampleKinds);

  test('passes a valid record through and refuses an invalid one with the field in the reason', () => {
    const payment = sampleRecord('payment', 1);
    expect(validate('payment', payment)).toEqual({ ok: true, record: payment });
    expect(validate('payment', { ...payment, status: 'refunded' })).toMatchObject({ ok: false, reason: expect.stringMatching(/^invalid payment: status/) });
    expect(validate('payment', 'not a record')).toMatchObject({ ok: false });
  });

  test('refuses a kind the landscape does not declare', () => {
    expect(validate('refund', { orderId: 'o-1' })).toMatchObject({ ok: false, reason: expect.stringContaining('unknown data kind "refund"') });
  });
});

describe('dedupeIdFor', () => {
  const idOf = dedupeIdFor(sampleKinds);

  test('the kind and the identity the kind declares', () => {
    expect(idOf('order', sampleRecord('order', 7))).toBe('order\u0000o-7');
    expect(idOf('risk-score', { orderId: 'o-1', source: 'payment', score: 1, verdict: 'approve' })).toBe('risk-score\u0000o-1/payment');
    // customer: keyed by customerId, but one record per order
    expect(idOf('customer', sampleRecord('customer', 3))).toBe('customer\u0000o-3');
    expect(idOf('stock-level', sampleRecord('stock-level', 2))).toBe('stock-level\u0000JEANS-32/wh-2');
  });

  test('the same identity in two kinds is two ids; the same record twice is one', () => {
    expect(idOf('order', { orderId: 'o-1' })).not.toBe(idOf('payment', { orderId: 'o-1' }));
    expect(idOf('order', sampleRecord('order', 1))).toBe(idOf('order', { ...sampleRecord('order', 1), totalCents: 0 }));
  });

  test('undefined for a kind the landscape does not declare or a value that is no record', () => {
    expect(idOf('refund', { orderId: 'o-1' })).toBeUndefined();
    expect(idOf('order', null)).toBeUndefined();
    expect(idOf('order', 'o-1')).toBeUndefined();
  });
});
