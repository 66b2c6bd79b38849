// FileRaftStorage: RaftStorage kept durably in one directory. It is the controller's durable log, so it is part of
// the product rather than a dependency: it is hand-written (no embedded database) so that its durability rules are
// visible in one place (this file and the formats in file-format.ts), match the partition log's (broker/log: CRC-32C
// frames, fsync, torn-tail recovery, atomic state files) and can be tested by cutting files at every byte.
//
// Layout of the directory:
//   hardstate.json  {"version":1,"currentTerm":n,"votedFor":id|null}, replaced atomically: write hardstate.json.tmp,
//                   fsync it, rename it over hardstate.json, fsync the directory. A crash leaves the old or the new
//                   version, never a torn one; a leftover .tmp is deleted on open. Unreadable or implausible content
//                   is an error on open: resetting the term to 0 could let the node vote twice in one term.
//   snapshot.json   {"version":1,"index","term","crc","data"}, the latest snapshot, replaced atomically the same way;
//                   the CRC-32C covers index, term and data. Unreadable content is an error on open (it is the only
//                   copy of the compacted entries).
//   raft.log        the log after the snapshot, append-only, one frame per entry:
//                     [payload length: u32 BE][CRC-32C of the payload: u32 BE][payload: UTF-8 JSON of the entry]
//                   where the payload is {"index","term","kind"} plus "command" (the codec's JSON value) for commands.
//                   Its first frame is the entry after the snapshot (index 1 without one).
//
// Durability (the RaftStorage contract): append and truncateFrom fdatasync the log and setHardState completes its
// atomic replace before they return. Any I/O error in a mutating call poisons the instance: every later call throws,
// because after a failed fsync the kernel may already have dropped the dirty pages (what is on disk is unknown).
// The owner must then close it and open the directory again, which recovers from what the disk really holds.
//
// Compaction (saveSnapshot) runs in two durable steps: (1) replace snapshot.json; (2) copy the frames that stay into
// raft.log.tmp, fsync it, rename it over raft.log, fsync the directory. A crash before (1) completes leaves the old
// snapshot and log; between (1) and (2) the new snapshot next to a log that still holds the compacted prefix (and,
// when the snapshot came from a leader and did not match, entries of another history). Open finishes that step:
// entries up to the snapshot's index are dropped, and the rest too unless the log holds the snapshot's index with
// its term. A log starting after the snapshot's index + 1 cannot come from a crash and is refused.
//
// Recovery on open (Kafka-style "truncate at the first bad frame"): the log is scanned from the start and cut at the
// first frame that is torn or corrupt (fewer than 8 header bytes, a length of 0 or over MAX_FRAME_PAYLOAD_BYTES, a
// length past the end of the file, or a CRC mismatch); everything from there on is dropped, fsynced, and reported
// through `log` and `recovery`. This is what a crash mid-append leaves: that append never returned, so no vote or
// acknowledgement depends on its entries, and because the kernel may write pages back out of order, a crash can even
// leave a zeroed frame followed by a valid one — dropping both is right. A frame whose CRC is valid but whose content
// is wrong (not an entry, index not contiguous, term going backwards) is not a crash artifact but a bug or tampering:
// open refuses with an error naming the file and the byte offset instead of guessing.
// Weak spot, by design: a bad frame in the middle caused by disk corruption also drops the valid entries after it,
// which Raft treats as a node that lost acknowledged entries. The leader repairs the node's log, but a majority of
// such losses could lose a committed entry; guarding against that needs checksummed storage below us.
//
// Memory: the byte offset and term of each entry after the snapshot, and the snapshot itself (a leader sends it);
// entries() reads the payloads back from disk (usually from the page cache), checks their CRC again and decodes
// them. One process per directory: there is no lock file.
import fs from 'node:fs';
import path from 'node:path';
import type { HardState, LogEntry, RaftSnapshot, RaftStorage } from './types.ts';
import { checkSnapshot } from './storage.ts';
import { readFully } from '../../log/batch-scanner.ts';
import { fsyncDir } from '../../log/checkpoint.ts';
import {
  FRAME_HEADER_BYTES,
  HARD_STATE_FILE,
  MAX_FRAME_PAYLOAD_BYTES,
  RAFT_LOG_FILE,
  SNAPSHOT_FILE,
  encodeFrame,
  encodeSnapshot,
  frameProblem,
  jsonCommandCodec,
  parseFrame,
  readHardState,
  readSnapshot,
  replaceFile,
  scanLog,
  writeAll,
  type Payload,
  type RaftCommandCodec,
} from './file-format.ts';

