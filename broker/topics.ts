import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, KafkaError } from './protocol/errors.ts';
import { PartitionLog, type LogConfig } from './log/partition-log.ts';
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

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function validateTopicName(name: string): void {
  if (!TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `invalid topic name "${name}": 1-249 characters of [a-zA-Z0-9._-], not "." or ".."`);
  }
}

/** Data about one partition that the request handlers share. */
export class Partition {
  /** Resolvers of long-polling fetches waiting for new data on this partition. */
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly topic: string,
    readonly index: number,
    readonly log: PartitionLog,
    /**
     * Held by a cluster node: leadership comes only from the controller's metadata. Until the
     * replica state arrives (a node that just restarted listens before it has registered), the
     * partition is led by nobody here: its log may hold writes that were never committed, which
     * must be neither served nor extended.
     */
    readonly clustered = false,
  ) {}

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

interface TopicRecord {
  name: string;
  id: string;
  partitions: number;
  configs: Record<string, string>;
}

/**
 * The topics this node holds, their partition logs, and the durable list of them
 * (dataDir/meta/topics.json, replaced atomically on every change).
 */
export class TopicStore {
  private readonly topics = new Map<string, Topic>();
  private readonly metaFile: string;
  private writeChain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dataDir: string,
    private readonly baseLogConfig: LogConfig,
    private readonly limits: { maxTopics: number; maxPartitionsPerTopic: number },
    private readonly logger: (line: string) => void,
    private readonly clustered: boolean,
  ) {
    this.metaFile = join(dataDir, 'meta', 'topics.json');
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
    let records: TopicRecord[] = [];
    try {
      records = JSON.parse(await readFile(store.metaFile, 'utf8')) as TopicRecord[];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${store.metaFile}: ${(err as Error).message}`, { cause: err });
    }
    for (const record of records) {
      const topic: Topic = { name: record.name, id: record.id, configs: record.configs, partitions: [] };
      const logConfig = store.logConfigFor(record.configs);
      for (let p = 0; p < record.partitions; p++) {
        topic.partitions.push(await store.openPartition(record.name, p, logConfig));
      }
      store.topics.set(record.name, topic);
    }
    return store;
  }

  /** Opens (or creates) one partition's log; on a cluster node the partition leads nothing until the controller says so. */
  private async openPartition(topic: string, partition: number, logConfig: LogConfig): Promise<Partition> {
    return new Partition(topic, partition, await PartitionLog.open(this.partitionDir(topic, partition), logConfig, this.logger), this.clustered);
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
