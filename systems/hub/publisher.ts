/**
 * The hub publisher of one system: an idempotent kafkajs producer (acks=all, one request in flight,
 * so the broker de-duplicates client retries and keeps each partition in order), the record's key
 * field (its kind's declared key, e.g. orderId) as text for the message key, so one order's records
 * stay in one partition and in order, the record as JSON value, and the data kind and source
 * system as headers.
 *
 * Concurrent `publish()` calls are batched: they wait in a bounded queue and one sender takes them
 * a batch at a time, so a partition never has two sends in flight (kafkajs's idempotent sequence
 * numbers for it would interleave). Against one broker the batch goes out in one kafkajs
 * sendBatch. Against several, it is split by partition and each partition's records go in a send()
 * of their own, all at once: no kafkajs call may span two brokers, or kafkajs can lose acknowledged
 * records when a leader dies (see partition-groups.ts); the split costs about a fifth more CPU per
 * record, which is why one broker does without it. When the queue is full, `publish()` waits for
 * room (backpressure). `publish()` resolves once the broker has acknowledged the record.
 *
 * Before each request the sender lets the current turn of the event loop finish: the handlers
 * that one fetch or one acknowledgement released publish in that turn, and their records go in
 * one request rather than the first alone and the rest in the next. kafkajs has no linger.ms;
 * lingerMs adds one (wait until the oldest queued record is that old, unless a batch is full).
 * The values of these knobs, and why, are in runtime/tuning.ts.
 */
import { CompressionTypes, Partitioners, type Kafka, type Message, type Producer, type RetryOptions } from 'kafkajs';
import { HEADER_KIND, HEADER_SOURCE, type TopicSpec } from './headers.ts';
import { ensureTopics, stderrLogger, type HubLogger } from './kafka-client.ts';
import { PartitionGrouper } from './partition-groups.ts';
import { measureCpu } from '../process/cpu-meter.ts';
import { HUB_PRODUCER, HUB_TOPICS } from '../runtime/tuning.ts';

export interface PublisherOptions {
  kafka: Kafka;
  systemId: string;
  /** The topics this system may publish to, one per data kind (from hubLayout(t).topics). */
  topics: readonly TopicSpec[];
  /** Records waiting to be sent before publish() waits for room. Default HUB_PRODUCER.queueMax. */
  queueMax?: number;
  /** Bytes of values waiting before publish() waits for room. Default HUB_PRODUCER.queueBytesMax. */
  queueBytesMax?: number;
  /** Records the sender takes from the queue at a time (split by partition). Default HUB_PRODUCER.batchMax. */
  batchMax?: number;
  /** Value bytes the sender takes at a time. Default HUB_PRODUCER.batchBytesMax. */
  batchBytesMax?: number;
  /** How long an idle sender waits for more records after the first (0: none). Default HUB_PRODUCER.lingerMs. */
  lingerMs?: number;
  /** Broker-side ack timeout of one produce request. Default HUB_PRODUCER.ackTimeoutMs. */
  ackTimeoutMs?: number;
  /** Default HUB_PRODUCER.compression. */
  compression?: CompressionTypes;
  /** Partitions of a topic that the first connect creates when it is missing. Default HUB_TOPICS.partitions. */
  topicPartitions?: number;
  /** kafkajs producer retries; when exhausted the batch fails and a fresh producer id is used. */
  retry?: RetryOptions;
  logger?: HubLogger;
}

export interface PublisherCounters {
  /** Records acknowledged by the broker. */
  published: number;
  /** Records whose publish() rejected (send failed after retries, or unpublishable record). */
  failed: number;
  /** Value bytes acknowledged. */
  bytes: number;
  /** kafkajs sends that succeeded (one per batch against one broker, one per partition against several). */
  batches: number;
  /** Records queued for the sender right now. */
  queued: number;
  /** publish() calls waiting for room in the queue right now. */
  waiting: number;
}

interface Pending {
  topic: string;
  message: Message;
  bytes: number;
  /** performance.now() when it entered the queue (the linger counts from the oldest). */
  queuedAtMs: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** The kafkajs codec of each compression the tuning may name. */
const COMPRESSION: Readonly<Record<typeof HUB_PRODUCER.compression, CompressionTypes>> = { none: CompressionTypes.None };

/** Producer retries: long enough to ride out a broker restart (about two minutes), at most 0.5 s apart so a failover is noticed at once. */
const PRODUCER_RETRY: RetryOptions = { retries: 240, initialRetryTime: 100, maxRetryTime: 500 };

export class HubPublisher {
  private readonly topicByKind: ReadonlyMap<string, TopicSpec>;
  private readonly queue: Pending[] = [];
  private queueBytes = 0;
  /** publish() calls waiting for room in the queue (backpressure), in arrival order. */
  private readonly waiting: Pending[] = [];
  private producer: Producer | null = null;
  private connecting: Promise<Producer> | null = null;
  private sending: Promise<void> | null = null;
  private closed = false;
  /** Partition count of each topic and the number of brokers, from the metadata when the producer connects. */
  private hub: { partitionCounts: Map<string, number>; brokers: number } | null = null;
  private readonly grouper = new PartitionGrouper();
  private readonly stats: Omit<PublisherCounters, 'queued' | 'waiting'> = { published: 0, failed: 0, bytes: 0, batches: 0 };
  private readonly queueMax: number;
  private readonly queueBytesMax: number;
  private readonly batchMax: number;
  private readonly batchBytesMax: number;
  private readonly lingerMs: number;
  /** Ends the sender's linger early (a batch is full, or the publisher closes); null while not lingering. */
  private endLinger: (() => void) | null = null;
  private readonly log: HubLogger;

