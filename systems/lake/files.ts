/**
 * The lake's folder layout and the small file primitives its writers share.
 *   <lakeDir>/legacy/<systemId>/<kind>/<yyyy-mm-dd>/<seq>.<ext>     each system's own export
 *   <lakeDir>/hub/<topic>/date=<yyyy-mm-dd>/part-<n>.jsonl           the hub's one sink
 *   <lakeDir>/quarantine/<source>.jsonl                              bad inputs with their reason
 * Files are written under a temporary name (starting with '.', ending in '.tmp') and renamed when
 * complete, so a reader that skips temporary names never sees half a file.
 */
import fs from 'node:fs';
import path from 'node:path';

export const LEGACY_DIR = 'legacy';
export const HUB_DIR = 'hub';
export const QUARANTINE_DIR = 'quarantine';
export const TEMP_SUFFIX = '.tmp';

/** A system id as in the topology: a letter, then letters, digits, '_' or '-', at most 32 characters. */
export const SYSTEM_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
/** A Kafka-legal topic name, or a quarantine source name. */
export const NAME_PATTERN = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,249}$/;

/** Is this a writer's temporary file (never to be read as data)? */
export function isTempName(name: string): boolean {
  return name.startsWith('.') || name.endsWith(TEMP_SUFFIX);
}

/** The UTC calendar date of an epoch-milliseconds time, as yyyy-mm-dd. */
export function utcDate(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`not a time: ${ms}`);
  return new Date(ms).toISOString().slice(0, 10);
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `data` to `tmpPath` and fsyncs it. */
export function writeFileSynced(tmpPath: string, data: Buffer | string): void {
  const fd = fs.openSync(tmpPath, 'w', 0o644);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Directory entries, or none when the directory does not exist. */
export function listDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export function relativeTo(lakeDir: string, file: string): string {
  return path.relative(lakeDir, file).split(path.sep).join('/');
}
