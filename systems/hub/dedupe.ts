/**
 * A bounded memory of record ids already handled, so a system can stay idempotent under the hub's
 * at-least-once delivery (a crash between handling and the offset commit re-delivers records).
 * It forgets the oldest ids beyond `capacity`, so a duplicate older than that window gets through:
 * the oracle still counts it.
 */
import { isDataKind, recordId, type AnyRecord } from '../domain/index.ts';

export class BoundedDedupe {
  private readonly seen = new Map<string, true>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`BoundedDedupe capacity must be a positive integer, got ${capacity}`);
  }

  has(id: string): boolean {
    return this.seen.has(id);
  }

  /** Remembers `id` as the newest; drops the oldest when over capacity. */
  add(id: string): void {
    this.seen.delete(id);
    this.seen.set(id, true);
    if (this.seen.size > this.capacity) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
  }

  get size(): number {
    return this.seen.size;
  }
}

/**
 * The identity of a record for de-duplication: (kind, orderId), refined by the domain's recordId
 * for the kinds that exist several times per order (insight, notification, risk-score per source).
 * undefined when the record has no orderId (then it is never treated as a duplicate).
 */
export function defaultDedupeId(kind: string, record: unknown): string | undefined {
  const orderId = (record as { orderId?: unknown } | null)?.orderId;
  if (typeof orderId !== 'string') return undefined;
  const id = isDataKind(kind) ? recordId(kind, record as AnyRecord) : orderId;
  return `${kind}\u0000${id}`;
}
