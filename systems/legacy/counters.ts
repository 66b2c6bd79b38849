/**
 * LegacyCounters: every counter of a system's legacy transports in one JSON-able object, keyed by
 * flow id, for its /metrics or /state endpoint. Components register once; snapshot() reads them all.
 */
import type { AmqpConnector, AmqpConnectorCounters } from './amqp-connection.ts';
import type { AmqpConsumer, AmqpConsumerCounters, AmqpPublisher, AmqpPublisherCounters } from './amqp.ts';
import type { BatchPicker, BatchPickerCounters } from './batch-picker.ts';
import type { BatchWriter, BatchWriterCounters } from './batch.ts';
import type { RestClient, RestClientCounters } from './rest-client.ts';
import type { RestPoller, RestPollerCounters } from './rest-poller.ts';
import type { RestApp, RestServerCounters } from './rest-server.ts';

export interface LegacyCounters {
  readonly rest: {
    /** The system's own REST server (absent if it has none). */
    readonly server?: RestServerCounters;
    readonly clients: Readonly<Record<string, RestClientCounters>>;
    readonly pollers: Readonly<Record<string, RestPollerCounters>>;
  };
  readonly amqp: {
    readonly connection?: AmqpConnectorCounters;
    readonly publishers: Readonly<Record<string, AmqpPublisherCounters>>;
    readonly consumers: Readonly<Record<string, AmqpConsumerCounters>>;
  };
  readonly batch: {
    readonly writers: Readonly<Record<string, BatchWriterCounters>>;
    readonly pickers: Readonly<Record<string, BatchPickerCounters>>;
  };
  /** Sums over all flows, for a one-line summary. */
  readonly totals: LegacyTotals;
}

export interface LegacyTotals {
  restCalls: number;
  restFailures: number;
  restRetries: number;
  restBadRequests: number;
  amqpPublished: number;
  amqpConfirmed: number;
  amqpConsumed: number;
  amqpDeadLettered: number;
  amqpReconnects: number;
  batchFilesWritten: number;
  batchFilesPicked: number;
  batchQuarantinedLines: number;
}

type Source<T> = { counters(): T };

/** Keeps the transports of one system process; snapshot() is what /metrics or /state serves. */
export class LegacyCounterRegistry {
  private server: Source<RestServerCounters> | undefined;
  private connector: Source<AmqpConnectorCounters> | undefined;
  private readonly restClients = new Map<string, Source<RestClientCounters>>();
  private readonly pollers = new Map<string, Source<RestPollerCounters>>();
  private readonly publishers = new Map<string, Source<AmqpPublisherCounters>>();
  private readonly consumers = new Map<string, Source<AmqpConsumerCounters>>();
  private readonly writers = new Map<string, Source<BatchWriterCounters>>();
  private readonly pickers = new Map<string, Source<BatchPickerCounters>>();

  restServer(app: RestApp): this { this.server = app; return this; }
  restClient(flowId: string, c: RestClient): this { this.restClients.set(flowId, c); return this; }
  restPoller(flowId: string, p: RestPoller<never>): this { this.pollers.set(flowId, p); return this; }
  amqpConnector(c: AmqpConnector): this { this.connector = c; return this; }
  amqpPublisher(flowId: string, p: AmqpPublisher): this { this.publishers.set(flowId, p); return this; }
  amqpConsumer(flowId: string, c: AmqpConsumer<never>): this { this.consumers.set(flowId, c); return this; }
  batchWriter(flowId: string, w: BatchWriter): this { this.writers.set(flowId, w); return this; }
  batchPicker(flowId: string, p: BatchPicker<never>): this { this.pickers.set(flowId, p); return this; }

  /**
   * Drops the counters of one end of a flow that was taken down: its sending side (REST client,
   * publisher, batch writer) or its receiving side (pollers, `flowId@<instance>` included, consumer, picker).
   */
  forget(flowId: string, side: 'out' | 'in'): this {
    const maps = side === 'out' ? [this.restClients, this.publishers, this.writers] : [this.pollers, this.consumers, this.pickers];
    for (const m of maps as Map<string, unknown>[]) {
      for (const key of [...m.keys()]) if (key === flowId || key.startsWith(`${flowId}@`)) m.delete(key);
    }
    return this;
  }

  snapshot(): LegacyCounters {
    const read = <T>(m: Map<string, Source<T>>): Record<string, T> => Object.fromEntries([...m].map(([k, s]) => [k, s.counters()]));
    const rest = { server: this.server?.counters(), clients: read(this.restClients), pollers: read(this.pollers) };
    const amqp = { connection: this.connector?.counters(), publishers: read(this.publishers), consumers: read(this.consumers) };
    const batch = { writers: read(this.writers), pickers: read(this.pickers) };
    const sum = <T>(o: Record<string, T>, f: (v: T) => number): number => Object.values(o).reduce((a, v) => a + f(v), 0);
    const totals: LegacyTotals = {
      restCalls: sum(rest.clients, (c) => c.calls) + sum(rest.pollers, (p) => p.polls),
      restFailures: sum(rest.clients, (c) => c.failures) + sum(rest.pollers, (p) => p.pollFailures),
      restRetries: sum(rest.clients, (c) => c.retries),
      restBadRequests: rest.server?.badRequests ?? 0,
      amqpPublished: sum(amqp.publishers, (p) => p.published),
      amqpConfirmed: sum(amqp.publishers, (p) => p.confirmed),
      amqpConsumed: sum(amqp.consumers, (c) => c.consumed),
      amqpDeadLettered: sum(amqp.consumers, (c) => c.deadLettered),
      amqpReconnects: amqp.connection?.reconnects ?? 0,
      batchFilesWritten: sum(batch.writers, (w) => w.filesWritten),
      batchFilesPicked: sum(batch.pickers, (p) => p.files),
      batchQuarantinedLines: sum(batch.pickers, (p) => p.quarantinedLines),
    };
    return { rest, amqp, batch, totals };
  }
}
