// FileRaftStorage: RaftStorage kept durably in one directory. It is the controller's durable log, so it is part of
// the product rather than a dependency: it is hand-written (no embedded database) so that its durability rules are
// visible in one file, match the partition log's (broker/log: CRC-32C frames, fsync, torn-tail recovery,
// atomic state files) and can be tested by cutting files at every byte.
//
// Layout of the directory:
//   hardstate.json  {"version":1,"currentTerm":n,"votedFor":id|null}, replaced atomically: write hardstate.json.tmp,
//                   fsync it, rename it over hardstate.json, fsync the directory. A crash leaves the old or the new
//                   version, never a torn one; a leftover .tmp is deleted on open. Unreadable or implausible content
//                   is an error on open: resetting the term to 0 could let the node vote twice in one term.
//   raft.log        the log, append-only, one frame per entry:
//                     [payload length: u32 BE][CRC-32C of the payload: u32 BE][payload: UTF-8 JSON of the entry]
//                   where the payload is {"index","term","kind"} plus "command" (the codec's JSON value) for commands.
//
// Durability (the RaftStorage contract): append and truncateFrom fdatasync the log and setHardState completes its
// atomic replace before they return. Any I/O error in a mutating call poisons the instance: every later call throws,
// because after a failed fsync the kernel may already have dropped the dirty pages (what is on disk is unknown).
// The owner must then close it and open the directory again, which recovers from what the disk really holds.
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
// Memory: only the byte offset and term of each entry are kept in memory; entries() reads the payloads back from disk
// (usually from the page cache), checks their CRC again and decodes them. No snapshots/compaction yet (see types.ts),
// so the file and the offset/term arrays grow with the log. One process per directory: there is no lock file.
import fs from 'node:fs';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import type { HardState, LogEntry, RaftStorage } from './types.ts';
import { readFully } from '../../log/batch-scanner.ts';
import { fsyncDir } from '../../log/checkpoint.ts';

export const RAFT_LOG_FILE = 'raft.log';
export const HARD_STATE_FILE = 'hardstate.json';
/** Frame header: payload length (u32 BE) and CRC-32C of the payload (u32 BE). */
export const FRAME_HEADER_BYTES = 8;
/** Absolute bound on a frame's payload: a larger length field on disk is corruption (never allocated). */
export const MAX_FRAME_PAYLOAD_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024;
const SCAN_BUFFER_BYTES = 1024 * 1024;

/** Turns commands into JSON values and back. The stored payload is JSON.stringify of the entry around that value. */
export interface RaftCommandCodec<C> {
  encode(command: C): unknown;
  decode(value: unknown): C;
}

/**
 * The default codec: the command itself is the JSON value. Only lossless for commands made of plain objects, arrays,
 * strings, finite numbers, booleans and null (no undefined, Date, Map, BigInt, NaN).
 */
export function jsonCommandCodec<C>(): RaftCommandCodec<C> {
  return { encode: (command) => command, decode: (value) => value as C };
}

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

type Payload = { index: number; term: number; kind: 'noop' } | { index: number; term: number; kind: 'command'; command: unknown };

export class FileRaftStorage<C> implements RaftStorage<C> {
  readonly dir: string;
  readonly logPath: string;
  readonly hardStatePath: string;
  /** Set when open had to cut a torn or corrupt tail off the log; null after a clean open. */
  readonly recovery: RaftLogRecovery | null = null;
  private readonly codec: RaftCommandCodec<C>;
  private readonly maxEntryBytes: number;
  private state: HardState = { currentTerm: 0, votedFor: null };
  /** offsets[i - 1] and terms[i - 1]: byte offset and term of entry i. */
  private readonly offsets: number[] = [];
  private readonly terms: number[] = [];
  /** Bytes of valid frames in the log file (the offset of the next frame). */
  private size = 0;
  private fd: number | null;
  /** Why the instance refuses further calls (closed, or an I/O error left the disk state unknown). */
  private broken: string | null = null;

  constructor(dir: string, options: FileRaftStorageOptions<C> = {}) {
    this.dir = dir;
    this.logPath = path.join(dir, RAFT_LOG_FILE);
    this.hardStatePath = path.join(dir, HARD_STATE_FILE);
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
    fs.rmSync(`${this.hardStatePath}.tmp`, { force: true }); // an interrupted replace: the old file is still whole
    const hard = readHardState(this.hardStatePath);

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
      if (hard) this.state = hard;
      else if (this.offsets.length > 0) {
        throw new Error(`raft storage: ${this.hardStatePath} is missing but ${this.logPath} holds ${this.offsets.length} entries; refusing to start with currentTerm 0`);
      }
    } catch (err) {
      fs.closeSync(this.fd);
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
    const data = Buffer.from(JSON.stringify({ version: 1, ...next }));
    this.guard(() => {
      const tmp = `${this.hardStatePath}.tmp`;
      const fd = fs.openSync(tmp, 'w', 0o644);
      try {
        writeAll(fd, data, 0);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.hardStatePath);
      fsyncDir(this.dir);
    });
    this.state = next;
  }