export { FRAME_HEADER_BYTES, HARD_STATE_FILE, MAX_FRAME_PAYLOAD_BYTES, RAFT_LOG_FILE, SNAPSHOT_FILE, jsonCommandCodec, type RaftCommandCodec };

const DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024;
const COPY_BUFFER_BYTES = 1024 * 1024;

export interface FileRaftStorageOptions<C> {
  /** Default: jsonCommandCodec(). */
  readonly codec?: RaftCommandCodec<C>;
  /** Largest encoded entry (payload bytes) that append accepts. Default 1 MiB, at most MAX_FRAME_PAYLOAD_BYTES. */
  readonly maxEntryBytes?: number;
  /** Receives one line per recovery action on open. Default: none (see `recovery`). */
  readonly log?: (msg: string) => void;
}

/** What open cut off the end of the log, if anything. */
export interface RaftLogRecovery {
  /** Byte offset the log was truncated at (the start of the first bad frame). */
  readonly truncatedAt: number;
  readonly droppedBytes: number;
  readonly reason: string;
  /** Entries kept. */
  readonly lastIndex: number;
}

export class FileRaftStorage<C> implements RaftStorage<C> {
  readonly dir: string;
  readonly logPath: string;
  readonly hardStatePath: string;
  readonly snapshotPath: string;
  /** Set when open had to cut a torn or corrupt tail off the log; null after a clean open. */
  readonly recovery: RaftLogRecovery | null = null;
  private readonly codec: RaftCommandCodec<C>;
  private readonly maxEntryBytes: number;
  private state: HardState = { currentTerm: 0, votedFor: null };
  private snap: RaftSnapshot | null;
  /** Index of the log file's first frame: snapshot index + 1 once open has finished. */
  private first = 1;
  /** offsets[i - first] and terms[i - first]: byte offset and term of entry i. */
  private offsets: number[] = [];
  private terms: number[] = [];
  /** Bytes of valid frames in the log file (the offset of the next frame). */
  private size = 0;
  private fd: number | null;
  /** Why the instance refuses further calls (closed, or an I/O error left the disk state unknown). */
  private broken: string | null = null;

  constructor(dir: string, options: FileRaftStorageOptions<C> = {}) {
    this.dir = dir;
    this.logPath = path.join(dir, RAFT_LOG_FILE);
    this.hardStatePath = path.join(dir, HARD_STATE_FILE);
    this.snapshotPath = path.join(dir, SNAPSHOT_FILE);
    this.codec = options.codec ?? jsonCommandCodec<C>();
    this.maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
    if (!Number.isSafeInteger(this.maxEntryBytes) || this.maxEntryBytes < 1 || this.maxEntryBytes > MAX_FRAME_PAYLOAD_BYTES) {
      throw new RangeError(`raft storage: maxEntryBytes must be an integer in [1, ${MAX_FRAME_PAYLOAD_BYTES}], got ${options.maxEntryBytes}`);
    }
    const log = options.log ?? (() => {});

    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      fsyncDir(path.dirname(path.resolve(dir)));
    }
    // Interrupted replaces: the old file is still whole (for raft.log.tmp: the snapshot is durable, open redoes step 2).
    for (const f of [this.hardStatePath, this.snapshotPath, this.logPath]) fs.rmSync(`${f}.tmp`, { force: true });
    const hard = readHardState(this.hardStatePath);
    this.snap = readSnapshot(this.snapshotPath);

