// State the broker cannot read is moved aside, never deleted: a bad file becomes `<file>.corrupt-<timestamp>` next to
// where it was (so an operator finds it with `ls`), and bytes cut off a log become a new file of that name. The broker
// then starts from what it could read and says so in its log. A partition's segments are the exception: what recovery
// cuts off them goes to the partition's `quarantine/` folder (the same names), so that nothing that scans the
// partition directory for segments ever sees it.
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir } from './checkpoint.ts';
import { storage, writeAll } from './storage.ts';

/** A name beside `file` that does not exist yet: `<file>.corrupt-<UTC timestamp>[-n]`. */
export function quarantineName(file: string, nowMs = Date.now()): string {
  const stamp = new Date(nowMs).toISOString().replace(/[:.]/g, '-');
  const base = `${file}.corrupt-${stamp}`;
  let name = base;
  for (let n = 1; fs.existsSync(name); n++) name = `${base}-${n}`;
  return name;
}

/** Renames `file` (a file or a directory) to its quarantine name and returns that name. Throws if it cannot. */
export function quarantineFile(file: string): string {
  const target = quarantineName(file);
  storage().rename(file, target);
  fsyncDir(path.dirname(file));
  return target;
}

/** Writes `bytes` (cut off `file`) to a new quarantine file beside it, durably, and returns its name. */
export function quarantineBytes(file: string, bytes: Buffer): string {
  const target = quarantineName(file);
  const s = storage();
  const fd = s.open(target, 'wx');
  try {
    writeAll(fd, bytes, 0);
    s.fsync(fd);
  } finally {
    s.close(fd);
  }
  fsyncDir(path.dirname(file));
  return target;
}

/** The quarantine folder of a partition directory. */
export const QUARANTINE_DIR = 'quarantine';

function ensureQuarantineDir(intoDir: string): void {
  if (!fs.existsSync(intoDir)) {
    storage().mkdir(intoDir);
    fsyncDir(path.dirname(intoDir));
  }
}

/** Chunk size when copying a cut range (a segment may be up to 2 GiB: it is never read whole). */
const COPY_CHUNK_BYTES = 1 << 20;

/**
 * Copies bytes [from, to) of `file` durably into `intoDir` as `<name>.corrupt-<timestamp>` and returns its path; the
 * caller then cuts them off. Copied in 1 MiB chunks so memory does not depend on what is cut.
 */
export function quarantineRange(file: string, from: number, to: number, intoDir: string): string {
  ensureQuarantineDir(intoDir);
  const target = quarantineName(path.join(intoDir, path.basename(file)));
  const s = storage();
  const src = fs.openSync(file, 'r'); // reads are not routed (storage.ts)
  try {
    const dst = s.open(target, 'wx');
    try {
      const buf = Buffer.allocUnsafe(Math.min(COPY_CHUNK_BYTES, Math.max(1, to - from)));
      for (let pos = from; pos < to; ) {
        const n = fs.readSync(src, buf, 0, Math.min(buf.length, to - pos), pos);
        if (n === 0) break;
        writeAll(dst, buf.subarray(0, n), pos - from);
        pos += n;
      }
      s.fsync(dst);
    } finally {
      s.close(dst);
    }
  } finally {
    fs.closeSync(src);
  }
  fsyncDir(intoDir);
  return target;
}

/** Moves `file` into `intoDir` under its quarantine name and returns that path. Throws if it cannot. */
export function quarantineInto(file: string, intoDir: string): string {
  ensureQuarantineDir(intoDir);
  const target = quarantineName(path.join(intoDir, path.basename(file)));
  storage().rename(file, target);
  fsyncDir(intoDir);
  fsyncDir(path.dirname(file));
  return target;
}

/** The message of an error, or its string form. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