  lastIndex(): number {
    this.usable();
    return this.offsets.length;
  }

  termAt(index: number): number | undefined {
    this.usable();
    if (index === 0) return 0;
    return this.terms[index - 1];
  }

  entries(from: number, toExclusive: number): LogEntry<C>[] {
    const fd = this.usable();
    const first = Math.max(1, from);
    const end = Math.min(this.offsets.length + 1, toExclusive);
    if (first >= end) return [];
    const start = this.offsets[first - 1];
    const stop = end <= this.offsets.length ? this.offsets[end - 1] : this.size;
    const buf = Buffer.allocUnsafe(stop - start);
    const n = readFully(fd, buf, 0, buf.length, start);
    if (n !== buf.length) throw new Error(`raft storage: ${this.logPath} is shorter than expected (read ${n} of ${buf.length} bytes at ${start})`);
    const out: LogEntry<C>[] = [];
    for (let index = first; index < end; index++) {
      const at = this.offsets[index - 1] - start;
      const problem = frameProblem(buf, at, buf.length - at);
      if (problem) throw new Error(`raft storage: ${this.logPath} at byte ${start + at} (entry ${index}) is corrupt: ${problem}`);
      const p = this.parse(buf, at, start + at, index, this.terms[index - 1]);
      out.push(p.kind === 'noop' ? { index, term: p.term, kind: 'noop' } : { index, term: p.term, kind: 'command', command: this.codec.decode(p.command) });
    }
    return out;
  }

