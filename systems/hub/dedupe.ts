/**
 * A bounded memory of record ids already handled, so a system can stay idempotent under the hub's
 * at-least-once delivery (a crash between handling and the offset commit re-delivers records).
 * It forgets the oldest ids beyond `capacity`, so a duplicate older than that window gets through:
 * the oracle still counts it.
 */
import type { RecordKinds } from '../model/kinds.ts';

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
 * The identity of a record for de-duplication over the landscape's data kinds: the kind and the
 * record's identity within it (its kind's identity fields, see RecordKind.idOf). undefined for a
 * kind the landscape does not declare or a value that is not a record (then it is never treated
 * as a duplicate).
 */
export function dedupeIdFor(kinds: RecordKinds): (kind: string, record: unknown) => string | undefined {
  return (kind, record) => {
    if (!kinds.has(kind) || record === null || typeof record !== 'object') return undefined;
    return `${kind}\u0000${kinds.idOf(kind, record)}`;
  };
}
