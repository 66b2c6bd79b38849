// Durable committed offsets: an append-only log of CRC-32C-framed records (offset-records.ts),
// replayed on load and compacted into a snapshot (tmp file + fsync + rename) when it grows.
//
// Every mutation is applied to the in-memory state when issued and appended to the log in the same
// order; commit/delete promises resolve once their bytes are written (write(2) survives a process
// crash, SIGKILL included) and, with `fsync: true`, also fdatasync'ed (survives power loss).
// Concurrent operations are written together in one write (group commit). A failed write is sticky:
// the store refuses every later operation, since memory and disk may then disagree.
import { open, mkdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeRecords, encodeRecord, MAGIC, type OffsetRecord } from './offset-records.ts';
import { errorText, quarantineBytes, quarantineFile } from '../log/quarantine.ts';
import { StateBackedOffsetStore, type OffsetEntry, type OffsetStore } from './offset-store.ts';

export interface FileOffsetStoreOptions {
  /** Compact once the log passes this size (and twice the last snapshot). Default 64 MiB. */
  maxFileBytes?: number;
  /** fdatasync before resolving, for durability across power loss. Default false. */
  fsync?: boolean;
  /** Where load() reports a damaged log (what it kept and where it moved the rest). */
  log?: (line: string) => void;
}

export const OFFSETS_FILE = 'offsets.log';
const TMP_SUFFIX = '.tmp';

interface Pending {
  bytes: Buffer;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class FileOffsetStore extends StateBackedOffsetStore implements OffsetStore {
  private readonly path: string;
  private readonly maxFileBytes: number;
  private readonly fsync: boolean;
  private readonly log: (line: string) => void;
  private fh: FileHandle | null = null;
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
    this.fsync = opts.fsync ?? false;
    this.log = opts.log ?? (() => undefined);
  }

  async load(): Promise<void> {
    if (this.fh) throw new Error('offset store already loaded');
    await mkdir(this.dir, { recursive: true });
    await rm(this.path + TMP_SUFFIX, { force: true });
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
      await this.writeFileDurably(this.path, [MAGIC]);
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
        const fh = await open(this.path, 'r+');
        try {
          await fh.truncate(validEnd);
          await fh.datasync();
        } finally {
          await fh.close();
        }
      }
    }
    this.snapshotBytes = this.fileBytes;
    this.fh = await open(this.path, 'r+');
  }

  /** Moves an unreadable offsets log aside (never deleted) and starts an empty one; throws if it cannot be moved. */
  private quarantineAll(why: string): null {
    const moved = quarantineFile(this.path);
    this.log(`error: ${this.path} ${why}; moved it to ${moved} and started with no committed offsets`);
    return null;
  }

  commit(groupId: string, entries: OffsetEntry[]): Promise<void> {
    return this.mutate({ type: 'commit', groupId, entries }, () => this.state.apply(groupId, entries));
  }

  deleteGroup(groupId: string): Promise<void> {
    if (!this.state.hasGroup(groupId)) return this.mutate(null, () => undefined);
    return this.mutate({ type: 'deleteGroup', groupId }, () => this.state.deleteGroup(groupId));
  }

  deleteTopic(topic: string): Promise<void> {
    return this.mutate({ type: 'deleteTopic', topic }, () => this.state.deleteTopic(topic));
  }

  /** Current log size in bytes. */
  get sizeBytes(): number {
    return this.fileBytes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.writing) await this.writing;
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }

  /** Applies `apply` to memory now and resolves once `record` (if any) is written. */
  private mutate(record: OffsetRecord | null, apply: () => void): Promise<void> {
    if (this.closed) return Promise.reject(new Error('offset store is closed'));
    if (this.failure) return Promise.reject(this.failure);
    if (!this.fh) return Promise.reject(new Error('offset store is not loaded'));
    if (record === null) return Promise.resolve();
    const bytes = encodeRecord(record);
    apply();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bytes, resolve, reject });
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
          await this.append(Buffer.concat(batch.map((p) => p.bytes)));
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

  private async append(buf: Buffer): Promise<void> {
    const fh = this.fh;
    if (!fh) throw new Error('offset store is not open');
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await fh.write(buf, done, buf.length - done, this.fileBytes + done);
      done += bytesWritten;
    }
    if (this.fsync) await fh.datasync();
    this.fileBytes += buf.length;
  }

  /**
   * Rewrites the current state as a fresh log. The state may already include operations still
   * queued behind this snapshot; they are appended again afterwards, which is harmless because
   * every operation is an idempotent last-writer-wins set or delete.
   */
  private async compact(): Promise<void> {
    const parts: Buffer[] = [MAGIC];
    for (const r of this.state.snapshot()) parts.push(encodeRecord(r));
    const size = parts.reduce((n, b) => n + b.length, 0);
    try {
      await this.writeFileDurably(this.path + TMP_SUFFIX, parts);
    } catch {
      // Not fatal: keep appending to the old log and retry once it has doubled again.
      await rm(this.path + TMP_SUFFIX, { force: true }).catch(() => undefined);
      this.snapshotBytes = this.fileBytes;
      return;
    }
    await rename(this.path + TMP_SUFFIX, this.path);
    await this.syncDir();
    const old = this.fh;
    this.fh = await open(this.path, 'r+');
    await old?.close();
    this.fileBytes = size;
    this.snapshotBytes = size;
    this.compactions++;
  }

  private async writeFileDurably(path: string, parts: Buffer[]): Promise<void> {
    const fh = await open(path, 'w');
    try {
      for (const p of parts) {
        let done = 0;
        while (done < p.length) done += (await fh.write(p, done, p.length - done)).bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.syncDir();
  }

  private async syncDir(): Promise<void> {
    try {
      const d = await open(this.dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch {
      // Some platforms cannot fsync a directory; the rename is still atomic.
    }
  }
}
