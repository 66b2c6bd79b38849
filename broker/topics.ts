import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ErrorCode, KafkaError } from './protocol/errors.ts';
import { PartitionLog, type LogConfig } from './log/partition-log.ts';
import { OfflineLog, type PartitionLogApi } from './log/offline-log.ts';
import { errorText, quarantineFile } from './log/quarantine.ts';
import { RateLimitedLog } from './server/rate-limited-log.ts';
import { describeRebuilt, partitionDirsOnDisk, readTopicList, validateTopicName, type TopicRecord } from './topic-list.ts';
import type { PartitionReplica } from './cluster/replica/partition-replica.ts';

/** Topic-level configs this broker understands, with how each maps onto the log. */
const SUPPORTED_CONFIGS: Record<string, (value: string, log: LogConfig) => void> = {
  'retention.ms': (v, log) => (log.retentionMs = parseLongConfig('retention.ms', v, -1)),
  'retention.bytes': (v, log) => (log.retentionBytes = parseLongConfig('retention.bytes', v, -1)),
  'segment.bytes': (v, log) => (log.segmentBytes = parseLongConfig('segment.bytes', v, 14)),
  'segment.ms': (v, log) => (log.segmentMs = parseLongConfig('segment.ms', v, 1)),
  'max.message.bytes': (v, log) => (log.maxBatchBytes = parseLongConfig('max.message.bytes', v, 0)),
  'index.interval.bytes': (v, log) => (log.indexIntervalBytes = parseLongConfig('index.interval.bytes', v, 0)),
  'cleanup.policy': (v) => {
    if (v !== 'delete') throw new KafkaError(ErrorCode.INVALID_CONFIG, `cleanup.policy=${v} is not supported (only "delete"; compaction is not implemented)`);
  },
  'min.insync.replicas': (v) => void parseLongConfig('min.insync.replicas', v, 1),
  'unclean.leader.election.enable': (v) => {
    if (v !== 'true' && v !== 'false') throw new KafkaError(ErrorCode.INVALID_CONFIG, `unclean.leader.election.enable=${v} is invalid: expected true or false`);
  },
  'message.timestamp.type': (v) => {
    if (v !== 'CreateTime') throw new KafkaError(ErrorCode.INVALID_CONFIG, `message.timestamp.type=${v} is not supported (only CreateTime)`);
  },
  'compression.type': (v) => {
    if (v !== 'producer') throw new KafkaError(ErrorCode.INVALID_CONFIG, `compression.type=${v} is not supported: batches are stored as the producer sent them ("producer")`);
  },
};

function parseLongConfig(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new KafkaError(ErrorCode.INVALID_CONFIG, `${name}=${value} is invalid: expected an integer >= ${min}`);
  return n;
}

export { validateTopicName } from './topic-list.ts';

/** Data about one partition that the request handlers share. */
export class Partition {
  /** Resolvers of long-polling fetches waiting for new data on this partition. */
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly topic: string,
    readonly index: number,
    /** The partition's log; an OfflineLog (every data operation answers KAFKA_STORAGE_ERROR) when it could not be opened. */
    readonly log: PartitionLogApi,
    /**
     * Held by a cluster node: leadership comes only from the controller's metadata. Until the
     * replica state arrives (a node that just restarted listens before it has registered), the
     * partition is led by nobody here: its log may hold writes that were never committed, which
     * must be neither served nor extended.
     */
    readonly clustered = false,
  ) {}

  /** Why the partition is offline (its log could not be opened at start), or null when it serves. */
  get offline(): string | null {
    return this.log instanceof OfflineLog ? this.log.reason : null;
  }

  /** Replication state in a cluster; null on a single node, which leads every partition at epoch 0. */
  replica: PartitionReplica | null = null;

  /** Single node: everything appended is committed, so the high watermark is the log end offset. */
  get highWatermark(): number {
    if (this.replica) return this.replica.highWatermark;
    return this.clustered ? 0 : this.log.logEndOffset;
  }

  get leaderEpoch(): number {
    return this.replica ? this.replica.leaderEpoch : 0;
  }

  get isLeader(): boolean {
    return this.replica ? this.replica.isLeader : !this.clustered;
  }

  onAppend(): void {
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  waitForData(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }
}

export interface Topic {
  name: string;
  id: string;
  configs: Record<string, string>;
  partitions: Partition[];
}

