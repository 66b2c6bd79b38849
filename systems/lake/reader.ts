/**
 * Reading the lake back, in either layout, into canonical records. Every format is decoded and
 * every record validated against the landscape's data kinds (RecordKinds); what cannot be read is
 * reported (file, line, reason), never fatal: a folder of a kind the landscape does not declare too.
 * Temporary files of writers (.…, ….tmp) are skipped: they are not data yet.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeBatch, splitLines } from '../codecs/batch.ts';
import { badLine } from '../codecs/errors.ts';
import { DATA_FORMATS, FORMAT_EXTENSIONS, type DataFormat } from '../codecs/layouts.ts';
import type { RecordKind, RecordKinds } from '../model/kinds.ts';
import { toCanonical, type CanonicalRecord } from './canonical.ts';
import { HUB_DIR, isTempName, LEGACY_DIR, listDir, relativeTo } from './files.ts';

export type LakeLayout = 'legacy' | 'hub';

/** Largest lake file read, in bytes; a bigger one is reported bad. */
export const LAKE_FILE_BYTES_MAX = 512 * 1024 * 1024;

export interface LakeBad {
  /** The file, relative to the lake folder. */
  file: string;
  line: number;
  raw: string;
  reason: string;
}

/** Where a file sits in the lake. `system` and `format` are only known in the legacy layout. */
export interface LakeFileInfo {
  file: string;
  layout: LakeLayout;
  kind: string;
  date: string;
  system?: string;
  format?: DataFormat | 'jsonl';
}

export interface LakeVisitor {
  onFile?(info: LakeFileInfo): void;
  onRecord(record: CanonicalRecord, info: LakeFileInfo): void;
  onBad(bad: LakeBad, info: LakeFileInfo | null): void;
  onTempFile?(file: string): void;
}

const EXT_FORMAT = new Map<string, DataFormat>(DATA_FORMATS.map((f) => [FORMAT_EXTENSIONS[f], f]));

function readBounded(file: string): Buffer | string {
  const size = fs.statSync(file).size;
  if (size > LAKE_FILE_BYTES_MAX) return `file of ${size} bytes exceeds ${LAKE_FILE_BYTES_MAX}`;
  return fs.readFileSync(file);
}

/** Visits every file, record and problem of one layout; nothing is held in memory. */
export function visitLake(lakeDir: string, layout: LakeLayout, kinds: RecordKinds, v: LakeVisitor): void {
  const root = path.join(lakeDir, layout === 'legacy' ? LEGACY_DIR : HUB_DIR);
  const walk = (dir: string, depth: number, parts: string[]): void => {
    for (const e of listDir(dir)) {
      const full = path.join(dir, e.name);
      if (isTempName(e.name)) {
        v.onTempFile?.(relativeTo(lakeDir, full));
        continue;
      }
      if (e.isDirectory() && depth < (layout === 'legacy' ? 3 : 2)) walk(full, depth + 1, [...parts, e.name]);
      else if (e.isFile() && depth === (layout === 'legacy' ? 3 : 2)) readFile(full, parts, e.name);
      else v.onBad({ file: relativeTo(lakeDir, full), line: 0, raw: '', reason: `not where the ${layout} layout puts files` }, null);
    }
  };
  const readFile = (full: string, parts: string[], name: string): void => {
    const rel = relativeTo(lakeDir, full);
    const info: LakeFileInfo =
      layout === 'legacy'
        ? { file: rel, layout, system: parts[0], kind: parts[1], date: parts[2], format: EXT_FORMAT.get(path.extname(name).slice(1)) }
        : { file: rel, layout, kind: parts[0], date: parts[1].replace(/^date=/, ''), format: 'jsonl' };
    v.onFile?.(info);
    const bad = (line: number, raw: string, reason: string) => v.onBad({ file: rel, ...badLine(line, raw, reason) }, info);
    if (!kinds.has(info.kind)) return bad(0, '', `unknown data kind "${info.kind}"`);
    if (!info.format || (layout === 'hub' && !name.endsWith('.jsonl'))) return bad(0, '', `unknown file type "${name}"`);
    const data = readBounded(full);
    if (typeof data === 'string') return bad(0, '', data);
    const kind = kinds.get(info.kind);
    if (info.format !== 'jsonl') {
      const decoded = decodeBatch(kind, info.format, data);
      for (const r of decoded.records) v.onRecord(toCanonical(kind, r), info);
      for (const b of decoded.bad) v.onBad({ file: rel, ...b }, info);
      return;
    }
    decodeJsonLines(kind, data, (r) => v.onRecord(r, info), bad);
  };
  walk(root, 0, []);
}

/** JSON lines of one kind; a last line without its newline is still read if it is complete. */
function decodeJsonLines(
  kind: RecordKind,
  data: Buffer,
  onRecord: (r: CanonicalRecord) => void,
  bad: (line: number, raw: string, reason: string) => void,
): void {
  for (const { line, text, raw } of splitLines(data)) {
    if (text === null) {
      bad(line, raw, 'not valid UTF-8 or too long');
      continue;
    }
    if (text === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      bad(line, text, `not JSON: ${(e as Error).message}`);
      continue;
    }
    const v = kind.validate(value);
    if (v.ok) onRecord(toCanonical(kind, v.record));
    else bad(line, text, v.reason);
  }
}

export interface LakeContents {
  records: CanonicalRecord[];
  bad: LakeBad[];
  /** Data files read (temporary files excluded). */
  files: number;
  /** Temporary files skipped. */
  tempFiles: number;
}

/** Every record of one layout, canonical, with every problem found. */
export function readLake(lakeDir: string, layout: LakeLayout, kinds: RecordKinds): LakeContents {
  const out: LakeContents = { records: [], bad: [], files: 0, tempFiles: 0 };
  visitLake(lakeDir, layout, kinds, {
    onFile: () => void out.files++,
    onRecord: (r) => void out.records.push(r),
    onBad: (b) => void out.bad.push(b),
    onTempFile: () => void out.tempFiles++,
  });
  return out;
}
