/**
 * The hub layout's one lake sink: a consumer group subscribed to every topic that appends every
 * record as one JSON line through the lake writer (HubLakeWriter) to
 * <lakeDir>/hub/<folder>/date=<yyyy-mm-dd>/part-<n>.jsonl, where the folder is the topic's data
 * kind (what the lake reader expects) and the date comes from the Kafka record timestamp. A value
 * that is not a valid record of its kind goes to the lake's quarantine with the reason instead.
 *
 * No record is lost: offsets are committed only after the lake flush that sealed the parts holding
 * the records up to them. No record is written twice, by the sink itself (the lake reader does not
 * de-duplicate): it keeps the highest offset per topic partition already in the lake, saves it in
 * its checkpoint after every flush and before the Kafka commit, and loads it at start together with
 * the lines of any part sealed after that checkpoint (lake-offsets.ts). A re-delivered record at or
 * below the high-water mark, or equal to such an unconfirmed line, is skipped. That covers a
 * restart, a kill -9 at any point, a failed commit and a rebalance within one process. With
 * several sink processes a partition moving between them may be written twice.
 *
 * Those are offsets: the same record published twice (a system handing its outputs over again
 * after a crash, a producer retry) has two offsets and lands twice. With delivery=idempotent
 * (`dedupe`) the sink also skips a record whose identity (kind and id, dedupeIdFor) is among the
 * last `capacity` it wrote; at start that memory is rebuilt from the newest parts in the lake
 * itself (recentLakeIds), so it is exact after a kill -9 at any point: what is in a sealed part
 * is remembered, what was in an unsealed one was never in the lake (and comes again, uncommitted).
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { HubLakeWriter, type HubLakeWriterOptions } from '../lake/hub-writer.ts';
import { quarantine as quarantineInLake } from '../lake/quarantine.ts';
import type { RecordKinds } from '../model/kinds.ts';
import { BoundedDedupe, dedupeIdFor, recentLakeIds } from './dedupe.ts';
import { headerString, HEADER_KIND, type TopicSpec } from './headers.ts';
import { ensureTopics, groupConsumer, stderrLogger, type HubLogger } from './kafka-client.ts';
import { LakeOffsetCheckpoint, partitionKey, type LakeHighWater, type LakeSinkState, type UnconfirmedLines } from './lake-offsets.ts';
import type { HubValidator } from './subscriber.ts';
import { measureCpu } from '../process/cpu-meter.ts';
import { HUB_LAKE_SINK, HUB_TOPICS } from '../runtime/tuning.ts';

/** What the sink needs from the lake writer (HubLakeWriter has it). */
export interface LakeAppender {
  /** Buffers one record for `folder` (see folderOf), dated by its event time. */
  append(folder: string, record: unknown, eventTimeMs: number): void;
  /** Makes every record appended so far visible and durable (seals the open parts). */
  flush(): unknown;
  close(): unknown;
}

/** A record that could not go into the lake, and why. */
export interface LakeSinkReject {
  reason: string;
  /** The value as text. */
  raw: string;
  /** topic/partition/offset. */
  origin: string;
}

