// Durable committed offsets: an append-only log of CRC-32C-framed records (offset-records.ts),
// replayed on load and compacted into a snapshot (tmp file + fsync + rename) when it grows.
//
// Every mutation is applied to the in-memory state when issued and appended to the log in the same
// order; commit/delete promises resolve once their bytes are written (write(2) survives a process
// crash, SIGKILL included) and, when the flush policy says so, also fdatasync'ed (survives power
// loss). The policy is the partition logs' (log-store.ts): `fsync` flushes every write before
// resolving (the broker's --fsync true), `flushMessages` every N records, `flushMs` once that long
// has passed since the last flush (at the next write, or by a timer). New files, renames and the
// cut of a torn tail are followed by a directory fsync.
// Concurrent operations are written together in one write (group commit). A failed write is sticky:
// the store refuses every later operation, since memory and disk may then disagree.
//
// File operations go through the log's storage interface (log/storage.ts), so the power-loss test
// can run the store on a simulated disk.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { storage, writeAll, writeWholeFile } from '../log/storage.ts';
import { FlushPolicy, type FlushSettings } from '../log/flush-policy.ts';
import { decodeRecords, encodeRecord, MAGIC, type OffsetRecord } from './offset-records.ts';
import { errorText, quarantineBytes, quarantineFile } from '../log/quarantine.ts';
import { StateBackedOffsetStore, type OffsetEntry, type OffsetStore, type TopicPartitionRef } from './offset-store.ts';

export interface FileOffsetStoreOptions {
  /** Compact once the log passes this size (and twice the last snapshot). Default 64 MiB. */
  maxFileBytes?: number;
  /** fdatasync every write before resolving, for durability across power loss. Default false. */
  fsync?: boolean;
  /** flush.messages: fdatasync once this many records were written since the last flush. Default never. */
  flushMessages?: number;
  /** flush.ms: fdatasync once this long has passed since the last flush. Default never. */
  flushMs?: number;
  /** Where load() reports a damaged log (what it kept and where it moved the rest). */
  log?: (line: string) => void;
}

export const OFFSETS_FILE = 'offsets.log';
const TMP_SUFFIX = '.tmp';

