import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_LOG_CONFIG, PartitionLog, type LogConfig } from '../../broker/log/partition-log.ts';
import { buildBatch, splitBatches } from './batch-builder.ts';

const dirs: string[] = [];

export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'untangle-log-'));
  dirs.push(dir);
  return path.join(dir, 'topic-0');
}

export function cleanupTempDirs(): void {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export function config(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, segmentBytes: 64 * 1024, indexIntervalBytes: 512, ...overrides };
}

export async function openLog(dir: string, overrides: Partial<LogConfig> = {}, lines?: string[]): Promise<PartitionLog> {
  return PartitionLog.open(dir, config(overrides), (m) => lines?.push(m));
}

/** A new log in a temporary directory holding `batches` batches of `records` records (100-byte values), left open (closing it is a clean shutdown, dropping it an unclean stop), and its batches as read back. */
export async function filledLog(overrides: Partial<LogConfig>, batches: number, records: number): Promise<{ dir: string; log: PartitionLog; before: Buffer[] }> {
  const dir = tempDir();
  const log = await openLog(dir, overrides);
  for (let i = 0; i < batches; i++) log.append(buildBatch({ count: records, valueBytes: 100 }), 0);
  return { dir, log, before: readAll(log) };
}

/** filledLog, closed cleanly. */
export async function closedLog(overrides: Partial<LogConfig>, batches: number, records: number): Promise<{ dir: string; before: Buffer[] }> {
  const { dir, log, before } = await filledLog(overrides, batches, records);
  await log.close();
  return { dir, before };
}

/** Every stored batch from logStartOffset to logEndOffset, read in small steps. */
export function readAll(log: PartitionLog, from = log.logStartOffset, maxBytes = 4096): Buffer[] {
  const out: Buffer[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const r = log.read(offset, maxBytes, true);
    if (r.bytes === 0) throw new Error(`empty read at ${offset} < LEO ${log.logEndOffset}`);
    for (const b of splitBatches(Buffer.concat(r.chunks))) {
      out.push(b);
      offset = Number(b.readBigInt64BE(0)) + b.readInt32BE(23) + 1;
    }
  }
  return out;
}

export function segmentFiles(dir: string, ext = '.log'): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .sort();
}
