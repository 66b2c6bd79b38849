// Loading a partition directory on open, and recovery after an unclean stop.
//
// Rules:
//  1. Reference sizes: clean-shutdown.json (all segments) if present and readable, else log-meta.json (sealed
//     segments only: they were flushed before being listed, so they lie below the recovery point; the active one is
//     always suspicious after an unclean stop).
//  2. Segments are trusted in order while each one is listed with its exact byte size and lies below
//     recover-from.json (written when corruption took the partition offline while serving, corruption.ts); their
//     indexes are loaded from .index/.timeindex (rebuilt from batch headers if missing or implausible).
//  3. From the first segment that is unlisted, whose size differs (someone truncated or extended it, or the process
//     died while appending) or that is marked damaged, every segment is scanned batch by batch: header sanity
//     (length, magic 2, each batch starting right after the previous one's last offset) and CRC-32C. So everything
//     past the recovery point is re-validated. A segment is cut at its first torn or corrupt batch; the cut bytes are
//     copied to the partition's quarantine/ folder first (quarantine.ts), never deleted. Later segments are scanned
//     the same way and kept if intact: a damaged middle segment costs its damaged tail, not the rest of the log.
//     A segment that overlaps the previous one is moved to quarantine/ whole.
//  4. Offsets missing between segments (a middle segment that is missing, short or cut) and at the log's start are
//     reported: one error line each, naming the range, and untangle_broker_log_gap_offsets_total. The log then serves
//     around the gap (a consumer continues at the next offset there is, as over a compacted range in Kafka): the
//     records are gone, and refusing the rest would not bring them back.
//  5. Segments lying entirely below logStartOffset are deleted (those wholly below the saved one before they are even
//     opened: files retention could not delete, e.g. after an I/O error); an empty directory gets one empty segment.
import fs from 'node:fs';
import path from 'node:path';
import { Segment, segmentFileName } from './segment.ts';
import { readCleanShutdown, readMeta, type SegmentRecord } from './checkpoint.ts';
import { clearRecoverFrom, countCorruption, readRecoverFrom } from './corruption.ts';
import { QUARANTINE_DIR, quarantineInto, quarantineRange } from './quarantine.ts';
import type { LogConfig } from './log-config.ts';

const SEGMENT_RE = /^(\d{20})\.log$/;
const INDEX_RE = /^(\d{20})\.(index|timeindex)$/;

export interface LoadedLog {
  segments: Segment[];
  logStartOffset: number;
  /** clean-shutdown.json was there (and readable): the last stop was clean. */
  cleanShutdown: boolean;
  /** The recovery point log-meta.json recorded (0 when absent). */
  savedRecoveryPoint: number;
}

/** Removes leftovers: temp files of interrupted atomic writes and index files without a log. */
function cleanStrayFiles(dir: string, names: string[]): void {
  const logs = new Set(names.filter((n) => SEGMENT_RE.test(n)).map((n) => n.slice(0, 20)));
  for (const name of names) {
    const idx = INDEX_RE.exec(name);
    if (name.endsWith('.tmp') || (idx && !logs.has(idx[1]))) fs.rmSync(path.join(dir, name), { force: true });
  }
}

