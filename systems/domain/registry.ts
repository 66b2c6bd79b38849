/**
 * The handler table: which system handles which input kind, and what kind of record it emits, so
 * wiring code (REST, AMQP, batch, Kafka) can be generic:
 *   const out = handle(systemId, inputKind, record, books);  // { kind, record } | null
 */
import type { Books } from './bookkeeping.ts';
import * as h from './handlers.ts';
import type { AnyRecord, DataKind, KindedRecord, RecordOf } from './records.ts';
import { accept } from './storefront.ts';

export const SHOP_SYSTEM_IDS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I'] as const;
export type ShopSystemId = (typeof SHOP_SYSTEM_IDS)[number];

export interface HandlerEntry {
  /** The kind of record the handler emits; null for handlers that only keep books. */
  readonly output: DataKind | null;
  /** Pure apart from the optional books; null means "nothing to emit" (declined payment, bookkeeping). */
  readonly run: (record: AnyRecord, books?: Books) => AnyRecord | null;
}

function entry<I extends DataKind, O extends DataKind>(
  _input: I,
  output: O,
  run: (record: RecordOf<I>, books?: Books) => RecordOf<O> | null,
): HandlerEntry {
  return { output, run: run as HandlerEntry['run'] };
}

function bookkeeping<I extends DataKind>(_input: I, run: (record: RecordOf<I>, books?: Books) => null): HandlerEntry {
  return { output: null, run: run as HandlerEntry['run'] };
}

export const SYSTEM_HANDLERS: Readonly<Record<ShopSystemId, Readonly<Partial<Record<DataKind, HandlerEntry>>>>> = {
  // A is fed by the REST ingress; an invalid order gives null here (call accept() for the reason).
  A: { order: entry('order', 'order', (o) => { const r = accept(o); return r.ok ? r.order : null; }) },
  B: { order: entry('order', 'payment', h.authorize) },
  C: {
    order: entry('order', 'reservation', (o, books) => {
      const r = h.reserve(o);
      books?.inventory?.onReservation(r);
      return r;
    }),
    shipment: bookkeeping('shipment', h.onShipment),
  },
  D: { reservation: entry('reservation', 'shipment', h.ship) },
  E: {
    order: entry('order', 'customer', (o, books) => {
      books?.crm?.onCustomer();
      return h.fromOrder(o);
    }),
    invoice: bookkeeping('invoice', h.onInvoice),
  },
  F: { payment: entry('payment', 'invoice', h.invoice) },
  G: {
    order: entry('order', 'insight', h.insightFromOrder),
    reservation: entry('reservation', 'insight', h.insightFromReservation),
    customer: entry('customer', 'insight', h.insightFromCustomer),
  },
  H: {
    order: entry('order', 'notification', h.notifyOrder),
    payment: entry('payment', 'notification', h.notifyPayment),
    shipment: entry('shipment', 'notification', h.notifyShipment),
  },
  I: {
    order: entry('order', 'risk-score', h.scoreOrder),
    payment: entry('payment', 'risk-score', h.scorePayment),
  },
};

/** A system was asked to handle a kind of input it has no handler for: a wiring or topology error. */
export class UnknownHandlerError extends Error {
  constructor(
    readonly systemId: string,
    readonly inputKind: string,
  ) {
    super(`system ${systemId} has no handler for ${inputKind} records`);
    this.name = 'UnknownHandlerError';
  }
}

/** The handler entry of a system for an input kind, or undefined. */
export function handlerFor(systemId: string, inputKind: DataKind): HandlerEntry | undefined {
  if (!Object.hasOwn(SYSTEM_HANDLERS, systemId)) return undefined;
  return SYSTEM_HANDLERS[systemId as ShopSystemId][inputKind];
}

/** The data kinds a system accepts as input. */
export function inputKindsOf(systemId: string): DataKind[] {
  if (!Object.hasOwn(SYSTEM_HANDLERS, systemId)) return [];
  return Object.keys(SYSTEM_HANDLERS[systemId as ShopSystemId]) as DataKind[];
}

/**
 * Runs `systemId`'s handler for one (already validated) input record. Returns the emitted record
 * with its kind, or null when the handler emits nothing. Throws UnknownHandlerError for a pair
 * with no handler.
 */
export function handle(systemId: string, inputKind: DataKind, record: AnyRecord, books?: Books): KindedRecord | null {
  const e = handlerFor(systemId, inputKind);
  if (!e) throw new UnknownHandlerError(systemId, inputKind);
  const out = e.run(record, books);
  if (out === null || e.output === null) return null;
  return { kind: e.output, record: out };
}