/** A partition's repeated storage errors are logged at most once per this interval (and counted every time). */
const STORAGE_ERROR_LOG_INTERVAL_MS = 60_000;
/**
 * The topics this node holds, their partition logs, and the durable list of them
 * (dataDir/meta/topics.json, replaced atomically on every change).
 *
 * Opening never fails on bad state: a topics.json that cannot be read or parsed, or holds invalid entries, is moved
 * to topics.json.corrupt-<timestamp> and the list is rebuilt from what was valid in it plus the partition
 * directories on disk (`<topic>-<n>`: the topic with n+1 partitions, broker default configs, a new topic id); a
 * partition whose directory cannot be opened is served offline (KAFKA_STORAGE_ERROR) while the rest serve.
 */
export class TopicStore {
  private readonly topics = new Map<string, Topic>();
  private readonly metaFile: string;
  private writeChain: Promise<void> = Promise.resolve();
  /** Storage errors contained per partition (retention, opening), by topic, partition and operation. */
  private readonly storageErrors = new Counter({
    name: 'untangle_broker_storage_errors_total',
    help: 'Storage errors contained to one partition (retention, opening its log), per topic, partition and operation',
    labelNames: ['topic', 'partition', 'operation'],
    registers: [],
  });
  private readonly errorLog: RateLimitedLog;
  private readonly lastReported = new Map<string, { atMs: number; suppressed: number }>();

  private constructor(
    private readonly dataDir: string,
    private readonly baseLogConfig: LogConfig,
    private readonly limits: { maxTopics: number; maxPartitionsPerTopic: number },
    private readonly logger: (line: string) => void,
    private readonly clustered: boolean,
  ) {
    this.metaFile = join(dataDir, 'meta', 'topics.json');
    this.errorLog = new RateLimitedLog(logger);
  }

  /** `clustered`: this node is part of a cluster, so no partition is led here until the controller says so. */
  static async open(
    dataDir: string,
    baseLogConfig: LogConfig,
    limits: { maxTopics: number; maxPartitionsPerTopic: number },
    logger: (line: string) => void,
    clustered = false,
  ): Promise<TopicStore> {
    const store = new TopicStore(dataDir, baseLogConfig, limits, logger, clustered);
    await mkdir(join(dataDir, 'meta'), { recursive: true });
    const onDisk = await partitionDirsOnDisk(dataDir);
    const list = await readTopicList(store.metaFile, onDisk, limits.maxPartitionsPerTopic, (c) => void store.logConfigFor(c));
    const records = list.records;
    const rebuilt: TopicRecord[] = [];
    if (list.problems.length > 0 || (list.missing && onDisk.size > 0)) {
      const known = new Set(records.map((r) => r.name));
      for (const [name, indexes] of onDisk) {
        if (known.has(name)) continue;
        const record = { name, id: randomUUID(), partitions: Math.max(...indexes) + 1, configs: {} };
        rebuilt.push(record);
        const absent = [...Array(record.partitions).keys()].filter((p) => !indexes.has(p));
        if (absent.length > 0) logger(`topic ${name}: partition(s) ${absent.join(',')} had no directory and start empty`);
      }
      records.push(...rebuilt);
    }
    // The repaired list is written back, unless the damaged file could not be moved aside (it would be overwritten).
    let writeBack = list.problems.length > 0 || rebuilt.length > 0;
    if (list.problems.length > 0) {
      let moved: string;
      try {
        moved = `moved it to ${quarantineFile(store.metaFile)}`;
      } catch (err) {
        moved = `could not move it aside (${errorText(err)}), so it is left as it is until the next topic change`;
        writeBack = false;
      }
      const shown = list.problems.slice(0, 5).join('; ') + (list.problems.length > 5 ? `; and ${list.problems.length - 5} more` : '');
      logger(
        `error: ${store.metaFile} is damaged (${shown}); ${moved}. Serving ${records.length - rebuilt.length} topic(s) from its valid entries ` +
          `and ${rebuilt.length} rebuilt from partition directories${describeRebuilt(rebuilt)}`,
      );
    } else if (rebuilt.length > 0) {
      logger(`error: ${store.metaFile} is missing but partition directories exist; rebuilt ${rebuilt.length} topic(s) from them${describeRebuilt(rebuilt)}`);
    }
    for (const record of records) {
      const topic: Topic = { name: record.name, id: record.id, configs: record.configs, partitions: [] };
      const logConfig = store.logConfigFor(record.configs);
      for (let p = 0; p < record.partitions; p++) {
        topic.partitions.push(await store.openOrOffline(record.name, p, logConfig));
      }
      store.topics.set(record.name, topic);
    }
    if (writeBack) {
      await store.persist().catch((err: unknown) => logger(`error: cannot write the repaired ${store.metaFile}: ${errorText(err)}; retried on the next topic change`));
    }
    return store;
  }

