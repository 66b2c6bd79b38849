// A legacy system's lake export with real files, outbox=memory against outbox=durable: a kill
// (simulated by abandoning the exporter without closing it, or stopping an export at a step through
// the test seam, then a new exporter on the same folders) loses the buffered records in memory and
// none with the durable outbox, and a redone export never puts a record into the lake twice.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLake } from '../../../systems/lake/index.ts';
import { OutboxStore } from '../../../systems/legacy/outbox-store.ts';
import { LakeExporter, type DurableExport } from '../../../systems/runtime/lake-exporter.ts';
import { sampleKinds, sampleRecords } from '../codecs/samples.ts';

const CONFIG = { format: 'csv', scheduleMs: 60_000 } as const;
const quiet = (): void => undefined;

describe('lake export', () => {
  const dirs: string[] = [];
  afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
  const workDir = (): string => { const d = mkdtempSync(join(tmpdir(), 'untangle-lake-export-')); dirs.push(d); return d; };

  const lakeIds = (dir: string): string[] => readLake(join(dir, 'lake'), 'legacy', sampleKinds).records.map((r) => `${r.kind}:${r.id}`).sort();
  const durable = (dir: string, onStep?: DurableExport['onStep']): DurableExport => ({ outboxes: new OutboxStore(join(dir, 'state', 'B', 'outbox')), instance: 'B', onStep });
  const exporter = (dir: string, d: DurableExport | null): LakeExporter => new LakeExporter(join(dir, 'lake'), 'B', CONFIG, sampleKinds, quiet, d);
  const payments = sampleRecords('payment', 5);
  const invoices = sampleRecords('invoice', 3);
  const expected = [...payments.map((r) => `payment:${r.orderId}`), ...invoices.map((r) => `invoice:${r.orderId}`)].sort();

  it('outbox=memory: what waits for the export when the process is killed is lost (as grown)', () => {
    const dir = workDir();
    const first = exporter(dir, null);
    for (const r of payments.slice(0, 2)) first.add('payment', r);
    first.exportNow();
    for (const r of payments.slice(2)) first.add('payment', r);
    // killed
    exporter(dir, null).exportNow();
    expect(lakeIds(dir)).toEqual(payments.slice(0, 2).map((r) => `payment:${r.orderId}`).sort());
  });

  it('outbox=durable: a kill between exports loses nothing; the records go out with the next export after the restart', () => {
    const dir = workDir();
    const first = exporter(dir, durable(dir));
    for (const r of payments.slice(0, 2)) first.add('payment', r);
    first.exportNow();
    for (const r of payments.slice(2)) first.add('payment', r);
    for (const r of invoices) first.add('invoice', r);
    expect(first.counters()).toMatchObject({ exported: 2, buffered: 6 });
    // killed; the restarted system handles its redelivered input again and emits the same records
    const again = durable(dir);
    const second = exporter(dir, again);
    for (const r of payments) second.add('payment', r);
    expect(again.outboxes.counters()['lake-payment']).toMatchObject({ depth: 3, duplicates: 5 });
    second.exportNow();
    expect(lakeIds(dir)).toEqual(expected);
  });

  it.each(['begun', 'written'] as const)('outbox=durable: a kill after an export %s its file redoes it under the same name: every record once', (step) => {
    const dir = workDir();
    const first = exporter(dir, durable(dir, (s) => { if (s === step) throw new Error(`killed after ${s}`); }));
    for (const r of payments) first.add('payment', r);
    first.exportNow();
    expect(first.counters()).toMatchObject({ failures: 1, exported: 0 });
    const files = (): string[] => readdirSync(join(dir, 'lake', 'legacy', 'B', 'payment'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
    const before = step === 'written' ? files() : [];
    // killed: the restarted exporter redoes the begun export under the name (and date folder) of its first try
    const second = exporter(dir, durable(dir));
    second.add('payment', sampleRecords('payment', 1, 5)[0]);
    second.exportNow();
    expect(lakeIds(dir)).toEqual([...payments, ...sampleRecords('payment', 1, 5)].map((r) => `payment:${r.orderId}`).sort());
    expect(files()).toHaveLength(2);
    if (step === 'written') expect(files()).toContain(before[0]);
    expect(files().every((n) => /^B-[0-9a-f]{8}-\d{12}-\d{12}\.csv$/.test(n))).toBe(true);
  });
});
