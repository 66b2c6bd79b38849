// On-disk formats of FileRaftStorage (see file-storage.ts for the layout and the recovery rules): log frames, the
// hard state and the snapshot file, and the atomic replace used for the two JSON files.
import fs from 'node:fs';
import { crc32c } from '@node-rs/crc32';
import type { HardState, RaftSnapshot } from './types.ts';
import { readFully } from '../../log/batch-scanner.ts';
import { fsyncDir } from '../../log/checkpoint.ts';

export const RAFT_LOG_FILE = 'raft.log';
export const HARD_STATE_FILE = 'hardstate.json';
export const SNAPSHOT_FILE = 'snapshot.json';
/** Frame header: payload length (u32 BE) and CRC-32C of the payload (u32 BE). */
export const FRAME_HEADER_BYTES = 8;
/** Absolute bound on a frame's payload: a larger length field on disk is corruption (never allocated). */
export const MAX_FRAME_PAYLOAD_BYTES = 64 * 1024 * 1024;

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

export type Payload = { index: number; term: number; kind: 'noop' } | { index: number; term: number; kind: 'command'; command: unknown };

/** One frame: header, then the payload (UTF-8 JSON of the entry). */
export function encodeFrame(json: Buffer): Buffer[] {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(json.length, 0);
  header.writeUInt32BE(crc32c(json), 4);
  return [header, json];
}

/** Structural and CRC check of the frame at buf[at] with `avail` bytes available; null if fine. */
export function frameProblem(buf: Buffer, at: number, avail: number): string | null {
  if (avail < FRAME_HEADER_BYTES) return `torn frame header: ${avail} bytes`;
  const length = buf.readUInt32BE(at);
  if (length === 0 || length > MAX_FRAME_PAYLOAD_BYTES) return `implausible frame length ${length}`;
  if (FRAME_HEADER_BYTES + length > avail) return `torn frame: needs ${FRAME_HEADER_BYTES + length} bytes, ${avail} left`;
  const stored = buf.readUInt32BE(at + 4);
  const computed = crc32c(buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length));
  if (stored !== computed) return `CRC-32C mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`;
  return null;
}

/**
 * Parses a CRC-checked frame at buf[at]; a frame that is not the expected entry is an error (not a crash artifact).
 * `index` undefined accepts any index (the first frame of a compacted log); `term` undefined accepts any term.
 */
export function parseFrame(buf: Buffer, at: number, where: string, index: number | undefined, term: number | undefined): Payload {
  const length = buf.readUInt32BE(at);
  const fail = (why: string): never => {
    throw new Error(`raft storage: ${where}: ${why} (the frame's CRC is valid, so this is not a torn write; refusing to guess)`);
  };
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8', at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length));
  } catch (err) {
    return fail(`payload is not JSON: ${(err as Error).message}`);
  }
  const p = v as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('payload is not a log entry');
  if (!Number.isSafeInteger(p.index) || (p.index as number) < 1 || !Number.isSafeInteger(p.term) || (p.term as number) < 1) {
    return fail(`payload has a bad index or term (${String(p.index)}, ${String(p.term)})`);
  }
  if (p.kind !== 'noop' && !(p.kind === 'command' && 'command' in p)) return fail(`entry ${String(p.index)} has bad kind ${String(p.kind)}`);
  if (index !== undefined && p.index !== index) return fail(`entry index ${String(p.index)}, expected ${index}`);
  if (term !== undefined && p.term !== term) return fail(`entry ${String(p.index)} has term ${String(p.term)}, the index says ${term}`);
  return p as Payload;
}

export interface LogScan {
  /** Index of the first frame (1 for an empty log; after a compaction, the entry after the snapshot). */
  readonly first: number;
  /** offsets[i] and terms[i]: byte offset and term of entry first + i. */
  readonly offsets: number[];
  readonly terms: number[];
  /** Bytes of valid frames from the start of the file. */
  readonly validBytes: number;
  readonly fileSize: number;
  /** Why the frames after validBytes are torn or corrupt; null if the whole file is valid. */
  readonly problem: string | null;
}

const SCAN_BUFFER_BYTES = 1024 * 1024;

/**
 * Reads the log file's frames from the start up to the first torn or corrupt one (which it reports, the caller cuts).
 * A frame with a valid CRC but the wrong content (index not contiguous, term going backwards) throws.
 */
export function scanLog(fd: number, file: string): LogScan {
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

  let first = 1;
  const offsets: number[] = [];
  const terms: number[] = [];
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
    const count = offsets.length;
    // The first frame sets the log's first index (after a compaction it is not 1); the rest must follow it.
    const p = parseFrame(frame, 0, `${file} at byte ${pos}`, count === 0 ? undefined : first + count, undefined);
    if (count === 0) first = p.index;
    const prevTerm = count > 0 ? terms[count - 1] : 1;
    if (p.term < prevTerm) throw new Error(`raft storage: ${file} at byte ${pos}: entry ${p.index} has term ${p.term}, below the previous entry's ${prevTerm}`);
    offsets.push(pos);
    terms.push(p.term);
    pos += frame.length;
  }
  return { first, offsets, terms, validBytes: pos, fileSize, problem };
}

/** Reads a whole small file, or null if it does not exist. */
function readIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export function readHardState(file: string): HardState | null {
  const text = readIfExists(file);
  if (text === null) return null;
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

/** CRC-32C over index, term and data together, so that no field can rot unnoticed. */
function snapshotCrc(index: number, term: number, data: string): number {
  return crc32c(Buffer.from(JSON.stringify([index, term, data]), 'utf8'));
}

export function encodeSnapshot(s: RaftSnapshot): Buffer {
  return Buffer.from(JSON.stringify({ version: 1, index: s.index, term: s.term, crc: snapshotCrc(s.index, s.term, s.data), data: s.data }), 'utf8');
}

/**
 * The snapshot file, or null if there is none. It is replaced atomically, so it is never torn: anything unreadable
 * is corruption, and since the snapshot is the only copy of the compacted entries, open refuses rather than guess.
 */
export function readSnapshot(file: string): RaftSnapshot | null {
  const text = readIfExists(file);
  if (text === null) return null;
  let v: { version?: unknown; index?: unknown; term?: unknown; crc?: unknown; data?: unknown };
  try {
    v = JSON.parse(text) as typeof v;
  } catch (err) {
    throw new Error(`raft storage: ${file} is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const { index, term, crc, data } = v ?? {};
  if (v?.version !== 1 || !Number.isSafeInteger(index) || (index as number) < 1 || !Number.isSafeInteger(term) || (term as number) < 1 || typeof data !== 'string') {
    throw new Error(`raft storage: ${file} does not hold a valid snapshot: ${text.slice(0, 200)}`);
  }
  const computed = snapshotCrc(index as number, term as number, data);
  if (crc !== computed) throw new Error(`raft storage: ${file} is corrupt: CRC-32C mismatch (stored ${String(crc)}, computed ${computed})`);
  return { index: index as number, term: term as number, data };
}

/** Replaces `file` atomically and durably: write file.tmp, fsync it, rename it over `file`, fsync the directory. */
export function replaceFile(dir: string, file: string, data: Buffer): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    writeAll(fd, data, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(dir);
}

export function writeAll(fd: number, buf: Buffer, position: number): void {
  let written = 0;
  while (written < buf.length) written += fs.writeSync(fd, buf, written, buf.length - written, position + written);
}
