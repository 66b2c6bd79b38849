/**
 * A bounded memory of record ids already handled, so a consumer can stay idempotent under the
 * hub's at-least-once delivery (a crash between handling and the offset commit re-delivers
 * records; a producer that hands a record over again publishes it twice). It forgets the oldest
 * ids beyond `capacity`, so a duplicate older than that window gets through: the oracle still
 * counts it. The lake sink uses it with delivery=idempotent, rebuilt at start from what the lake
 * holds (recentLakeIds), so the memory survives a kill -9 without a file of its own.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RecordKinds } from '../model/kinds.ts';
import { HUB_DIR, isTempName, listDir } from '../lake/files.ts';
import { LAKE_FILE_BYTES_MAX } from '../lake/reader.ts';

export class BoundedDedupe {
  private readonly seen = new Map<string, true>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`BoundedDedupe capacity must be a positive integer, got ${capacity}`);
  }

  has(id: string): boolean {
    return this.seen.has(id);
  }

  /** Remembers `id` as the newest; drops the oldest when over capacity. */
  add(id: string): void {
    this.seen.delete(id);
    this.seen.set(id, true);
    if (this.seen.size > this.capacity) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
  }

  get size(): number {
    return this.seen.size;
  }
}

/**
 * The identity of a record for de-duplication over the landscape's data kinds: the kind and the
 * record's identity within it (its kind's identity fields, see RecordKind.idOf). undefined for a
 * kind the landscape does not declare or a value that is not a record (then it is never treated
 * as a duplicate).
 */
export function dedupeIdFor(kinds: RecordKinds): (kind: string, record: unknown) => string | undefined {
  return (kind, record) => {
    if (!kinds.has(kind) || record === null || typeof record !== 'object') return undefined;
    return `${kind}\u0000${kinds.idOf(kind, record)}`;
  };
}

const PART_NAME = /^part-\d+\.jsonl$/;

/**
 * The dedupe ids (dedupeIdFor) of the records in the newest sealed parts of the hub lake, oldest
 * first: whole parts, newest first by modification time (a part is written up to its seal), until
 * at least `capacity` ids are collected. A folder is the data kind of its records (the sink's
 * default); lines that are not records of it are skipped (the lake reader reports them), and so
 * are temporary parts (not in the lake yet). Reads at most about `capacity` lines plus one part.
 */
export function recentLakeIds(lakeDir: string, kinds: RecordKinds, capacity: number): string[] {
  const idOf = dedupeIdFor(kinds);
  const parts: { file: string; kind: string; mtimeMs: number }[] = [];
  const root = path.join(lakeDir, HUB_DIR);
  for (const folder of listDir(root)) {
    if (!folder.isDirectory() || isTempName(folder.name) || !kinds.has(folder.name)) continue;
    for (const date of listDir(path.join(root, folder.name))) {
      if (!date.isDirectory() || isTempName(date.name)) continue;
      for (const f of listDir(path.join(root, folder.name, date.name))) {
        if (!f.isFile() || !PART_NAME.test(f.name)) continue;
        const file = path.join(root, folder.name, date.name, f.name);
        parts.push({ file, kind: folder.name, mtimeMs: fs.statSync(file).mtimeMs });
      }
    }
  }
  parts.sort((a, b) => b.mtimeMs - a.mtimeMs || (a.file < b.file ? 1 : a.file > b.file ? -1 : 0));
  const newestFirst: string[][] = [];
  let collected = 0;
  for (const part of parts) {
    if (collected >= capacity) break;
    if (fs.statSync(part.file).size > LAKE_FILE_BYTES_MAX) continue; // the lake reader reports it as bad
    const ids: string[] = [];
    for (const line of fs.readFileSync(part.file, 'utf8').split('\n')) {
      if (line === '') continue;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        continue;
      }
      const id = idOf(part.kind, record);
      if (id !== undefined) ids.push(id);
    }
    newestFirst.push(ids);
    collected += ids.length;
  }
  return newestFirst.reverse().flat();
}
