/** Small durable-file helpers for the batch transport: atomic writes and fsynced appends. */
import { mkdir, open, rename } from 'node:fs/promises';
import path from 'node:path';

/** Writes `data` to `file` atomically: a hidden .tmp beside it, fsync, rename, fsync the folder. */
export async function writeFileAtomic(file: string, data: Buffer | string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
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
