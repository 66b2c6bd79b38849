// The file operations that decide what survives a power cut, behind one small interface: opening (creating,
// truncating), writing, fsync, truncation, closing, renames, deletes, directory creation and directory fsync. The
// partition log (segment.ts, log-store.ts, checkpoint.ts) and the committed-offsets log (group/file-offset-store.ts)
// make every such call through `storage()`, so a test can substitute a simulated disk that records what was fsynced
// and, at a simulated power cut, keeps only that (test/log/sim-disk.ts).
//
// Reads are not routed: they do not change what is durable, and the descriptors handed out here are real ones, so
// reading code (batch scanning, recovery) uses node:fs directly on them.
//
// The default is node:fs itself: the indirection is one extra function call per operation, next to a system call.
import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface Storage {
  /** open(2), flags and mode as for fs.openSync. Returns a real file descriptor. */
  open(file: string, flags: number | string, mode?: number): number;
  /** Writes at `position`, or at the descriptor's current position when null. Returns the bytes written. */
  write(fd: number, buf: Buffer, offset: number, length: number, position: number | null): number;
  /** fsync(2): data and metadata of the file (not its directory entry: see fsyncDir). */
  fsync(fd: number): void;
  /** fdatasync(2): data and the metadata needed to read it back (size), not e.g. mtime. */
  fdatasync(fd: number): void;
  ftruncate(fd: number, length: number): void;
  close(fd: number): void;
  /** rename(2): atomic, but durable only once the directory is fsynced. */
  rename(from: string, to: string): void;
  /** Deletes a file; a missing one is fine. Durable only once the directory is fsynced. */
  unlink(file: string): void;
  /** mkdir -p. */
  mkdir(dir: string): void;
  /** fsync of a directory, so that creates, renames and deletes in it survive a power cut. */
  fsyncDir(dir: string): void;
}

/** node:fs. Directory fsync is best effort: some platforms refuse it (renames there are still atomic). */
export const NODE_STORAGE: Storage = {
  open: (file, flags, mode) => fs.openSync(file, flags, mode),
  write: (fd, buf, offset, length, position) => fs.writeSync(fd, buf, offset, length, position),
  fsync: (fd) => fs.fsyncSync(fd),
  fdatasync: (fd) => fs.fdatasyncSync(fd),
  ftruncate: (fd, length) => fs.ftruncateSync(fd, length),
  close: (fd) => fs.closeSync(fd),
  rename: (from, to) => fs.renameSync(from, to),
  unlink: (file) => fs.rmSync(file, { force: true }),
  mkdir: (dir) => void fs.mkdirSync(dir, { recursive: true }),
  fsyncDir: (dir) => {
    let fd: number | null = null;
    try {
      fd = fs.openSync(dir, 'r');
      fs.fsyncSync(fd);
    } catch {
      // not supported on this platform
    } finally {
      if (fd !== null) fs.closeSync(fd);
    }
  },
};

let current: Storage = NODE_STORAGE;

/** The storage every log and offsets store of this process uses (node:fs unless a test substituted one). */
export function storage(): Storage {
  return current;
}

/**
 * Substitutes the process-wide storage and returns the previous one (tests: a simulated disk). Logs opened before keep
 * descriptors from the old one, so substitute before opening and restore after closing or abandoning them.
 */
export function setStorage(s: Storage): Storage {
  const prev = current;
  current = s;
  return prev;
}

/** Writes all of `buf` at `position` (positional writes may be short). */
export function writeAll(fd: number, buf: Buffer, position: number): void {
  const s = current;
  for (let done = 0; done < buf.length; ) done += s.write(fd, buf, done, buf.length - done, position + done);
}

/** Replaces `file` with `data` (not atomically: for files whose readers validate them), fsynced when `sync`. */
export function writeWholeFile(file: string, data: Buffer, sync: boolean): void {
  const s = current;
  const fd = s.open(file, 'w', 0o644);
  try {
    writeAll(fd, data, 0);
    if (sync) s.fsync(fd);
  } finally {
    s.close(fd);
  }
}

/**
 * Replaces `file` atomically and durably: write `file.tmp`, fsync it, rename it over `file`, fsync the directory
 * (without the last step a power cut can undo the rename, bringing back the old version). A crash leaves the old file
 * or the new one, never a torn one. `mode` applies when the file is new; `createDir` makes its directory first. The one
 * way the broker replaces a state file (partition metadata, topics, producer ids, credentials, ACLs).
 */
export function writeFileAtomic(file: string, data: string | Buffer, o: { mode?: number; createDir?: boolean } = {}): void {
  const s = current;
  const dir = path.dirname(file);
  if (o.createDir) s.mkdir(dir);
  const tmp = `${file}.tmp`;
  const fd = s.open(tmp, 'w', o.mode ?? 0o644);
  try {
    writeAll(fd, typeof data === 'string' ? Buffer.from(data) : data, 0);
    s.fsync(fd);
  } finally {
    s.close(fd);
  }
  s.rename(tmp, file);
  s.fsyncDir(dir);
}

/** The text of a state file, or null when there is none yet; any other read error throws. */
export async function readTextIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Renames a state file aside (`<file>.imported` and the like); a file that is not there is fine. */
export function renameIfExists(from: string, to: string): void {
  try {
    current.rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