  /** Partition directories in the data directory, by topic name. */
  /** Opens (or creates) one partition's log; on a cluster node the partition leads nothing until the controller says so. */
  private async openPartition(topic: string, partition: number, logConfig: LogConfig): Promise<Partition> {
    return new Partition(topic, partition, await PartitionLog.open(this.partitionDir(topic, partition), logConfig, this.logger), this.clustered);
  }

  /** At start: a partition whose log cannot be opened is kept offline (KAFKA_STORAGE_ERROR) so the rest can serve. */
  private async openOrOffline(topic: string, partition: number, logConfig: LogConfig): Promise<Partition> {
    try {
      return await this.openPartition(topic, partition, logConfig);
    } catch (err) {
      const dir = this.partitionDir(topic, partition);
      const offline = new Partition(topic, partition, new OfflineLog(dir, logConfig, `${topic}-${partition}`, errorText(err)), this.clustered);
      this.storageErrors.inc({ topic, partition: String(partition), operation: 'open' });
      this.logger(
        `error: partition ${topic}-${partition} is offline: cannot open ${dir}: ${errorText(err)}. Its requests are answered with ` +
          `KAFKA_STORAGE_ERROR while the other partitions serve; repair or move the directory aside and restart the broker`,
      );
      return offline;
    }
  }

  /** Adds this store's metrics (contained storage errors, offline partitions) to a broker's registry. */
  registerMetrics(registry: Registry): void {
    registry.registerMetric(this.storageErrors);
    const topics = this.topics;
    new Gauge({
      name: 'untangle_broker_offline_partitions',
      help: 'Partitions whose log could not be opened (answered with KAFKA_STORAGE_ERROR)',
      registers: [registry],
      collect() {
        let n = 0;
        for (const topic of topics.values()) for (const p of topic.partitions) if (p.offline !== null) n++;
        this.set(n);
      },
    });
  }

  /**
   * Retention over every partition (the broker's retention timer). A storage error is contained to its partition:
   * counted, logged (at most once a minute per partition, and rate-limited overall) and retried by the next run,
   * while the partition keeps serving reads and appends. Never throws.
   */
  enforceRetention(nowMs = Date.now()): void {
    try {
      for (const topic of [...this.topics.values()]) {
        for (const partition of topic.partitions) {
          if (partition.offline !== null) continue;
          try {
            const deleted = partition.log.enforceRetention(nowMs);
            if (deleted > 0) this.logger(`retention deleted ${deleted} segment(s) of ${topic.name}-${partition.index}`);
          } catch (err) {
            this.reportStorageError(partition, 'retention', err);
          }
        }
      }
    } catch (err) {
      this.errorLog.log(`error: retention run failed: ${errorText(err)}`);
    }
  }

