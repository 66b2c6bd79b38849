// Loading a partition directory on open, and recovery after an unclean stop.
//
// Rules:
//  1. Reference sizes: clean-shutdown.json (all segments) if present and readable, else log-meta.json (sealed
//     segments only: the active one is always suspicious after an unclean stop).
//  2. Segments are trusted in order while each one is listed with its exact byte size; their indexes are loaded from
//     .index/.timeindex (rebuilt from batch headers if missing or implausible).
//  3. From the first segment that is unlisted or whose size differs (someone truncated or extended it, or the
//     process died while appending), every segment is scanned batch by batch: header sanity (length, magic 2,
//     offsets moving forward) and CRC-32C. The segment is cut at the first torn or corrupt batch, all later
//     segments are deleted (as Kafka does), and a line is logged for each cut and deletion.
//  4. Segments lying entirely below logStartOffset are deleted (those wholly below the saved one before they are even
//     opened: files retention could not delete, e.g. after an I/O error); an empty directory gets one empty segment.
import fs from 'node:fs';
import path from 'node:path';
import { Segment, segmentFileName } from './segment.ts';
import { readCleanShutdown, readMeta, type SegmentRecord } from './checkpoint.ts';
import type { LogConfig } from './log-config.ts';

const SEGMENT_RE = /^(\d{20})\.log$/;
const INDEX_RE = /^(\d{20})\.(index|timeindex)$/;

export interface LoadedLog {
  segments: Segment[];
  logStartOffset: number;
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
  const bases = skipBelowStart(
    dir,
    names
      .map((n) => SEGMENT_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b),
    meta?.logStartOffset ?? clean?.logStartOffset,
    log,
  );
  const reference = new Map<number, SegmentRecord>();
  for (const r of clean ? clean.segments : (meta?.sealed ?? [])) reference.set(r.baseOffset, r);
  if (clean) {
    const onDisk = new Set(bases);
    for (const r of clean.segments) {
      if (!onDisk.has(r.baseOffset)) log(`${dir}: segment ${r.baseOffset} listed in the clean-shutdown checkpoint is missing`);
    }
  }

  const interval = config.indexIntervalBytes;
  const segments: Segment[] = [];
  let prevNext = 0;
  let i = 0;

  // Trusted prefix.
  for (; i < bases.length; i++) {
    const seg = Segment.open(dir, bases[i], nowMs);
    const rec = reference.get(seg.baseOffset);
    if (!rec || rec.bytes !== seg.size || seg.baseOffset < prevNext) {
      const why = !clean
        ? 'no clean-shutdown checkpoint'
        : !rec
          ? `segment ${seg.baseOffset} is not in the clean-shutdown checkpoint`
          : `segment ${seg.baseOffset} is ${seg.size} bytes, checkpoint says ${rec.bytes}`;
      log(`${dir}: ${why}; recovering from segment ${seg.baseOffset} on`);
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
    segments.push(seg);
    prevNext = seg.nextOffset;
  }

  // Recovery of every segment from the first suspicious one.
  for (; i < bases.length; i++) {
    const seg = Segment.open(dir, bases[i], nowMs);
    if (seg.baseOffset < prevNext) {
      log(`${dir}: segment ${seg.baseOffset} overlaps the previous segment (which ends at ${prevNext}); deleting it and all later segments`);
      deleteFrom(dir, bases, i, log);
      break;
    }
    const fileSize = seg.size;
    const r = seg.rebuild(true, interval);
    segments.push(seg);
    prevNext = seg.nextOffset;
    if (r.problem) {
      seg.truncateToPosition(r.position, r.nextOffset);
      log(
        `${dir}: recovery truncated segment ${seg.baseOffset} at byte ${r.position}, dropping ${fileSize - r.position} bytes ` +
          `(${r.problem}); log end offset now ${seg.nextOffset}`,
      );
      deleteFrom(dir, bases, i + 1, log);
      break;
    }
  }

  if (segments.length === 0) {
    const start = Math.max(0, meta?.logStartOffset ?? clean?.logStartOffset ?? 0);
    segments.push(Segment.create(dir, start, nowMs));
  }

  const first = segments[0].baseOffset;
  const leo = segments[segments.length - 1].nextOffset;
  const savedStart = meta?.logStartOffset ?? clean?.logStartOffset ?? first;
  const logStartOffset = Math.min(Math.max(savedStart, first), leo);

  // Whole segments below logStartOffset (e.g. DeleteRecords interrupted before it deleted them).
  while (segments.length > 1 && segments[0].nextOffset <= logStartOffset) {
    const seg = segments.shift()!;
    log(`${dir}: deleting segment ${seg.baseOffset} below logStartOffset ${logStartOffset}`);
    seg.deleteFiles();
  }
  return { segments, logStartOffset };
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

function deleteFrom(dir: string, bases: number[], from: number, log: (msg: string) => void): void {
  for (let j = from; j < bases.length; j++) {
    const seg = Segment.open(dir, bases[j], 0);
    log(`${dir}: deleting segment ${bases[j]} (${seg.size} bytes) after an earlier torn or corrupt segment`);
    seg.deleteFiles();
  }
}
