// LegacyCounterRegistry gathers every transport's counters into one JSON-able snapshot.
import { describe, expect, it } from 'vitest';
import { BatchWriter, LegacyCounterRegistry, RestClient, createRestApp } from '../../../systems/legacy/index.ts';
import { CODEC, order, tempDir } from './helpers.ts';

describe('LegacyCounterRegistry', () => {
  it('snapshots counters per flow with totals', async () => {
    const tmp = await tempDir();
    const app = createRestApp({ codec: CODEC });
    const l = await app.listen(0);
    const client = new RestClient({ codec: CODEC, baseUrl: l.url, timeoutMs: 1000, retries: 0 });
    const writer = new BatchWriter({ codec: CODEC, inbox: tmp.dir, flowId: 'a-e-orders', kind: 'order', format: 'csv', scheduleMs: 1000 });
    const reg = new LegacyCounterRegistry().restServer(app).restClient('a-b-payment', client).batchWriter('a-e-orders', writer);
    await client.request({ method: 'GET', path: '/health' });
    writer.add(order(1));
    await writer.flush();
    const snap = reg.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    expect(snap.rest.server?.requests).toBe(1);
    expect(snap.rest.clients['a-b-payment'].calls).toBe(1);
    expect(snap.batch.writers['a-e-orders'].filesWritten).toBe(1);
    expect(snap.totals).toMatchObject({ restCalls: 1, restFailures: 0, batchFilesWritten: 1, amqpPublished: 0 });
    client.close();
    await l.close();
    await tmp.remove();
  });
});
