/**
 * Topic-level configs (CreateTopics, AlterConfigs, the entries of topics.json): Kafka 4's list, each with Kafka's
 * default and validation. Each config is either ENFORCED (it changes the partition log, the produce path or, in a
 * cluster, replication) or ACCEPTED AND IGNORED (valid Kafka values are stored and listed, but nothing here acts on
 * them: `ignored` says why, and docs/broker.md has the table). Values the broker cannot honour (cleanup.policy=compact,
 * compression.type other than producer, remote.storage.enable=true) and names Kafka 4 does not know are refused with
 * INVALID_CONFIG, so a client never believes a setting took effect when it did not.
 */
import { ErrorCode, KafkaError } from './protocol/errors.ts';
import type { LogConfig } from './log/log-config.ts';

/** Kafka's Long.MAX_VALUE, the "never / unlimited" default of many configs. */
export const LONG_MAX = '9223372036854775807';
const LONG_MIN = '-9223372036854775808';
const INT_MAX = 0x7fff_ffff;

interface TopicConfigDef {
  /** The effective value when the topic does not override it (the broker's default, from `base`). */
  readonly defaultValue: (base: LogConfig) => string;
  /** Validates `value` as Kafka does and, for enforced configs, applies it to `log`. Throws INVALID_CONFIG. */
  readonly apply: (value: string, log: LogConfig) => void;
  /** Set when the broker accepts the config but does not act on it: why. */
  readonly ignored?: string;
}

const invalid = (name: string, value: string, expected: string): KafkaError =>
  new KafkaError(ErrorCode.INVALID_CONFIG, `${name}=${value} is invalid: expected ${expected}`);

/** A Java long (as Kafka's ConfigDef parses it: trimmed decimal) >= min; returned as a number (Long.MAX_VALUE rounds, harmlessly). */
export function parseLong(name: string, value: string, min: number, max = Number.POSITIVE_INFINITY): number {
  const s = value.trim();
  const inRange = /^-?\d{1,19}$/.test(s) && BigInt(s) <= BigInt(LONG_MAX) && BigInt(s) >= BigInt(LONG_MIN);
  const n = Number(s);
  if (!inRange || n < min || n > max) throw invalid(name, value, `an integer in [${min}, ${max === Number.POSITIVE_INFINITY ? LONG_MAX : max}]`);
  return n;
}

function parseInt32(name: string, value: string, min: number, max = INT_MAX): number {
  return parseLong(name, value, min, max);
}

function parseBoolean(name: string, value: string): boolean {
  if (value !== 'true' && value !== 'false') throw invalid(name, value, 'true or false');
  return value === 'true';
}

