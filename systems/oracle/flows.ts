/**
 * The data flows the oracle follows. Structurally a subset of the topology's Flow, so
 * `topology.flows` can be passed as is; the shop's flows (scenarios/topologies/shop.yaml) are the
 * default, restated here so the oracle needs no file at run time.
 */
export interface OracleFlow {
  readonly id: string;
  /** The sending system (for a polled flow: the system being polled). */
  readonly from: string;
  /** The receiving system, which handles the record. */
  readonly to: string;
  /** The data kind carried. */
  readonly data: string;
}

/** The system that takes orders from outside (the REST ingress). */
export const SHOP_INGRESS = 'A';

const f = (id: string, from: string, to: string, data: string): OracleFlow => ({ id, from, to, data });

export const SHOP_FLOWS: readonly OracleFlow[] = [
  f('a-b-payment', 'A', 'B', 'order'),
  f('a-c-stock', 'A', 'C', 'order'),
  f('a-e-orders', 'A', 'E', 'order'),
  f('a-g-orders', 'A', 'G', 'order'),
  f('a-h-webhook', 'A', 'H', 'order'),
  f('a-i-score', 'A', 'I', 'order'),
  f('b-f-payments', 'B', 'F', 'payment'),
  f('b-h-payments', 'B', 'H', 'payment'),
  f('b-i-payments', 'B', 'I', 'payment'),
  f('c-d-pick', 'C', 'D', 'reservation'),
  f('c-g-stock', 'C', 'G', 'reservation'),
  f('d-c-shipped', 'D', 'C', 'shipment'),
  f('d-h-shipment', 'D', 'H', 'shipment'),
  f('e-g-customers', 'E', 'G', 'customer'),
  f('f-e-invoices', 'F', 'E', 'invoice'),
];

/** Only the flows between the given systems (a restricted landscape, e.g. A–D). */
export function flowsAmong(flows: readonly OracleFlow[], systems: readonly string[]): OracleFlow[] {
  const keep = new Set(systems);
  return flows.filter((fl) => keep.has(fl.from) && keep.has(fl.to));
}