export interface LakeSinkOptions {
  kafka: Kafka;
  groupId: string;
  /** Every hub topic (hubLayout(t).topics). */
  topics: readonly TopicSpec[];
  writer: LakeAppender;
  /**
   * The lake folder (under hub/) of a topic's records. Default: its data kind (`order`), which is
   * what the lake reader maps folders to, and stays the same whatever the topic prefix.
   */
  folderOf?: (topic: TopicSpec) => string;
  /** Refuses values that are not valid records of their kind (they go to `reject`). */
  validate?: HubValidator;
  /** Where refused values go (the lake's quarantine); it must be durable when it returns. */
  reject?: (items: readonly LakeSinkReject[]) => void;
  /**
   * delivery=idempotent: skip a record whose id (`idOf`, dedupeIdFor) is among the last `capacity`
   * written; `written` gives the ids already in the lake, oldest first, when the sink starts.
   */
  dedupe?: { capacity: number; idOf: (kind: string, record: unknown) => string | undefined; written?: () => Iterable<string> };
  /** The sink's record of what is in the lake (LakeOffsetCheckpoint); without it a crash can leave duplicates. */
  checkpoint?: { load(): LakeSinkState; save(highWater: LakeHighWater, unconfirmed: UnconfirmedLines): void };
  /** Flush and commit at least this often while records arrive. Default HUB_LAKE_SINK.flushIntervalMs. */
  flushIntervalMs?: number;
  /** Flush and commit after this many unflushed records. Default HUB_LAKE_SINK.flushRecordsMax. */
  flushRecordsMax?: number;
  /** Default HUB_LAKE_SINK.partitionsConsumedConcurrently. */
  partitionsConcurrently?: number;
  /** Default HUB_LAKE_SINK.maxBytesPerPartition. */
  maxBytesPerPartition?: number;
  /** Partitions of a topic that ensureTopics creates when it is missing. Default HUB_TOPICS.partitions. */
  topicPartitions?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  maxWaitTimeMs?: number;
  logger?: HubLogger;
}

export interface LakeSinkCounters {
  /** Records appended to the lake by this process. */
  written: number;
  /** Records refused (not JSON, or invalid) and sent to the quarantine. */
  rejected: number;
  /** Records re-delivered that were already in the lake, not written again. */
  skippedAlreadyInLake: number;
  /** delivery=idempotent: records published again (a new offset) whose id was already written, not written again. */
  skippedRepeats: number;
  flushes: number;
  /** Offset commits that failed (retried at the next flush). */
  commitFailures: number;
  bytes: number;
}

const tpKey = partitionKey;

export class HubLakeSink {
  private consumer: Consumer | null = null;
  private highWater = new Map<string, bigint>();
  /** Lines of lake parts sealed after the last checkpoint (see lake-offsets.ts). */
  private unconfirmed: UnconfirmedLines = new Map();
  /** Next offset to commit per partition, for records written but not yet committed. */
  private readonly uncommitted = new Map<string, { topic: string; partition: number; next: bigint }>();
  private unflushed = 0;
  private lastFlushMs = Date.now();
  private flushChain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  private active = 0;
  private readonly stats: LakeSinkCounters = { written: 0, rejected: 0, skippedAlreadyInLake: 0, skippedRepeats: 0, flushes: 0, commitFailures: 0, bytes: 0 };
  /** delivery=idempotent: the ids of the records written last (see `dedupe`); null with at-least-once. */
  private written: BoundedDedupe | null = null;
  private readonly topicByName: ReadonlyMap<string, TopicSpec>;
  private readonly log: HubLogger;

  constructor(private readonly options: LakeSinkOptions) {
    this.log = options.logger ?? stderrLogger;
    this.topicByName = new Map(options.topics.map((t) => [t.name, t]));
  }