  constructor(private readonly options: PublisherOptions) {
    this.topicByKind = new Map(options.topics.map((t) => [t.dataKind, t]));
    this.queueMax = positive(options.queueMax ?? HUB_PRODUCER.queueMax, 'queueMax');
    this.queueBytesMax = positive(options.queueBytesMax ?? HUB_PRODUCER.queueBytesMax, 'queueBytesMax');
    this.batchMax = positive(options.batchMax ?? HUB_PRODUCER.batchMax, 'batchMax');
    this.batchBytesMax = positive(options.batchBytesMax ?? HUB_PRODUCER.batchBytesMax, 'batchBytesMax');
    this.lingerMs = options.lingerMs ?? HUB_PRODUCER.lingerMs;
    if (!(this.lingerMs >= 0)) throw new Error(`HubPublisher: lingerMs must be 0 or more, got ${this.lingerMs}`);
    this.log = options.logger ?? stderrLogger;
  }

  /** Creates missing topics and connects the producer now (otherwise the first publish does). */
  async connect(): Promise<void> {
    await this.getProducer();
  }

  /**
   * Publishes one record of `kind`; resolves when the broker has it (acks=all), rejects when the
   * send failed after retries. Waits first while the queue is full.
   */
  async publish(kind: string, record: object): Promise<void> {
    let pending: Omit<Pending, 'resolve' | 'reject' | 'queuedAtMs'>;
    try {
      if (this.closed) throw new Error(`publisher of system ${this.options.systemId} is closed`);
      pending = this.toPending(kind, record);
    } catch (err) {
      this.stats.failed++;
      throw err;
    }
    return new Promise<void>((resolve, reject) => {
      const item: Pending = { ...pending, queuedAtMs: 0, resolve, reject };
      // Strictly first come, first queued: a caller never overtakes one already waiting for room.
      if (this.waiting.length > 0 || this.isFull(item.bytes)) this.waiting.push(item);
      else this.enqueue(item);
      this.kick();
    });
  }

  counters(): PublisherCounters {
    return { ...this.stats, queued: this.queue.length, waiting: this.waiting.length };
  }

  /** Sends what is queued or waiting, then disconnects. Later publish() calls reject. */
  async close(): Promise<void> {
    this.closed = true;
    this.endLinger?.();
    while (this.sending) await this.sending;
    const producer = this.producer;
    this.producer = null;
    if (producer) await producer.disconnect();
  }

  private toPending(kind: string, record: object): Omit<Pending, 'resolve' | 'reject' | 'queuedAtMs'> {
    const topic = this.topicByKind.get(kind);
    if (!topic) throw new Error(`system ${this.options.systemId} has no hub topic for data kind '${kind}'`);
    const keyValue = (record as Record<string, unknown>)[topic.key];
    const key = keyValue === undefined || keyValue === null ? '' : String(keyValue);
    if (key === '') throw new Error(`a ${kind} record needs a non-empty '${topic.key}' as its key`);
    // The record to its wire format; kafkajs's own framing and compression stay in the remainder.
    const value = measureCpu('serialization', () => Buffer.from(JSON.stringify(record), 'utf8'));
    return {
      topic: topic.name,
      bytes: value.length,
      message: { key, value, headers: { [HEADER_KIND]: kind, [HEADER_SOURCE]: this.options.systemId } },
    };
  }

  private isFull(bytes: number): boolean {
    return this.queue.length >= this.queueMax || (this.queue.length > 0 && this.queueBytes + bytes > this.queueBytesMax);
  }

  private enqueue(item: Pending): void {
    item.queuedAtMs = performance.now();
    this.queue.push(item);
    this.queueBytes += item.bytes;
    if (this.endLinger && this.batchFull()) this.endLinger();
  }

  /** A whole batch is queued: lingering would not make it larger. */
  private batchFull(): boolean {
    return this.queue.length >= this.batchMax || this.queueBytes >= this.batchBytesMax;
  }