interface Pending {
  bytes: Buffer;
  records: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class FileOffsetStore extends StateBackedOffsetStore implements OffsetStore {
  private readonly path: string;
  private readonly maxFileBytes: number;
  private readonly flushSettings: FlushSettings;
  private readonly log: (line: string) => void;
  /** The open offsets log (a descriptor from storage()). */
  private fd: number | null = null;
  private readonly flushPolicy = new FlushPolicy(() => this.flushFromTimer());
  private fileBytes = 0;
  private snapshotBytes = 0;
  private queue: Pending[] = [];
  private writing: Promise<void> | null = null;
  private failure: Error | null = null;
  private closed = false;
  /** Bytes of torn tail dropped by the last load (0 after a clean shutdown). */
  truncatedBytesOnLoad = 0;
  /** Number of compactions done since load. */
  compactions = 0;

  constructor(
    private readonly dir: string,
    opts: FileOffsetStoreOptions = {},
  ) {
    super();
    this.path = join(dir, OFFSETS_FILE);
    this.maxFileBytes = opts.maxFileBytes ?? 64 * 1024 * 1024;
    for (const [name, v, min] of [['flushMessages', opts.flushMessages, 1], ['flushMs', opts.flushMs, 0]] as const) {
      if (v !== undefined && (!Number.isSafeInteger(v) || v < min)) throw new Error(`offset store ${name} must be an integer >= ${min}, got ${v}`);
    }
    this.flushSettings = { fsyncOnAppend: opts.fsync ?? false, flushMessages: opts.flushMessages, flushMs: opts.flushMs };
    this.log = opts.log ?? (() => undefined);
  }

  async load(): Promise<void> {
    if (this.fd !== null) throw new Error('offset store already loaded');
    const s = storage();
    s.mkdir(this.dir);
    s.unlink(this.path + TMP_SUFFIX);
    let buf: Buffer | null = null;
    try {
      buf = await readFile(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') buf = this.quarantineAll(`cannot be read (${errorText(err)})`);
    }
    if (buf !== null && !buf.subarray(0, MAGIC.length).equals(MAGIC.subarray(0, Math.min(buf.length, MAGIC.length)))) {
      buf = this.quarantineAll('is not an offsets log (bad header)');
    }
    if (buf === null || buf.length < MAGIC.length) {
      // New store, or a crash while the header itself was being written.
      writeWholeFile(this.path, MAGIC, true);
      s.fsyncDir(this.dir);
      this.truncatedBytesOnLoad = buf?.length ?? 0;
      this.fileBytes = MAGIC.length;
    } else {
      const { records, validEnd } = decodeRecords(buf, MAGIC.length);
      for (const r of records) this.state.applyRecord(r);
      this.truncatedBytesOnLoad = buf.length - validEnd;
      this.fileBytes = validEnd;
      if (validEnd < buf.length) {
        // The cut bytes are kept aside, never deleted: a write torn by a crash, or corruption.
        const moved = quarantineBytes(this.path, buf.subarray(validEnd));
        const torn = buf.length - validEnd < 8 || validEnd + 8 + buf.readUInt32BE(validEnd) > buf.length;
        this.log(
          `${torn ? '' : 'error: '}${this.path}: kept ${records.length} valid record(s) (${validEnd} bytes); the ${buf.length - validEnd} bytes after ` +
            `them (${torn ? 'an incomplete last record, as a crash mid-write leaves' : 'a corrupt record'}) were moved to ${moved}`,
        );
        // Cut the torn tail, or records appended after it would be lost on the next load.
        const fd = s.open(this.path, 'r+');
        try {
          s.ftruncate(fd, validEnd);
          s.fdatasync(fd);
        } finally {
          s.close(fd);
        }
        s.fsyncDir(this.dir); // the quarantine file
      }
    }
    this.snapshotBytes = this.fileBytes;
    this.fd = s.open(this.path, 'r+');
  }

  /** Moves an unreadable offsets log aside (never deleted) and starts an empty one; throws if it cannot be moved. */
  private quarantineAll(why: string): null {
    const moved = quarantineFile(this.path);
    this.log(`error: ${this.path} ${why}; moved it to ${moved} and started with no committed offsets`);
    return null;
  }

  commit(groupId: string, entries: OffsetEntry[]): Promise<void> {
    return this.mutate({ type: 'commit', groupId, entries }, () => this.state.apply(groupId, entries), entries.length);
  }

  deleteGroup(groupId: string): Promise<void> {
    if (!this.state.hasGroup(groupId)) return this.mutate(null, () => undefined);
    return this.mutate({ type: 'deleteGroup', groupId }, () => this.state.deleteGroup(groupId));
  }

  deleteTopic(topic: string): Promise<void> {
    return this.mutate({ type: 'deleteTopic', topic }, () => this.state.deleteTopic(topic));
  }

  deleteOffsets(groupId: string, partitions: TopicPartitionRef[]): Promise<void> {
    const held = partitions.filter((p) => this.state.get(groupId, p.topic, p.partition) !== undefined);
    if (held.length === 0) return this.mutate(null, () => undefined);
    return this.mutate({ type: 'deleteOffsets', groupId, partitions: held }, () => this.state.deleteOffsets(groupId, held));
  }

  /** Records written since the last flush: everything resolved is on disk when this is 0. */
  get unflushedRecordCount(): number {
    return this.flushPolicy.unflushedCount;
  }

  /** Current log size in bytes. */
  get sizeBytes(): number {
    return this.fileBytes;
  }

  /** Flushes what is unflushed (clean shutdown) and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.writing) await this.writing;
    const fd = this.fd;
    this.fd = null;
    if (fd === null) return;
    try {
      this.flushPolicy.cancel();
      if (this.flushPolicy.unflushedCount > 0 && !this.failure) this.flushNow(fd);
    } finally {
      storage().close(fd);
    }
  }

  /** Applies `apply` to memory now and resolves once `record` (if any) is written. */
  private mutate(record: OffsetRecord | null, apply: () => void, records = 1): Promise<void> {
    if (this.closed) return Promise.reject(new Error('offset store is closed'));
    if (this.failure) return Promise.reject(this.failure);
    if (this.fd === null) return Promise.reject(new Error('offset store is not loaded'));
    if (record === null) return Promise.resolve();
    const bytes = encodeRecord(record);
    apply();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bytes, records, resolve, reject });
      this.writing ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          if (this.failure) throw this.failure;
          await this.append(
            Buffer.concat(batch.map((p) => p.bytes)),
            batch.reduce((n, p) => n + p.records, 0),
          );
        } catch (err) {
          this.failure ??= err instanceof Error ? err : new Error(String(err));
          for (const p of batch) p.reject(this.failure);
          continue;
        }
        for (const p of batch) p.resolve();
        if (this.fileBytes > Math.max(this.maxFileBytes, 2 * this.snapshotBytes)) {
          await this.compact().catch((err: unknown) => {
            this.failure ??= err instanceof Error ? err : new Error(String(err));
          });
        }
      }
    } finally {
      this.writing = null;
    }
  }

  private async append(buf: Buffer, records: number): Promise<void> {
    const fd = this.fd;
    if (fd === null) throw new Error('offset store is not open');
    writeAll(fd, buf, this.fileBytes);
    this.fileBytes += buf.length;
    if (this.flushPolicy.wrote(this.flushSettings, records, Date.now())) this.flushNow(fd);
  }

  private flushNow(fd: number): void {
    storage().fdatasync(fd);
    this.flushPolicy.flushed(Date.now());
  }

  /** flush.ms: a failed fdatasync is sticky like a failed write (what is on disk is then unknown). */
  private flushFromTimer(): void {
    if (this.fd === null || this.failure) return;
    try {
      this.flushNow(this.fd);
    } catch (err) {
      this.failure ??= err instanceof Error ? err : new Error(String(err));
      this.log(`error: ${this.path}: flush failed (${errorText(err)}); the store refuses further commits`);
    }
  }

  /**
   * Rewrites the current state as a fresh log. The state may already include operations still
   * queued behind this snapshot; they are appended again afterwards, which is harmless because
   * every operation is an idempotent last-writer-wins set or delete.
   */
  private async compact(): Promise<void> {
    const parts: Buffer[] = [MAGIC];
    for (const r of this.state.snapshot()) parts.push(encodeRecord(r));
    const snapshot = Buffer.concat(parts);
    const s = storage();
    try {
      writeWholeFile(this.path + TMP_SUFFIX, snapshot, true);
    } catch {
      // Not fatal: keep appending to the old log and retry once it has doubled again.
      try {
        s.unlink(this.path + TMP_SUFFIX);
      } catch {
        // left for the next load to remove
      }
      this.snapshotBytes = this.fileBytes;
      return;
    }
    // Not writeFileAtomic: once the rename may have happened, a failure is fatal (the fd could be the replaced file).
    s.rename(this.path + TMP_SUFFIX, this.path);
    s.fsyncDir(this.dir);
    const old = this.fd;
    this.fd = s.open(this.path, 'r+');
    if (old !== null) s.close(old);
    // The snapshot holds everything written so far, fsynced.
    this.flushPolicy.flushed(Date.now());
    this.fileBytes = snapshot.length;
    this.snapshotBytes = snapshot.length;
    this.compactions++;
  }
}
