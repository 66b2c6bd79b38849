import { describe, expect, it } from 'vitest';
import { accept, validateRecord } from '../../../systems/domain/index.ts';
import { generateOrders, malformedOrders, orderStream, wellFormedOrder } from '../../../systems/orders/index.ts';

describe('order generator', () => {
  it('gives identical orders for the same seed, different ones for another seed', () => {
    const a = generateOrders({ seed: 42, count: 500 });
    const b = generateOrders({ seed: 42, count: 500 });
    expect(b).toEqual(a);
    const c = generateOrders({ seed: 43, count: 500 });
    expect(c.map((o) => o.items)).not.toEqual(a.map((o) => o.items));
  });

  it('streams the same orders as the array variant, endlessly when no count is given', () => {
    const arr = generateOrders({ seed: 7, count: 300 });
    const stream = orderStream({ seed: 7 });
    const first = Array.from({ length: 300 }, () => stream.next().value);
    expect(first).toEqual(arr);
    expect(stream.next().done).toBe(false);
  });

  it('gives unique order ids, reuses customers and produces valid orders', () => {
    const orders = generateOrders({ seed: 1, count: 5_000 });
    expect(new Set(orders.map((o) => o.orderId)).size).toBe(5_000);
    const customers = new Set(orders.map((o) => o.customerId));
    expect(customers.size).toBeLessThan(1_000);
    expect(customers.size).toBeGreaterThan(100);
    for (const o of orders) {
      expect(accept(o).ok).toBe(true);
      expect(o.items.length).toBeGreaterThanOrEqual(1);
      expect(o.items.length).toBeLessThanOrEqual(4);
    }
    // a customer looks the same in every order
    const byCustomer = new Map<string, string>();
    for (const o of orders) {
      const look = `${o.email}/${o.country}/${o.currency}`;
      expect(byCustomer.get(o.customerId) ?? look).toBe(look);
      byCustomer.set(o.customerId, look);
    }
    // time moves forward from the fixed default start
    expect(orders[0].createdAtMs).toBe(Date.UTC(2024, 0, 1));
    for (let i = 1; i < orders.length; i++) expect(orders[i].createdAtMs).toBeGreaterThanOrEqual(orders[i - 1].createdAtMs);
  });

  it('honours startMs and rejects bad options', () => {
    expect(generateOrders({ seed: 3, count: 1, startMs: 1_000 })[0].createdAtMs).toBe(1_000);
    expect(() => generateOrders({ seed: -1, count: 1 })).toThrow(RangeError);
    expect(() => generateOrders({ seed: 1, count: 1.5 })).toThrow(RangeError);
  });
});

describe('A accept (order validation)', () => {
  it('accepts a well-formed order as a fresh copy', () => {
    const o = wellFormedOrder();
    const r = accept(o);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.order).toEqual(o);
      expect(r.order).not.toBe(o);
    }
  });

  it.each(malformedOrders().map((m) => [m.name, m] as const))('refuses %s with a reason naming the field', (_name, m) => {
    const r = accept(m.value);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('INVALID_ORDER');
      expect(r.error.httpStatus).toBe(400);
      expect(r.error.reason).toContain(`${m.field}:`);
    }
  });

  it('validators of other kinds give reasons too', () => {
    const v = validateRecord('payment', { orderId: 'o-1', paymentId: 'p', amountCents: -1, method: 'card', status: 'maybe' });
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.reason).toContain('amountCents');
      expect(v.reason).toContain('status');
    }
  });
});