    let created = false;
    try {
      this.fd = fs.openSync(this.logPath, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
      created = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      this.fd = fs.openSync(this.logPath, fs.constants.O_RDWR);
    }
    try {
      if (created) fsyncDir(dir);
      this.recovery = this.scan(log);
      this.finishCompaction(log);
      if (hard) this.state = hard;
      else if (this.offsets.length > 0 || this.snap) {
        throw new Error(`raft storage: ${this.hardStatePath} is missing but ${this.dir} holds ${this.offsets.length} entries${this.snap ? ' and a snapshot' : ''}; refusing to start with currentTerm 0`);
      }
    } catch (err) {
      if (this.fd !== null) fs.closeSync(this.fd);
      this.fd = null;
      throw err;
    }
  }

  hardState(): HardState {
    this.usable();
    return this.state;
  }

  setHardState(state: HardState): void {
    this.usable();
    if (!Number.isSafeInteger(state.currentTerm) || state.currentTerm < 0) {
      throw new Error(`raft storage: invalid currentTerm ${state.currentTerm}`);
    }
    if (state.votedFor !== null && !Number.isSafeInteger(state.votedFor)) throw new Error(`raft storage: invalid votedFor ${state.votedFor}`);
    if (state.currentTerm < this.state.currentTerm) {
      throw new Error(`raft storage: currentTerm must not decrease (${this.state.currentTerm} -> ${state.currentTerm})`);
    }
    if (state.currentTerm === this.state.currentTerm && state.votedFor === this.state.votedFor) return; // already durable
    const next: HardState = { currentTerm: state.currentTerm, votedFor: state.votedFor };
    this.guard(() => replaceFile(this.dir, this.hardStatePath, Buffer.from(JSON.stringify({ version: 1, ...next }))));
    this.state = next;
  }

  snapshot(): RaftSnapshot | null {
    this.usable();
    return this.snap;
  }

  saveSnapshot(s: RaftSnapshot): void {
    this.usable();
    checkSnapshot(s, this.snap);
    const snap: RaftSnapshot = { index: s.index, term: s.term, data: s.data };
    const keep = this.termAt(s.index) === s.term; // else the log is another history: discard all of it
    const file = encodeSnapshot(snap);
    this.guard(() => {
      replaceFile(this.dir, this.snapshotPath, file); // step 1: from here on the compacted prefix is redundant
      this.snap = snap;
      this.rewriteLog(s.index + 1, keep); // step 2
    });
  }

  firstIndex(): number {
    this.usable();
    return this.first;
  }

  lastIndex(): number {
    this.usable();
    return this.first - 1 + this.offsets.length;
  }

  termAt(index: number): number | undefined {
    this.usable();
    if (index === this.first - 1) return this.snap?.term ?? 0;
    if (index < this.first) return undefined;
    return this.terms[index - this.first];
  }

  entries(from: number, toExclusive: number): LogEntry<C>[] {
    const fd = this.usable();
    const lo = Math.max(this.first, from);
    const end = Math.min(this.first + this.offsets.length, toExclusive);
    if (lo >= end) return [];
    const start = this.offsets[lo - this.first];
    const stop = end - this.first < this.offsets.length ? this.offsets[end - this.first] : this.size;
    const buf = Buffer.allocUnsafe(stop - start);
    const n = readFully(fd, buf, 0, buf.length, start);
    if (n !== buf.length) throw new Error(`raft storage: ${this.logPath} is shorter than expected (read ${n} of ${buf.length} bytes at ${start})`);
    const out: LogEntry<C>[] = [];
    for (let index = lo; index < end; index++) {
      const at = this.offsets[index - this.first] - start;
      const problem = frameProblem(buf, at, buf.length - at);
      if (problem) throw new Error(`raft storage: ${this.logPath} at byte ${start + at} (entry ${index}) is corrupt: ${problem}`);
      const p = parseFrame(buf, at, `${this.logPath} at byte ${start + at}`, index, this.terms[index - this.first]);
      out.push(p.kind === 'noop' ? { index, term: p.term, kind: 'noop' } : { index, term: p.term, kind: 'command', command: this.codec.decode(p.command) });
    }
    return out;
  }

