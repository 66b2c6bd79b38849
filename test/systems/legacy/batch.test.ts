// Batch transport with real files: atomic drops, pickup in name order, quarantine of corrupt lines,
// limits, and the journal that keeps a crashed picker from reprocessing a file.
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchPicker, BatchWriter, flowInbox, quarantineFile } from '../../../systems/legacy/index.ts';
import type { BatchFileInfo } from '../../../systems/legacy/index.ts';
import { CODEC, order, tempDir } from './helpers.ts';

describe('batch transport', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => { for (const f of cleanup.splice(0)) await f(); });
  const inbox = async (): Promise<string> => { const t = await tempDir(); cleanup.push(t.remove); return t.dir; };

  it.each(['csv', 'json', 'xml'] as const)('drops %s files atomically and the picker takes them in order', async (format) => {
    const dir = await inbox();
    const writer = new BatchWriter({ codec: CODEC, inbox: dir, flowId: 'a-e-orders', kind: 'order', format, scheduleMs: 60_000, recordsPerFileMax: 4 });
    expect(writer.add(...Array.from({ length: 10 }, (_, i) => order(i)))).toBe(10);
    expect(await writer.flush()).toBe(3);
    const names = (await readdir(flowInbox(dir, 'a-e-orders'))).sort();
    expect(names).toHaveLength(3);
    for (const n of names) expect(n).toMatch(new RegExp(`^\\d{8}T\\d{9}Z-\\d{6}\\.${format}$`));
    expect(writer.counters()).toMatchObject({ filesWritten: 3, recordsWritten: 10, buffered: 0 });

    const got: unknown[] = [];
    const files: string[] = [];
    const picker = new BatchPicker({ codec: CODEC, inbox: dir, flowId: 'a-e-orders', kind: 'order', format, scheduleMs: 60_000,
      onRecords: (records, f) => { got.push(...records); files.push(f.name); } });
    expect(await picker.scanOnce()).toBe(3);
    expect(files).toEqual(names);
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => order(i)));
    expect((await readdir(path.join(flowInbox(dir, 'a-e-orders'), 'done'))).sort()).toEqual(names);
    expect(await picker.scanOnce()).toBe(0);
    expect(picker.counters()).toMatchObject({ files: 3, records: 10, quarantinedLines: 0 });
  });

  it('runs on its schedule: writer and picker started, records arrive', async () => {
    const dir = await inbox();
    const writer = new BatchWriter({ codec: CODEC, inbox: dir, flowId: 'f', kind: 'order', format: 'csv', scheduleMs: 30 });
    const got: unknown[] = [];
    const picker = new BatchPicker({ codec: CODEC, inbox: dir, flowId: 'f', kind: 'order', format: 'csv', scheduleMs: 30, afterProcessing: 'delete',
      onRecords: (r) => { got.push(...r); } });
    writer.start();
    picker.start();
    writer.add(order(1), order(2));
    const end = Date.now() + 5000;
    while (got.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    await writer.stop();
    await picker.stop();
    expect(got).toEqual([order(1), order(2)]);
    expect((await readdir(flowInbox(dir, 'f'))).filter((n) => !n.startsWith('.'))).toEqual([]);
  });

  it('quarantines corrupt lines with line number, text and reason; the other lines are processed', async () => {
    const dir = await inbox();
    const good = CODEC.encodeBatch('order', 'csv', [order(1), order(2), order(3)]).toString('utf8').split('\n');
    // header, o1, CORRUPT, o2, INVALID, o3
    const corrupt = 'this,is,"not an order';
    const invalid = good[2].replace(`,${order(2).createdAtMs},`, ',soon,');
    const text = [good[0], good[1], corrupt, good[2], invalid, good[3], ''].join('\n');
    await mkdir(flowInbox(dir, 'a-e-orders'), { recursive: true });
    await writeFile(path.join(flowInbox(dir, 'a-e-orders'), '20250101T000000000Z-000001.csv'), text);
    await writeFile(path.join(flowInbox(dir, 'a-e-orders'), '.20250101T000000001Z-000002.csv.123.tmp'), 'half written');
    const got: unknown[] = [];
    const picker = new BatchPicker({ codec: CODEC, inbox: dir, flowId: 'a-e-orders', kind: 'order', format: 'csv', scheduleMs: 60_000,
      onRecords: (r) => { got.push(...r); } });
    expect(await picker.scanOnce()).toBe(1);
    expect(got).toEqual([order(1), order(2), order(3)]);
    const q = (await readFile(quarantineFile(dir, 'a-e-orders'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(q.map((e) => [e.line, e.raw])).toEqual([[3, corrupt], [5, invalid]]);
    for (const e of q) expect(e).toMatchObject({ flowId: 'a-e-orders', file: '20250101T000000000Z-000001.csv', reason: expect.any(String) });
    expect(picker.counters()).toMatchObject({ files: 1, records: 3, quarantinedLines: 2 });
    expect(await readdir(flowInbox(dir, 'a-e-orders'))).toContain('.20250101T000000001Z-000002.csv.123.tmp');
  });

  it('keeps a file whose handler fails and retries it on the next scan', async () => {
    const dir = await inbox();
    const writer = new BatchWriter({ codec: CODEC, inbox: dir, flowId: 'f', kind: 'order', format: 'json', scheduleMs: 60_000 });
    writer.add(order(1));
    await writer.flush();
    let fail = true;
    const got: unknown[] = [];
    const picker = new BatchPicker({ codec: CODEC, inbox: dir, flowId: 'f', kind: 'order', format: 'json', scheduleMs: 60_000,
      onRecords: (r) => { if (fail) throw new Error('CRM database locked'); got.push(...r); } });
    expect(await picker.scanOnce()).toBe(0);
    fail = false;
    expect(await picker.scanOnce()).toBe(1);
    expect(got).toEqual([order(1)]);
    expect(picker.counters()).toMatchObject({ handlerFailures: 1, files: 1 });
  });

  it('bounds files: records per file, bytes per file, the writer buffer, and oversized inbox files', async () => {
    const dir = await inbox();
    const one = CODEC.encodeBatch('order', 'csv', [order(1)]).length;
    const writer = new BatchWriter({ codec: CODEC, inbox: dir, flowId: 'f', kind: 'order', format: 'csv', scheduleMs: 60_000, recordsPerFileMax: 100, fileBytesMax: one * 3, bufferMax: 8 });
    expect(writer.add(...Array.from({ length: 10 }, (_, i) => order(i)))).toBe(8);
    await writer.flush();
    const c = writer.counters();
    expect(c).toMatchObject({ recordsRejected: 2, recordsWritten: 8 });
    expect(c.filesWritten).toBeGreaterThanOrEqual(2);
    for (const n of await readdir(flowInbox(dir, 'f'))) expect((await readFile(path.join(flowInbox(dir, 'f'), n))).length).toBeLessThanOrEqual(one * 3);
    await writeFile(path.join(flowInbox(dir, 'f'), '99999999T999999999Z-000001.csv'), Buffer.alloc(5000, 0x61));
    const got: unknown[] = [];
    const picker = new BatchPicker({ codec: CODEC, inbox: dir, flowId: 'f', kind: 'order', format: 'csv', scheduleMs: 60_000, fileBytesMax: 4000,
      onRecords: (r) => { got.push(...r); } });
    await picker.scanOnce();
    expect(got).toHaveLength(8);
    expect(picker.counters().quarantinedFiles).toBe(1);
    expect(await readdir(path.join(dir, 'quarantine', 'f'))).toEqual(['99999999T999999999Z-000001.csv']);
  });

  it('does not reprocess a file after the picker crashed between journal and move', async () => {
    const dir = await inbox();
    const handled = path.join(dir, 'handled.txt');
    const writer = new BatchWriter({ codec: CODEC, inbox: dir, flowId: 'a-e-orders', kind: 'order', format: 'csv', scheduleMs: 60_000, recordsPerFileMax: 2 });
    writer.add(order(1), order(2), order(3));
    expect(await writer.flush()).toBe(2);
    const [first, second] = (await readdir(flowInbox(dir, 'a-e-orders'))).sort();

    const run = spawnSync(process.execPath, ['--import', 'tsx', path.resolve('test/systems/legacy/fixtures/crashing-picker.ts'), dir, 'a-e-orders', handled], { encoding: 'utf8', timeout: 60_000 });
    expect(run.signal, run.stderr).toBe('SIGKILL');
    expect(await readFile(handled, 'utf8')).toBe(`${first} 2\n`);
    expect(await readdir(flowInbox(dir, 'a-e-orders'))).toContain(first); // processed, journaled, not moved

    const handedOver: BatchFileInfo[] = [];
    const picker = new BatchPicker({ codec: CODEC, inbox: dir, flowId: 'a-e-orders', kind: 'order', format: 'csv', scheduleMs: 60_000,
      onRecords: (_r, f) => { handedOver.push(f); } });
    expect(await picker.scanOnce()).toBe(2);
    expect(handedOver.map((f) => f.name)).toEqual([second]);
    expect(picker.counters()).toMatchObject({ skippedAlreadyProcessed: 1, files: 1 });
    expect((await readdir(path.join(flowInbox(dir, 'a-e-orders'), 'done'))).sort()).toEqual([first, second]);
  });
});
