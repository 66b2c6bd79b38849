// REST transport against real sockets: body parsing and limits, retries, timeouts, idempotency key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpError, RestCallError, RestClient, createRestApp } from '../../../systems/legacy/index.ts';
import type { RestListener } from '../../../systems/legacy/index.ts';
import { CODEC, encodeTo, order, payment } from './helpers.ts';

describe('REST server', () => {
  const received: unknown[][] = [];
  let listener: RestListener;
  const app = createRestApp({ codec: CODEC, bodyBytesMax: 4096 });

  beforeAll(async () => {
    app.acceptRecords('/orders', 'order', (records) => {
      received.push(records);
      return { kind: 'payment', records: records.map((_r, i) => payment(i)) };
    });
    listener = await app.listen(0);
  });
  afterAll(async () => { await listener.close(); });

  const post = (body: string | Buffer, contentType: string) =>
    fetch(`${listener.url}/orders`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers: { 'content-type': contentType } });

  it('answers GET /health', async () => {
    const res = await fetch(`${listener.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it.each(['json', 'xml', 'csv'] as const)('accepts a good %s body and answers in the same format', async (format) => {
    const res = await post(encodeTo('order', format, [order(1), order(2)]), `${format === 'csv' ? 'text' : 'application'}/${format}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain(format);
    expect(received.at(-1)).toEqual([order(1), order(2)]);
  });

  it.each([
    ['json', 'application/json', '{"orderId": "o-1", "items": ['],
    ['json', 'application/json', JSON.stringify({ ...order(1), totalCents: 'five' })],
    ['xml', 'application/xml', '<?xml version="1.0"?>\n<records kind="order" count="1">\n<order><orderId>x</order>\n</records>\n'],
    ['csv', 'text/csv', 'orderId,customerId\n"unterminated,quote\n'],
  ])('answers 400 with a reason on a bad %s body', async (_format, contentType, body) => {
    const before = received.length;
    const res = await post(body, contentType);
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { error: string; reason: string };
    expect(answer.error).toBe('bad request');
    expect(answer.reason.length).toBeGreaterThan(5);
    expect(received.length).toBe(before);
  });

  it('answers 415 on an unknown content type, 400 on an empty body, 413 above the size limit', async () => {
    expect((await post('hello', 'text/plain')).status).toBe(415);
    expect((await post('', 'application/json')).status).toBe(400);
    const big = encodeTo('order', 'json', Array.from({ length: 40 }, (_, i) => order(i)));
    expect(big.length).toBeGreaterThan(4096);
    expect((await post(big, 'application/json')).status).toBe(413);
    const c = app.counters();
    expect(c.badRequests).toBeGreaterThanOrEqual(6);
    expect(c.tooLarge).toBe(1);
  });
});

describe('REST client', () => {
  let listener: RestListener;
  const seen: { key: string | undefined }[] = [];
  let failFirst = 0;
  let delayMs = 0;

  beforeAll(async () => {
    const app = createRestApp({ codec: CODEC });
    app.acceptRecords('/orders', 'order', async (records, ctx) => {
      seen.push({ key: ctx.idempotencyKey });
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      if (failFirst > 0) { failFirst--; throw new HttpError(503, 'warming up'); }
      return { kind: 'order', records };
    });
    listener = await app.listen(0);
  });
  afterAll(async () => { await listener.close(); });

  it('retries on 503 with the same idempotency key, then succeeds', async () => {
    seen.length = 0;
    failFirst = 2;
    const client = new RestClient({ codec: CODEC, baseUrl: listener.url, timeoutMs: 2000, retries: 2, backoff: { initialMs: 10, maxMs: 50 } });
    const res = await client.postRecords('/orders', 'order', 'json', [order(7)], { idempotencyKey: 'order-o-t-7' });
    expect(res.status).toBe(200);
    expect(res.attempts).toBe(3);
    expect(res.reply.records).toEqual([order(7)]);
    expect(seen).toEqual([{ key: 'order-o-t-7' }, { key: 'order-o-t-7' }, { key: 'order-o-t-7' }]);
    const c = client.counters();
    expect(c).toMatchObject({ calls: 1, failures: 0, retries: 2, serverErrors: 2 });
    expect(c.latency.count).toBe(1);
    client.close();
  });

  it('gives up after its retries on 503 and counts a failure', async () => {
    failFirst = 5;
    const client = new RestClient({ codec: CODEC, baseUrl: listener.url, timeoutMs: 2000, retries: 1, backoff: { initialMs: 10, maxMs: 50 } });
    const err = await client.postRecords('/orders', 'order', 'xml', [order(8)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestCallError);
    expect((err as RestCallError).status).toBe(503);
    expect(client.counters()).toMatchObject({ calls: 1, failures: 1, retries: 1 });
    failFirst = 0;
    client.close();
  });

  it('times out each attempt, retries, and the receiver sees the duplicates', async () => {
    seen.length = 0;
    delayMs = 400;
    const client = new RestClient({ codec: CODEC, baseUrl: listener.url, timeoutMs: 100, retries: 1, backoff: { initialMs: 10, maxMs: 20 } });
    const err = await client.postRecords('/orders', 'order', 'csv', [order(9)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestCallError);
    expect((err as RestCallError).reason).toBe('timeout');
    expect(client.counters()).toMatchObject({ calls: 1, failures: 1, retries: 1, timeouts: 2 });
    await new Promise((r) => setTimeout(r, 500));
    expect(seen.length).toBe(2); // both attempts reached the receiver: a timeout is not a "no"
    delayMs = 0;
    client.close();
  });

  it('reports connection errors after retrying', async () => {
    const dead = createRestApp({ codec: CODEC });
    const l = await dead.listen(0);
    await l.close();
    const client = new RestClient({ codec: CODEC, baseUrl: l.url, timeoutMs: 500, retries: 2, backoff: { initialMs: 5, maxMs: 10 } });
    const err = await client.request({ method: 'GET', path: '/health' }).catch((e: unknown) => e);
    expect((err as RestCallError).reason).toBe('connection');
    expect(client.counters()).toMatchObject({ calls: 1, failures: 1, retries: 2, connectionErrors: 3 });
    client.close();
  });
});
