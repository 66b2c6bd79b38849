// The data lake: legacy exports in every format and the hub's JSON-lines parts read back to the same
// canonical set over the landscape's data kinds; atomic writes, damaged files and the quarantine.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DataFormat } from '../../../systems/codecs/index.ts';
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
  toCanonical,
  writeLegacyExport,
  type CanonicalRecord,
} from '../../../systems/lake/index.ts';
import { RecordKinds } from '../../../systems/model/kinds.ts';
import { SAMPLE_DATA_KINDS, sampleKinds as kinds, sampleRecords } from '../codecs/samples.ts';

/** Each system's own kind, lake export format and record count (as in the shop, plus a WMS with a long id). */
const EXPORTS: [system: string, kind: string, format: DataFormat, count: number][] = [
  ['A', 'order', 'json', 60],
  ['B', 'payment', 'json', 60],
  ['C', 'reservation', 'csv', 60],
  ['D', 'shipment', 'xml', 50],
  ['E', 'customer', 'csv', 60],
  ['F', 'invoice', 'csv', 55],
  ['G', 'insight', 'json', 90],
  ['H', 'notification', 'json', 90],
  ['I', 'risk-score', 'xml', 70],
  ['wms_north-2', 'stock-level', 'csv', 30],
];

const DAY1_MS = Date.UTC(2024, 0, 1, 12);
const DAY_MS = 86_400_000;

const recordsOf = (kindId: string): Record<string, unknown>[] => sampleRecords(kindId, EXPORTS.find((e) => e[1] === kindId)![3]);
/** Every record of every export, canonical, with the event time the hub files it under (every third the next day). */
const expected: { canonical: CanonicalRecord; eventTimeMs: number }[] = EXPORTS.flatMap(([, kindId]) =>
  recordsOf(kindId).map((r, n) => ({ canonical: toCanonical(kinds.get(kindId), r), eventTimeMs: DAY1_MS + n * 1000 + (n % 3 === 0 ? DAY_MS : 0) })));
const expectedRecords = expected.map((e) => e.canonical);

let lakeDir: string;
beforeEach(() => {
  lakeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'untangle-lake-'));
});
afterEach(() => {
  fs.rmSync(lakeDir, { recursive: true, force: true });
});

function writeLegacy(dir: string): void {
  for (const [system, kindId, format] of EXPORTS) {
    const records = recordsOf(kindId);
    const half = Math.floor(records.length / 2);
    // two exports on two days
    writeLegacyExport(dir, system, kinds.get(kindId), format, records.slice(0, half), { atMs: DAY1_MS });
    writeLegacyExport(dir, system, kinds.get(kindId), format, records.slice(half), { atMs: DAY1_MS + DAY_MS });
  }
}

function writeHub(dir: string, opts: { partBytesMax?: number; openPartsMax?: number } = {}): HubLakeWriter {
  const w = new HubLakeWriter({ lakeDir: dir, bufferBytesMax: 4096, ...opts });
  for (const { canonical: c, eventTimeMs } of expected) w.append(c.kind, c.body, eventTimeMs);
  return w;
}

