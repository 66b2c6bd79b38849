/**
 * The batch legacy transport, sending side: a writer that accumulates records and, every
 * scheduleMs, drops files into the receiver's inbox as `<inbox>/<flowId>/<timestamp>-<seq>.<ext>`,
 * atomically (hidden .tmp, fsync, rename), bounded by records and bytes per file and by a bounded
 * buffer. The receiving side is BatchPicker (batch-picker.ts).
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { DataFormat, DataKindId } from '../topology/model.ts';
import { FILE_EXTENSIONS, errorText } from './common.ts';
import type { RecordCodec } from './common.ts';
import { writeFileAtomic } from './fs-atomic.ts';

export { BatchPicker } from './batch-picker.ts';
export type { BatchPickerCounters, BatchPickerOptions, BatchFileInfo } from './batch-picker.ts';

/** The folder a flow's files land in. */
export function flowInbox(inbox: string, flowId: string): string {
  return path.join(inbox, flowId);
}

/** `<inbox>/quarantine/<flowId>.jsonl`: one JSON line per corrupt record or oversized file. */
export function quarantineFile(inbox: string, flowId: string): string {
  return path.join(inbox, 'quarantine', `${flowId}.jsonl`);
}

export interface BatchWriterOptions {
  /** The receiver's inbox root. */
  readonly inbox: string;
  readonly flowId: string;
  readonly kind: DataKindId;
  readonly format: DataFormat;
  readonly scheduleMs: number;
  /** Default 1000. */
  readonly recordsPerFileMax?: number;
  /** Default 4 MiB; a chunk that encodes larger is split. */
  readonly fileBytesMax?: number;
  /** Records waiting for the next file, at most; add() refuses beyond it. Default 10000. */
  readonly bufferMax?: number;
  /** Encodes and decodes the records: codecFor(the landscape's RecordKinds). */
  readonly codec: RecordCodec;
  /**
   * Put in every file name: the sending process's instance name (`B.2`), so instances of one sender
   * never pick the same name (the rename that publishes a file would overwrite the other's).
   */
  readonly fileTag?: string;
}

export interface BatchWriterCounters {
  recordsAdded: number;
  /** Records refused by add() because the buffer was full. */
  recordsRejected: number;
  /** Single records that encode larger than fileBytesMax: dropped and counted. */
  recordsOversized: number;
  /** Records the codec refused to encode (invalid for their kind): dropped and counted. */
  recordsUnencodable: number;
  recordsWritten: number;
  filesWritten: number;
  bytesWritten: number;
  writeFailures: number;
  buffered: number;
  lastError: string | undefined;
}

export class BatchWriter {
  private readonly buffer: unknown[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<number> | undefined;
  private readonly c: Omit<BatchWriterCounters, 'buffered'> = {
    recordsAdded: 0, recordsRejected: 0, recordsOversized: 0, recordsUnencodable: 0, recordsWritten: 0, filesWritten: 0, bytesWritten: 0, writeFailures: 0, lastError: undefined,
  };

  constructor(readonly options: BatchWriterOptions) {}

  /** Queues records for the next file. Returns how many were accepted (the buffer is bounded). */
  add(...records: unknown[]): number {
    const room = Math.max(0, (this.options.bufferMax ?? 10_000) - this.buffer.length);
    const accepted = records.slice(0, room);
    this.buffer.push(...accepted);
    this.c.recordsAdded += accepted.length;
    this.c.recordsRejected += records.length - accepted.length;
    return accepted.length;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => { void this.flush(); }, this.options.scheduleMs);
  }

  /** Stops the schedule and writes what is buffered. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Writes every buffered record into as many files as the limits need. Returns files written. */
  flush(): Promise<number> {
    this.flushing ??= this.writeAll().finally(() => { this.flushing = undefined; });
    return this.flushing;
  }

  counters(): BatchWriterCounters {
    return { ...this.c, buffered: this.buffer.length };
  }

  private async writeAll(): Promise<number> {
    const codec = this.options.codec;
    const bytesMax = this.options.fileBytesMax ?? 4 * 1024 * 1024;
    let files = 0;
    while (this.buffer.length > 0) {
      let n = Math.min(this.buffer.length, this.options.recordsPerFileMax ?? 1000);
      let data: Buffer;
      try {
        data = codec.encodeBatch(this.options.kind, this.options.format, this.buffer.slice(0, n));
        while (data.length > bytesMax && n > 1) {
          n = Math.ceil(n / 2);
          data = codec.encodeBatch(this.options.kind, this.options.format, this.buffer.slice(0, n));
        }
      } catch (e) {
        this.dropUnencodable(n, e);
        continue;
      }
      if (data.length > bytesMax) {
        this.buffer.shift();
        this.c.recordsOversized++;
        continue;
      }
      try {
        await writeFileAtomic(await this.nextFileName(), data);
      } catch (e) {
        this.c.writeFailures++;
        this.c.lastError = errorText(e);
        break; // the records stay buffered for the next tick
      }
      this.buffer.splice(0, n);
      files++;
      this.c.filesWritten++;
      this.c.recordsWritten += n;
      this.c.bytesWritten += data.length;
    }
    return files;
  }

  /** The first n buffered records did not encode together: drop (and count) those that fail alone. */
  private dropUnencodable(n: number, cause: unknown): void {
    const codec = this.options.codec;
    const keep = this.buffer.slice(0, n).filter((r) => {
      try {
        codec.encodeBatch(this.options.kind, this.options.format, [r]);
        return true;
      } catch (e) {
        this.c.recordsUnencodable++;
        this.c.lastError = `unencodable ${this.options.kind} record dropped: ${errorText(e)}`;
        return false;
      }
    });
    if (keep.length === n) throw new Error(`encoding ${n} records fails but each alone encodes: ${errorText(cause)}`);
    this.buffer.splice(0, n, ...keep);
  }

  /** `<timestamp>-<seq>[-<tag>].<ext>`: names sort in write order; an existing name is never overwritten. */
  private async nextFileName(): Promise<string> {
    const dir = flowInbox(this.options.inbox, this.options.flowId);
    for (;;) {
      const stamp = new Date().toISOString().replace(/[-:.]/g, '');
      const tag = this.options.fileTag ? `-${this.options.fileTag.replace(/[^A-Za-z0-9_.-]/g, '_')}` : '';
      const name = `${stamp}-${String(++this.seq % 1_000_000).padStart(6, '0')}${tag}.${FILE_EXTENSIONS[this.options.format]}`;
      const file = path.join(dir, name);
      try {
        await access(file);
      } catch {
        return file;
      }
    }
  }
}
