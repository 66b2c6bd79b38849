// State the broker cannot read is moved aside, never deleted: a bad file becomes `<file>.corrupt-<timestamp>` next to
// where it was (so an operator finds it with `ls`), and bytes cut off a log become a new file of that name. The broker
// then starts from what it could read and says so in its log.
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir } from './checkpoint.ts';

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
  fs.renameSync(file, target);
  fsyncDir(path.dirname(file));
  return target;
}

/** Writes `bytes` (cut off `file`) to a new quarantine file beside it, durably, and returns its name. */
export function quarantineBytes(file: string, bytes: Buffer): string {
  const target = quarantineName(file);
  const fd = fs.openSync(target, 'wx');
  try {
    for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fsyncDir(path.dirname(file));
  return target;
}

/** The message of an error, or its string form. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
