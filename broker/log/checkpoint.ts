// Small JSON state files of a partition directory, always replaced atomically (write temp file, fsync, rename), so a
// SIGKILL or power cut leaves either the old or the new version, never a torn one.
//
//   log-meta.json        while running: logStartOffset, the sealed (rolled) segments with their exact sizes, and the
//                        recovery point. Rewritten on roll, DeleteRecords, retention and truncation. A segment is
//                        flushed (fsync) before it is listed here, so sealed segments listed with a matching size are
//                        trusted after an unclean stop; recovery starts at the first other one.
//
// The recovery point (Kafka's term): every offset below it was flushed to disk, so a power cut cannot lose it. It is
// advanced only by a flush (a roll, the flush policy, a clean close), never by a write, and it is at least the end of
// the last sealed segment. `recoveryPoint` in log-meta.json is its value when the file was last written (Kafka
// checkpoints it periodically too): recovery may trust everything below it and must re-validate everything past it.
// PartitionLog.recoveryPoint is the live value.
//   clean-shutdown.json  written last by close(): every segment (active included), LEO and logStartOffset. Removed as
//                        soon as open() has loaded the log, so its presence means "the last stop was clean".
import fs from 'node:fs';
import path from 'node:path';
import { storage, writeFileAtomic } from './storage.ts';

export const META_FILE = 'log-meta.json';
export const CLEAN_SHUTDOWN_FILE = 'clean-shutdown.json';

export interface SegmentRecord {
  baseOffset: number;
  bytes: number;
  nextOffset: number;
  maxTimestamp: number;
}

export interface LogMeta {
  version: 1;
  logStartOffset: number;
  sealed: SegmentRecord[];
  /** Every offset below this was flushed when the file was written (absent in files of older versions). */
  recoveryPoint?: number;
}

export interface CleanShutdown {
  version: 1;
  logStartOffset: number;
  logEndOffset: number;
  segments: SegmentRecord[];
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

function isSegmentRecord(v: unknown): v is SegmentRecord {
  const r = v as SegmentRecord;
  return (
    typeof v === 'object' &&
    v !== null &&
    isInt(r.baseOffset) &&
    isInt(r.bytes) &&
    isInt(r.nextOffset) &&
    isInt(r.maxTimestamp) &&
    r.baseOffset >= 0 &&
    r.bytes >= 0 &&
    r.nextOffset >= r.baseOffset
  );
}

export function readMeta(dir: string): LogMeta | null {
  const v = readJson(path.join(dir, META_FILE)) as LogMeta | null;
  if (!v || v.version !== 1 || !isInt(v.logStartOffset) || !Array.isArray(v.sealed)) return null;
  if (!v.sealed.every(isSegmentRecord)) return null;
  if (v.recoveryPoint !== undefined && !isInt(v.recoveryPoint)) return null;
  return v;
}

export function writeMeta(dir: string, meta: LogMeta): void {
  writeFileAtomic(path.join(dir, META_FILE), JSON.stringify(meta));
}

export function readCleanShutdown(dir: string): CleanShutdown | null {
  const v = readJson(path.join(dir, CLEAN_SHUTDOWN_FILE)) as CleanShutdown | null;
  if (!v || v.version !== 1 || !isInt(v.logStartOffset) || !isInt(v.logEndOffset)) return null;
  if (!Array.isArray(v.segments) || !v.segments.every(isSegmentRecord)) return null;
  return v;
}

export function writeCleanShutdown(dir: string, cp: CleanShutdown): void {
  writeFileAtomic(path.join(dir, CLEAN_SHUTDOWN_FILE), JSON.stringify(cp));
}

export function removeCleanShutdown(dir: string): void {
  storage().unlink(path.join(dir, CLEAN_SHUTDOWN_FILE));
}

/** fsync a directory so creates, renames and unlinks in it are durable (best effort: not every platform allows it). */
export function fsyncDir(dir: string): void {
  storage().fsyncDir(dir);
}
