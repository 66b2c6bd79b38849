/** Small durable-file helpers for the batch transport and the outboxes: atomic writes, fsynced appends, whole writes. */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import path from 'node:path';

/** Writes `data` to `file` (created or truncated) and fsyncs it. */
export async function writeFileSynced(file: string, data: Buffer | string): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `file` atomically: a hidden .tmp beside it, fsync, rename, fsync the folder. */
export async function writeFileAtomic(file: string, data: Buffer | string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  await writeFileSynced(tmp, data);
  await rename(tmp, file);
  await syncDir(dir);
}

/** Appends `text` to `file` (created if missing) and fsyncs it. */
export async function appendDurably(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const fh = await open(file, 'a');
  try {
    await fh.appendFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Makes a rename or create in `dir` durable (a no-op where folders cannot be opened). */
export async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // some platforms cannot fsync a directory; the rename is still atomic
  } finally {
    await fh?.close();
  }
}

/** Writes all of `data` to the open file `fd` (a write() may take less than it was given). */
export function writeFullySync(fd: number, data: Buffer): void {
  for (let off = 0; off < data.length;) off += writeSync(fd, data, off, data.length - off);
}

/** syncDir, synchronously. */
export function syncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // some platforms cannot fsync a directory; the rename is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
