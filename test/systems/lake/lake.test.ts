import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DataFormat } from '../../../systems/codecs/index.ts';
import type { AnyRecord, DataKind } from '../../../systems/domain/index.ts';
import {
  canonicalJson,
  canonicalSet,
  formatLakeSummary,
  HubLakeWriter,
  inspectLake,
  quarantine,
  quarantineCounts,
  readLake,
  readQuarantine,
  writeLegacyExport,
} from '../../../systems/lake/index.ts';
import { generateOrders } from '../../../systems/orders/index.ts';
import { expectedOutcome } from '../../../systems/oracle/index.ts';

/** Each system's own kind and lake export format (scenarios/topologies/shop.yaml). */
const EXPORTS: [system: string, kind: DataKind, format: DataFormat][] = [
  ['A', 'order', 'json'],
  ['B', 'payment', 'json'],
  ['C', 'reservation', 'csv'],
  ['D', 'shipment', 'xml'],
  ['E', 'customer', 'csv'],
  ['F', 'invoice', 'csv'],
  ['G', 'insight', 'json'],
  ['H', 'notification', 'json'],
  ['I', 'risk-score', 'xml'],
];

const orders = generateOrders({ seed: 11, count: 120 });
const expected = expectedOutcome(orders);
const createdAt = new Map(orders.map((o) => [o.orderId, o.createdAtMs]));
const DAY_MS = 86_400_000;

let lakeDir: string;
beforeEach(() => {
  lakeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'untangle-lake-'));
});
afterEach(() => {
  fs.rmSync(lakeDir, { recursive: true, force: true });
});

function recordsOf(kind: DataKind): AnyRecord[] {
  return [...(expected.byKind.get(kind)?.values() ?? [])].map((c) => c.body);
}

function writeLegacy(dir: string): void {
  for (const [system, kind, format] of EXPORTS) {
    const records = recordsOf(kind);
    const half = Math.floor(records.length / 2);
    // two exports on two days
    writeLegacyExport(dir, system, kind, format, records.slice(0, half) as never, { atMs: Date.UTC(2024, 0, 1, 12) });
    writeLegacyExport(dir, system, kind, format, records.slice(half) as never, { atMs: Date.UTC(2024, 0, 2, 12) });
  }
}

function writeHub(dir: string, opts: { partBytesMax?: number; openPartsMax?: number } = {}): HubLakeWriter {
  const w = new HubLakeWriter({ lakeDir: dir, bufferBytesMax: 4096, ...opts });
  for (const c of expected.records) w.append(c.kind, c.body, createdAt.get(c.orderId)! + (c.orderId.endsWith('7') ? DAY_MS : 0));
  return w;
}

