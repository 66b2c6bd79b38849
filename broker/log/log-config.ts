// Per-partition log configuration (the subset of Kafka's topic configs the log itself needs).
import { ErrorCode, KafkaError } from '../protocol/errors.ts';

export interface LogConfig {
  /** Roll when the active segment would exceed this (segment.bytes, default 1 GiB; at most 2^31-1). */
  segmentBytes: number;
  /** Roll when a new batch's timestamp is this much newer than the active segment's first batch (segment.ms). */
  segmentMs: number;
  /** Keep at least this many bytes and delete older whole segments beyond it; -1 = unlimited (retention.bytes). */
  retentionBytes: number;
  /** Delete non-active segments whose newest timestamp is older than this; -1 = unlimited (retention.ms). */
  retentionMs: number;
  /** Sparse index entry every N bytes (index.interval.bytes). */
  indexIntervalBytes: number;
  /** Largest accepted batch (message.max.bytes). */
  maxBatchBytes: number;
  /**
   * fdatasync after every append, before it is acknowledged (the broker's --fsync true; flush.messages=1 in effect).
   * Off by default: a killed process loses nothing already written (page cache), a power cut may.
   */
  fsyncOnAppend: boolean;
  /**
   * flush.messages: fsync once this many messages were appended since the last flush; the append that reaches it is
   * acknowledged after the flush. Undefined = never (Kafka's default: leave flushing to the OS and rely on replicas).
   */
  flushMessages?: number;
  /**
   * flush.ms: fsync when this long has passed since the last flush (checked at each append and by a timer armed
   * when unflushed data is waiting). Undefined = never.
   */
  flushMs?: number;
  /** message.timestamp.type; LogAppendTime stamps maxTimestamp at append and recomputes the CRC. Default CreateTime. */
  messageTimestampType?: 'CreateTime' | 'LogAppendTime';
  /** Forget idempotent producers idle this long (producer.id.expiration.ms, default 1 day). */
  producerIdExpirationMs?: number;
  /** At most this many producer ids tracked per partition (least recently used evicted). Default 20 000. */
  maxProducerIds?: number;
}

export const DEFAULT_LOG_CONFIG: LogConfig = {
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  indexIntervalBytes: 4096,
  maxBatchBytes: 1048588,
  fsyncOnAppend: false,
  messageTimestampType: 'CreateTime',
  producerIdExpirationMs: 24 * 60 * 60 * 1000,
  maxProducerIds: 20_000,
};

const INT32_MAX = 0x7fff_ffff;

/** Throws INVALID_CONFIG (40) for values the log cannot honour. */
export function checkLogConfig(c: LogConfig): void {
  const bad = (msg: string): never => {
    throw new KafkaError(ErrorCode.INVALID_CONFIG, `invalid log config: ${msg}`);
  };
  if (!Number.isInteger(c.segmentBytes) || c.segmentBytes < 1 || c.segmentBytes > INT32_MAX) {
    bad(`segmentBytes ${c.segmentBytes} must be in [1, ${INT32_MAX}]`);
  }
  if (!(c.segmentMs > 0)) bad(`segmentMs ${c.segmentMs} must be > 0`);
  if (!Number.isInteger(c.retentionBytes) || c.retentionBytes < -1) bad(`retentionBytes ${c.retentionBytes}`);
  if (!Number.isInteger(c.retentionMs) || c.retentionMs < -1) bad(`retentionMs ${c.retentionMs}`);
  if (!Number.isInteger(c.indexIntervalBytes) || c.indexIntervalBytes < 0) bad(`indexIntervalBytes ${c.indexIntervalBytes}`);
  if (!Number.isInteger(c.maxBatchBytes) || c.maxBatchBytes < 0) bad(`maxBatchBytes ${c.maxBatchBytes}`);
  if (c.flushMessages !== undefined && (!Number.isSafeInteger(c.flushMessages) || c.flushMessages < 1)) bad(`flushMessages ${c.flushMessages} must be >= 1`);
  if (c.flushMs !== undefined && (!Number.isSafeInteger(c.flushMs) || c.flushMs < 0)) bad(`flushMs ${c.flushMs} must be >= 0`);
  const ts = c.messageTimestampType;
  if (ts !== undefined && ts !== 'CreateTime' && ts !== 'LogAppendTime') bad(`messageTimestampType ${String(ts)}`);
}
