/** The durable outboxes of one system instance (see outbox.ts): one folder, each outbox opened once. */
import { readdirSync } from 'node:fs';
import { Outbox, OUTBOX_NAME_PATTERN, OUTBOX_SUFFIX, type OutboxCounters, type OutboxOptions } from './outbox.ts';

/** The outboxes of one system instance: one folder, one open Outbox per name, their counters together. */
export class OutboxStore {
  private readonly outboxes = new Map<string, Outbox<unknown>>();

  constructor(readonly dir: string, private readonly defaults: Omit<OutboxOptions<unknown>, 'idOf'> = {}) {}

  /** The outbox `name`, opened on first use (the same object after that: a flow rebuilt takes over its outbox). */
  open<R>(name: string, opts: OutboxOptions<R> = {}): Outbox<R> {
    let o = this.outboxes.get(name);
    if (!o) this.outboxes.set(name, (o = new Outbox<R>(this.dir, name, { ...this.defaults, ...opts }) as Outbox<unknown>));
    return o as Outbox<R>;
  }

  /** Names of the outbox files in the folder that start with `prefix` (left by an earlier process, or open). */
  existing(prefix: string): string[] {
    let names: string[] = [];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith(OUTBOX_SUFFIX)).map((n) => n.slice(0, -OUTBOX_SUFFIX.length));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return names.filter((n) => n.startsWith(prefix) && OUTBOX_NAME_PATTERN.test(n)).sort();
  }

  /** Depth, bytes and the rest, per outbox name (for /state). */
  counters(): Record<string, OutboxCounters> {
    return Object.fromEntries([...this.outboxes].map(([name, o]) => [name, o.counters()]));
  }

  close(): void {
    for (const o of this.outboxes.values()) o.close();
    this.outboxes.clear();
  }
}