  append(entries: readonly LogEntry<C>[]): void {
    const fd = this.usable();
    if (entries.length === 0) return;
    // Validate and encode everything first: a refused batch writes nothing.
    const frames: Buffer[] = [];
    let expected = this.lastIndex() + 1;
    let prevTerm = Math.max(1, this.termAt(expected - 1)!);
    for (const e of entries) {
      if (e.index !== expected) throw new Error(`raft storage: append expected index ${expected}, got ${e.index}`);
      if (!Number.isSafeInteger(e.term) || e.term < prevTerm) {
        throw new Error(`raft storage: entry ${e.index} has term ${e.term}; terms must be integers >= 1 that never decrease (previous ${prevTerm})`);
      }
      let payload: Payload;
      if (e.kind === 'noop') payload = { index: e.index, term: e.term, kind: 'noop' };
      else {
        const command = this.codec.encode(e.command);
        if (command === undefined) throw new Error(`raft storage: entry ${e.index}: the codec encoded the command as undefined`);
        payload = { index: e.index, term: e.term, kind: 'command', command };
      }
      const json = Buffer.from(JSON.stringify(payload), 'utf8');
      if (json.length > this.maxEntryBytes) {
        throw new Error(`raft storage: entry ${e.index} encodes to ${json.length} bytes, over maxEntryBytes ${this.maxEntryBytes}`);
      }
      frames.push(...encodeFrame(json));
      expected++;
      prevTerm = e.term;
    }
    const batch = Buffer.concat(frames);
    const position = this.size;
    this.guard(() => {
      try {
        writeAll(fd, batch, position);
        fs.fdatasyncSync(fd);
      } catch (err) {
        try {
          fs.ftruncateSync(fd, position);
        } catch {
          // the next open cuts the torn frames
        }
        throw err;
      }
    });
    let at = position;
    for (let i = 0; i < entries.length; i++) {
      this.offsets.push(at);
      this.terms.push(entries[i].term);
      at += frames[2 * i].length + frames[2 * i + 1].length;
    }
    this.size = at;
  }

  truncateFrom(from: number): void {
    const fd = this.usable();
    if (!Number.isSafeInteger(from) || from < this.first) {
      throw new Error(`raft storage: truncateFrom(${from})${this.first > 1 ? ` with entries up to ${this.first - 1} compacted` : ''}`);
    }
    if (from > this.lastIndex()) return;
    const position = this.offsets[from - this.first];
    this.guard(() => {
      fs.ftruncateSync(fd, position);
      fs.fdatasyncSync(fd);
    });
    this.offsets.length = from - this.first;
    this.terms.length = from - this.first;
    this.size = position;
  }

  /** Closes the log file; later calls throw. Everything is already durable, so there is nothing to flush. */
  close(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
    this.broken ??= 'closed';
  }

  private usable(): number {
    if (this.broken !== null || this.fd === null) throw new Error(`raft storage ${this.dir}: unusable (${this.broken ?? 'closed'})`);
    return this.fd;
  }

  /** Runs a write; on failure marks the instance unusable (the disk state is unknown until the next open). */
  private guard(write: () => void): void {
    try {
      write();
    } catch (err) {
      this.broken = `an earlier write failed: ${(err as Error).message}; close and reopen to recover`;
      throw err;
    }
  }

