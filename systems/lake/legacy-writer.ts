/**
 * The legacy layout's lake: every system drops its own batch export, in its own format, as
 * <lakeDir>/legacy/<systemId>/<kind>/<yyyy-mm-dd>/<seq>.<ext>. Each file is written whole under a
 * temporary name, fsynced, then linked into place (never overwriting another export) and the
 * directory fsynced: a reader sees a complete file or none. An export from a durable outbox names
 * its file itself (by the records it holds) and renames it into place instead: a redo after a
 * kill replaces the file it may have written before with the same records, never adds a copy.
 */
import fs from 'node:fs';
import path from 'node:path';
import { encodeBatch } from '../codecs/batch.ts';
import { FORMAT_EXTENSIONS, type DataFormat } from '../codecs/layouts.ts';
import type { RecordKind } from '../model/kinds.ts';
import { fsyncDir, LEGACY_DIR, listDir, SYSTEM_ID_PATTERN, TEMP_SUFFIX, utcDate, writeFileSynced } from './files.ts';
import { measureCpu } from '../process/cpu-meter.ts';

export const SEQ_DIGITS = 6;
/** Attempts to claim a sequence number when other writers race for the same directory. */
const CLAIM_ATTEMPTS_MAX = 100;

export interface LegacyExportOptions {
  /** The export's time, which names its date folder; default now. */
  atMs?: number;
  /**
   * The file's name without extension, instead of the next sequence number: a file of that name
   * already there is replaced (atomically), so writing the same records again leaves one copy.
   * [A-Za-z0-9._-], not starting with '.'.
   */
  name?: string;
}

const FILE_STEM_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

export interface LegacyExportResult {
  path: string;
  /** The file's sequence number in its folder (0 for a named file). */
  seq: number;
  bytes: number;
  records: number;
}

/** The next free sequence number in a date folder (1 for a new folder). */
function nextSeq(dir: string): number {
  let max = 0;
  for (const e of listDir(dir)) {
    const m = /^(\d+)\.[a-z]+$/.exec(e.name);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}

/**
 * Writes one batch export of `systemId`'s `kind` records in `format`. Returns null (and writes
 * nothing) for an empty batch. Throws CodecError when a record is invalid: nothing is written then.
 */
export function writeLegacyExport(
  lakeDir: string,
  systemId: string,
  kind: RecordKind,
  format: DataFormat,
  records: readonly Record<string, unknown>[],
  opts: LegacyExportOptions = {},
): LegacyExportResult | null {
  if (!SYSTEM_ID_PATTERN.test(systemId)) throw new RangeError(`not a system id: ${JSON.stringify(systemId)}`);
  if (opts.name !== undefined && (!FILE_STEM_PATTERN.test(opts.name) || opts.name.endsWith(TEMP_SUFFIX))) throw new RangeError(`not a lake file name: ${JSON.stringify(opts.name)}`);
  if (records.length === 0) return null;
  // Nested in the exporter's lakeExport section (lake-exporter.ts), counted apart as serialization.
  const data = measureCpu('serialization', () => encodeBatch(kind, format, records));
  const dir = path.join(lakeDir, LEGACY_DIR, systemId, kind.id, utcDate(opts.atMs ?? Date.now()));
  fs.mkdirSync(dir, { recursive: true });
  const ext = FORMAT_EXTENSIONS[format];
  const tmp = path.join(dir, `.export-${process.pid}-${Date.now()}${TEMP_SUFFIX}`);
  writeFileSynced(tmp, data);
  try {
    if (opts.name !== undefined) {
      const final = path.join(dir, `${opts.name}.${ext}`);
      fs.renameSync(tmp, final); // replaces a file of the same records written before a kill
      fsyncDir(dir);
      return { path: final, seq: 0, bytes: data.length, records: records.length };
    }
    let seq = nextSeq(dir);
    for (let attempt = 0; ; attempt++, seq++) {
      const final = path.join(dir, `${String(seq).padStart(SEQ_DIGITS, '0')}.${ext}`);
      try {
        fs.linkSync(tmp, final); // fails with EEXIST instead of replacing a file another writer claimed
        fsyncDir(dir);
        return { path: final, seq, bytes: data.length, records: records.length };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= CLAIM_ATTEMPTS_MAX) throw e;
      }
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
