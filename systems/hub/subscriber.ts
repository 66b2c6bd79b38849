/**
 * The hub subscriber of one system: a kafkajs consumer in the system's group, subscribed to the
 * topics of the data kinds that flow to it. Delivery is at-least-once: a record's offset is
 * resolved (and committed, when due) only after the handler finished with it or it was
 * dead-lettered. Records of one partition are handled one after the other (one order's records
 * share a partition, so they stay in order); by default every partition of its topics runs at
 * once (up to a bound), since kafkajs fetches again only when every batch of the last fetch is
 * handled and a handler mostly waits (for the broker to acknowledge its outputs): with fewer
 * workers than partitions the batches would wait in turn. Values and measurements in
 * runtime/tuning.ts.
 *
 * A poison record (no value, bad JSON, refused by `validate`) goes to the system's dead-letter
 * topic `<prefix>dlq.<system>` with the reason in a header, and the partition moves on. A handler
 * that throws is retried with backoff `handlerAttempts` times, then the record is dead-lettered.
 * Only a failing dead-letter write stops the partition (the batch is re-delivered: nothing lost).
 */
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { BoundedDedupe } from './dedupe.ts';
import { clipHeader, dlqTopicName, headerString, HEADER_DLQ_GROUP, HEADER_DLQ_ORIGIN, HEADER_DLQ_REASON, HEADER_KIND, HEADER_SOURCE, type TopicSpec } from './headers.ts';
import { ensureTopics, groupConsumer, stderrLogger, type HubLogger } from './kafka-client.ts';
import { measureCpu } from '../process/cpu-meter.ts';
import { HUB_SUBSCRIBER, HUB_TOPICS } from '../runtime/tuning.ts';

/** One record as a handler sees it. */
export interface HubMessage {
  topic: string;
  partition: number;
  offset: string;
  kind: string;
  /** The publishing system, from the header. */
  source: string | undefined;
  key: string | null;
  /** The parsed JSON value, as returned by `validate` when it returns a record. */
  record: unknown;
  timestampMs: number;
}

export type HubHandler = (message: HubMessage) => Promise<void> | void;

/** ok with an optional normalized record, or a reason to dead-letter. Throwing counts as a reason. */
export type HubValidation = { ok: true; record?: unknown } | { ok: false; reason: string };
export type HubValidator = (kind: string, value: unknown) => HubValidation;

export interface SubscriberOptions {
  kafka: Kafka;
  systemId: string;
  groupId: string;
  /** The topics to subscribe to (the kind of a record is its topic's data kind). */
  topics: readonly TopicSpec[];
  /** The prefix of the hub's topics; names the dead-letter topic. */
  topicPrefix: string;
  handler: HubHandler;
  validate?: HubValidator;
  /** A new group starts at the earliest offset (backfill) instead of the latest. Default false. */
  fromBeginning?: boolean;
  /** Partitions handled at once. Default: every partition of its topics, at most HUB_SUBSCRIBER.partitionsConsumedConcurrentlyMax. */
  partitionsConcurrently?: number;
  /** Bytes fetched per partition per request. Default HUB_SUBSCRIBER.maxBytesPerPartition. */
  maxBytesPerPartition?: number;
  /** Calls of the handler per record before it is dead-lettered. Default 5. */
  handlerAttempts?: number;
  /** Backoff between handler attempts, doubling. Default 100 ms to 2 s. */
  retryBackoffMs?: { initial: number; max: number };
  /**
   * Skip records whose id was handled already, remembering the last `capacity` ids; `idOf` gives a
   * record's id (dedupeIdFor(the landscape's RecordKinds)), undefined to never skip it.
   */
  dedupe?: { capacity: number; idOf: (kind: string, record: unknown) => string | undefined };
  /** Partitions of a topic that ensureTopics creates when it is missing. Default HUB_TOPICS.partitions. */
  topicPartitions?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  maxWaitTimeMs?: number;
  logger?: HubLogger;
}

export interface SubscriberCounters {
  /** Records read from the hub (every outcome). */
  received: number;
  /** Records the handler finished with. */
  consumed: number;
  deadLettered: number;
  /** Records skipped by the dedupe as already handled. */
  duplicatesSkipped: number;
  /** Handler calls that threw and were retried or dead-lettered. */
  handlerFailures: number;
  /** Value bytes read. */
  bytes: number;
}

type Outcome = { kind: 'done' } | { kind: 'aborted' };

export class HubSubscriber {
  readonly dlqTopic: string;
  private consumer: Consumer | null = null;
  private dlqProducer: Producer | null = null;
  private readonly kindByTopic: ReadonlyMap<string, string>;
  private readonly dedupe: BoundedDedupe | null;
  private readonly stats: SubscriberCounters = { received: 0, consumed: 0, deadLettered: 0, duplicatesSkipped: 0, handlerFailures: 0, bytes: 0 };
  private readonly log: HubLogger;

  constructor(private readonly options: SubscriberOptions) {
    if (options.topics.length === 0) throw new Error(`system ${options.systemId} subscribes to no topic: start no subscriber`);
    this.dlqTopic = dlqTopicName(options.topicPrefix, options.systemId);
    this.kindByTopic = new Map(options.topics.map((t) => [t.name, t.dataKind]));
    this.dedupe = options.dedupe ? new BoundedDedupe(options.dedupe.capacity) : null;
    this.log = options.logger ?? stderrLogger;
  }