describe('the lake: both layouts read back to the same canonical set', () => {
  it('legacy (10 systems, mixed formats) and hub give equal canonical sets, equal to the expectation', () => {
    writeLegacy(lakeDir);
    const w = writeHub(lakeDir, { partBytesMax: 8 * 1024 });
    w.close();
    const legacy = readLake(lakeDir, 'legacy', kinds);
    const hub = readLake(lakeDir, 'hub', kinds);
    expect(legacy.bad).toEqual([]);
    expect(hub.bad).toEqual([]);
    expect(legacy.files).toBe(20);
    expect(hub.files).toBeGreaterThan(20); // rolled by size
    expect(w.stats.partsSealed).toBe(hub.files);
    const a = canonicalSet(legacy.records);
    const b = canonicalSet(hub.records);
    expect(a.count).toBe(expectedRecords.length);
    expect(b.sha256).toBe(a.sha256);
    expect(b.lines).toEqual(a.lines);
    expect(canonicalSet(expectedRecords).sha256).toBe(a.sha256);
  });

  it('canonical records carry the kind id and the identity the kind declares', () => {
    writeLegacy(lakeDir);
    const byKind = new Map(readLake(lakeDir, 'legacy', kinds).records.map((r) => [`${r.kind} ${r.id}`, r]));
    expect(byKind.get('order o-4')?.body).toEqual(recordsOf('order')[4]);
    expect(byKind.get('risk-score o-5/payment')?.body).toEqual(recordsOf('risk-score')[5]);
    expect(byKind.get('customer o-6')?.body).toMatchObject({ customerId: 'c-6' }); // identity orderId, key customerId
    expect(byKind.get('stock-level CAP-1/wh-3')?.body).toMatchObject({ padding: expect.stringMatching(/^[A-Za-z0-9+/]+$/) });
    expect(toCanonical(kinds.get('insight'), { orderId: 'o-1', source: 'order', metric: 'm', value: 1 })).toEqual({
      kind: 'insight', id: 'o-1/order', body: { orderId: 'o-1', source: 'order', metric: 'm', value: 1 },
    });
  });

  it('lays files out by system/kind/date and topic/date', () => {
    writeLegacy(lakeDir);
    writeHub(lakeDir).close();
    expect(fs.readdirSync(path.join(lakeDir, 'legacy', 'D', 'shipment', '2024-01-02'))).toEqual(['000001.xml']);
    expect(fs.readdirSync(path.join(lakeDir, 'legacy', 'wms_north-2', 'stock-level', '2024-01-01'))).toEqual(['000001.csv']);
    expect(fs.readdirSync(path.join(lakeDir, 'hub', 'risk-score')).sort()).toEqual(['date=2024-01-01', 'date=2024-01-02']);
    const s = inspectLake(lakeDir, kinds);
    expect(s.legacy.bySystem).toMatchObject({ A: 60, G: 90, H: 90, I: 70, 'wms_north-2': 30 });
    expect(s.legacy.byFormat.xml).toBe(50 + 70);
    expect(s.legacy.byDate['2024-01-01'] + s.legacy.byDate['2024-01-02']).toBe(expectedRecords.length);
    expect(s.legacy.byKind['stock-level']).toBe(30);
    expect(s.hub.byKind).toEqual(s.legacy.byKind);
    expect(s.hub.byFormat).toEqual({ jsonl: expectedRecords.length });
    expect(formatLakeSummary(s)).toMatch(/legacy: 20 files, \d+ records, 0 bad/);
  });

  it('never overwrites a legacy export: sequence numbers go up; system ids are checked', () => {
    const payment = kinds.get('payment');
    const r1 = writeLegacyExport(lakeDir, 'B', payment, 'json', recordsOf('payment').slice(0, 3), { atMs: 0 });
    const r2 = writeLegacyExport(lakeDir, 'B', payment, 'json', recordsOf('payment').slice(3, 5), { atMs: 0 });
    expect([r1?.seq, r2?.seq]).toEqual([1, 2]);
    expect(path.basename(r2!.path)).toBe('000002.json');
    expect(writeLegacyExport(lakeDir, 'B', payment, 'json', [], { atMs: 0 })).toBeNull();
    expect(readLake(lakeDir, 'legacy', kinds).records).toHaveLength(5);
    expect(fs.readdirSync(path.dirname(r1!.path))).toEqual(['000001.json', '000002.json']);
    expect(writeLegacyExport(lakeDir, 'core-banking', payment, 'json', recordsOf('payment').slice(0, 1), { atMs: 0 })?.path)
      .toBe(path.join(lakeDir, 'legacy', 'core-banking', 'payment', '1970-01-01', '000001.json'));
    for (const bad of ['../x', '1A', '-A', 'a b', 'x'.repeat(33)]) expect(() => writeLegacyExport(lakeDir, bad, payment, 'json', [], {}), bad).toThrow(RangeError);
  });

  it('writes nothing when a record is invalid for its kind', () => {
    const records = [...recordsOf('payment').slice(0, 2), { ...recordsOf('payment')[2], status: 'refunded' }];
    expect(() => writeLegacyExport(lakeDir, 'B', kinds.get('payment'), 'csv', records, { atMs: 0 })).toThrow(/status/);
    expect(fs.existsSync(path.join(lakeDir, 'legacy'))).toBe(false);
  });
});

describe('atomic writes: readers never see temporary files', () => {
  it('hub parts appear only when sealed', () => {
    const w = new HubLakeWriter({ lakeDir, bufferBytesMax: 512 });
    for (const c of expectedRecords.slice(0, 200)) w.append(c.kind, c.body, 0);
    const before = readLake(lakeDir, 'hub', kinds);
    expect(before.records).toEqual([]);
    expect(before.files).toBe(0);
    expect(before.tempFiles).toBeGreaterThan(0); // buffers exceeded: data sits in .part-….jsonl.tmp
    expect(w.flush()).toBeGreaterThan(0);
    const after = readLake(lakeDir, 'hub', kinds);
    expect(after.records).toHaveLength(200);
    expect(after.tempFiles).toBe(0);
    // appending after a flush starts new parts; nothing is rewritten
    for (const c of expectedRecords.slice(200, 260)) w.append(c.kind, c.body, 0);
    w.close();
    expect(readLake(lakeDir, 'hub', kinds).records).toHaveLength(260);
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
    const hub = readLake(lakeDir, 'hub', kinds);
    expect(hub).toMatchObject({ files: 1, tempFiles: 1, bad: [] });
    expect(readLake(lakeDir, 'legacy', kinds)).toMatchObject({ files: 0, tempFiles: 1, bad: [], records: [] });
  });

  it('bounds open parts: many topics with openPartsMax 2 still lose nothing', () => {
    // records alternate between topics, so almost every append seals a part (each one fsynced): keep it short
    const byKind = EXPORTS.map(([, kindId]) => expected.filter((e) => e.canonical.kind === kindId));
    const some = Array.from({ length: 15 }, (_, n) => byKind.map((records) => records[n])).flat();
    const w = new HubLakeWriter({ lakeDir, openPartsMax: 2 });
    for (const { canonical: c, eventTimeMs } of some) w.append(c.kind, c.body, eventTimeMs);
    w.close();
    const hub = readLake(lakeDir, 'hub', kinds);
    expect(canonicalSet(hub.records).sha256).toBe(canonicalSet(some.map((e) => e.canonical)).sha256);
    expect(hub.files).toBeGreaterThan(20);
  });
});

