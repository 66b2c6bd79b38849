import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { ErrorCode, KafkaError } from './protocol/errors.ts';
import { PartitionLog, type LogConfig } from './log/partition-log.ts';
import { OfflineLog, type PartitionLogApi } from './log/offline-log.ts';
import { errorText, quarantineFile } from './log/quarantine.ts';
import { writeFileAtomic } from './log/storage.ts';
import { describeRebuilt, partitionDirsOnDisk, readTopicList, validateTopicName, type TopicRecord } from './topic-list.ts';
import { topicLogConfig } from './topic-config.ts';
import { PartitionStorageErrors, registerStorageHealthMetrics } from './topic-health.ts';
import type { PartitionReplica } from './cluster/replica/partition-replica.ts';

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

  /**
   * Why the partition is offline, or null when it serves: its log could not be opened at start (OfflineLog), or
   * corruption was found while serving (log/corruption.ts).
   */
  get offline(): string | null {
    return this.log.offlineReason;
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
  /** Storage errors contained per partition (retention, opening), counted and logged (topic-health.ts). */
  private readonly storageErrors: PartitionStorageErrors;

  private constructor(
    private readonly dataDir: string,
    private readonly baseLogConfig: LogConfig,
    private readonly limits: { maxTopics: number; maxPartitionsPerTopic: number },
    private readonly logger: (line: string) => void,
    private readonly clustered: boolean,
  ) {
    this.metaFile = join(dataDir, 'meta', 'topics.json');
    this.storageErrors = new PartitionStorageErrors(logger);
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
      this.storageErrors.count(topic, partition, 'open');
      this.logger(
        `error: partition ${topic}-${partition} is offline: cannot open ${dir}: ${errorText(err)}. Its requests are answered with ` +
          `KAFKA_STORAGE_ERROR while the other partitions serve; repair or move the directory aside and restart the broker`,
      );
      return offline;
    }
  }

  /** Adds this store's metrics (contained storage errors, offline partitions, log corruption findings) to a broker's registry. */
  registerMetrics(registry: Registry): void {
    registerStorageHealthMetrics(registry, this.topics, (t, p) => this.partitionDir(t, p), this.storageErrors);
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
            this.storageErrors.report(partition, 'retention', err);
          }
        }
      }
    } catch (err) {
      this.storageErrors.log(`error: retention run failed: ${errorText(err)}`);
    }
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
    return topicLogConfig(this.baseLogConfig, configs);
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
    const write = async (): Promise<void> => writeFileAtomic(this.metaFile, text);
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