describe('the lake: both layouts read back to the same canonical set', () => {
  it('legacy (9 systems, mixed formats) and hub give equal canonical sets, equal to the expectation', () => {
    writeLegacy(lakeDir);
    const w = writeHub(lakeDir, { partBytesMax: 8 * 1024 });
    w.close();
    const legacy = readLake(lakeDir, 'legacy');
    const hub = readLake(lakeDir, 'hub');
    expect(legacy.bad).toEqual([]);
    expect(hub.bad).toEqual([]);
    expect(legacy.files).toBe(18);
    expect(hub.files).toBeGreaterThan(9); // rolled by size
    expect(w.stats.partsSealed).toBe(hub.files);
    const a = canonicalSet(legacy.records);
    const b = canonicalSet(hub.records);
    expect(a.count).toBe(expected.records.length);
    expect(b.sha256).toBe(a.sha256);
    expect(b.lines).toEqual(a.lines);
    expect(canonicalSet(expected.records).sha256).toBe(a.sha256);
  });

  it('lays files out by system/kind/date and topic/date', () => {
    writeLegacy(lakeDir);
    writeHub(lakeDir).close();
    expect(fs.readdirSync(path.join(lakeDir, 'legacy', 'D', 'shipment', '2024-01-02'))).toEqual(['000001.xml']);
    expect(fs.readdirSync(path.join(lakeDir, 'hub', 'risk-score')).sort()).toEqual(['date=2024-01-01', 'date=2024-01-02']);
    const s = inspectLake(lakeDir);
    expect(s.legacy.bySystem).toMatchObject({ A: 120, G: 360, H: 360, I: 240 });
    expect(s.legacy.byFormat.xml).toBe(recordsOf('shipment').length + 240);
    expect(s.legacy.byDate['2024-01-01'] + s.legacy.byDate['2024-01-02']).toBe(expected.records.length);
    expect(s.hub.byKind).toEqual(s.legacy.byKind);
    expect(s.hub.byFormat).toEqual({ jsonl: expected.records.length });
    expect(formatLakeSummary(s)).toMatch(/legacy: 18 files, \d+ records, 0 bad/);
  });

  it('never overwrites a legacy export: sequence numbers go up', () => {
    const r1 = writeLegacyExport(lakeDir, 'B', 'payment', 'json', recordsOf('payment').slice(0, 3) as never, { atMs: 0 });
    const r2 = writeLegacyExport(lakeDir, 'B', 'payment', 'json', recordsOf('payment').slice(3, 5) as never, { atMs: 0 });
    expect([r1?.seq, r2?.seq]).toEqual([1, 2]);
    expect(path.basename(r2!.path)).toBe('000002.json');
    expect(writeLegacyExport(lakeDir, 'B', 'payment', 'json', [], { atMs: 0 })).toBeNull();
    expect(readLake(lakeDir, 'legacy').records).toHaveLength(5);
    expect(fs.readdirSync(path.dirname(r1!.path))).toEqual(['000001.json', '000002.json']);
    expect(() => writeLegacyExport(lakeDir, '../x', 'payment', 'json', [], {})).toThrow(RangeError);
  });
});

describe('atomic writes: readers never see temporary files', () => {
  it('hub parts appear only when sealed', () => {
    const w = new HubLakeWriter({ lakeDir, bufferBytesMax: 512 });
    for (const c of expected.records.slice(0, 200)) w.append(c.kind, c.body, 0);
    const before = readLake(lakeDir, 'hub');
    expect(before.records).toEqual([]);
    expect(before.files).toBe(0);
    expect(before.tempFiles).toBeGreaterThan(0); // buffers exceeded: data sits in .part-….jsonl.tmp
    expect(w.flush()).toBeGreaterThan(0);
    const after = readLake(lakeDir, 'hub');
    expect(after.records).toHaveLength(200);
    expect(after.tempFiles).toBe(0);
    // appending after a flush starts new parts; nothing is rewritten
    for (const c of expected.records.slice(200, 260)) w.append(c.kind, c.body, 0);
    w.close();
    expect(readLake(lakeDir, 'hub').records).toHaveLength(260);
    expect(() => w.append('order', {}, 0)).toThrow(/closed/);
  });

  it('leftover temporary files of a crashed writer are skipped, and not reused', () => {
    const dir = path.join(lakeDir, 'hub', 'order', 'date=2024-01-01');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, '.part-00000.jsonl.tmp'), '{"half":');
    const legacyDir = path.join(lakeDir, 'legacy', 'A', 'order', '2024-01-01');
    fs.mkdirSync(legacyDir, { recursive: true });
    fs.writeFileSync(path.join(legacyDir, '.export-1-2.tmp'), '[\n{"orderId":');
    const w = new HubLakeWriter({ lakeDir });
    w.append('order', recordsOf('order')[0], Date.UTC(2024, 0, 1));
    w.close();
    expect(fs.readdirSync(dir).sort()).toEqual(['.part-00000.jsonl.tmp', 'part-00001.jsonl']);
    const hub = readLake(lakeDir, 'hub');
    expect(hub).toMatchObject({ files: 1, tempFiles: 1, bad: [] });
    expect(readLake(lakeDir, 'legacy')).toMatchObject({ files: 0, tempFiles: 1, bad: [], records: [] });
  });

  it('bounds open parts: many topics with openPartsMax 2 still lose nothing', () => {
    // records alternate between topics, so almost every append seals a part (each one fsynced): keep it short
    const some = expected.records.slice(0, 150);
    const w = new HubLakeWriter({ lakeDir, openPartsMax: 2 });
    for (const c of some) w.append(c.kind, c.body, createdAt.get(c.orderId)!);
    w.close();
    const hub = readLake(lakeDir, 'hub');
    expect(canonicalSet(hub.records).sha256).toBe(canonicalSet(some).sha256);
    expect(hub.files).toBeGreaterThan(18);
  });
});