  /**
   * Before each request, unless a batch is full or the publisher closes: first lets the current
   * turn of the event loop finish, so that the publishes made in it (the handlers one fetch or one
   * acknowledgement released together) join the batch; then waits until the oldest queued record
   * is lingerMs old.
   */
  private async linger(): Promise<void> {
    if (this.closed || this.batchFull()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    const dueInMs = this.queue[0].queuedAtMs + this.lingerMs - performance.now();
    if (dueInMs <= 0 || this.closed || this.batchFull()) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.endLinger?.(), Math.ceil(dueInMs));
      this.endLinger = () => {
        clearTimeout(timer);
        this.endLinger = null;
        resolve();
      };
    });
  }

  private admitWaiting(): void {
    while (this.waiting.length > 0 && !this.isFull(this.waiting[0].bytes)) this.enqueue(this.waiting.shift()!);
  }

  private kick(): void {
    if (this.sending || this.queue.length === 0) return;
    this.sending = this.drain().finally(() => {
      this.sending = null;
      this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      await this.linger();
      const batch = this.takeBatch();
      this.admitWaiting();
      let failed = false;
      try {
        const producer = await this.getProducer();
        const units = this.sendUnits(batch);
        const outcomes = await Promise.allSettled(units.map((u) => u.send(producer)));
        for (const [i, outcome] of outcomes.entries()) {
          const { items, where } = units[i];
          if (outcome.status === 'fulfilled') {
            this.stats.published += items.length;
            this.stats.batches++;
            for (const p of items) {
              this.stats.bytes += p.bytes;
              p.resolve();
            }
          } else {
            failed = true;
            this.fail(items, outcome.reason, where);
          }
        }
      } catch (err) {
        // No producer (the hub is unreachable) or no partition count: nothing of the batch was sent.
        failed = true;
        this.fail(batch, err, 'the hub');
      }
      if (failed) await this.resetProducer();
    }
  }

  /** The kafkajs calls a batch goes out in: one sendBatch against one broker, one send() per partition against several. */
  private sendUnits(batch: Pending[]): { items: Pending[]; where: string; send(producer: Producer): Promise<unknown> }[] {
    const hub = this.hub!;
    const common = { acks: HUB_PRODUCER.acks, timeout: this.options.ackTimeoutMs ?? HUB_PRODUCER.ackTimeoutMs, compression: this.options.compression ?? COMPRESSION[HUB_PRODUCER.compression] };
    if (hub.brokers <= 1) {
      const byTopic = new Map<string, Message[]>();
      for (const p of batch) {
        let messages = byTopic.get(p.topic);
        if (!messages) byTopic.set(p.topic, (messages = []));
        messages.push(p.message);
      }
      const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
      return [{ items: batch, where: 'the broker', send: (producer) => producer.sendBatch({ topicMessages, ...common }) }];
    }
    return this.grouper.group(batch, (topic) => hub.partitionCounts.get(topic) ?? 0).map((g) => ({
      items: g.items,
      where: `${g.topic}/${g.partition}`,
      send: (producer) => producer.send({ topic: g.topic, messages: g.items.map((p) => ({ ...p.message, partition: g.partition })), ...common }),
    }));
  }

  private fail(items: readonly Pending[], reason: unknown, where: string): void {
    const err = reason instanceof Error ? reason : new Error(String(reason));
    this.stats.failed += items.length;
    this.log(`hub publisher ${this.options.systemId}: ${items.length} record(s) to ${where} failed: ${err.message}`);
    for (const p of items) p.reject(err);
  }

  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let bytes = 0;
    while (this.queue.length > 0 && batch.length < this.batchMax) {
      const next = this.queue[0];
      if (batch.length > 0 && bytes + next.bytes > this.batchBytesMax) break;
      this.queue.shift();
      this.queueBytes -= next.bytes;
      bytes += next.bytes;
      batch.push(next);
    }
    return batch;
  }

  private getProducer(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= (async () => {
      if (!this.hub) {
        const admin = this.options.kafka.admin();
        await admin.connect();
        try {
          const partitionCounts = await ensureTopics(admin, [...this.topicByKind.values()].map((t) => t.name), this.options.topicPartitions ?? HUB_TOPICS.partitions);
          this.hub = { partitionCounts, brokers: (await admin.describeCluster()).brokers.length };
        } finally {
          await admin.disconnect();
        }
      }
      const producer = this.options.kafka.producer({
        idempotent: HUB_PRODUCER.idempotent,
        maxInFlightRequests: HUB_PRODUCER.maxInFlightRequests,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { ...PRODUCER_RETRY, ...this.options.retry },
        allowAutoTopicCreation: false,
      });
      await producer.connect();
      this.producer = producer;
      return producer;
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  /**
   * After a failed send the broker may or may not hold it. Reusing the producer id would send the
   * next records with the failed send's sequence numbers, and the broker would drop them as
   * duplicates; a fresh producer gets a fresh id. The partition counts and brokers are read again too.
   */
  private async resetProducer(): Promise<void> {
    const old = this.producer;
    this.producer = null;
    this.hub = null;
    if (old) await old.disconnect().catch(() => undefined);
  }
}

function positive(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`HubPublisher: ${name} must be a positive integer, got ${n}`);
  return n;
}