/** flush.messages / flush.ms: anything past 2^53 (Kafka's default is Long.MAX_VALUE) means never. */
function parseFlush(name: string, value: string, min: number): number | undefined {
  const n = parseLong(name, value, min);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** leader/follower.replication.throttled.replicas: "", "*", or partition:broker pairs (Kafka's ThrottledReplicaListValidator). */
function checkThrottledReplicas(name: string, value: string): void {
  const v = value.trim();
  if (v === '' || v === '*' || /^\d+:\d+(\s*,\s*\d+:\d+)*$/.test(v)) return;
  throw invalid(name, value, 'empty, "*", or a list of [partitionId]:[brokerId] pairs');
}

const COMPRESSION_TYPES = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'];
const NO_COMPACTION = 'only used by log compaction, which this broker does not implement (cleanup.policy=compact is refused)';
const NO_TIERED_STORAGE = 'only used by tiered storage, which this broker does not have (remote.storage.enable=true is refused)';
const NO_RECOMPRESSION = 'only used when the broker recompresses batches; with compression.type=producer (the only type accepted) it never does';
const NO_QUOTAS = 'replication throttling (quotas) is not implemented: followers fetch at full speed';

const long = (name: string, min: number, set?: (log: LogConfig, n: number) => void) => (v: string, log: LogConfig) => {
  const n = parseLong(name, v, min);
  set?.(log, n);
};

/** Kafka 4's topic configs, alphabetical (as DescribeConfigs lists them). */
const TOPIC_CONFIGS: Readonly<Record<string, TopicConfigDef>> = {
  'cleanup.policy': {
    defaultValue: () => 'delete',
    apply: (v) => {
      const policies = v.split(',').map((p) => p.trim());
      if (policies.some((p) => p !== 'delete' && p !== 'compact')) throw invalid('cleanup.policy', v, 'a list of "delete" and "compact"');
      if (policies.includes('compact')) throw new KafkaError(ErrorCode.INVALID_CONFIG, `cleanup.policy=${v} is not supported: log compaction is not implemented, only "delete"`);
    },
  },
  'compression.gzip.level': {
    defaultValue: () => '9',
    apply: (v) => {
      if (parseInt32('compression.gzip.level', v, -1, 9) === 0) throw invalid('compression.gzip.level', v, '-1 or an integer in [1, 9]');
    },
    ignored: NO_RECOMPRESSION,
  },
  'compression.lz4.level': { defaultValue: () => '9', apply: (v) => void parseInt32('compression.lz4.level', v, 1, 17), ignored: NO_RECOMPRESSION },
  'compression.type': {
    defaultValue: () => 'producer',
    apply: (v) => {
      if (!COMPRESSION_TYPES.includes(v)) throw invalid('compression.type', v, `one of ${COMPRESSION_TYPES.join(', ')}`);
      if (v !== 'producer') throw new KafkaError(ErrorCode.INVALID_CONFIG, `compression.type=${v} is not supported yet: batches are stored as the producer sent them; use "producer"`);
    },
  },
  'compression.zstd.level': { defaultValue: () => '3', apply: (v) => void parseInt32('compression.zstd.level', v, -131072, 22), ignored: NO_RECOMPRESSION },
  'delete.retention.ms': { defaultValue: () => '86400000', apply: long('delete.retention.ms', 0), ignored: NO_COMPACTION },
  'file.delete.delay.ms': { defaultValue: () => '60000', apply: long('file.delete.delay.ms', 0), ignored: 'segments past retention are deleted at once, not renamed and deleted later' },
  'flush.messages': {
    defaultValue: (b) => (b.fsyncOnAppend ? '1' : String(b.flushMessages ?? LONG_MAX)),
    apply: (v, log) => (log.flushMessages = parseFlush('flush.messages', v, 1)),
  },
  'flush.ms': { defaultValue: (b) => String(b.flushMs ?? LONG_MAX), apply: (v, log) => (log.flushMs = parseFlush('flush.ms', v, 0)) },
  'follower.replication.throttled.replicas': { defaultValue: () => '', apply: (v) => checkThrottledReplicas('follower.replication.throttled.replicas', v), ignored: NO_QUOTAS },
  'index.interval.bytes': { defaultValue: (b) => String(b.indexIntervalBytes), apply: (v, log) => (log.indexIntervalBytes = parseInt32('index.interval.bytes', v, 0)) },
  'leader.replication.throttled.replicas': { defaultValue: () => '', apply: (v) => checkThrottledReplicas('leader.replication.throttled.replicas', v), ignored: NO_QUOTAS },
  'local.retention.bytes': { defaultValue: () => '-2', apply: long('local.retention.bytes', -2), ignored: NO_TIERED_STORAGE },
  'local.retention.ms': { defaultValue: () => '-2', apply: long('local.retention.ms', -2), ignored: NO_TIERED_STORAGE },
  'max.compaction.lag.ms': { defaultValue: () => LONG_MAX, apply: long('max.compaction.lag.ms', 1), ignored: NO_COMPACTION },
  'max.message.bytes': { defaultValue: (b) => String(b.maxBatchBytes), apply: (v, log) => (log.maxBatchBytes = parseInt32('max.message.bytes', v, 0)) },
  'message.downconversion.enable': {
    defaultValue: () => 'true',
    apply: (v) => void parseBoolean('message.downconversion.enable', v),
    ignored: 'a no-op in Kafka 4 too (deprecated): old message formats are refused, never down-converted',
  },
  'message.timestamp.after.max.ms': { defaultValue: () => '3600000', apply: long('message.timestamp.after.max.ms', 0) },
  'message.timestamp.before.max.ms': { defaultValue: () => LONG_MAX, apply: long('message.timestamp.before.max.ms', 0) },
  'message.timestamp.type': {
    defaultValue: (b) => b.messageTimestampType ?? 'CreateTime',
    apply: (v, log) => {
      if (v !== 'CreateTime' && v !== 'LogAppendTime') throw invalid('message.timestamp.type', v, 'CreateTime or LogAppendTime');
      log.messageTimestampType = v;
    },
  },
  'min.cleanable.dirty.ratio': {
    defaultValue: () => '0.5',
    apply: (v) => {
      const n = Number(v.trim());
      if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw invalid('min.cleanable.dirty.ratio', v, 'a number in [0, 1]');
    },
    ignored: NO_COMPACTION,
  },
  'min.compaction.lag.ms': { defaultValue: () => '0', apply: long('min.compaction.lag.ms', 0), ignored: NO_COMPACTION },
  // Enforced in a cluster (acks=all needs this many in-sync replicas); a single node is always one replica.
  'min.insync.replicas': { defaultValue: () => '1', apply: (v) => void parseInt32('min.insync.replicas', v, 1) },
  preallocate: { defaultValue: () => 'false', apply: (v) => void parseBoolean('preallocate', v), ignored: 'segment files grow as batches are appended; nothing is preallocated' },
  'remote.log.copy.disable': { defaultValue: () => 'false', apply: (v) => void parseBoolean('remote.log.copy.disable', v), ignored: NO_TIERED_STORAGE },
  'remote.log.delete.on.disable': { defaultValue: () => 'false', apply: (v) => void parseBoolean('remote.log.delete.on.disable', v), ignored: NO_TIERED_STORAGE },
  'remote.storage.enable': {
    defaultValue: () => 'false',
    apply: (v) => {
      if (parseBoolean('remote.storage.enable', v)) throw new KafkaError(ErrorCode.INVALID_CONFIG, 'remote.storage.enable=true is not supported: this broker has no tiered storage');
    },
  },
  'retention.bytes': { defaultValue: (b) => String(b.retentionBytes), apply: (v, log) => (log.retentionBytes = parseLong('retention.bytes', v, -1)) },
  'retention.ms': { defaultValue: (b) => String(b.retentionMs), apply: (v, log) => (log.retentionMs = parseLong('retention.ms', v, -1)) },
  'segment.bytes': { defaultValue: (b) => String(b.segmentBytes), apply: (v, log) => (log.segmentBytes = parseInt32('segment.bytes', v, 14)) },
  'segment.index.bytes': {
    defaultValue: () => '10485760',
    apply: (v) => void parseInt32('segment.index.bytes', v, 4),
    ignored: 'index files grow with their segment; a segment never rolls because its index is full',
  },
  'segment.jitter.ms': { defaultValue: () => '0', apply: long('segment.jitter.ms', 0), ignored: 'segments roll exactly at segment.ms, without random jitter' },
  'segment.ms': { defaultValue: (b) => String(b.segmentMs), apply: (v, log) => (log.segmentMs = parseLong('segment.ms', v, 1)) },
  // Enforced in a cluster (controller elections); a single node has no other replica to elect.
  'unclean.leader.election.enable': { defaultValue: () => 'false', apply: (v) => void parseBoolean('unclean.leader.election.enable', v) },
};

/** Names Kafka 4 removed, with what to use instead (refused with INVALID_CONFIG, as Kafka 4 refuses them). */
const REMOVED_CONFIGS: Readonly<Record<string, string>> = {
  'message.timestamp.difference.max.ms': 'was removed in Kafka 4.0 (KIP-937): use message.timestamp.before.max.ms and message.timestamp.after.max.ms',
  'message.format.version': 'was removed in Kafka 4.0 (KIP-724): every batch is record format v2',
};

/**
 * The effective log settings for a topic: `base` (the broker defaults) overridden by the topic's configs. Throws the
 * INVALID_CONFIG KafkaError Kafka would answer with for an unknown, removed, unsupported or invalid config.
 */
export function topicLogConfig(base: LogConfig, configs: Record<string, string>): LogConfig {
  const log = { ...base };
  for (const [key, value] of Object.entries(configs)) {
    const def = Object.hasOwn(TOPIC_CONFIGS, key) ? TOPIC_CONFIGS[key] : undefined;
    if (!def) {
      const removed = Object.hasOwn(REMOVED_CONFIGS, key) ? REMOVED_CONFIGS[key] : undefined;
      throw new KafkaError(ErrorCode.INVALID_CONFIG, removed ? `topic config "${key}" ${removed}` : `unknown topic config "${key}"`);
    }
    def.apply(value, log);
  }
  return log;
}

export interface TopicConfigEntry {
  readonly name: string;
  readonly value: string;
  /** True when the topic overrides it. */
  readonly overridden: boolean;
}

/** Every topic config with its effective value (DescribeConfigs): the topic's override, else the broker default. */
export function describeTopicConfigs(overrides: Readonly<Record<string, string>>, base: LogConfig): TopicConfigEntry[] {
  return Object.entries(TOPIC_CONFIGS).map(([name, def]) => {
    const overridden = Object.hasOwn(overrides, name);
    return { name, value: overridden ? overrides[name] : def.defaultValue(base), overridden };
  });
}

/** The configs accepted but not acted on, with why (tests and docs/broker.md). */
export function ignoredTopicConfigs(): Record<string, string> {
  return Object.fromEntries(Object.entries(TOPIC_CONFIGS).flatMap(([name, def]) => (def.ignored ? [[name, def.ignored]] : [])));
}

export interface TimestampBounds {
  /** message.timestamp.before.max.ms: how far behind the broker's clock a CreateTime record may be. */
  readonly beforeMaxMs: number;
  /** message.timestamp.after.max.ms: how far ahead of it. */
  readonly afterMaxMs: number;
}

/** Parsed once per config set (a topic's configs object is replaced, never changed, when they are altered). */
const boundsCache = new WeakMap<Readonly<Record<string, string>>, TimestampBounds>();

/** The topic's CreateTime bounds (Kafka 4's defaults: unlimited before, one hour after). */
export function timestampBounds(configs: Readonly<Record<string, string>>): TimestampBounds {
  let b = boundsCache.get(configs);
  if (!b) {
    const get = (name: string, dflt: string): number => parseLong(name, Object.hasOwn(configs, name) ? configs[name] : dflt, 0);
    b = { beforeMaxMs: get('message.timestamp.before.max.ms', LONG_MAX), afterMaxMs: get('message.timestamp.after.max.ms', '3600000') };
    boundsCache.set(configs, b);
  }
  return b;
}
