/** Malformed orders for tests of the ingress, dead-letter and quarantine paths. */
import type { Order } from '../domain/records.ts';

export interface MalformedOrder {
  /** What is wrong, in a few words. */
  name: string;
  /** The field the validation error must mention ('(record)' for the whole value). */
  field: string;
  value: unknown;
}

const GOOD: Order = {
  orderId: 'o-bad-000001',
  customerId: 'c-bad-0001',
  createdAtMs: Date.UTC(2024, 0, 1),
  items: [
    { sku: 'TSHIRT-M', qty: 2, unitPriceCents: 1_999 },
    { sku: 'CAP-1', qty: 1, unitPriceCents: 1_499 },
  ],
  totalCents: 5_497,
  currency: 'EUR',
  country: 'DE',
  email: 'anna.schmidt1@example.com',
};

/** A valid order to derive broken ones from. */
export function wellFormedOrder(): Order {
  return structuredClone(GOOD);
}

function without(field: keyof Order): Record<string, unknown> {
  const o: Record<string, unknown> = { ...wellFormedOrder() };
  delete o[field];
  return o;
}

function patch(p: Record<string, unknown>): Record<string, unknown> {
  return { ...wellFormedOrder(), ...p };
}

/** Each value here must be refused by accept() with a reason naming `field`. */
export function malformedOrders(): MalformedOrder[] {
  const negQty = wellFormedOrder();
  negQty.items[0].qty = -2;
  const qtyString = wellFormedOrder() as unknown as { items: Record<string, unknown>[] };
  qtyString.items[0].qty = '2';
  const badSku = wellFormedOrder();
  badSku.items[1].sku = 'cap:1|x';
  return [
    { name: 'missing orderId', field: 'orderId', value: without('orderId') },
    { name: 'missing items', field: 'items', value: without('items') },
    { name: 'missing email', field: 'email', value: without('email') },
    { name: 'negative qty', field: 'items.0.qty', value: negQty },
    { name: 'qty as a string', field: 'items.0.qty', value: qtyString },
    { name: 'sku with separators', field: 'items.1.sku', value: badSku },
    { name: 'no items', field: 'items', value: patch({ items: [], totalCents: 0 }) },
    { name: 'total does not match the items', field: 'totalCents', value: patch({ totalCents: 1 }) },
    { name: 'fractional total', field: 'totalCents', value: patch({ totalCents: 5_497.5 }) },
    { name: 'createdAtMs as a string', field: 'createdAtMs', value: patch({ createdAtMs: '2024-01-01' }) },
    { name: 'bad e-mail', field: 'email', value: patch({ email: 'not-an-address' }) },
    { name: 'lower-case currency', field: 'currency', value: patch({ currency: 'eur' }) },
    { name: 'empty customerId', field: 'customerId', value: patch({ customerId: '' }) },
    { name: 'newline in orderId', field: 'orderId', value: patch({ orderId: 'o-1\nX' }) },
    { name: 'unknown extra field', field: '(record)', value: patch({ coupon: 'FREE' }) },
    { name: 'null', field: '(record)', value: null },
    { name: 'an array', field: '(record)', value: [GOOD] },
    { name: 'a string', field: '(record)', value: 'order please' },
  ];
}
