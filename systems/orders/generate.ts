/**
 * Seeded order generator: unique ids (o-<seed>-<n>), identical output for the same seed, realistic
 * shop data (1–4 catalogue items, customers reused across orders, weighted countries). The stream
 * and the array variant give the same orders, since nothing depends on the count.
 */
import { stableHash } from '../domain/hash.ts';
import type { Order, OrderItem } from '../domain/records.ts';
import { CATALOGUE, COUNTRIES, EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES } from './catalogue.ts';
import { intBetween, mulberry32, type Prng } from './prng.ts';

/** 2024-01-01T00:00:00Z: the default time of the first order, so runs never depend on the clock. */
export const DEFAULT_START_MS = Date.UTC(2024, 0, 1);
export const DEFAULT_CUSTOMERS_MAX = 500;
/** Largest gap between two consecutive orders' createdAtMs. */
export const ORDER_GAP_MS_MAX = 2_000;

export interface OrderStreamOptions {
  seed: number;
  /** createdAtMs of the first order; default DEFAULT_START_MS. */
  startMs?: number;
  /** Size of the customer pool orders draw from; default DEFAULT_CUSTOMERS_MAX. */
  customersMax?: number;
  /** Number of orders; undefined for an endless stream. */
  count?: number;
}

export interface GenerateOrdersOptions extends OrderStreamOptions {
  count: number;
}

export interface Customer {
  customerId: string;
  email: string;
  country: string;
  currency: string;
}

/** Customer k of a seed: a pure function of (seed, k), so a customer looks the same in every order. */
export function customerOf(seed: number, k: number): Customer {
  const h = (salt: string) => stableHash('customer', salt, seed, k);
  const first = FIRST_NAMES[h('first') % FIRST_NAMES.length];
  const last = LAST_NAMES[h('last') % LAST_NAMES.length];
  const domain = EMAIL_DOMAINS[h('domain') % EMAIL_DOMAINS.length];
  const totalWeight = COUNTRIES.reduce((a, c) => a + c.weight, 0);
  let w = h('country') % totalWeight;
  const country = COUNTRIES.find((c) => (w -= c.weight) < 0) ?? COUNTRIES[0];
  return {
    customerId: `c-${seed}-${String(k).padStart(4, '0')}`,
    email: `${first}.${last}${k}@${domain}`,
    country: country.code,
    currency: country.currency,
  };
}

function orderItems(rng: Prng): OrderItem[] {
  const n = intBetween(rng, 1, 4);
  const picked = new Set<number>();
  while (picked.size < n) picked.add(intBetween(rng, 0, CATALOGUE.length - 1));
  return [...picked].map((i) => ({
    sku: CATALOGUE[i].sku,
    qty: rng() < 0.05 ? intBetween(rng, 5, 6) : intBetween(rng, 1, 3),
    unitPriceCents: CATALOGUE[i].unitPriceCents,
  }));
}

/** The orders of a seed, one at a time (endless when `count` is undefined). */
export function* orderStream(opts: OrderStreamOptions): Generator<Order, void, undefined> {
  const { seed, count } = opts;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError('seed must be a uint32');
  const customersMax = opts.customersMax ?? DEFAULT_CUSTOMERS_MAX;
  if (!Number.isInteger(customersMax) || customersMax < 1) throw new RangeError('customersMax must be a positive integer');
  const rng = mulberry32(seed);
  let atMs = opts.startMs ?? DEFAULT_START_MS;
  for (let n = 1; count === undefined || n <= count; n++) {
    if (n > 1) atMs += intBetween(rng, 0, ORDER_GAP_MS_MAX);
    // Squaring skews towards low k: a few loyal customers order often, most rarely.
    const r = rng();
    const customer = customerOf(seed, Math.floor(r * r * customersMax));
    const items = orderItems(rng);
    yield {
      orderId: `o-${seed}-${String(n).padStart(6, '0')}`,
      customerId: customer.customerId,
      createdAtMs: atMs,
      items,
      totalCents: items.reduce((a, it) => a + it.qty * it.unitPriceCents, 0),
      currency: customer.currency,
      country: customer.country,
      email: customer.email,
    };
  }
}

/** `count` orders of a seed, the first `count` of orderStream. */
export function generateOrders(opts: GenerateOrdersOptions): Order[] {
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new RangeError('count must be a non-negative integer');
  return [...orderStream(opts)];
}
