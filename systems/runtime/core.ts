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
import { existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SystemSpec } from '../topology/index.ts';

/** Order ids remembered per input kind for the oracle; beyond this only counts are kept. */
export const RECEIVED_IDS_MAX = 1_000_000;

export type ProcessResult =
  | { ok: true; output: { kind: DataKind; record: AnyRecord } | null }
  | { ok: false; reason: string };

/**
 * What a system has received, per input kind: the order ids in arrival order, and how many.
 * `atMs[i]` is when `orderIds[i]` arrived (epoch ms, this process's clock, taken when the record
 * was processed); both arrays are bounded by RECEIVED_IDS_MAX together, so they always line up.
 * SystemCore always fills `atMs`; it is optional in the type so that states written before it
 * existed (or built by hand) still fit.
 */
export interface ReceivedState {
  [kind: string]: { count: number; orderIds: string[]; atMs?: number[]; truncated: boolean };
}

/**
 * A system's business side, the same in both layouts: validate an input record, spend the
 * configured CPU cost, run the domain handler, and remember what arrived (for the oracle).
 * The wiring (REST, AMQP, batch files, Kafka) calls `process` and carries the output onwards.
 */
export class SystemCore {
  private readonly books: Books;
  private readonly received = new Map<string, { count: number; orderIds: string[]; atMs: number[] }>();
  readonly producedByKind = new Map<string, number>();
  rejected = 0;

  private readonly journalFd: number | null = null;

  /**
   * `now` stamps each arrival (tests pass a fake clock). `journalFile`: the system's own record of
   * what it handled, kept across restarts (as a real system's database would be), so a system that
   * is killed and restarted still answers for what it received before; appended one line per
   * record with a plain write (a kill -9 loses nothing already written; an OS crash may).
   */
  constructor(readonly spec: SystemSpec, private readonly now: () => number = Date.now, journalFile?: string) {
    this.books = { inventory: new InventoryBook(), crm: new CrmBook() };
    if (!(spec.id in SYSTEM_HANDLERS)) throw new Error(`system ${spec.id} has no domain logic (known: ${Object.keys(SYSTEM_HANDLERS).join(', ')})`);
    if (journalFile) {
      mkdirSync(dirname(journalFile), { recursive: true });
      const text = existsSync(journalFile) ? readFileSync(journalFile, 'utf8') : '';
      this.replay(text);
      this.journalFd = openSync(journalFile, 'a');
      // End a torn last line, so the next entry starts on its own line.
      if (text.length > 0 && !text.endsWith('\n')) writeSync(this.journalFd, '\n');
    }
  }

  private replay(text: string): void {
    for (const line of text.split('\n')) {
      const [kind, orderId, at] = line.split('\t');
      // A torn last line (killed mid-write) has no time: it was not handled to the end; skip it.
      if (!kind || !orderId || !at || !Number.isFinite(Number(at))) continue;
      this.add(kind, orderId, Number(at));
    }
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
    const at = this.now();
    if (this.add(kind, orderId, at) && this.journalFd !== null) writeSync(this.journalFd, `${kind}\t${orderId}\t${at}\n`);
  }

  /** False when the ids are at their limit (then only the count grows, and is not journalled). */
  private add(kind: string, orderId: string, at: number): boolean {
    let entry = this.received.get(kind);
    if (!entry) this.received.set(kind, (entry = { count: 0, orderIds: [], atMs: [] }));
    entry.count++;
    if (entry.orderIds.length >= RECEIVED_IDS_MAX) return false;
    entry.orderIds.push(orderId);
    entry.atMs.push(at);
    return true;
  }

  receivedState(): ReceivedState {
    const out: ReceivedState = {};
    for (const [kind, e] of this.received) out[kind] = { count: e.count, orderIds: e.orderIds, atMs: e.atMs, truncated: e.count > e.orderIds.length };
    return out;
  }

  booksState(): Books {
    return this.books;
  }
}
