/**
 * The lake sink's own record of what is in the lake, so a crash never makes it write a record
 * twice. Lines in the lake stay bare records (what the lake reader validates), so offsets live in
 * a checkpoint file beside the lake's folders: <lakeDir>/.hub-sink-offsets.json, holding
 *   - offsets: the highest offset per topic partition whose record is in a sealed part (or in the
 *     quarantine), and
 *   - parts: the highest sealed part number per <folder>/date=… directory at that moment.
 * It is saved after every lake flush and before the Kafka offset commit, atomically (temporary
 * file, fsync, rename). After a crash, every re-delivered record at or below `offsets` is in the
 * lake. A part sealed after the checkpoint (the crash came between the seal and the save, or the
 * writer rolled a part on its own) holds records above `offsets`: `load()` reads those parts back
 * as "unconfirmed" lines, and the sink skips one re-delivered record per identical line. Lines
 * still unmatched when the next checkpoint is saved are kept in it (`pending`), since that
 * checkpoint counts their parts as seen: a second crash before the re-delivery reached them must
 * not turn them into records to write again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HUB_DIR, isTempName, listDir } from '../lake/files.ts';

/** The highest offset in the lake per `topic/partition`. */
export type LakeHighWater = ReadonlyMap<string, bigint>;

export const partitionKey = (topic: string, partition: number): string => `${topic}/${partition}`;

/** The checkpoint's file name inside the lake folder (outside hub/, so lake readers never see it). */
export const LAKE_SINK_CHECKPOINT = '.hub-sink-offsets.json';

/** Largest checkpoint or unconfirmed part read; a bigger one is refused rather than parsed. */
const FILE_BYTES_MAX = 256 * 1024 * 1024;
const PART_NAME = /^part-(\d+)\.jsonl$/;

export interface LakeSinkState {
  highWater: Map<string, bigint>;
  /** Lines of parts sealed after the checkpoint (and its pending lines): folder → JSON line → occurrences. */
  unconfirmed: UnconfirmedLines;
}

interface CheckpointFile {
  version: 1;
  savedAtMs: number;
  offsets: Record<string, string>;
  parts: Record<string, number>;
  /** Unconfirmed lines not yet matched by a re-delivered record: folder → [line, count][]. */
  pending?: Record<string, [string, number][]>;
}

/** folder → JSON line → occurrences. */
export type UnconfirmedLines = Map<string, Map<string, number>>;

export class LakeOffsetCheckpoint {
  readonly file: string;

  constructor(readonly lakeDir: string) {
    this.file = path.join(lakeDir, LAKE_SINK_CHECKPOINT);
  }

  /** The saved offsets and the unconfirmed lines; empty on a fresh lake. Throws on a corrupt checkpoint. */
  load(): LakeSinkState {
    const saved = this.read();
    const highWater = new Map<string, bigint>();
    for (const [key, offset] of Object.entries(saved?.offsets ?? {})) {
      if (!/^-?\d+$/.test(offset)) throw new Error(`lake sink checkpoint ${this.file}: bad offset ${JSON.stringify(offset)} for ${key}`);
      highWater.set(key, BigInt(offset));
    }
    const unconfirmed: UnconfirmedLines = new Map();
    for (const [folder, lines] of Object.entries(saved?.pending ?? {})) {
      const m = unconfirmed.get(folder) ?? new Map<string, number>();
      for (const [line, count] of lines) m.set(line, (m.get(line) ?? 0) + count);
      unconfirmed.set(folder, m);
    }
    for (const part of this.sealedParts()) {
      if (part.partNo <= (saved?.parts[part.dir] ?? -1)) continue;
      const size = fs.statSync(part.file).size;
      if (size > FILE_BYTES_MAX) throw new Error(`lake part ${part.file} is ${size} bytes (max ${FILE_BYTES_MAX})`);
      const lines = unconfirmed.get(part.folder) ?? new Map<string, number>();
      for (const line of fs.readFileSync(part.file, 'utf8').split('\n')) {
        if (line !== '') lines.set(line, (lines.get(line) ?? 0) + 1);
      }
      unconfirmed.set(part.folder, lines);
    }
    return { highWater, unconfirmed };
  }

  /**
   * Replaces the checkpoint atomically and durably. Call right after the lake flush, with nothing
   * appended in between (the sealed parts found now are taken as covered by `highWater`).
   */
  save(highWater: LakeHighWater, unconfirmed: ReadonlyMap<string, ReadonlyMap<string, number>> = new Map()): void {
    const offsets: Record<string, string> = {};
    for (const [key, offset] of [...highWater].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) offsets[key] = offset.toString();
    const parts: Record<string, number> = {};
    for (const p of this.sealedParts()) parts[p.dir] = Math.max(parts[p.dir] ?? -1, p.partNo);
    const pending: Record<string, [string, number][]> = {};
    for (const [folder, lines] of unconfirmed) if (lines.size > 0) pending[folder] = [...lines];
    const body: CheckpointFile = { version: 1, savedAtMs: Date.now(), offsets, parts, pending };
    fs.mkdirSync(this.lakeDir, { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      fs.writeSync(fd, JSON.stringify(body, null, 1));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    const dfd = fs.openSync(this.lakeDir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  }

  private read(): CheckpointFile | null {
    let text: string;
    try {
      const size = fs.statSync(this.file).size;
      if (size > FILE_BYTES_MAX) throw new Error(`lake sink checkpoint ${this.file} is ${size} bytes (max ${FILE_BYTES_MAX})`);
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    const parsed = JSON.parse(text) as Partial<CheckpointFile>;
    if (parsed.version !== 1 || typeof parsed.offsets !== 'object' || typeof parsed.parts !== 'object' || !parsed.offsets || !parsed.parts) {
      throw new Error(`lake sink checkpoint ${this.file} is not a version 1 checkpoint`);
    }
    return parsed as CheckpointFile;
  }

  /** Every sealed part under hub/: <folder>/<date dir>/part-<n>.jsonl. */
  private sealedParts(): { folder: string; dir: string; partNo: number; file: string }[] {
    const out: { folder: string; dir: string; partNo: number; file: string }[] = [];
    const root = path.join(this.lakeDir, HUB_DIR);
    for (const folder of listDir(root)) {
      if (!folder.isDirectory() || isTempName(folder.name)) continue;
      for (const date of listDir(path.join(root, folder.name))) {
        if (!date.isDirectory() || isTempName(date.name)) continue;
        for (const f of listDir(path.join(root, folder.name, date.name))) {
          const m = PART_NAME.exec(f.name);
          if (!f.isFile() || !m) continue;
          out.push({ folder: folder.name, dir: `${folder.name}/${date.name}`, partNo: Number(m[1]), file: path.join(root, folder.name, date.name, f.name) });
        }
      }
    }
    return out;
  }
}
