// The durable outbox (outbox=durable) with real files: the outbox itself, the batch writer and the
// rest-poll feed built on it. A kill is simulated by abandoning an object without closing it (or
// stopping a handover at a step through the test seam) and opening a new one on the same files:
// every write the outbox makes is a plain write() the kill would not undo.
import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchPicker, BatchWriter, FeedLog, flowInbox } from '../../../systems/legacy/index.ts';
import { Outbox } from '../../../systems/legacy/outbox.ts';
import { OutboxStore } from '../../../systems/legacy/outbox-store.ts';
import { CODEC, order, payment, tempDir } from './helpers.ts';

type Rec = { id: string; n: number };
const rec = (n: number): Rec => ({ id: `r-${n}`, n });
const idOf = (r: Rec): string => r.id;
const idOfOrder = (r: unknown): string => (r as { orderId: string }).orderId;

describe('durable outbox', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => { for (const f of cleanup.splice(0)) await f(); });
  const dir = async (): Promise<string> => { const t = await tempDir(); cleanup.push(t.remove); return t.dir; };

  it('keeps records, epoch, a begun handover and the dedupe window across a kill; a torn last line is cut off', async () => {
    const d = await dir();
    const a = new Outbox<Rec>(d, 'lake-x', { idOf });
    expect(a.append([rec(1), rec(2), rec(3), rec(2)]).map((e) => e.seq)).toEqual([1, 2, 3]);
    a.markDone(1);
    a.begin(2, 3, 1_700_000_000_000, 'file-2-3');
    a.staged();
    // killed here (no close); half a line was being written
    appendFileSync(a.file, '{"s":4,"k":"r-4","r":{"id":"r-');

    const b = new Outbox<Rec>(d, 'lake-x', { idOf });
    expect(b.epoch).toBe(a.epoch);
    expect(b.pending().map((e) => e.record)).toEqual([rec(2), rec(3)]);
    expect(b.handover()).toEqual({ from: 2, to: 3, atMs: 1_700_000_000_000, name: 'file-2-3', staged: true });
    expect([b.lastSeq, b.doneSeq]).toEqual([3, 1]);
    // r-1 was handed over already, r-3 waits: neither is appended again; r-4 never made it
    expect(b.append([rec(1), rec(3), rec(4)]).map((e) => e.seq)).toEqual([4]);
    expect(b.counters()).toMatchObject({ depth: 3, duplicates: 2, appended: 1 });
    b.markDone(3);
    expect(b.handover()).toBeNull();
    expect(readFileSync(b.file, 'utf8').endsWith('\n')).toBe(true);
  });

  it('compacts: handed-over records leave the file, their identities stay for dedupe, the file stays bounded', async () => {
    const d = await dir();
    const o = new Outbox<Rec>(d, 'batch-f', { idOf, compactBytesMin: 4096, dedupeIdsMax: 100 });
    let maxBytes = 0;
    for (let i = 1; i <= 2000; i += 10) {
      o.append(Array.from({ length: 10 }, (_, j) => rec(i + j)));
      o.markDone(i + 4); // half of each ten handed over at once, the rest later
      maxBytes = Math.max(maxBytes, statSync(o.file).size);
    }
    const c = o.counters();
    expect(c.compactions).toBeGreaterThan(0);
    expect(c.depth).toBe(5);
    // live part: 5 records + 100 identities + header; bounded by max(4096, 2 x live) plus one append
    expect(maxBytes).toBeLessThan(12_000);
    const again = new Outbox<Rec>(d, 'batch-f', { idOf, compactBytesMin: 4096, dedupeIdsMax: 100 });
    expect(again.pending().map((e) => e.seq)).toEqual([1996, 1997, 1998, 1999, 2000]);
    expect(again.append([rec(1950), rec(1), rec(2001)]).map((e) => e.seq)).toEqual([2001, 2002]); // r-1 is out of the window of 100
  });

  it('refuses a damaged outbox with the file and line, instead of starting empty', async () => {
    const d = await dir();
    const o = new Outbox<Rec>(d, 'feed-x');
    o.append([rec(1)]);
    appendFileSync(o.file, 'garbage\n{"done":1}\n');
    expect(() => new Outbox<Rec>(d, 'feed-x')).toThrow(/feed-x\.outbox line 3: not JSON/);
  });

  it('store: one outbox per name, counters per name, outboxes left by an earlier process found', async () => {
    const d = await dir();
    const s = new OutboxStore(d);
    expect(s.open('lake-order')).toBe(s.open('lake-order'));
    s.open<Rec>('batch-a-e').append([rec(1)]);
    expect(Object.keys(s.counters()).sort()).toEqual(['batch-a-e', 'lake-order']);
    expect(s.counters()['batch-a-e']).toMatchObject({ depth: 1, bytes: expect.any(Number) });
    s.close();
    expect(new OutboxStore(d).existing('lake-')).toEqual(['lake-order']);
  });
});