export function loadSegments(dir: string, config: LogConfig, log: (msg: string) => void, nowMs: number): LoadedLog {
  fs.mkdirSync(dir, { recursive: true });
  const names = fs.readdirSync(dir);
  cleanStrayFiles(dir, names);
  const clean = readCleanShutdown(dir);
  const meta = readMeta(dir);
  const recoverFrom = readRecoverFrom(dir);
  const savedStart = meta?.logStartOffset ?? clean?.logStartOffset;
  const bases = skipBelowStart(
    dir,
    names
      .map((n) => SEGMENT_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b),
    savedStart,
    log,
  );
  const reference = new Map<number, SegmentRecord>();
  for (const r of clean ? clean.segments : (meta?.sealed ?? [])) reference.set(r.baseOffset, r);
  const onDisk = new Set(bases);
  for (const r of reference.values()) {
    if (!onDisk.has(r.baseOffset) && r.nextOffset > (savedStart ?? 0)) {
      log(`error: ${dir}: segment ${r.baseOffset} (offsets ${r.baseOffset}..${r.nextOffset - 1}) listed in ${clean ? 'the clean-shutdown checkpoint' : 'log-meta.json'} is missing`);
    }
  }

  const interval = config.indexIntervalBytes;
  const segments: Segment[] = [];
  const gaps = new GapReporter(dir, log);
  let prevNext = savedStart ?? 0;
  let i = 0;

  // Trusted prefix.
  for (; i < bases.length; i++) {
    const seg = Segment.open(dir, bases[i], nowMs);
    const rec = reference.get(seg.baseOffset);
    const marked = recoverFrom !== null && seg.baseOffset >= recoverFrom;
    const overlaps = segments.length > 0 && seg.baseOffset < prevNext;
    if (!rec || rec.bytes !== seg.size || overlaps || marked) {
      const why = marked
        ? `segment ${seg.baseOffset} was found damaged while serving`
        : !rec
          ? clean
            ? `segment ${seg.baseOffset} is not in the clean-shutdown checkpoint`
            : 'no clean-shutdown checkpoint'
          : overlaps
            ? `segment ${seg.baseOffset} overlaps the previous one`
            : `segment ${seg.baseOffset} is ${seg.size} bytes, checkpoint says ${rec.bytes}`;
      log(`${dir}: ${why}; recovering (CRC-checking every batch) from segment ${seg.baseOffset} on`);
      seg.closeFile();
      break;
    }
    if (!seg.loadIndexes(rec.nextOffset, rec.maxTimestamp)) {
      const r = seg.rebuild(false, interval);
      if (r.problem || seg.nextOffset !== rec.nextOffset) {
        log(`${dir}: segment ${seg.baseOffset} does not match its checkpoint (${r.problem ?? 'offsets differ'}); recovering from here`);
        seg.closeFile(); // the recovery loop below reopens it
        break;
      }
      log(`${dir}: rebuilt missing or damaged index of segment ${seg.baseOffset}`);
    }
    gaps.check(prevNext, seg.baseOffset, segments.length === 0);
    segments.push(seg);
    prevNext = seg.nextOffset;
  }

  // Recovery of every segment from the first suspicious one.
  const quarantine = path.join(dir, QUARANTINE_DIR);
  for (; i < bases.length; i++) {
    const seg = Segment.open(dir, bases[i], nowMs);
    if (segments.length > 0 && seg.baseOffset < prevNext) {
      seg.closeFile();
      const moved = quarantineSegment(seg, quarantine);
      log(`error: ${dir}: segment ${seg.baseOffset} overlaps the previous segment (which ends at ${prevNext}); moved it to ${moved}`);
      continue;
    }
    const fileSize = seg.size;
    const r = seg.rebuild(true, interval);
    if (r.problem) {
      const cut = fileSize - r.position;
      const moved = quarantineRange(seg.logPath, r.position, fileSize, quarantine);
      countCorruption(dir, 'quarantinedBytes', cut);
      seg.truncateToPosition(r.position, r.nextOffset);
      const last = i === bases.length - 1;
      log(
        `${last ? '' : 'error: '}${dir}: recovery truncated segment ${seg.baseOffset} at byte ${r.position}, dropping ${cut} bytes ` +
          `(${r.problem}), moved to ${moved}; the segment now ends at offset ${seg.nextOffset}`,
      );
      if (seg.isEmpty && !last) {
        // Nothing left: the segment's offsets are a gap before the next one (reported there).
        seg.deleteFiles();
        continue;
      }
    }
    gaps.check(prevNext, seg.baseOffset, segments.length === 0);
    segments.push(seg);
    prevNext = seg.nextOffset;
  }

  if (segments.length === 0) {
    const start = Math.max(0, savedStart ?? 0);
    segments.push(Segment.create(dir, start, nowMs));
  }

  const first = segments[0].baseOffset;
  const leo = segments[segments.length - 1].nextOffset;
  const logStartOffset = Math.min(Math.max(savedStart ?? first, first), leo);

  // Whole segments below logStartOffset (e.g. DeleteRecords interrupted before it deleted them).
  while (segments.length > 1 && segments[0].nextOffset <= logStartOffset) {
    const seg = segments.shift()!;
    log(`${dir}: deleting segment ${seg.baseOffset} below logStartOffset ${logStartOffset}`);
    seg.deleteFiles();
  }
  if (recoverFrom !== null) clearRecoverFrom(dir);
  return { segments, logStartOffset, cleanShutdown: clean !== null, savedRecoveryPoint: meta?.recoveryPoint ?? 0 };
}

/** Reports offsets missing between consecutive segments (and before the first, from the saved log start). */
class GapReporter {
  constructor(
    private readonly dir: string,
    private readonly log: (msg: string) => void,
  ) {}

  /** `prevNext`: where the previous segment ends (or the saved log start); `base`: where the next one starts. */
  check(prevNext: number, base: number, atStart: boolean): void {
    if (base <= prevNext) return;
    const n = base - prevNext;
    countCorruption(this.dir, 'gapOffsets', n);
    this.log(
      `error: ${this.dir}: offsets ${prevNext}..${base - 1} (${n}) are missing ${atStart ? 'at the start of the log' : 'between two segments'}: ` +
        `their segment is missing, short or was cut by recovery (see above). Those records are lost; the partition serves the rest, ` +
        `and consumers continue at offset ${base}`,
    );
  }
}

/** Moves a segment's log file to quarantine (its indexes are derived and deleted); returns where it went. */
function quarantineSegment(seg: Segment, quarantine: string): string {
  const moved = quarantineInto(seg.logPath, quarantine);
  countCorruption(path.dirname(seg.logPath), 'quarantinedBytes', seg.size);
  for (const p of [seg.indexPath, seg.timeIndexPath]) fs.rmSync(p, { force: true });
  return moved;
}

/**
 * Segments wholly below the saved logStartOffset (retention or DeleteRecords moved the start but could not delete
 * their files) are deleted without being opened or scanned; one that still cannot be deleted is left on disk and
 * ignored. Returns the other base offsets.
 */
function skipBelowStart(dir: string, bases: number[], savedStart: number | undefined, log: (msg: string) => void): number[] {
  if (savedStart === undefined) return bases;
  let skip = 0;
  while (skip + 1 < bases.length && bases[skip + 1] <= savedStart) skip++;
  for (const base of bases.slice(0, skip)) {
    const file = path.join(dir, segmentFileName(base, '.log'));
    try {
      for (const suffix of ['.log', '.index', '.timeindex']) fs.rmSync(path.join(dir, segmentFileName(base, suffix)), { force: true });
      log(`${dir}: deleted segment ${base}, which lies below logStartOffset ${savedStart} (left over by retention or DeleteRecords)`);
    } catch (err) {
      log(`${dir}: segment ${base} lies below logStartOffset ${savedStart} but cannot be deleted (${(err as Error).message}); ignoring ${file}`);
    }
  }
  return bases.slice(skip);
}
