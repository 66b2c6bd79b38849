// What the log does when its bytes are not what it wrote: the error that takes a partition offline, the marker that
// makes the next open re-validate the damaged segment, and per-partition counts of what was found (for metrics).
//
// The policy (docs/broker.md, "Corruption"): damage found while serving (a CRC mismatch, offsets that do not follow
// on, a batch header that is not one) takes the partition offline with KAFKA_STORAGE_ERROR, as Kafka takes a failed
// log directory offline, because serving around it would hand clients wrong or missing records without a word. The
// segment is recorded in `recover-from.json`, so the next start CRC-checks it, cuts the damaged bytes to the
// quarantine folder and serves the rest with the gap reported. Damage that can be repaired from the log itself (an
// index entry that points at the wrong batch) is repaired in place and only counted and logged.
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';
import { writeFileAtomic } from './storage.ts';

/**
 * Corrupt data found in a segment. It is a KAFKA_STORAGE_ERROR (56) for the client, the code Kafka answers for a
 * replica on a failed log directory: retriable for the client, and it names no offset the client could act on.
 */
export class CorruptLogError extends KafkaError {
  constructor(
    /** The partition directory. */
    readonly dir: string,
    /** Base offset of the damaged segment. */
    readonly segmentBase: number,
    /** Byte position of the damaged batch in the segment file. */
    readonly position: number,
    readonly detail: string,
  ) {
    super(ErrorCode.KAFKA_STORAGE_ERROR, `corrupt log ${dir}: segment ${segmentBase} at byte ${position}: ${detail}`);
    this.name = 'CorruptLogError';
  }
}

/** The KAFKA_STORAGE_ERROR every operation on a log taken offline answers with. */
export function offlineError(dir: string, reason: string): KafkaError {
  return new KafkaError(
    ErrorCode.KAFKA_STORAGE_ERROR,
    `partition log ${dir} is offline after corruption was found (${reason}); restart the broker to recover it`,
  );
}

/** Written into a partition directory when corruption takes it offline; read (and removed) by the next open. */
export const RECOVER_FROM_FILE = 'recover-from.json';

/**
 * Records that the segment at `segmentBase` is damaged, so that the next open does not trust it (or anything after
 * it) and re-validates it by CRC even after a clean shutdown. Keeps the lowest base if called more than once.
 */
export function markForRecovery(dir: string, segmentBase: number, reason: string): void {
  const prev = readRecoverFrom(dir);
  if (prev !== null && prev <= segmentBase) return;
  writeFileAtomic(path.join(dir, RECOVER_FROM_FILE), JSON.stringify({ version: 1, segmentBase, reason }));
}

/** The base offset recorded by markForRecovery, or null (also when the file is unreadable: then nothing is known). */
export function readRecoverFrom(dir: string): number | null {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(dir, RECOVER_FROM_FILE), 'utf8')) as { segmentBase?: unknown };
    return typeof v.segmentBase === 'number' && Number.isSafeInteger(v.segmentBase) && v.segmentBase >= 0 ? v.segmentBase : null;
  } catch {
    return null;
  }
}

export function clearRecoverFrom(dir: string): void {
  fs.rmSync(path.join(dir, RECOVER_FROM_FILE), { force: true });
}

/** What was found in one partition directory since the process started. */
export interface CorruptionCounts {
  /** Offset index rebuilt because an entry did not match the batch it points at. */
  indexRebuilds: number;
  /** Time index rebuilt because an entry did not match the batch it points at. */
  timeIndexRebuilds: number;
  /** Corrupt batches found by reads and the scrubber (each one took the partition offline). */
  corruptBatches: number;
  /** Offsets missing between segments, found at open. */
  gapOffsets: number;
  /** Bytes recovery moved to the quarantine folder. */
  quarantinedBytes: number;
}

const counts = new Map<string, CorruptionCounts>();

const noCounts = (): CorruptionCounts => ({ indexRebuilds: 0, timeIndexRebuilds: 0, corruptBatches: 0, gapOffsets: 0, quarantinedBytes: 0 });

/**
 * Adds to a partition directory's counts. Keyed by directory, so several brokers in one process (tests, a local
 * cluster) keep theirs apart; there is one entry per partition that ever had a finding.
 */
export function countCorruption(dir: string, what: keyof CorruptionCounts, n = 1): void {
  let c = counts.get(dir);
  if (!c) {
    c = noCounts();
    counts.set(dir, c);
  }
  c[what] += n;
}

/** The counts of a partition directory (all zero when nothing was found). */
export function corruptionCounts(dir: string): Readonly<CorruptionCounts> {
  return counts.get(dir) ?? noCounts();
}

/**
 * Records corruption found while serving (a read or the scrubber): counted, logged, and marked so that the next open
 * re-validates the segment. Returns the reason the log keeps for its KAFKA_STORAGE_ERROR answers.
 */
export function corruptionFound(err: CorruptLogError, log: (msg: string) => void): string {
  countCorruption(err.dir, 'corruptBatches');
  let marked = `the next start re-validates segment ${err.segmentBase} by CRC and moves the damaged bytes to quarantine`;
  try {
    markForRecovery(err.dir, err.segmentBase, err.detail);
  } catch (e) {
    marked = `could not record it for the next start (${e instanceof Error ? e.message : String(e)}): restart after fixing the disk`;
  }
  log(`error: ${err.message}. The partition is offline (KAFKA_STORAGE_ERROR to Produce, Fetch and ListOffsets) while the others serve; ${marked}`);
  return `segment ${err.segmentBase} byte ${err.position}: ${err.detail}`;
}
