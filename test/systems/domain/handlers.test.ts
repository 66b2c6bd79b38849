import { describe, expect, it } from 'vitest';
import {
  burnCpu,
  CrmBook,
  DATA_KINDS,
  handle,
  InventoryBook,
  inputKindsOf,
  SHOP_SYSTEM_IDS,
  SYSTEM_HANDLERS,
  UnknownHandlerError,
  validateRecord,
  type Order,
  type Payment,
  type Reservation,
} from '../../../systems/domain/index.ts';
import { generateOrders } from '../../../systems/orders/index.ts';

const orders = generateOrders({ seed: 99, count: 2_000 });

function runAll(list: readonly Order[]): unknown[] {
  const out: unknown[] = [];
  for (const o of list) {
    for (const sys of SHOP_SYSTEM_IDS) {
      if (!inputKindsOf(sys).includes('order')) continue;
      const r = handle(sys, 'order', o);
      out.push(r);
      if (r?.kind === 'payment') for (const s of ['F', 'H', 'I']) out.push(handle(s, 'payment', r.record));
      if (r?.kind === 'reservation') {
        const shipment = handle('D', 'reservation', r.record);
        out.push(shipment, handle('G', 'reservation', r.record));
        if (shipment) out.push(handle('H', 'shipment', shipment.record), handle('C', 'shipment', shipment.record));
      }
    }
  }
  return out;
}

describe('domain handlers', () => {
  it('are deterministic: the same orders give the same outputs', () => {
    const a = runAll(orders.slice(0, 300));
    const b = runAll(structuredClone(orders.slice(0, 300)));
    expect(b).toEqual(a);
  });

  it('emit valid records of the declared kind', () => {
    for (const sys of SHOP_SYSTEM_IDS) {
      for (const [inputKind, entry] of Object.entries(SYSTEM_HANDLERS[sys])) {
        expect(DATA_KINDS).toContain(inputKind);
        if (entry.output) expect(DATA_KINDS).toContain(entry.output);
      }
    }
    for (const r of runAll(orders.slice(0, 200))) {
      if (r === null) continue;
      const { kind, record } = r as { kind: (typeof DATA_KINDS)[number]; record: unknown };
      const v = validateRecord(kind, record);
      expect(v.ok ? 'ok' : v.reason).toBe('ok');
    }
  });

  it('declines about 5 % of payments, and invoices exactly the authorized ones', () => {
    const payments = orders.map((o) => handle('B', 'order', o)?.record as Payment);
    const declined = payments.filter((p) => p.status === 'declined').length;
    expect(declined / payments.length).toBeGreaterThan(0.02);
    expect(declined / payments.length).toBeLessThan(0.09);
    for (const p of payments) {
      const inv = handle('F', 'payment', p);
      expect(inv === null).toBe(p.status === 'declined');
      if (inv) expect(inv.record).toMatchObject({ orderId: p.orderId, paymentId: p.paymentId, amountCents: p.amountCents });
    }
  });

  it('keeps per-order identity: every output carries the input orderId', () => {
    const o = orders[0];
    for (const sys of SHOP_SYSTEM_IDS) {
      if (inputKindsOf(sys).includes('order')) expect(handle(sys, 'order', o)?.record.orderId).toBe(o.orderId);
    }
  });

  it('bookkeeping handlers emit nothing but keep their books', () => {
    const books = { inventory: new InventoryBook(), crm: new CrmBook() };
    const o = orders[1];
    const res = handle('C', 'order', o, books)!.record as Reservation;
    const shp = handle('D', 'reservation', res)!;
    expect(handle('C', 'shipment', shp.record, books)).toBeNull();
    expect(books.inventory.reservations).toBe(1);
    expect(books.inventory.reservationsOpen).toBe(0);
    const units = o.items.reduce((a, i) => a + i.qty, 0);
    expect([...books.inventory.unitsReservedBySku.values()].reduce((a, b) => a + b, 0)).toBe(units);
    handle('E', 'order', o, books);
    const pay = { ...(handle('B', 'order', o)!.record as Payment), status: 'authorized' as const };
    const inv = handle('F', 'payment', pay)!;
    expect(handle('E', 'invoice', inv.record, books)).toBeNull();
    expect(books.crm).toMatchObject({ customersSeen: 1, invoicesBooked: 1, invoicedCents: o.totalCents });
  });

  it('refuses a system/kind pair with no handler', () => {
    expect(() => handle('D', 'order', orders[0])).toThrow(UnknownHandlerError);
    expect(() => handle('Z', 'order', orders[0])).toThrow(/no handler/);
    expect(inputKindsOf('Z')).toEqual([]);
  });

  it('A passes valid orders through and gives null for invalid ones', () => {
    expect(handle('A', 'order', orders[2])).toEqual({ kind: 'order', record: orders[2] });
    expect(handle('A', 'order', { ...orders[2], totalCents: 1 })).toBeNull();
  });

  it('burnCpu spends real CPU time', () => {
    const before = process.cpuUsage();
    const rounds = burnCpu(20_000);
    const spentUs = process.cpuUsage(before).user + process.cpuUsage(before).system;
    expect(rounds).toBeGreaterThan(0);
    expect(spentUs).toBeGreaterThan(10_000);
    expect(burnCpu(0)).toBe(0);
  });
});
