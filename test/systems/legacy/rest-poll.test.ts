// rest-poll: the sender's bounded feed and the receiver's poller with a persisted cursor.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FeedLog, RestClient, RestPoller, createRestApp } from '../../../systems/legacy/index.ts';
import type { PollPageInfo, RestListener } from '../../../systems/legacy/index.ts';
import { CODEC, payment, tempDir } from './helpers.ts';

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('FeedLog', () => {
  it('pages after a cursor, reports evicted records as missed and a foreign epoch as reset', () => {
    const log = new FeedLog<number>({ capacity: 5, epoch: 'e1' });
    log.append(1, 2, 3);
    const p1 = log.read(undefined, 2);
    expect(p1).toEqual({ records: [1, 2], cursor: 'e1.2', missed: 0, reset: false });
    expect(log.read(p1.cursor, 10)).toEqual({ records: [3], cursor: 'e1.3', missed: 0, reset: false });
    expect(log.read('e1.3', 10)).toEqual({ records: [], cursor: 'e1.3', missed: 0, reset: false });
    log.append(4, 5, 6, 7, 8, 9); // 1..4 evicted
    expect(log.read('e1.2', 10)).toEqual({ records: [5, 6, 7, 8, 9], cursor: 'e1.9', missed: 2, reset: false });
    expect(log.read('old.7', 2)).toMatchObject({ records: [5, 6], reset: true });
    expect(() => log.read('e1.99', 1)).toThrow(/ahead/);
    expect(() => log.read('garbage', 1)).toThrow(/bad cursor/);
  });
});

describe('RestPoller', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => { for (const f of cleanup.splice(0).reverse()) await f(); });

  async function sender(log: FeedLog): Promise<RestListener> {
    const app = createRestApp({ codec: CODEC });
    app.serveFeed('payment', log, 'json');
    const l = await app.listen(0);
    cleanup.push(() => l.close());
    return l;
  }

  function poller(url: string, cursorFile: string, got: unknown[], pages: PollPageInfo[] = []) {
    const client = new RestClient({ codec: CODEC, baseUrl: url, timeoutMs: 1000, retries: 1 });
    const p = new RestPoller({
      codec: CODEC, client, kind: 'payment', format: 'csv', scheduleMs: 50, limit: 4, cursorFile,
      onRecords: (records, page) => { got.push(...records); pages.push(page); },
    });
    cleanup.push(() => client.close());
    return p;
  }

  it('resumes after a restart from its persisted cursor', async () => {
    const tmp = await tempDir();
    cleanup.push(tmp.remove);
    const cursorFile = path.join(tmp.dir, 'cursors', 'b-f-payments.json');
    const log = new FeedLog({ capacity: 100 });
    const l = await sender(log);
    log.append(...Array.from({ length: 10 }, (_, i) => payment(i)));

    const first: unknown[] = [];
    const p1 = poller(l.url, cursorFile, first);
    await p1.start();
    await until(() => first.length === 10);
    await p1.stop();
    expect(first).toEqual(Array.from({ length: 10 }, (_, i) => payment(i)));
    const saved = JSON.parse(await readFile(cursorFile, 'utf8')) as { cursor: string };
    expect(saved.cursor).toBe(`${log.epoch}.10`);

    log.append(...Array.from({ length: 5 }, (_, i) => payment(10 + i)));
    const second: unknown[] = [];
    const p2 = poller(l.url, cursorFile, second);
    await p2.start();
    await until(() => second.length === 5);
    await new Promise((r) => setTimeout(r, 200)); // a few more polls: nothing else arrives
    await p2.stop();
    expect(second).toEqual(Array.from({ length: 5 }, (_, i) => payment(10 + i)));
    expect(p2.counters()).toMatchObject({ records: 5, pollFailures: 0, cursor: `${log.epoch}.15` });
  });

  it('starts over when the sender restarted (new epoch) and backs off while it is down', async () => {
    const tmp = await tempDir();
    cleanup.push(tmp.remove);
    const cursorFile = path.join(tmp.dir, 'cursor.json');
    const log1 = new FeedLog({ capacity: 100 });
    const l1 = await sender(log1);
    log1.append(payment(1), payment(2));
    const got: unknown[] = [];
    const pages: PollPageInfo[] = [];
    const p = poller(l1.url, cursorFile, got, pages);
    await p.start();
    await until(() => got.length === 2);
    await p.stop();

    // the sender comes back on the same port with an empty log: a new epoch
    await l1.close();
    const log2 = new FeedLog({ capacity: 100 });
    const app = createRestApp({ codec: CODEC });
    app.serveFeed('payment', log2, 'json');
    const l2 = await app.listen(l1.port);
    cleanup.push(() => l2.close());
    log2.append(payment(3));
    const p2 = poller(l2.url, cursorFile, got, pages);
    await p2.start();
    await until(() => got.length === 3);
    await p2.stop();
    expect(got.at(-1)).toEqual(payment(3));
    expect(pages.at(-1)?.reset).toBe(true);
    expect(p2.counters().resets).toBe(1);

    // sender down: polls fail and are counted, nothing is lost, the cursor stays
    await l2.close();
    const p3 = poller(l2.url, cursorFile, got, pages);
    await p3.start();
    await until(() => p3.counters().pollFailures >= 2);
    await p3.stop();
    expect(p3.counters().cursor).toBe(`${log2.epoch}.1`);
  });
});