  async start(): Promise<void> {
    if (this.consumer) throw new Error('lake sink is already started');
    const o = this.options;
    const admin = o.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [...this.topicByName.keys()], o.topicPartitions ?? HUB_TOPICS.partitions);
    } finally {
      await admin.disconnect();
    }
    const state = o.checkpoint?.load();
    this.highWater = state?.highWater ?? new Map();
    this.unconfirmed = state?.unconfirmed ?? new Map();
    if (o.dedupe) {
      this.written = new BoundedDedupe(o.dedupe.capacity);
      for (const id of o.dedupe.written?.() ?? []) this.written.add(id);
    }
    const consumer = groupConsumer(o.kafka, { ...o, maxBytesPerPartition: o.maxBytesPerPartition ?? HUB_LAKE_SINK.maxBytesPerPartition });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => this.onAssignment(e.payload.memberAssignment));
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.topicByName.keys()], fromBeginning: true });
    this.stopping = false;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: o.partitionsConcurrently ?? HUB_LAKE_SINK.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    const intervalMs = o.flushIntervalMs ?? HUB_LAKE_SINK.flushIntervalMs;
    this.timer = setInterval(() => {
      if (this.uncommitted.size > 0 && Date.now() - this.lastFlushMs >= intervalMs) void this.flushAndCommit().catch((err: Error) => this.log(`lake sink: flush failed: ${err.message}`));
    }, Math.max(50, Math.floor(intervalMs / 2)));
  }

  /** Stops fetching, lets the batches in hand finish, flushes and commits, then leaves the group. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) return;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    consumer.pause([...this.topicByName.keys()].map((topic) => ({ topic })));
    while (this.active > 0) await new Promise((r) => setTimeout(r, 10));
    try {
      await this.flushAndCommit();
    } finally {
      this.consumer = null;
      await consumer.disconnect();
    }
  }

  /** Stops and closes the writer. */
  async close(): Promise<void> {
    await this.stop();
    await this.options.writer.close();
  }

  counters(): LakeSinkCounters {
    return { ...this.stats };
  }

  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    this.active++;
    try {
      const key = tpKey(batch.topic, batch.partition);
      for (const m of batch.messages) {
        if (this.stopping || !isRunning() || isStale()) return;
        const offset = BigInt(m.offset);
        const inLake = this.highWater.get(key);
        if (inLake !== undefined && offset <= inLake) {
          this.stats.skippedAlreadyInLake++;
        } else {
          this.toLake(batch.topic, batch.partition, m);
          this.highWater.set(key, offset);
          this.stats.bytes += m.value?.length ?? 0;
        }
        this.uncommitted.set(key, { topic: batch.topic, partition: batch.partition, next: offset + 1n });
        resolveOffset(m.offset);
        if (this.unflushed >= (this.options.flushRecordsMax ?? HUB_LAKE_SINK.flushRecordsMax)) await this.flushAndCommit();
      }
      if (Date.now() - this.lastFlushMs >= (this.options.flushIntervalMs ?? HUB_LAKE_SINK.flushIntervalMs)) await this.flushAndCommit();
      await heartbeat();
    } finally {
      this.active--;
    }
  }

  /** Flushes the writer, then commits the offsets of what that flush covered. One at a time. */
  private flushAndCommit(): Promise<void> {
    const run = this.flushChain.then(() => this.flushThenCommit());
    this.flushChain = run.catch(() => undefined);
    return run;
  }

  private async flushThenCommit(): Promise<void> {
    const snapshot = [...this.uncommitted.values()].map((v) => ({ ...v }));
    const inLake = new Map(this.highWater);
    this.unflushed = 0;
    this.lastFlushMs = Date.now();
    // HubLakeWriter flushes synchronously: then nothing is appended between the flush and the
    // checkpoint, which takes every sealed part as covered by `inLake`.
    const flushed = this.options.writer.flush();
    if (flushed instanceof Promise) await flushed;
    this.stats.flushes++;
    this.options.checkpoint?.save(inLake, this.unconfirmed);
    const consumer = this.consumer;
    if (!consumer || snapshot.length === 0) return;
    try {
      await consumer.commitOffsets(snapshot.map((s) => ({ topic: s.topic, partition: s.partition, offset: s.next.toString() })));
      for (const s of snapshot) {
        const key = tpKey(s.topic, s.partition);
        if (this.uncommitted.get(key)?.next === s.next) this.uncommitted.delete(key);
      }
    } catch (err) {
      // A rebalance in progress: the records are in the lake; the next flush commits them.
      this.stats.commitFailures++;
      this.log(`lake sink: offset commit failed, retried at the next flush: ${(err as Error).message}`);
    }
  }

  /** Appends the record to its topic's folder, or sends it to `reject` when it is not a valid record. */
  private toLake(topic: string, partition: number, m: KafkaMessage): void {
    const spec = this.topicByName.get(topic);
    const kind = spec?.dataKind ?? headerString(m.headers, HEADER_KIND) ?? 'unknown';
    const text = m.value?.toString('utf8') ?? '';
    let reason = '';
    let record: unknown;
    if (text === '') reason = 'empty value';
    else {
      try {
        // The parse is serialization; the validation below counts as rules (hubValidator).
        record = measureCpu('serialization', () => JSON.parse(text) as unknown);
      } catch (err) {
        reason = `bad JSON: ${(err as Error).message}`;
      }
      const v = reason === '' ? this.options.validate?.(kind, record) : undefined;
      if (v && !v.ok) reason = v.reason;
      else if (v?.ok && v.record !== undefined) record = v.record;
    }
    if (reason !== '') {
      const item = { reason, raw: text, origin: `${topic}/${partition}/${m.offset}` };
      if (this.options.reject) this.options.reject([item]);
      else this.log(`lake sink: dropped ${item.origin}: ${reason}`);
      this.stats.rejected++;
      return;
    }
    const folder = spec ? (this.options.folderOf ?? ((t: TopicSpec) => t.dataKind))(spec) : topic;
    const id = this.written ? this.options.dedupe?.idOf(kind, record) : undefined;
    const unconfirmed = this.unconfirmed.get(folder);
    if (unconfirmed && unconfirmed.size > 0) {
      const line = measureCpu('serialization', () => JSON.stringify(record));
      const count = unconfirmed.get(line) ?? 0;
      if (count > 0) {
        // In a part sealed after the last checkpoint: already in the lake.
        if (count === 1) unconfirmed.delete(line);
        else unconfirmed.set(line, count - 1);
        this.stats.skippedAlreadyInLake++;
        if (id !== undefined) this.written?.add(id);
        return;
      }
    }
    if (id !== undefined && this.written?.has(id)) {
      this.stats.skippedRepeats++;
      return;
    }
    this.options.writer.append(folder, record, Number(m.timestamp));
    if (id !== undefined) this.written?.add(id);
    this.stats.written++;
    this.unflushed++;
  }

  /** After a rebalance, forget commits owed for partitions this member no longer owns. */
  private onAssignment(assignment: Record<string, number[] | undefined>): void {
    for (const [key, s] of this.uncommitted) {
      if (!(assignment[s.topic] ?? []).includes(s.partition)) this.uncommitted.delete(key);
    }
  }
}