describe('batch writer with a durable outbox', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => { for (const f of cleanup.splice(0)) await f(); });
  const dir = async (): Promise<string> => { const t = await tempDir(); cleanup.push(t.remove); return t.dir; };

  const writer = (inbox: string, stateDir: string, stopAt?: string): BatchWriter => new BatchWriter({
    codec: CODEC, inbox, flowId: 'a-e-orders', kind: 'order', format: 'csv', scheduleMs: 60_000, recordsPerFileMax: 3, fileTag: 'A',
    outbox: new Outbox(stateDir, 'batch-a-e-orders', { idOf: idOfOrder }),
    onStep: (step) => { if (step === stopAt) throw new Error(`killed after ${step}`); },
  });

  // After 'published' one receiver instance takes the file away before the restart: the redo must
  // not put it back, or the other instance (whose journal does not know the name) would take it again.
  it.each(['begun', 'staged', 'published'])('a kill after %s hands every record over exactly once', async (step) => {
    const inbox = await dir();
    const state = await dir();
    const got: string[] = [];
    const picker = (owner: string): BatchPicker => new BatchPicker({ codec: CODEC, inbox, flowId: 'a-e-orders', kind: 'order', format: 'csv', scheduleMs: 60_000, owner,
      onRecords: (r) => { got.push(...r.map(idOfOrder)); } });
    const first = writer(inbox, state, step);
    expect(first.add(...[1, 2, 3, 4, 5].map(order))).toBe(5);
    expect(await first.flush()).toBe(0);
    expect(first.counters()).toMatchObject({ writeFailures: 1, buffered: 5 });
    await picker('E.1').scanOnce();
    expect(got).toEqual(step === 'published' ? ['o-t-1', 'o-t-2', 'o-t-3'] : []);
    // killed; the restarted process's input is redelivered (the same orders come again)
    const second = writer(inbox, state);
    expect(second.add(...[1, 2, 3, 4, 5, 6].map(order))).toBe(6);
    expect(second.counters().buffered).toBe(6); // 1..5 not marked done before the kill, 6 new
    await second.flush();
    await picker('E.2').scanOnce();
    expect(got.sort()).toEqual(['o-t-1', 'o-t-2', 'o-t-3', 'o-t-4', 'o-t-5', 'o-t-6']);
    expect(readdirSync(flowInbox(inbox, 'a-e-orders')).filter((n) => !['done', '.claims'].includes(n))).toEqual([]);
  });

  it('gives up a record that does not encode or exceeds the file limit, and goes on', async () => {
    const inbox = await dir();
    const state = await dir();
    const w = new BatchWriter({
      codec: CODEC, inbox, flowId: 'f', kind: 'order', format: 'json', scheduleMs: 60_000, fileBytesMax: 2000,
      outbox: new Outbox(state, 'batch-f', { idOf: idOfOrder }),
    });
    w.add(order(1), { ...order(2), email: 'x'.repeat(3000) }, order(3));
    expect(await w.flush()).toBe(2);
    expect(w.counters()).toMatchObject({ recordsOversized: 1, recordsWritten: 2, buffered: 0 });
  });
});

describe('rest-poll feed with a durable outbox', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => { for (const f of cleanup.splice(0)) await f(); });

  it('keeps epoch, sequence numbers and retained records across a kill: a poller continues, no reset', async () => {
    const t = await tempDir();
    cleanup.push(t.remove);
    const open = () => new FeedLog<object>({ capacity: 6, outbox: new Outbox<object>(t.dir, 'feed-payment', { idOf: idOfOrder }) });
    const a = open();
    a.append(...[1, 2, 3].map(payment));
    const page = a.read(undefined, 2);
    expect(page.cursor).toBe(`${a.epoch}.2`);
    a.append(...[3, 4, 5, 6, 7, 8].map(payment)); // payment 3 again: not a second entry; 1..2 evicted
    // killed
    const b = open();
    expect(b.epoch).toBe(a.epoch);
    expect(b.lastSeq).toBe(8);
    expect(b.read(page.cursor, 10)).toEqual({ records: [3, 4, 5, 6, 7, 8].map(payment), cursor: `${a.epoch}.8`, missed: 0, reset: false });
    expect(b.read(undefined, 10).missed).toBe(2);
    b.append(payment(9));
    expect(b.read(`${a.epoch}.8`, 10).records).toEqual([payment(9)]);
  });

  it('marks evicted records done, so the outbox file stays bounded', async () => {
    const t = await tempDir();
    cleanup.push(t.remove);
    const outbox = new Outbox<object>(t.dir, 'feed-payment', { idOf: idOfOrder, compactBytesMin: 64 * 1024, dedupeIdsMax: 1000 });
    const log = new FeedLog<object>({ capacity: 100, outbox });
    for (let i = 0; i < 20_000; i += 100) log.append(...Array.from({ length: 100 }, (_, j) => payment(i + j)));
    expect(outbox.doneSeq).toBeGreaterThan(20_000 - 100 - 1024 - 1);
    expect(outbox.counters().compactions).toBeGreaterThan(0);
    expect(statSync(outbox.file).size).toBeLessThan(450 * 1024); // 20,000 records without compaction: about 2.6 MB
    expect(new FeedLog<object>({ capacity: 100, outbox: new Outbox<object>(t.dir, 'feed-payment', { idOf: idOfOrder }) }).size).toBe(100);
  });
});
