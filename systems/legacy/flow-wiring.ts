/**
 * Builds a flow's transport from its topology entry, so a system never copies settings by hand:
 * transport, format, scheduleMs, timeoutMs, retries and prefetch come from the flow (with the
 * topology's defaults). Each builder refuses a flow of another transport.
 */
import path from 'node:path';
import { amqpPrefetch, restPolicy } from '../topology/model.ts';
import type { Flow, LegacyTransport, Topology } from '../topology/model.ts';
import type { AmqpConnector } from './amqp-connection.ts';
import { AmqpConsumer, AmqpPublisher } from './amqp.ts';
import type { AmqpConsumerOptions, AmqpPublisherOptions } from './amqp.ts';
import { BatchPicker } from './batch-picker.ts';
import type { BatchPickerOptions } from './batch-picker.ts';
import { BatchWriter } from './batch.ts';
import type { BatchWriterOptions } from './batch.ts';
import { RestClient } from './rest-client.ts';
import type { RestClientOptions } from './rest-client.ts';
import { RestPoller } from './rest-poller.ts';
import type { RestPollerOptions } from './rest-poller.ts';

function expect(flow: Flow, ...transports: LegacyTransport[]): void {
  if (!transports.includes(flow.legacy.transport)) {
    throw new Error(`flow ${flow.id} travels by ${flow.legacy.transport}, not ${transports.join(' or ')}`);
  }
}

function schedule(flow: Flow): number {
  if (flow.legacy.scheduleMs === undefined) throw new Error(`flow ${flow.id} (${flow.legacy.transport}) has no scheduleMs`);
  return flow.legacy.scheduleMs;
}

/** The caller's client of a rest-sync flow (or the poller's client of a rest-poll flow). */
export function restClientForFlow(t: Topology, flow: Flow, baseUrl: string, extra: Partial<RestClientOptions> = {}): RestClient {
  expect(flow, 'rest-sync', 'rest-poll');
  return new RestClient({ ...restPolicy(t, flow), ...extra, baseUrl });
}

/** The receiver's poller of a rest-poll flow; its cursor lives in `<stateDir>/<flowId>.cursor.json`. */
export function restPollerForFlow<R = unknown>(t: Topology, flow: Flow, o: { baseUrl: string; stateDir: string }
  & Pick<RestPollerOptions<R>, 'onRecords'> & Partial<Omit<RestPollerOptions<R>, 'onRecords'>>): RestPoller<R> {
  expect(flow, 'rest-poll');
  const { baseUrl, stateDir, ...rest } = o;
  return new RestPoller<R>({
    client: restClientForFlow(t, flow, baseUrl),
    kind: flow.data, format: flow.legacy.format, scheduleMs: schedule(flow),
    cursorFile: path.join(stateDir, `${flow.id}.cursor.json`),
    ...rest,
  });
}

export function amqpPublisherForFlow(flow: Flow, connector: AmqpConnector, extra: Partial<AmqpPublisherOptions> = {}): AmqpPublisher {
  expect(flow, 'amqp');
  return new AmqpPublisher({ connector, flowId: flow.id, kind: flow.data, format: flow.legacy.format, ...extra });
}

export function amqpConsumerForFlow<R = unknown>(t: Topology, flow: Flow, connector: AmqpConnector,
  o: Pick<AmqpConsumerOptions<R>, 'handler'> & Partial<AmqpConsumerOptions<R>>): AmqpConsumer<R> {
  expect(flow, 'amqp');
  return new AmqpConsumer<R>({ connector, flowId: flow.id, kind: flow.data, format: flow.legacy.format, prefetch: amqpPrefetch(t, flow), ...o });
}

/** The sender's writer of a batch flow; `inbox` is the receiver's inbox root. */
export function batchWriterForFlow(flow: Flow, inbox: string, extra: Partial<BatchWriterOptions> = {}): BatchWriter {
  expect(flow, 'batch');
  return new BatchWriter({ inbox, flowId: flow.id, kind: flow.data, format: flow.legacy.format, scheduleMs: schedule(flow), ...extra });
}

/** The receiver's picker of a batch flow; `inbox` is its own inbox root. */
export function batchPickerForFlow<R = unknown>(flow: Flow, inbox: string,
  o: Pick<BatchPickerOptions<R>, 'onRecords'> & Partial<BatchPickerOptions<R>>): BatchPicker<R> {
  expect(flow, 'batch');
  return new BatchPicker<R>({ inbox, flowId: flow.id, kind: flow.data, format: flow.legacy.format, scheduleMs: schedule(flow), ...o });
}
