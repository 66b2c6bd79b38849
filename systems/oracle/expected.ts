/**
 * The expected outcome of a run: run the domain handlers along the landscape's data flows, from
 * the orders accepted at the ingress, and collect every record that must exist (per kind) and
 * every record each system must have received (per system and input kind).
 */
import { accept } from '../domain/storefront.ts';
import { isDataKind, recordId, type AnyRecord, type DataKind } from '../domain/records.ts';
import { handle, handlerFor } from '../domain/registry.ts';
import { toCanonical, type CanonicalRecord } from '../lake/canonical.ts';
import { SHOP_FLOWS, SHOP_INGRESS, type OracleFlow } from './flows.ts';

export interface ExpectedOutcome {
  /** Every record the landscape must produce (limited to opts.lakeKinds), in production order. */
  records: CanonicalRecord[];
  /** The same, per kind and record id (see recordId: the orderId for one-per-order kinds). */
  byKind: Map<DataKind, Map<string, CanonicalRecord>>;
  /** What each system must have received: system → input kind → record ids. */
  received: Map<string, Map<string, Set<string>>>;
  /** The flows into each system and input kind: system → input kind → flow ids. */
  flowsInto: Map<string, Map<string, string[]>>;
  /** Orders accepted at the ingress (distinct orderIds). */
  accepted: number;
  /** Inputs refused at the ingress, and repeated orderIds (counted once, as a retry would be). */
  rejected: { index: number; reason: string }[];
}

export interface ExpectedOptions {
  /** The system that takes the orders; default 'A'. */
  ingress?: string;
  /** Kinds that reach the lake (e.g. only systems with a lake export); default all. */
  lakeKinds?: readonly DataKind[];
}

/** Throws when a flow names an unknown data kind or a system with no handler for it. */
export function checkFlows(flows: readonly OracleFlow[]): void {
  for (const fl of flows) {
    if (!isDataKind(fl.data)) throw new Error(`flow ${fl.id}: unknown data kind "${fl.data}"`);
    if (!handlerFor(fl.to, fl.data)) throw new Error(`flow ${fl.id}: system ${fl.to} has no handler for ${fl.data} records`);
  }
}

export function expectedOutcome(
  orders: readonly unknown[],
  flows: readonly OracleFlow[] = SHOP_FLOWS,
  opts: ExpectedOptions = {},
): ExpectedOutcome {
  checkFlows(flows);
  const ingress = opts.ingress ?? SHOP_INGRESS;
  const lakeKinds = opts.lakeKinds ? new Set<string>(opts.lakeKinds) : null;
  const out: ExpectedOutcome = { records: [], byKind: new Map(), received: new Map(), flowsInto: new Map(), accepted: 0, rejected: [] };
  const outgoing = new Map<string, OracleFlow[]>(); // "from/kind" → flows
  for (const fl of flows) {
    const key = `${fl.from}/${fl.data}`;
    outgoing.set(key, [...(outgoing.get(key) ?? []), fl]);
    nested(out.flowsInto, fl.to, fl.data, () => [] as string[]).push(fl.id);
    nested(out.received, fl.to, fl.data, () => new Set<string>());
  }
  const handled = new Set<string>(); // producer/kind/id already followed
  const queue: { kind: DataKind; record: AnyRecord; producer: string }[] = [];
  const emit = (kind: DataKind, record: AnyRecord, producer: string): void => {
    const id = recordId(kind, record);
    let ofKind = out.byKind.get(kind);
    if (!ofKind) out.byKind.set(kind, (ofKind = new Map()));
    if (!ofKind.has(id) && (!lakeKinds || lakeKinds.has(kind))) {
      const c = toCanonical(kind, record);
      ofKind.set(id, c);
      out.records.push(c);
    }
    const followed = `${producer}/${kind}/${id}`;
    if (handled.has(followed)) return;
    handled.add(followed);
    queue.push({ kind, record, producer });
  };

  const seenOrders = new Set<string>();
  orders.forEach((input, index) => {
    const r = accept(input);
    if (!r.ok) return void out.rejected.push({ index, reason: r.error.reason });
    if (seenOrders.has(r.order.orderId)) {
      return void out.rejected.push({ index, reason: `repeated orderId ${r.order.orderId}: counted once` });
    }
    seenOrders.add(r.order.orderId);
    out.accepted++;
    emit('order', r.order, ingress);
    // Follow this order's cascade to the end before the next order: the queue stays small.
    for (let next = queue.shift(); next; next = queue.shift()) {
      for (const fl of outgoing.get(`${next.producer}/${next.kind}`) ?? []) {
        nested(out.received, fl.to, fl.data, () => new Set<string>()).add(recordId(next.kind, next.record));
        const result = handle(fl.to, next.kind, next.record);
        if (result) emit(result.kind, result.record, fl.to);
      }
    }
  });

  return out;
}

export function nested<V>(m: Map<string, Map<string, V>>, a: string, b: string, make: () => V): V {
  let inner = m.get(a);
  if (!inner) m.set(a, (inner = new Map()));
  let v = inner.get(b);
  if (v === undefined) inner.set(b, (v = make()));
  return v;
}
