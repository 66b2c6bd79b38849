import {
  SYSTEM_HANDLERS,
  UnknownHandlerError,
  burnCpu,
  isDataKind,
  validateRecord,
  CrmBook,
  InventoryBook,
  type AnyRecord,
  type Books,
  type DataKind,
  type ShopSystemId,
} from '../domain/index.ts';
import type { SystemSpec } from '../topology/index.ts';

/** Order ids remembered per input kind for the oracle; beyond this only counts are kept. */
export const RECEIVED_IDS_MAX = 1_000_000;

export type ProcessResult =
  | { ok: true; output: { kind: DataKind; record: AnyRecord } | null }
  | { ok: false; reason: string };

/** What a system has received, per input kind: the order ids in arrival order, and how many. */
export interface ReceivedState {
  [kind: string]: { count: number; orderIds: string[]; truncated: boolean };
}

/**
 * A system's business side, the same in both layouts: validate an input record, spend the
 * configured CPU cost, run the domain handler, and remember what arrived (for the oracle).
 * The wiring (REST, AMQP, batch files, Kafka) calls `process` and carries the output onwards.
 */
export class SystemCore {
  private readonly books: Books;
  private readonly received = new Map<string, { count: number; orderIds: string[] }>();
  readonly producedByKind = new Map<string, number>();
  rejected = 0;

  constructor(readonly spec: SystemSpec) {
    this.books = { inventory: new InventoryBook(), crm: new CrmBook() };
    if (!(spec.id in SYSTEM_HANDLERS)) throw new Error(`system ${spec.id} has no domain logic (known: ${Object.keys(SYSTEM_HANDLERS).join(', ')})`);
  }

  /** The data kinds this system has handlers for. */
  inputKinds(): DataKind[] {
    return Object.keys(SYSTEM_HANDLERS[this.spec.id as ShopSystemId]) as DataKind[];
  }

  process(inputKind: string, value: unknown): ProcessResult {
    if (!isDataKind(inputKind)) return this.reject(`unknown data kind "${inputKind}"`);
    const handler = SYSTEM_HANDLERS[this.spec.id as ShopSystemId][inputKind];
    if (!handler) throw new UnknownHandlerError(this.spec.id, inputKind);
    const valid = validateRecord(inputKind, value);
    if (!valid.ok) return this.reject(valid.reason);
    burnCpu(this.spec.costPerMessageUs);
    const out = handler.run(valid.record as AnyRecord, this.books);
    this.remember(inputKind, (valid.record as { orderId: string }).orderId);
    if (out === null || handler.output === null) return { ok: true, output: null };
    this.producedByKind.set(handler.output, (this.producedByKind.get(handler.output) ?? 0) + 1);
    return { ok: true, output: { kind: handler.output, record: out } };
  }

  private reject(reason: string): ProcessResult {
    this.rejected++;
    return { ok: false, reason };
  }

  private remember(kind: string, orderId: string): void {
    let entry = this.received.get(kind);
    if (!entry) this.received.set(kind, (entry = { count: 0, orderIds: [] }));
    entry.count++;
    if (entry.orderIds.length < RECEIVED_IDS_MAX) entry.orderIds.push(orderId);
  }

  receivedState(): ReceivedState {
    const out: ReceivedState = {};
    for (const [kind, e] of this.received) out[kind] = { count: e.count, orderIds: e.orderIds, truncated: e.count > e.orderIds.length };
    return out;
  }

  booksState(): Books {
    return this.books;
  }
}