describe('reading damaged lakes and the quarantine', () => {
  it('reports corrupt lines and unknown files, and keeps every good record', () => {
    writeLegacy(lakeDir);
    writeHub(lakeDir).close();
    const csv = path.join(lakeDir, 'legacy', 'C', 'reservation', '2024-01-01', '000001.csv');
    const lines = fs.readFileSync(csv, 'utf8').split('\n');
    lines[2] = 'garbage,"';
    fs.writeFileSync(csv, lines.join('\n'));
    fs.writeFileSync(path.join(lakeDir, 'legacy', 'C', 'reservation', '2024-01-01', 'notes.txt'), 'hello');
    const partDir = path.join(lakeDir, 'hub', 'payment', 'date=2024-01-01');
    const part = path.join(partDir, fs.readdirSync(partDir)[0]);
    fs.appendFileSync(part, '{"orderId":"x"}\nnot json\n');
    fs.mkdirSync(path.join(lakeDir, 'hub', 'mystery', 'date=2024-01-01'), { recursive: true });
    fs.writeFileSync(path.join(lakeDir, 'hub', 'mystery', 'date=2024-01-01', 'part-00000.jsonl'), '{}\n');

    const legacy = readLake(lakeDir, 'legacy');
    expect(legacy.records).toHaveLength(expected.records.length - 1);
    expect(legacy.bad).toMatchObject([
      { file: 'legacy/C/reservation/2024-01-01/000001.csv', line: 3, raw: 'garbage,"' },
      { file: 'legacy/C/reservation/2024-01-01/notes.txt', reason: expect.stringContaining('unknown file type') },
    ]);
    const hub = readLake(lakeDir, 'hub');
    expect(hub.records).toHaveLength(expected.records.length);
    expect(hub.bad.map((b) => b.reason)).toEqual([
      expect.stringContaining('unknown data kind "mystery"'),
      expect.stringContaining('invalid payment'),
      expect.stringContaining('not JSON'),
    ]);
  });

  it('quarantines bad inputs with their reason and counts them', () => {
    expect(quarantine(lakeDir, 'D-c-d-pick', [{ raw: '<x/>', reason: 'not a reservation' }], { atMs: 5 })).toBe(1);
    expect(quarantine(lakeDir, 'D-c-d-pick', [{ raw: 'a', reason: 'r1', file: 'f.xml', line: 3 }, { raw: 'b', reason: 'r2' }])).toBe(2);
    expect(quarantine(lakeDir, 'sink', [])).toBe(0);
    expect(readQuarantine(lakeDir, 'D-c-d-pick')[0]).toEqual({ source: 'D-c-d-pick', atMs: 5, raw: '<x/>', reason: 'not a reservation' });
    expect(quarantineCounts(lakeDir)).toEqual({ 'D-c-d-pick': 3 });
    expect(inspectLake(lakeDir).quarantine.total).toBe(3);
    expect(() => quarantine(lakeDir, '../etc', [{ raw: '', reason: '' }])).toThrow(RangeError);
  });

  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }], e: undefined })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
  });
});