/** Ids the lake sink remembers with delivery=idempotent: the records it wrote last (a repeat comes within seconds of its first, a system's restart). */
export const LAKE_SINK_DEDUPE_IDS_MAX = 250_000;

export interface HubLakeSinkSetup extends Omit<LakeSinkOptions, 'writer' | 'checkpoint' | 'reject' | 'dedupe'> {
  lakeDir: string;
  writerOptions?: Omit<HubLakeWriterOptions, 'lakeDir'>;
  /** delivery=idempotent: skip records whose id is among the last `capacity` (default LAKE_SINK_DEDUPE_IDS_MAX) in the lake. */
  idempotent?: { kinds: RecordKinds; capacity?: number };
}

/** The lake sink on a lake folder: HubLakeWriter, the lake's quarantine and the sink checkpoint. */
export function createHubLakeSink(setup: HubLakeSinkSetup): HubLakeSink {
  const { lakeDir, writerOptions, idempotent, ...rest } = setup;
  const capacity = idempotent?.capacity ?? LAKE_SINK_DEDUPE_IDS_MAX;
  return new HubLakeSink({
    ...rest,
    ...(idempotent ? { dedupe: { capacity, idOf: dedupeIdFor(idempotent.kinds), written: () => recentLakeIds(lakeDir, idempotent.kinds, capacity) } } : {}),
    writer: new HubLakeWriter({ ...writerOptions, lakeDir }),
    checkpoint: new LakeOffsetCheckpoint(lakeDir),
    reject: (items) => void quarantineInLake(lakeDir, 'hub-lake-sink', items.map((i) => ({ reason: i.reason, raw: i.raw, file: i.origin }))),
  });
}
