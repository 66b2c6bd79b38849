// Every legacy flow of shop.yaml builds its transport with the flow's settings and the defaults.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadTopology } from '../../../systems/topology/index.ts';
import {
  AmqpConnector, amqpConsumerForFlow, amqpPublisherForFlow, batchPickerForFlow, batchWriterForFlow, restClientForFlow, restPollerForFlow,
} from '../../../systems/legacy/index.ts';

const shop = loadTopology(fileURLToPath(new URL('../../../scenarios/topologies/shop.yaml', import.meta.url)));
const flow = (id: string) => shop.flows.find((f) => f.id === id)!;

describe('flow wiring', () => {
  it('takes timeouts, retries, prefetch and schedules from the flow, defaults otherwise', () => {
    const score = restClientForFlow(shop, flow('a-i-score'), 'http://127.0.0.1:1');
    expect(score.options).toMatchObject({ timeoutMs: 1500, retries: 0 });
    const pay = restClientForFlow(shop, flow('a-b-payment'), 'http://127.0.0.1:1');
    expect(pay.options).toMatchObject({ timeoutMs: shop.defaults.restTimeoutMs, retries: shop.defaults.restRetries });
    const poller = restPollerForFlow(shop, flow('b-f-payments'), { baseUrl: 'http://127.0.0.1:1', stateDir: '/tmp/x', onRecords: () => undefined });
    expect(poller.options).toMatchObject({ kind: 'payment', format: 'json', scheduleMs: 1000, cursorFile: '/tmp/x/b-f-payments.cursor.json' });
    const connector = new AmqpConnector({ url: 'amqp://127.0.0.1:1' }); // never started
    expect(amqpConsumerForFlow(shop, flow('b-i-payments'), connector, { handler: () => undefined }).options.prefetch).toBe(20);
    expect(amqpConsumerForFlow(shop, flow('c-d-pick'), connector, { handler: () => undefined }).options).toMatchObject({ prefetch: 50, format: 'xml', kind: 'reservation' });
    expect(amqpPublisherForFlow(shop, flow('d-h-shipment'), connector).names.queue).toBe('legacy.d-h-shipment');
    expect(batchWriterForFlow(shop, flow('a-e-orders'), '/inbox/E').options).toMatchObject({ format: 'csv', scheduleMs: 1000, flowId: 'a-e-orders' });
    expect(batchPickerForFlow(shop, flow('f-e-invoices'), '/inbox/E', { onRecords: () => undefined }).options).toMatchObject({ kind: 'invoice', scheduleMs: 2000 });
    for (const c of [score, pay]) c.close();
  });

  it('refuses a builder of the wrong transport', () => {
    expect(() => batchWriterForFlow(shop, flow('a-b-payment'), '/inbox')).toThrow(/travels by rest-sync, not batch/);
    expect(() => restClientForFlow(shop, flow('c-d-pick'), 'http://x')).toThrow(/amqp/);
  });
});
