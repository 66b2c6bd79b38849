/**
 * The quarantine: bad inputs (corrupt batch lines, poison messages, invalid records) kept with
 * their reason in <lakeDir>/quarantine/<source>.jsonl, one JSON object per line, so nothing bad is
 * silently dropped and every one can be counted and inspected.
 */
import fs from 'node:fs';
import path from 'node:path';
import { listDir, NAME_PATTERN, QUARANTINE_DIR } from './files.ts';

export interface QuarantineItem {
  reason: string;
  /** The input as received (text). */
  raw: string;
  /** Where it came from, e.g. a batch file and line. */
  file?: string;
  line?: number;
}

export interface QuarantineEntry extends QuarantineItem {
  source: string;
  atMs: number;
}

export function quarantineFile(lakeDir: string, source: string): string {
  if (!NAME_PATTERN.test(source)) throw new RangeError(`not a quarantine source name: ${JSON.stringify(source)}`);
  return path.join(lakeDir, QUARANTINE_DIR, `${source}.jsonl`);
}

/** Appends `items` (one write, fsynced) and returns how many were appended. */
export function quarantine(lakeDir: string, source: string, items: readonly QuarantineItem[], opts: { atMs?: number } = {}): number {
  if (items.length === 0) return 0;
  const file = quarantineFile(lakeDir, source);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const atMs = opts.atMs ?? Date.now();
  const text = items.map((it) => JSON.stringify({ source, atMs, ...it } satisfies QuarantineEntry) + '\n').join('');
  const fd = fs.openSync(file, 'a', 0o644);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return items.length;
}

/** The quarantined entries of one source, oldest first (a torn last line is skipped). */
export function readQuarantine(lakeDir: string, source: string): QuarantineEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(quarantineFile(lakeDir, source), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: QuarantineEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      out.push(JSON.parse(line) as QuarantineEntry);
    } catch {
      // torn by a crash mid-append
    }
  }
  return out;
}

/** Quarantined entries per source. */
export function quarantineCounts(lakeDir: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of listDir(path.join(lakeDir, QUARANTINE_DIR))) {
    if (!e.isFile() || !e.name.endsWith('.jsonl')) continue;
    const source = e.name.slice(0, -'.jsonl'.length);
    counts[source] = readQuarantine(lakeDir, source).length;
  }
  return counts;
}
