/**
 * The hub layout's lake: one sink appends the records of every topic as JSON lines to
 *   <lakeDir>/hub/<topic>/date=<yyyy-mm-dd>/part-<n>.jsonl
 * The date is the record's event time (the Kafka record timestamp), so the same records land in
 * the same folders on every run. A part is written under a temporary name (.part-<n>.jsonl.tmp)
 * and renamed when it is sealed: on roll (partBytesMax), on flush() and on close(); readers never
 * see half a file. Memory is bounded: at most bufferBytesMax of lines are held before they are
 * written, and at most openPartsMax parts are open at once (the least recently used is sealed).
 *
 * Typical sink loop: append every consumed record, then flush() before committing the consumer's
 * offsets, so every committed record is in a sealed part. A crash leaves .tmp files that readers
 * skip; their records are consumed again from the last committed offset.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir, HUB_DIR, listDir, NAME_PATTERN, TEMP_SUFFIX, utcDate } from './files.ts';
import { measureCpu } from '../process/cpu-meter.ts';

export const PART_DIGITS = 5;

export interface HubLakeWriterOptions {
  lakeDir: string;
  /** A part is sealed and the next one started before it would exceed this size; default 64 MiB. */
  partBytesMax?: number;
  /** Lines held in memory across all parts before they are written; default 1 MiB. */
  bufferBytesMax?: number;
  /** Parts open at once; default 32. */
  openPartsMax?: number;
}

interface OpenPart {
  readonly dir: string;
  readonly partNo: number;
  readonly tmpPath: string;
  readonly finalPath: string;
  fd: number | null;
  bytesWritten: number;
  buffer: string[];
  bufferedBytes: number;
  lastUsed: number;
}

export interface HubLakeWriterStats {
  recordsAppended: number;
  bytesWritten: number;
  partsSealed: number;
}

export class HubLakeWriter {
  readonly lakeDir: string;
  readonly partBytesMax: number;
  readonly bufferBytesMax: number;
  readonly openPartsMax: number;
  readonly stats: HubLakeWriterStats = { recordsAppended: 0, bytesWritten: 0, partsSealed: 0 };
  private readonly open = new Map<string, OpenPart>();
  /** Next part number per folder (scanned once per folder). */
  private readonly nextPartNo = new Map<string, number>();
  private bufferedBytes = 0;
  private tick = 0;
  private closed = false;

  constructor(opts: HubLakeWriterOptions) {
    this.lakeDir = opts.lakeDir;
    this.partBytesMax = opts.partBytesMax ?? 64 * 1024 * 1024;
    this.bufferBytesMax = opts.bufferBytesMax ?? 1024 * 1024;
    this.openPartsMax = opts.openPartsMax ?? 32;
    if (!(this.partBytesMax > 0 && this.bufferBytesMax > 0 && this.openPartsMax >= 1)) throw new RangeError('limits must be positive');
  }

  /** Appends one record of `topic` with its event time. The record must be JSON-serializable. */
  append(topic: string, record: unknown, eventTimeMs: number): void {
    if (this.closed) throw new Error('HubLakeWriter is closed');
    if (!NAME_PATTERN.test(topic)) throw new RangeError(`not a topic name: ${JSON.stringify(topic)}`);
    const line = measureCpu('serialization', () => JSON.stringify(record)) + '\n';
    const lineBytes = Buffer.byteLength(line);
    const dir = path.join(this.lakeDir, HUB_DIR, topic, `date=${utcDate(eventTimeMs)}`);
    let part = this.partFor(dir);
    if (part.bytesWritten + part.bufferedBytes > 0 && part.bytesWritten + part.bufferedBytes + lineBytes > this.partBytesMax) {
      this.seal(part);
      part = this.partFor(dir);
    }
    part.buffer.push(line);
    part.bufferedBytes += lineBytes;
    part.lastUsed = ++this.tick;
    this.bufferedBytes += lineBytes;
    this.stats.recordsAppended++;
    if (this.bufferedBytes > this.bufferBytesMax) for (const p of this.open.values()) this.writeBuffer(p);
  }

  /** Writes every buffered line and seals every open part: afterwards readers see all records appended so far. */
  flush(): number {
    const parts = [...this.open.values()];
    for (const p of parts) this.seal(p);
    return parts.length;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
  }

  private partFor(dir: string): OpenPart {
    const existing = this.open.get(dir);
    if (existing) return existing;
    if (this.open.size >= this.openPartsMax) {
      const lru = [...this.open.values()].reduce((a, b) => (a.lastUsed <= b.lastUsed ? a : b));
      this.seal(lru);
    }
    const partNo = this.claimPartNo(dir);
    const name = `part-${String(partNo).padStart(PART_DIGITS, '0')}.jsonl`;
    const part: OpenPart = {
      dir,
      partNo,
      tmpPath: path.join(dir, `.${name}${TEMP_SUFFIX}`),
      finalPath: path.join(dir, name),
      fd: null,
      bytesWritten: 0,
      buffer: [],
      bufferedBytes: 0,
      lastUsed: ++this.tick,
    };
    this.open.set(dir, part);
    return part;
  }

  /** The next part number of a folder: above every part and temporary part already there. */
  private claimPartNo(dir: string): number {
    let next = this.nextPartNo.get(dir);
    if (next === undefined) {
      next = 0;
      for (const e of listDir(dir)) {
        const m = /^\.?part-(\d+)\.jsonl/.exec(e.name);
        if (m) next = Math.max(next, Number(m[1]) + 1);
      }
    }
    this.nextPartNo.set(dir, next + 1);
    return next;
  }

  private writeBuffer(p: OpenPart): void {
    if (p.bufferedBytes === 0) return;
    if (p.fd === null) {
      fs.mkdirSync(p.dir, { recursive: true });
      p.fd = fs.openSync(p.tmpPath, 'wx', 0o644);
    }
    const data = Buffer.from(p.buffer.join(''), 'utf8');
    fs.writeSync(p.fd, data);
    p.bytesWritten += data.length;
    this.stats.bytesWritten += data.length;
    this.bufferedBytes -= p.bufferedBytes;
    p.buffer = [];
    p.bufferedBytes = 0;
  }

  private seal(p: OpenPart): void {
    this.writeBuffer(p);
    this.open.delete(p.dir);
    if (p.fd === null) return; // nothing was ever written: no file
    fs.fsyncSync(p.fd);
    fs.closeSync(p.fd);
    p.fd = null;
    fs.renameSync(p.tmpPath, p.finalPath);
    fsyncDir(p.dir);
    this.stats.partsSealed++;
  }
}