  append(entries: readonly LogEntry<C>[]): void {
    const fd = this.usable();
    if (entries.length === 0) return;
    // Validate and encode everything first: a refused batch writes nothing.
    const frames: Buffer[] = [];
    let expected = this.offsets.length + 1;
    let prevTerm = this.terms.length > 0 ? this.terms[this.terms.length - 1] : 0;
    for (const e of entries) {
      if (e.index !== expected) throw new Error(`raft storage: append expected index ${expected}, got ${e.index}`);
      if (!Number.isSafeInteger(e.term) || e.term < prevTerm || e.term < 1) {
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
      const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
      header.writeUInt32BE(json.length, 0);
      header.writeUInt32BE(crc32c(json), 4);
      frames.push(header, json);
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
    if (!Number.isSafeInteger(from) || from < 1) throw new Error(`raft storage: truncateFrom(${from})`);
    if (from > this.offsets.length) return;
    const position = this.offsets[from - 1];
    this.guard(() => {
      fs.ftruncateSync(fd, position);
      fs.fdatasyncSync(fd);
    });
    this.offsets.length = from - 1;
    this.terms.length = from - 1;
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

  /** Loads the offset/term index; cuts the file at the first torn or corrupt frame. */
  private scan(log: (msg: string) => void): RaftLogRecovery | null {
    const fd = this.fd!;
    const fileSize = fs.fstatSync(fd).size;
    let buf = Buffer.allocUnsafe(Math.min(SCAN_BUFFER_BYTES, Math.max(fileSize, 1)));
    let bufStart = 0;
    let bufLen = 0;
    /** A view of file bytes [pos, pos + n), or null at EOF. */
    const view = (pos: number, n: number): Buffer | null => {
      if (pos < bufStart || pos + n > bufStart + bufLen) {
        if (n > buf.length) buf = Buffer.allocUnsafe(n);
        bufStart = pos;
        bufLen = readFully(fd, buf, 0, Math.min(buf.length, fileSize - pos), pos);
        if (n > bufLen) return null;
      }
      return buf.subarray(pos - bufStart, pos - bufStart + n);
    };

    let pos = 0;
    let problem: string | null = null;
    while (pos < fileSize) {
      const left = fileSize - pos;
      const header = left >= FRAME_HEADER_BYTES ? view(pos, FRAME_HEADER_BYTES) : null;
      if (!header) {
        problem = `torn frame header: ${left} bytes left`;
        break;
      }
      const length = header.readUInt32BE(0);
      if (length === 0 || length > MAX_FRAME_PAYLOAD_BYTES) {
        problem = `implausible frame length ${length}`;
        break;
      }
      const frame = length <= left - FRAME_HEADER_BYTES ? view(pos, FRAME_HEADER_BYTES + length) : null;
      if (!frame) {
        problem = `torn frame: needs ${FRAME_HEADER_BYTES + length} bytes, ${left} left`;
        break;
      }
      problem = frameProblem(frame, 0, frame.length);
      if (problem) break;
      const index = this.offsets.length + 1;
      const prevTerm = this.terms.length > 0 ? this.terms[this.terms.length - 1] : 1;
      const p = this.parse(frame, 0, pos, index, undefined);
      if (p.term < prevTerm) throw new Error(`raft storage: ${this.logPath} at byte ${pos}: entry ${index} has term ${p.term}, below the previous entry's ${prevTerm}`);
      this.offsets.push(pos);
      this.terms.push(p.term);
      pos += frame.length;
    }
    this.size = pos;
    if (problem === null) return null;
    fs.ftruncateSync(fd, pos);
    fs.fdatasyncSync(fd);
    const recovery: RaftLogRecovery = { truncatedAt: pos, droppedBytes: fileSize - pos, reason: problem, lastIndex: this.offsets.length };
    log(`${this.logPath}: recovery truncated the log at byte ${pos}, dropping ${fileSize - pos} bytes (${problem}); last index now ${this.offsets.length}`);
    return recovery;
  }

  /** Parses a CRC-checked frame at buf[at]; a frame that is not the expected entry is an error (not a crash artifact). */
  private parse(buf: Buffer, at: number, filePos: number, index: number, term: number | undefined): Payload {
    const length = buf.readUInt32BE(at);
    const fail = (why: string): never => {
      throw new Error(`raft storage: ${this.logPath} at byte ${filePos}: ${why} (the frame's CRC is valid, so this is not a torn write; refusing to guess)`);
    };
    let v: unknown;
    try {
      v = JSON.parse(buf.toString('utf8', at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length));
    } catch (err) {
      return fail(`payload is not JSON: ${(err as Error).message}`);
    }
    const p = v as Record<string, unknown>;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('payload is not a log entry');
    if (!Number.isSafeInteger(p.index) || !Number.isSafeInteger(p.term) || (p.term as number) < 1) {
      return fail(`payload has a bad index or term (${String(p.index)}, ${String(p.term)})`);
    }
    if (p.kind !== 'noop' && !(p.kind === 'command' && 'command' in p)) return fail(`entry ${String(p.index)} has bad kind ${String(p.kind)}`);
    if (p.index !== index) return fail(`entry index ${String(p.index)}, expected ${index}`);
    if (term !== undefined && p.term !== term) return fail(`entry ${index} has term ${String(p.term)}, the index says ${term}`);
    return p as Payload;
  }
}

/** Structural and CRC check of the frame at buf[at] with `avail` bytes available; null if fine. */
function frameProblem(buf: Buffer, at: number, avail: number): string | null {
  if (avail < FRAME_HEADER_BYTES) return `torn frame header: ${avail} bytes`;
  const length = buf.readUInt32BE(at);
  if (length === 0 || length > MAX_FRAME_PAYLOAD_BYTES) return `implausible frame length ${length}`;
  if (FRAME_HEADER_BYTES + length > avail) return `torn frame: needs ${FRAME_HEADER_BYTES + length} bytes, ${avail} left`;
  const stored = buf.readUInt32BE(at + 4);
  const computed = crc32c(buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length));
  if (stored !== computed) return `CRC-32C mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`;
  return null;
}

function readHardState(file: string): HardState | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let v: { version?: unknown; currentTerm?: unknown; votedFor?: unknown };
  try {
    v = JSON.parse(text) as typeof v;
  } catch (err) {
    throw new Error(`raft storage: ${file} is not valid JSON (${(err as Error).message}); refusing to start with currentTerm 0`, {
      cause: err,
    });
  }
  const term = v?.currentTerm;
  const voted = v?.votedFor;
  if (v?.version !== 1 || typeof term !== 'number' || !Number.isSafeInteger(term) || term < 0 || !(voted === null || (typeof voted === 'number' && Number.isSafeInteger(voted)))) {
    throw new Error(`raft storage: ${file} does not hold a valid hard state: ${text.slice(0, 200)}`);
  }
  return { currentTerm: term, votedFor: voted };
}

function writeAll(fd: number, buf: Buffer, position: number): void {
  let written = 0;
  while (written < buf.length) written += fs.writeSync(fd, buf, written, buf.length - written, position + written);
}