describe('reading damaged lakes and the quarantine', () => {
  it('reports corrupt lines, unknown files and unknown kinds, and keeps every good record', () => {
    writeLegacy(lakeDir);
    writeHub(lakeDir).close();
    const csv = path.join(lakeDir, 'legacy', 'C', 'reservation', '2024-01-01', '000001.csv');
    const lines = fs.readFileSync(csv, 'utf8').split('\n');
    lines[2] = 'garbage,"';
    fs.writeFileSync(csv, lines.join('\n'));
    fs.writeFileSync(path.join(lakeDir, 'legacy', 'C', 'reservation', '2024-01-01', 'notes.txt'), 'hello');
    fs.mkdirSync(path.join(lakeDir, 'legacy', 'X', 'refund', '2024-01-01'), { recursive: true });
    fs.writeFileSync(path.join(lakeDir, 'legacy', 'X', 'refund', '2024-01-01', '000001.json'), '[\n]\n');
    const partDir = path.join(lakeDir, 'hub', 'payment', 'date=2024-01-01');
    const part = path.join(partDir, fs.readdirSync(partDir)[0]);
    fs.appendFileSync(part, '{"orderId":"x"}\nnot json\n');
    fs.mkdirSync(path.join(lakeDir, 'hub', 'mystery', 'date=2024-01-01'), { recursive: true });
    fs.writeFileSync(path.join(lakeDir, 'hub', 'mystery', 'date=2024-01-01', 'part-00000.jsonl'), '{}\n');

    const legacy = readLake(lakeDir, 'legacy', kinds);
    expect(legacy.records).toHaveLength(expectedRecords.length - 1);
    expect(legacy.bad).toMatchObject([
      { file: 'legacy/C/reservation/2024-01-01/000001.csv', line: 3, raw: 'garbage,"' },
      { file: 'legacy/C/reservation/2024-01-01/notes.txt', reason: expect.stringContaining('unknown file type') },
      { file: 'legacy/X/refund/2024-01-01/000001.json', reason: 'unknown data kind "refund"' },
    ]);
    const hub = readLake(lakeDir, 'hub', kinds);
    expect(hub.records).toHaveLength(expectedRecords.length);
    expect(hub.bad.map((b) => b.reason)).toEqual([
      expect.stringContaining('unknown data kind "mystery"'),
      expect.stringContaining('invalid payment'),
      expect.stringContaining('not JSON'),
    ]);
  });

  it('reads with the kinds it is given: folders of a kind they lack are bad, the rest is read', () => {
    writeLegacy(lakeDir);
    writeHub(lakeDir).close();
    const withoutStock = new RecordKinds({ dataKinds: SAMPLE_DATA_KINDS.filter((k) => k.id !== 'stock-level') });
    for (const layout of ['legacy', 'hub'] as const) {
      const lake = readLake(lakeDir, layout, withoutStock);
      expect(lake.records).toHaveLength(expectedRecords.length - 30);
      expect(lake.bad.length).toBeGreaterThanOrEqual(2);
      for (const b of lake.bad) expect(b).toMatchObject({ file: expect.stringContaining('stock-level'), reason: 'unknown data kind "stock-level"' });
    }
    expect(inspectLake(lakeDir, withoutStock).legacy).toMatchObject({ bad: 2, records: expectedRecords.length - 30 });
  });

  it('quarantines bad inputs with their reason and counts them', () => {
    expect(quarantine(lakeDir, 'D-c-d-pick', [{ raw: '<x/>', reason: 'not a reservation' }], { atMs: 5 })).toBe(1);
    expect(quarantine(lakeDir, 'D-c-d-pick', [{ raw: 'a', reason: 'r1', file: 'f.xml', line: 3 }, { raw: 'b', reason: 'r2' }])).toBe(2);
    expect(quarantine(lakeDir, 'sink', [])).toBe(0);
    expect(readQuarantine(lakeDir, 'D-c-d-pick')[0]).toEqual({ source: 'D-c-d-pick', atMs: 5, raw: '<x/>', reason: 'not a reservation' });
    expect(quarantineCounts(lakeDir)).toEqual({ 'D-c-d-pick': 3 });
    expect(inspectLake(lakeDir, kinds).quarantine.total).toBe(3);
    expect(() => quarantine(lakeDir, '../etc', [{ raw: '', reason: '' }])).toThrow(RangeError);
  });

  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }], e: undefined })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
  });
});
