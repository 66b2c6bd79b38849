// Legacy transports with a system running as several instances: rest-sync spread round robin over
// real HTTP servers with failover (a closed port, a 5xx, a timeout), batch pickers of two instances
// claiming files from one inbox (no file twice, none lost, a dead instance's claims taken over),
// and rest-poll from two sender instances by two receiver instances taking turns by a lease.
import { spawn } from 'node:child_process';
import { appendFile, mkdir, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchPicker, BatchWriter, FeedLog, HttpError, RestClient, RestPoller, createRestApp, flowInbox } from '../../../systems/legacy/index.ts';
import type { RestListener } from '../../../systems/legacy/index.ts';
import { CLAIMS_DIR } from '../../../systems/legacy/batch-picker.ts';
import { FileLease, tickLease, type LeaseTicker } from '../../../systems/process/lease.ts';
import { CODEC, order, payment, tempDir } from './helpers.ts';

const FIXTURE = fileURLToPath(new URL('fixtures/claiming-picker.ts', import.meta.url));
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => { for (const f of cleanup.splice(0).reverse()) await f(); });

const until = async (cond: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

async function temp(): Promise<string> {
  const t = await tempDir();
  cleanup.push(t.remove);
  return t.dir;
}

/** A receiver instance of `/in/orders`: remembers the order ids it got; `answer` may refuse or stall. */
async function receiver(answer: 'ok' | '503' | 'stall' = 'ok'): Promise<{ url: string; got: string[]; close(): Promise<void> }> {
  const got: string[] = [];
  const app = createRestApp({ codec: CODEC });
  app.acceptRecords('/in/orders', 'order', async (records) => {
    if (answer === '503') throw new HttpError(503, 'instance overloaded');
    if (answer === 'stall') await new Promise((r) => setTimeout(r, 2_000));
    for (const r of records as { orderId: string }[]) got.push(r.orderId);
  });
  const l: RestListener = await app.listen(0);
  cleanup.push(() => l.close());
  return { url: l.url, got, close: () => l.close() };
}

/** A port nothing listens on any more. */
async function closedUrl(): Promise<string> {
  const l = await createRestApp({ codec: CODEC }).listen(0);
  await l.close();
  return l.url;
}

function client(baseUrl: string | string[], o: { retries: number; timeoutMs?: number }): RestClient {
  const c = new RestClient({ codec: CODEC, baseUrl, timeoutMs: o.timeoutMs ?? 2000, retries: o.retries, backoff: { initialMs: 10, maxMs: 20 }, downForMs: 60_000 });
  cleanup.push(() => c.close());
  return c;
}

const send = async (c: RestClient, from: number, count: number): Promise<void> => {
  for (let i = from; i < from + count; i++) await c.postRecords('/in/orders', 'order', 'json', [order(i)]);
};

describe('rest-sync over several receiver instances', () => {
  it('spreads calls round robin over the instances', async () => {
    const [r1, r2, r3] = [await receiver(), await receiver(), await receiver()];
    const c = client([r1.url, r2.url, r3.url], { retries: 0 });
    await send(c, 0, 12);
    expect([r1.got.length, r2.got.length, r3.got.length]).toEqual([4, 4, 4]);
    expect([...r1.got, ...r2.got, ...r3.got].sort()).toEqual(Array.from({ length: 12 }, (_, i) => order(i).orderId).sort());
    const counters = c.counters();
    expect(counters).toMatchObject({ calls: 12, failures: 0, retries: 0, failovers: 0 });
    expect(Object.values(counters.attemptsByUrl)).toEqual([4, 4, 4]);
  });

  it('fails over from an instance that is down and then passes it over', async () => {
    const [r1, r2] = [await receiver(), await receiver()];
    const dead = await closedUrl();
    const c = client([r1.url, dead, r2.url], { retries: 1 });
    await send(c, 0, 12);
    expect(r1.got.length + r2.got.length).toBe(12); // every call answered, each once
    expect(new Set([...r1.got, ...r2.got]).size).toBe(12);
    const counters = c.counters();
    // One connection error, then the dead instance is left out for downForMs.
    expect(counters).toMatchObject({ calls: 12, failures: 0, connectionErrors: 1, retries: 1, failovers: 1 });
    expect(counters.attemptsByUrl[new URL(dead).origin]).toBe(1);
  });

  it('fails over on a 5xx answer, within the flow\'s retries', async () => {
    const [busy, fine] = [await receiver('503'), await receiver()];
    const c = client([busy.url, fine.url], { retries: 1 });
    await send(c, 0, 6);
    expect(fine.got).toHaveLength(6);
    expect(c.counters()).toMatchObject({ calls: 6, failures: 0, serverErrors: 3, failovers: 3 });
    // Without retries the call that lands on the busy instance fails: no failover beyond the policy.
    const strict = client([busy.url, fine.url], { retries: 0 });
    await expect(strict.postRecords('/in/orders', 'order', 'json', [order(100)])).rejects.toMatchObject({ reason: 'status', status: 503 });
  });

  it('fails over after a timeout (the stalled instance may still process it: a duplicate, as measured)', async () => {
    const [slow, fine] = [await receiver('stall'), await receiver()];
    const c = client([slow.url, fine.url], { retries: 2, timeoutMs: 200 });
    await send(c, 0, 4);
    expect(fine.got).toHaveLength(4);
    expect(c.counters()).toMatchObject({ calls: 4, failures: 0, timeouts: 1, failovers: 1 });
  });

  it('keeps one instance working as before: retries go back to it after the backoff', async () => {
    const dead = await closedUrl();
    const c = client(dead, { retries: 2 });
    await expect(c.postRecords('/in/orders', 'order', 'json', [order(1)])).rejects.toMatchObject({ reason: 'connection', attempts: 3 });
    expect(c.counters()).toMatchObject({ calls: 1, failures: 1, retries: 2, failovers: 0, connectionErrors: 3 });
  });
});

describe('batch pickers of several instances on one inbox', () => {
  const FLOW = 'a-e-orders';
  const picker = (inbox: string, owner: string, got: string[], o: { claimTtlMs?: number; fail?: () => boolean } = {}): BatchPicker =>
    new BatchPicker({
      codec: CODEC, inbox, flowId: FLOW, kind: 'order', format: 'csv', scheduleMs: 60_000, owner, claimTtlMs: o.claimTtlMs,
      onRecords: async (records) => {
        if (o.fail?.()) throw new Error('CRM database locked');
        await new Promise((r) => setImmediate(r)); // let the other picker run meanwhile
        for (const r of records as { orderId: string }[]) got.push(r.orderId);
      },
    });

  it('takes every file exactly once between two pickers scanning at the same time', async () => {
    const inbox = await temp();
    const writer = new BatchWriter({ codec: CODEC, inbox, flowId: FLOW, kind: 'order', format: 'csv', scheduleMs: 60_000, recordsPerFileMax: 3 });
    writer.add(...Array.from({ length: 120 }, (_, i) => order(i)));
    expect(await writer.flush()).toBe(40);
    const got1: string[] = [];
    const got2: string[] = [];
    const p1 = picker(inbox, 'E.1', got1);
    const p2 = picker(inbox, 'E.2', got2);
    const scanUntilEmpty = async (p: BatchPicker): Promise<void> => { while ((await p.scanOnce()) > 0) { /* next scan */ } };
    await Promise.all([scanUntilEmpty(p1), scanUntilEmpty(p2)]);
    const all = [...got1, ...got2];
    expect(all).toHaveLength(120);
    expect(new Set(all).size).toBe(120);
    expect(got1.length).toBeGreaterThan(0);
    expect(got2.length).toBeGreaterThan(0);
    expect(p1.counters().files + p2.counters().files).toBe(40);
    expect(await readdir(path.join(flowInbox(inbox, FLOW), 'done'))).toHaveLength(40);
    const left = (await readdir(flowInbox(inbox, FLOW))).filter((n) => n.endsWith('.csv'));
    expect(left).toEqual([]);
  });

  it('keeps a file whose handler failed claimed by its instance and retries it there', async () => {
    const inbox = await temp();
    const writer = new BatchWriter({ codec: CODEC, inbox, flowId: FLOW, kind: 'order', format: 'csv', scheduleMs: 60_000 });
    writer.add(order(1));
    await writer.flush();
    let fail = true;
    const got: string[] = [];
    const p1 = picker(inbox, 'E.1', got, { fail: () => fail });
    expect(await p1.scanOnce()).toBe(0);
    expect((await readdir(path.join(flowInbox(inbox, FLOW), CLAIMS_DIR, 'E.1'))).filter((n) => n.endsWith('.csv'))).toHaveLength(1);
    const other: string[] = [];
    expect(await picker(inbox, 'E.2', other).scanOnce()).toBe(0); // alive owner: not taken over
    fail = false;
    expect(await p1.scanOnce()).toBe(1);
    expect(got).toEqual([order(1).orderId]);
    expect(other).toEqual([]);
  });

  it('takes over the claims of a dead instance, handing over only what it had not journalled', async () => {
    const inbox = await temp();
    const dead = path.join(flowInbox(inbox, FLOW), CLAIMS_DIR, 'E.1');
    await mkdir(dead, { recursive: true });
    const csv = (i: number): Buffer => CODEC.encodeBatch('order', 'csv', [order(i)]);
    await writeFile(path.join(dead, '20250101T000000000Z-000001.csv'), csv(1)); // handed over and journalled before the crash
    await writeFile(path.join(dead, '20250101T000000000Z-000002.csv'), csv(2)); // claimed, not handed over
    await appendFile(path.join(dead, '.processed.journal'), '20250101T000000000Z-000001.csv\n');
    const heartbeat = path.join(dead, '.alive');
    await writeFile(heartbeat, '0\n');
    const got: string[] = [];
    const p2 = picker(inbox, 'E.2', got, { claimTtlMs: 5_000 });
    expect(await p2.scanOnce()).toBe(0); // heartbeat fresh: E.1 may be alive
    expect(got).toEqual([]);
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(heartbeat, longAgo, longAgo);
    expect(await p2.scanOnce()).toBe(1);
    expect(got).toEqual([order(2).orderId]);
    expect(p2.counters()).toMatchObject({ takenOver: 1, skippedAlreadyProcessed: 1, files: 1 });
    expect((await readdir(path.join(flowInbox(inbox, FLOW), 'done'))).sort()).toEqual(['20250101T000000000Z-000001.csv', '20250101T000000000Z-000002.csv']);
  });

  it('shares one inbox between two picker processes, and takes over the file of one killed in its handler', async () => {
    const inbox = await temp();
    const handled = path.join(inbox, 'handled.txt');
    const writer = new BatchWriter({ codec: CODEC, inbox, flowId: FLOW, kind: 'order', format: 'csv', scheduleMs: 60_000, recordsPerFileMax: 2 });
    writer.add(...Array.from({ length: 200 }, (_, i) => order(i)));
    expect(await writer.flush()).toBe(100);
    const run = (owner: string, mode = ''): Promise<{ code: number | null; signal: string | null; out: string; err: string }> => new Promise((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, inbox, FLOW, owner, handled, ...(mode ? [mode] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
      child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
      child.once('exit', (code, signal) => resolve({ code, signal, out, err }));
    });
    // E.3 claims one file and dies in its handler before it handed anything over.
    const doomed = await run('E.3', 'die-in-handler');
    expect(doomed.signal, doomed.err).toBe('SIGKILL');
    const claimed = (await readdir(path.join(flowInbox(inbox, FLOW), CLAIMS_DIR, 'E.3'))).filter((n) => n.endsWith('.csv'));
    expect(claimed).toHaveLength(1);
    // E.3's last heartbeat is older than its 2 s claim ttl now (2 s, not less: on a busy machine a live
    // picker's heartbeat can lag by a second, and its files would be taken over and handled twice).
    await new Promise((r) => setTimeout(r, 2_200));
    // E.1 and E.2 run side by side; one of them takes E.3's file over.
    const both = Promise.all([run('E.1', 'wait-for-go'), run('E.2', 'wait-for-go')]);
    for (let i = 0; i < 300 && !(existsSync(`${handled}.ready.E.1`) && existsSync(`${handled}.ready.E.2`)); i++) await new Promise((r) => setTimeout(r, 100));
    await writeFile(`${handled}.go`, '');
    const [a, b] = await both;
    expect(a.code, a.err).toBe(0);
    expect(b.code, b.err).toBe(0);
    const lines = (await readFile(handled, 'utf8')).trim().split('\n');
    const ids = lines.map((l) => l.split(' ')[1]);
    expect(ids).toHaveLength(200);
    expect(new Set(ids).size).toBe(200);
    const byOwner = (o: string): number => lines.filter((l) => l.startsWith(`${o} `)).length;
    expect(byOwner('E.1')).toBeGreaterThan(0);
    expect(byOwner('E.2')).toBeGreaterThan(0);
    const counters = [a, b].map((r) => JSON.parse(r.out.trim().split('\n').at(-1)!) as { takenOver: number; files: number });
    expect(counters[0].takenOver + counters[1].takenOver).toBe(1);
    expect(counters[0].files + counters[1].files).toBe(100);
  }, 60_000);

  it('refuses an owner that could escape the claims folder', () => {
    expect(() => picker('/tmp/x', '../E', [])).toThrow(/owner/);
  });
});

describe('rest-poll with two sender instances and two receiver instances', () => {
  it('hands every record over once: each sender feed is polled, one receiver instance at a time', async () => {
    const shared = await temp();
    const FLOW = 'b-f-payments';
    // Two instances of the sender, each with its own feed.
    const feeds = [new FeedLog({ capacity: 1000 }), new FeedLog({ capacity: 1000 })];
    const senders: { name: string; url: string }[] = [];
    for (const [i, feed] of feeds.entries()) {
      const app = createRestApp({ codec: CODEC });
      app.serveFeed('payment', feed, 'json');
      const l = await app.listen(0);
      cleanup.push(() => l.close());
      senders.push({ name: `B.${i + 1}`, url: l.url });
    }
    const got = new Map<string, string[]>([['F.1', []], ['F.2', []]]);
    const receiverInstance = async (owner: string): Promise<{ stop(): Promise<void>; ticker: LeaseTicker; pollers: RestPoller[] }> => {
      const lease = new FileLease({ file: path.join(shared, `poll-${FLOW}.lease`), owner, ttlMs: 600 });
      const ticker = tickLease(lease, { everyMs: 50 });
      const pollers = senders.map((s) => {
        const c = new RestClient({ codec: CODEC, baseUrl: s.url, timeoutMs: 1000, retries: 0 });
        cleanup.push(() => c.close());
        return new RestPoller({
          codec: CODEC, client: c, kind: 'payment', format: 'json', scheduleMs: 20, limit: 7,
          cursorFile: path.join(shared, `${FLOW}.${s.name}.cursor.json`),
          isMyTurn: () => lease.held,
          onRecords: (records) => { got.get(owner)!.push(...(records as { paymentId: string }[]).map((r) => r.paymentId)); },
        });
      });
      for (const p of pollers) await p.start();
      const stop = async (): Promise<void> => {
        for (const p of pollers) await p.stop();
        ticker.stop();
      };
      cleanup.push(stop);
      return { stop, ticker, pollers };
    };
    const f1 = await receiverInstance('F.1');
    const f2 = await receiverInstance('F.2');
    expect(f1.ticker.lease.held).toBe(true); // first to tick
    expect(f2.ticker.lease.held).toBe(false);

    feeds[0].append(...Array.from({ length: 30 }, (_, i) => payment(i)));
    feeds[1].append(...Array.from({ length: 30 }, (_, i) => payment(100 + i)));
    await until(() => got.get('F.1')!.length === 60);
    expect(got.get('F.2')).toEqual([]);
    expect(f2.pollers.every((p) => p.counters().polls === 0 && p.counters().pollsSkipped > 0)).toBe(true);

    // F.1 stops cleanly (its lease is released): F.2 continues from the shared cursors.
    await f1.stop();
    feeds[0].append(...Array.from({ length: 20 }, (_, i) => payment(30 + i)));
    feeds[1].append(...Array.from({ length: 20 }, (_, i) => payment(130 + i)));
    await until(() => got.get('F.2')!.length === 40);
    await new Promise((r) => setTimeout(r, 200)); // more polls: nothing else arrives
    const all = [...got.get('F.1')!, ...got.get('F.2')!];
    expect(all).toHaveLength(100);
    expect(new Set(all).size).toBe(100);
    expect(got.get('F.2')!.every((id) => Number(id.slice(2)) % 100 >= 30)).toBe(true);
  });
});