  /** Makes sure the topics and the dead-letter topic exist, joins the group and starts consuming. */
  async start(): Promise<void> {
    if (this.consumer) throw new Error(`subscriber of system ${this.options.systemId} is already started`);
    const o = this.options;
    const admin = o.kafka.admin();
    await admin.connect();
    let partitions = 0;
    try {
      const counts = await ensureTopics(admin, [...this.kindByTopic.keys(), this.dlqTopic], o.topicPartitions ?? HUB_TOPICS.partitions);
      for (const topic of this.kindByTopic.keys()) partitions += counts.get(topic) ?? 0;
    } finally {
      await admin.disconnect();
    }
    const dlq = o.kafka.producer({ allowAutoTopicCreation: false });
    await dlq.connect();
    this.dlqProducer = dlq;
    const consumer = groupConsumer(o.kafka, { ...o, maxBytesPerPartition: o.maxBytesPerPartition ?? HUB_SUBSCRIBER.maxBytesPerPartition });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.kindByTopic.keys()], fromBeginning: o.fromBeginning ?? false });
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: HUB_SUBSCRIBER.autoCommitInterval,
      autoCommitThreshold: HUB_SUBSCRIBER.autoCommitThreshold,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: o.partitionsConcurrently ?? Math.max(1, Math.min(partitions, HUB_SUBSCRIBER.partitionsConsumedConcurrentlyMax)),
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  /** Finishes the record in hand, commits what was handled, leaves the group and disconnects. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    const dlq = this.dlqProducer;
    this.consumer = null;
    this.dlqProducer = null;
    if (consumer) await consumer.disconnect();
    if (dlq) await dlq.disconnect();
  }

  counters(): SubscriberCounters {
    return { ...this.stats };
  }

  private async eachBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload): Promise<void> {
    for (const m of batch.messages) {
      if (!isRunning() || isStale()) return;
      const outcome = await this.processOne(batch.topic, batch.partition, m, isRunning, heartbeat);
      if (outcome.kind === 'aborted') return;
      resolveOffset(m.offset);
      await commitOffsetsIfNecessary();
      await heartbeat();
    }
  }

  private async processOne(topic: string, partition: number, m: KafkaMessage, isRunning: () => boolean, heartbeat: () => Promise<void>): Promise<Outcome> {
    this.stats.received++;
    this.stats.bytes += m.value?.length ?? 0;
    const kind = this.kindByTopic.get(topic) ?? headerString(m.headers, HEADER_KIND) ?? 'unknown';
    const parsed = this.parse(kind, m.value);
    if (!parsed.ok) {
      await this.deadLetter(topic, partition, m, parsed.reason);
      return { kind: 'done' };
    }
    const dedupeId = this.dedupe ? this.options.dedupe?.idOf(kind, parsed.record) : undefined;
    if (dedupeId !== undefined && this.dedupe?.has(dedupeId)) {
      this.stats.duplicatesSkipped++;
      return { kind: 'done' };
    }
    const message: HubMessage = {
      topic,
      partition,
      offset: m.offset,
      kind,
      source: headerString(m.headers, HEADER_SOURCE),
      key: m.key ? m.key.toString() : null,
      record: parsed.record,
      timestampMs: Number(m.timestamp),
    };
    const attempts = Math.max(1, this.options.handlerAttempts ?? 5);
    const backoff = this.options.retryBackoffMs ?? { initial: 100, max: 2_000 };
    let lastError = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await this.options.handler(message);
        this.stats.consumed++;
        if (dedupeId !== undefined) this.dedupe?.add(dedupeId);
        return { kind: 'done' };
      } catch (err) {
        this.stats.handlerFailures++;
        lastError = err instanceof Error ? err.message : String(err);
        if (attempt === attempts) break;
        await sleep(Math.min(backoff.max, backoff.initial * 2 ** (attempt - 1)));
        if (!isRunning()) return { kind: 'aborted' };
        await heartbeat();
      }
    }
    await this.deadLetter(topic, partition, m, `handler failed ${attempts} times: ${lastError}`);
    return { kind: 'done' };
  }

  private parse(kind: string, value: Buffer | null): { ok: true; record: unknown } | { ok: false; reason: string } {
    if (!value || value.length === 0) return { ok: false, reason: 'empty value' };
    let record: unknown;
    try {
      // Validation below counts as rules (hubValidator); only the parse is serialization.
      record = measureCpu('serialization', () => JSON.parse(value.toString('utf8')) as unknown);
    } catch (err) {
      return { ok: false, reason: `bad JSON: ${(err as Error).message}` };
    }
    if (!this.options.validate) return { ok: true, record };
    try {
      const v = this.options.validate(kind, record);
      if (!v.ok) return { ok: false, reason: v.reason };
      return { ok: true, record: v.record !== undefined ? v.record : record };
    } catch (err) {
      return { ok: false, reason: `validation threw: ${(err as Error).message}` };
    }
  }

  /** Writes the record as it came, plus why and where from; throws (the batch is re-delivered) if that fails. */
  private async deadLetter(topic: string, partition: number, m: KafkaMessage, reason: string): Promise<void> {
    const producer = this.dlqProducer;
    if (!producer) throw new Error(`subscriber of system ${this.options.systemId} is stopped; cannot dead-letter`);
    const headers: IHeaders = {
      ...(m.headers ?? {}),
      [HEADER_DLQ_REASON]: clipHeader(reason),
      [HEADER_DLQ_ORIGIN]: `${topic}/${partition}/${m.offset}`,
      [HEADER_DLQ_GROUP]: this.options.groupId,
    };
    await producer.send({ topic: this.dlqTopic, acks: -1, messages: [{ key: m.key, value: m.value, headers }] });
    this.stats.deadLettered++;
    // The first ten, then every thousandth: a poison storm must not flood the log.
    if (this.stats.deadLettered <= 10 || this.stats.deadLettered % 1_000 === 0) this.log(`hub subscriber ${this.options.systemId}: dead-lettered ${topic}/${partition}/${m.offset} to ${this.dlqTopic} (${this.stats.deadLettered} so far): ${clipHeader(reason)}`);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
