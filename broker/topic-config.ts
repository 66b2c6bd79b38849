/**
 * Topic-level configs (CreateTopics, AlterConfigs, the entries of topics.json) mapped onto a partition log's settings.
 * The ones the log honours change its LogConfig; the others this broker knows are validated (some accepted only in
 * the form it implements, e.g. cleanup.policy=delete); anything else is refused with INVALID_CONFIG, so a client never
 * believes a setting took effect when it did not.
 */
import { ErrorCode, KafkaError } from './protocol/errors.ts';
import type { LogConfig } from './log/log-config.ts';

/** Topic-level configs this broker understands, with how each maps onto the log. */
const SUPPORTED_CONFIGS: Record<string, (value: string, log: LogConfig) => void> = {
  'retention.ms': (v, log) => (log.retentionMs = parseLongConfig('retention.ms', v, -1)),
  'retention.bytes': (v, log) => (log.retentionBytes = parseLongConfig('retention.bytes', v, -1)),
  'segment.bytes': (v, log) => (log.segmentBytes = parseLongConfig('segment.bytes', v, 14)),
  'segment.ms': (v, log) => (log.segmentMs = parseLongConfig('segment.ms', v, 1)),
  'max.message.bytes': (v, log) => (log.maxBatchBytes = parseLongConfig('max.message.bytes', v, 0)),
  'index.interval.bytes': (v, log) => (log.indexIntervalBytes = parseLongConfig('index.interval.bytes', v, 0)),
  // The flush policy (docs/broker.md, "Durability"); Kafka's default for both is "never" (Long.MAX_VALUE).
  'flush.messages': (v, log) => (log.flushMessages = parseFlushConfig('flush.messages', v, 1)),
  'flush.ms': (v, log) => (log.flushMs = parseFlushConfig('flush.ms', v, 0)),
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

/** flush.messages / flush.ms: Kafka's default, Long.MAX_VALUE (9223372036854775807), and anything that large means never. */
function parseFlushConfig(name: string, value: string, min: number): number | undefined {
  if (/^\d{16,}$/.test(value.trim()) && Number(value) > Number.MAX_SAFE_INTEGER) return undefined;
  return parseLongConfig(name, value, min);
}

/**
 * The effective log settings for a topic: `base` (the broker defaults) overridden by the topic's configs. Throws the
 * INVALID_CONFIG KafkaError Kafka would answer with for an unknown, unsupported or invalid config.
 */
export function topicLogConfig(base: LogConfig, configs: Record<string, string>): LogConfig {
  const log = { ...base };
  for (const [key, value] of Object.entries(configs)) {
    const apply = SUPPORTED_CONFIGS[key];
    if (!apply) throw new KafkaError(ErrorCode.INVALID_CONFIG, `unknown or unsupported topic config "${key}"`);
    apply(value, log);
  }
  return log;
}