  private reportStorageError(partition: Partition, operation: string, err: unknown): void {
    const name = `${partition.topic}-${partition.index}`;
    this.storageErrors.inc({ topic: partition.topic, partition: String(partition.index), operation });
    const key = `${name} ${operation}`;
    const now = Date.now();
    const last = this.lastReported.get(key);
    if (last && now - last.atMs < STORAGE_ERROR_LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    const more = last && last.suppressed > 0 ? ` (${last.suppressed} more since the last report)` : '';
    this.lastReported.set(key, { atMs: now, suppressed: 0 });
    this.errorLog.log(`error: storage error in ${operation} of partition ${name}: ${errorText(err)}${more}; the partition keeps serving and the next run retries`);
  }

  partitionDir(topic: string, partition: number): string {
    return join(this.dataDir, `${topic}-${partition}`);
  }

  get(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  partition(topic: string, index: number): Partition | undefined {
    return this.topics.get(topic)?.partitions[index];
  }

  all(): IterableIterator<Topic> {
    return this.topics.values();
  }

  /** The effective log settings for a topic: broker defaults overridden by the topic's configs. */
  logConfigFor(configs: Record<string, string>): LogConfig {
    const log = { ...this.baseLogConfig };
    for (const [key, value] of Object.entries(configs)) {
      const apply = SUPPORTED_CONFIGS[key];
      if (!apply) throw new KafkaError(ErrorCode.INVALID_CONFIG, `unknown or unsupported topic config "${key}"`);
      apply(value, log);
    }
    return log;
  }

  /** Checks a create request and throws the KafkaError Kafka would answer with. */
  validateCreate(name: string, partitions: number, configs: Record<string, string>): void {
    validateTopicName(name);
    if (this.topics.has(name)) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic "${name}" already exists`);
    if (this.topics.size >= this.limits.maxTopics) throw new KafkaError(ErrorCode.POLICY_VIOLATION, `the broker holds its maximum of ${this.limits.maxTopics} topics`);
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > this.limits.maxPartitionsPerTopic) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `number of partitions must be 1..${this.limits.maxPartitionsPerTopic}, got ${partitions}`);
    }
    this.logConfigFor(configs);
  }

  async create(name: string, partitions: number, configs: Record<string, string>): Promise<Topic> {
    this.validateCreate(name, partitions, configs);
    const topic: Topic = { name, id: randomUUID(), configs, partitions: [] };
    this.topics.set(name, topic);
    try {
      const logConfig = this.logConfigFor(configs);
      for (let p = 0; p < partitions; p++) {
        topic.partitions.push(await this.openPartition(name, p, logConfig));
      }
      await this.persist();
    } catch (err) {
      this.topics.delete(name);
      await Promise.all(topic.partitions.map((p) => p.log.deleteAll()));
      throw err;
    }
    this.logger(`created topic ${name} with ${partitions} partition(s)`);
    return topic;
  }

  async delete(name: string): Promise<void> {
    const topic = this.topics.get(name);
    if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${name}" does not exist`);
    this.topics.delete(name);
    await this.persist();
    for (const partition of topic.partitions) {
      partition.onAppend(); // wake long polls so they answer (with UNKNOWN_TOPIC_OR_PARTITION)
      await partition.log.deleteAll();
    }
    this.logger(`deleted topic ${name}`);
  }

  async addPartitions(name: string, newTotal: number): Promise<void> {
    const topic = this.topics.get(name);
    if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${name}" does not exist`);
    const current = topic.partitions.length;
    if (!Number.isInteger(newTotal) || newTotal <= current) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `topic "${name}" has ${current} partitions; the new count must be larger, got ${newTotal}`);
    }
    if (newTotal > this.limits.maxPartitionsPerTopic) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `number of partitions must be at most ${this.limits.maxPartitionsPerTopic}, got ${newTotal}`);
    }
    const logConfig = this.logConfigFor(topic.configs);
    for (let p = current; p < newTotal; p++) {
      topic.partitions.push(await this.openPartition(name, p, logConfig));
    }
    await this.persist();
  }

  async alterConfigs(name: string, configs: Record<string, string>): Promise<void> {
    const topic = this.topics.get(name);
    if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${name}" does not exist`);
    const logConfig = this.logConfigFor(configs);
    topic.configs = configs;
    for (const partition of topic.partitions) partition.log.updateConfig(logConfig);
    await this.persist();
  }

  /** Writes the topic list to a temporary file, fsyncs it and renames it over the old one. */
  private persist(): Promise<void> {
    const records: TopicRecord[] = [...this.topics.values()].map((t) => ({
      name: t.name,
      id: t.id,
      partitions: t.partitions.length,
      configs: t.configs,
    }));
    const text = JSON.stringify(records, null, 1);
    const write = async (): Promise<void> => {
      const tmp = `${this.metaFile}.tmp`;
      await writeFile(tmp, text);
      const handle = await open(tmp, 'r');
      await handle.sync();
      await handle.close();
      await rename(tmp, this.metaFile);
    };
    this.writeChain = this.writeChain.then(write, write);
    return this.writeChain;
  }

  async close(): Promise<void> {
    await this.writeChain.catch(() => undefined);
    for (const topic of this.topics.values()) {
      for (const partition of topic.partitions) await partition.log.close();
    }
  }
}