  /**
   * Replaces raft.log by a copy that starts at `newFirst`: the frames from newFirst on if `keep`, else none. The copy
   * is fsynced and renamed over the log, then the directory is fsynced; a crash leaves the old or the new file.
   */
  private rewriteLog(newFirst: number, keep: boolean): void {
    const oldFd = this.fd!;
    const drop = keep ? Math.min(Math.max(0, newFirst - this.first), this.offsets.length) : this.offsets.length;
    const start = drop < this.offsets.length ? this.offsets[drop] : this.size;
    const tmp = `${this.logPath}.tmp`;
    const fd = fs.openSync(tmp, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644);
    try {
      const buf = Buffer.allocUnsafe(Math.min(COPY_BUFFER_BYTES, Math.max(1, this.size - start)));
      for (let pos = start; pos < this.size; ) {
        const n = readFully(oldFd, buf, 0, Math.min(buf.length, this.size - pos), pos);
        if (n === 0) throw new Error(`raft storage: ${this.logPath} is shorter than expected (at ${pos} of ${this.size} bytes)`);
        writeAll(fd, buf.subarray(0, n), pos - start);
        pos += n;
      }
      fs.fsyncSync(fd);
      fs.renameSync(tmp, this.logPath);
      fsyncDir(this.dir);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    // The new file is raft.log now; the old one goes away with its last descriptor.
    fs.closeSync(oldFd);
    this.fd = fd;
    this.offsets = this.offsets.slice(drop).map((o) => o - start);
    this.terms = this.terms.slice(drop);
    this.first = newFirst;
    this.size -= start;
  }

  /** Makes the log start right after the snapshot: finishes a compaction that a crash interrupted after step 1. */
  private finishCompaction(log: (msg: string) => void): void {
    const snapIndex = this.snap?.index ?? 0;
    const count = this.offsets.length;
    if (count === 0) {
      this.first = snapIndex + 1;
      return;
    }
    if (this.first > snapIndex + 1) {
      const what = this.snap ? `the snapshot ends at ${snapIndex}` : 'there is no snapshot';
      throw new Error(`raft storage: ${this.logPath} starts at entry ${this.first} but ${what}: entries are missing in between`);
    }
    if (this.first === snapIndex + 1) {
      if (this.snap && this.terms[0] < this.snap.term) {
        throw new Error(`raft storage: ${this.logPath}: entry ${this.first} has term ${this.terms[0]}, below the snapshot's ${this.snap.term}`);
      }
      return;
    }
    const snap = this.snap!;
    const keep = this.termAt(snapIndex) === snap.term;
    const [from, last] = [this.first, this.lastIndex()];
    this.rewriteLog(snapIndex + 1, keep);
    const why = keep ? 'compacted' : `compacted or of another history: the log did not hold entry ${snapIndex} with term ${snap.term}`;
    log(`${this.logPath}: finished an interrupted compaction: dropped entries ${from}..${keep ? snapIndex : last} (${why}); last index now ${this.lastIndex()}`);
  }

  /** Loads the offset/term index; cuts the file at the first torn or corrupt frame. */
  private scan(log: (msg: string) => void): RaftLogRecovery | null {
    const fd = this.fd!;
    const r = scanLog(fd, this.logPath);
    [this.first, this.offsets, this.terms, this.size] = [r.first, r.offsets, r.terms, r.validBytes];
    if (r.problem === null) return null;
    fs.ftruncateSync(fd, r.validBytes);
    fs.fdatasyncSync(fd);
    const lastIndex = r.offsets.length > 0 ? r.first + r.offsets.length - 1 : (this.snap?.index ?? 0);
    const dropped = r.fileSize - r.validBytes;
    log(`${this.logPath}: recovery truncated the log at byte ${r.validBytes}, dropping ${dropped} bytes (${r.problem}); last index now ${lastIndex}`);
    return { truncatedAt: r.validBytes, droppedBytes: dropped, reason: r.problem, lastIndex };
  }
}
