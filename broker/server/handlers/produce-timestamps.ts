/**
 * Produce's timestamp checks, as Kafka 4's LogValidator makes them. On a CreateTime topic every record's timestamp
 * must lie within [now - message.timestamp.before.max.ms, now + message.timestamp.after.max.ms] (records without a
 * timestamp, -1, pass); otherwise the whole batch is refused with INVALID_TIMESTAMP. On a LogAppendTime topic the
 * broker stamps the batch (log-core.ts), and a producer that set the LogAppendTime bit itself is refused.
 *
 * With a "before" bound set, uncompressed batches are checked record by record. The broker never decompresses, so
 * for a compressed batch the earliest timestamp checked is the batch's base timestamp (its first record's, as every
 * client writes it) and the latest its max timestamp: a record inside it older than the first one escapes the
 * "before" bound. Without one (Kafka's default) only the batch's max timestamp is checked against the "after" bound.
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.ts';
import { ATTR_COMPRESSION_MASK, ATTR_TIMESTAMP_TYPE, BATCH_HEADER_BYTES, readBatchHeader, readVarint } from '../../log/record-batch.ts';
import type { TimestampBounds } from '../../topic-config.ts';

const NO_TIMESTAMP = -1;

/** Throws INVALID_TIMESTAMP when the (validated, whole) batch breaks the topic's timestamp rules. */
export function checkProducedTimestamps(batch: Buffer, type: 'CreateTime' | 'LogAppendTime', bounds: TimestampBounds, now: number): void {
  const h = readBatchHeader(batch, 0);
  const producerSetAppendTime = (h.attributes & ATTR_TIMESTAMP_TYPE) !== 0;
  if (type === 'LogAppendTime') {
    if (producerSetAppendTime) throw refused('the batch has timestamp type LogAppendTime: producers must not set it, the broker does');
    return;
  }
  const check = (ts: number, which: string): void => {
    if (ts === NO_TIMESTAMP) return;
    const behind = now - ts;
    if (behind > bounds.beforeMaxMs || -behind > bounds.afterMaxMs) {
      throw refused(`timestamp ${ts} of ${which} is out of range: it must be within [${now - bounds.beforeMaxMs}, ${now + bounds.afterMaxMs}] (message.timestamp.before.max.ms=${bounds.beforeMaxMs}, message.timestamp.after.max.ms=${bounds.afterMaxMs}, broker time ${now})`);
    }
  };
  if (producerSetAppendTime) {
    // Kafka reads every record of such a batch at the batch's max timestamp; without one the batch is refused.
    if (h.maxTimestamp === NO_TIMESTAMP) throw refused('the batch has timestamp type LogAppendTime: producers must not set it, the broker does');
    check(h.maxTimestamp, 'the batch');
    return;
  }
  if (bounds.beforeMaxMs > now) {
    // No bound behind the clock (the default): only the newest record matters, and the header names its time.
    // This keeps the default produce path O(1) per batch; a header that understates its records is not caught.
    check(h.maxTimestamp, 'the newest record of the batch');
    return;
  }
  if ((h.attributes & ATTR_COMPRESSION_MASK) !== 0) {
    check(h.baseTimestamp, 'the first record of the (compressed) batch');
    check(h.maxTimestamp, 'the newest record of the (compressed) batch');
    return;
  }
  forEachRecordTimestamp(batch, h.baseTimestamp, h.recordsCount, (ts, offsetDelta) => check(ts, `the record at offset delta ${offsetDelta}`));
}

function refused(message: string): KafkaError {
  return new KafkaError(ErrorCode.INVALID_TIMESTAMP, message);
}

/** Walks an uncompressed v2 batch's records (length, attributes, timestampDelta, offsetDelta); stops at malformed bytes. */
function forEachRecordTimestamp(batch: Buffer, baseTimestamp: number, count: number, visit: (ts: number, offsetDelta: number) => void): void {
  const pos = { at: BATCH_HEADER_BYTES };
  try {
    for (let i = 0; i < count && pos.at < batch.length; i++) {
      const length = readVarint(batch, pos);
      if (length < 0) return;
      const end = pos.at + length;
      pos.at += 1; // the int8 record attributes
      const tsDelta = readVarint(batch, pos);
      visit(baseTimestamp + tsDelta, readVarint(batch, pos));
      pos.at = end;
    }
  } catch (err) {
    // Malformed record bytes end the walk: the batch's own validation answers for them.
    if (!(err instanceof KafkaError && err.code === ErrorCode.CORRUPT_MESSAGE)) throw err;
  }
}
