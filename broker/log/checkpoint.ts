// Small JSON state files of a partition directory, always replaced atomically (write temp file, fsync, rename), so a
// SIGKILL or power cut leaves either the old or the new version, never a torn one.
//
//   log-meta.json        while running: logStartOffset and the sealed (rolled) segments with their exact sizes.
//                        Rewritten on roll, DeleteRecords, retention and truncation. Sealed segments listed here with
//                        a matching size are trusted after an unclean stop; recovery starts at the first other one.
//   clean-shutdown.json  written last by close(): every segment (active included), LEO and logStartOffset. Removed as
//                        soon as open() has loaded the log, so its presence means "the last stop was clean".
import fs from 'node:fs';
import path from 'node:path';

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
}

export interface CleanShutdown {
  version: 1;
  logStartOffset: number;
  logEndOffset: number;
  segments: SegmentRecord[];
}

export function writeFileAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
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
  fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE), { force: true });
}

/** fsync a directory so renames and unlinks in it are durable (best effort: not every platform allows it). */
export function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // not supported (e.g. some platforms); renames are still atomic
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}
