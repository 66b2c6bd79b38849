/**
 * The batch legacy transport, sending side: a writer that accumulates records and, every
 * scheduleMs, drops files into the receiver's inbox as `<inbox>/<flowId>/<timestamp>-<seq>.<ext>`,
 * atomically (hidden .tmp, fsync, rename), bounded by records and bytes per file and by a bounded
 * buffer. The receiving side is BatchPicker (batch-picker.ts).
 *
 * With a durable outbox (outbox=durable) the buffer is an Outbox file (outbox.ts): add() appends
 * the records before it returns, and each file is handed over in steps the outbox writes down:
 * begin (its range of records and its name, `<timestamp>-<first seq>[-<tag>].<ext>`, kept for a redo),
 * the file complete under a hidden staging name in the flow's folder (`.<name>.staged`, fsynced;
 * pickers never read hidden names), staged, rename to its name, done. After a kill the begun file
 * is finished: not staged yet, it is written again (same records, same name); staged and its staging
 * file still there, it is renamed; staged and the staging file gone, the rename had happened (a
 * rename is atomic and only this writer renames it), so the file is never published twice, even
 * when a picker had already taken it away.
 */
import { access, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { DataFormat, DataKindId } from '../topology/model.ts';
import { FILE_EXTENSIONS, errorText } from './common.ts';
import type { RecordCodec } from './common.ts';
import { syncDir, writeFileAtomic, writeFileSynced } from './fs-atomic.ts';
import type { Handover, Outbox } from './outbox.ts';
import { BATCH_WRITER } from '../runtime/tuning.ts';

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
  /** Default BATCH_WRITER.recordsPerFileMax. */
  readonly recordsPerFileMax?: number;
  /** Default BATCH_WRITER.fileBytesMax; a chunk that encodes larger is split. */
  readonly fileBytesMax?: number;
  /** Records waiting for the next file, at most; add() refuses beyond it. Default BATCH_WRITER.bufferMax. */
  readonly bufferMax?: number;
  /** Encodes and decodes the records: codecFor(the landscape's RecordKinds). */
  readonly codec: RecordCodec;
  /**
   * Put in every file name: the sending process's instance name (`B.2`), so instances of one sender
   * never pick the same name (the rename that publishes a file would overwrite the other's).
   */
  readonly fileTag?: string;
  /**
   * outbox=durable: the flow's outbox (OutboxStore.open(`batch-<flowId>`), with the records'
   * identity for dedupe). bufferMax then bounds the records waiting in it. Absent: in memory.
   */
  readonly outbox?: Outbox<unknown>;
  /** Test seam (durable): called after each step of a file's handover; throwing stops there, as a kill would. */
  readonly onStep?: (step: 'begun' | 'staged' | 'published') => void;
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

  /**
   * Queues records for the next file (durable: appends them to the outbox, skipping those appended
   * before). Returns how many were accepted (the buffer is bounded).
   */
  add(...records: unknown[]): number {
    const outbox = this.options.outbox;
    const room = Math.max(0, (this.options.bufferMax ?? BATCH_WRITER.bufferMax) - (outbox ? outbox.depth : this.buffer.length));
    const accepted = records.slice(0, room);
    if (outbox) outbox.append(accepted);
    else this.buffer.push(...accepted);
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
    const outbox = this.options.outbox;
    this.flushing ??= (outbox ? outbox.exclusive(() => this.writeAllDurable(outbox)) : this.writeAll()).finally(() => { this.flushing = undefined; });
    return this.flushing;
  }

  counters(): BatchWriterCounters {
    return { ...this.c, buffered: this.options.outbox ? this.options.outbox.depth : this.buffer.length };
  }

  private async writeAll(): Promise<number> {
    const codec = this.options.codec;
    const bytesMax = this.options.fileBytesMax ?? BATCH_WRITER.fileBytesMax;
    let files = 0;
    while (this.buffer.length > 0) {
      let n = Math.min(this.buffer.length, this.options.recordsPerFileMax ?? BATCH_WRITER.recordsPerFileMax);
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

  /** Hands over the outbox's records a file at a time, the one a kill interrupted first. */
  private async writeAllDurable(outbox: Outbox<unknown>): Promise<number> {
    let files = 0;
    while (outbox.depth > 0) {
      let h = outbox.handover();
      let data: Buffer;
      try {
        if (h) {
          data = this.options.codec.encodeBatch(this.options.kind, this.options.format, outbox.range(h.from, h.to).map((e) => e.record));
        } else {
          const chunk = this.nextChunk(outbox);
          if (!chunk) continue; // its first record was given up
          data = chunk.data;
          const atMs = Date.now();
          h = outbox.begin(chunk.from, chunk.to, atMs, this.durableFileName(atMs, chunk.from));
          this.options.onStep?.('begun');
        }
        await this.publish(outbox, h, data);
        this.options.onStep?.('published');
        outbox.markDone(h.to);
      } catch (e) {
        this.c.writeFailures++;
        this.c.lastError = errorText(e);
        break; // a begun file stays begun and is finished on the next tick
      }
      files++;
      this.c.filesWritten++;
      this.c.recordsWritten += h.to - h.from + 1;
      this.c.bytesWritten += data.length;
    }
    return files;
  }

  /**
   * The next file's records from the outbox: as many as the limits allow, cut before the first that
   * does not encode. A first record that does not encode, or alone exceeds fileBytesMax, is given up
   * (marked done and counted); then null.
   */
  private nextChunk(outbox: Outbox<unknown>): { from: number; to: number; data: Buffer } | null {
    const { codec, kind, format } = this.options;
    const bytesMax = this.options.fileBytesMax ?? BATCH_WRITER.fileBytesMax;
    const entries = outbox.pending(this.options.recordsPerFileMax ?? BATCH_WRITER.recordsPerFileMax);
    const encode = (n: number): Buffer => codec.encodeBatch(kind, format, entries.slice(0, n).map((e) => e.record));
    let n = entries.length;
    let data: Buffer;
    try {
      data = encode(n);
    } catch (e) {
      let reason = '';
      const bad = entries.findIndex((entry) => {
        try {
          codec.encodeBatch(kind, format, [entry.record]);
          return false;
        } catch (one) {
          reason = errorText(one);
          return true;
        }
      });
      if (bad < 0) throw new Error(`encoding ${n} records fails but each alone encodes: ${errorText(e)}`, { cause: e });
      if (bad === 0) {
        this.c.recordsUnencodable++;
        this.c.lastError = `unencodable ${kind} record dropped: ${reason}`;
        outbox.markDone(entries[0].seq);
        return null;
      }
      n = bad;
      data = encode(n);
    }
    while (data.length > bytesMax && n > 1) {
      n = Math.ceil(n / 2);
      data = encode(n);
    }
    if (data.length > bytesMax) {
      this.c.recordsOversized++;
      outbox.markDone(entries[0].seq);
      return null;
    }
    return { from: entries[0].seq, to: entries[n - 1].seq, data };
  }

  /** Puts one begun file in place through its staging file (see the file comment for the redo after a kill). */
  private async publish(outbox: Outbox<unknown>, h: Handover, data: Buffer): Promise<void> {
    const dir = flowInbox(this.options.inbox, this.options.flowId);
    const name = h.name;
    const staged = path.join(dir, `.${name}.staged`);
    if (!h.staged) {
      await mkdir(dir, { recursive: true });
      await writeFileSynced(staged, data);
      outbox.staged();
      this.options.onStep?.('staged');
    } else if (!(await exists(staged))) {
      return; // renamed into place before a kill: published already (a picker may have taken it since)
    }
    await rename(staged, path.join(dir, name));
    await syncDir(dir);
  }

  /** `<timestamp>-<first seq>[-<tag>].<ext>`, chosen at begin and kept by the handover, so a redo uses the same name. */
  private durableFileName(atMs: number, from: number): string {
    const stamp = new Date(atMs).toISOString().replace(/[-:.]/g, '');
    return `${stamp}-${String(from).padStart(12, '0')}${this.tag()}.${FILE_EXTENSIONS[this.options.format]}`;
  }

  private tag(): string {
    return this.options.fileTag ? `-${this.options.fileTag.replace(/[^A-Za-z0-9_.-]/g, '_')}` : '';
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
      const name = `${stamp}-${String(++this.seq % 1_000_000).padStart(6, '0')}${this.tag()}.${FILE_EXTENSIONS[this.options.format]}`;
      const file = path.join(dir, name);
      try {
        await access(file);
      } catch {
        return file;
      }
    }
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
