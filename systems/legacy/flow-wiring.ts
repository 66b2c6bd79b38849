/**
 * Builds a flow's transport from its topology entry, so a system never copies settings by hand:
 * transport, format, scheduleMs, timeoutMs, retries and prefetch come from the flow (with the
 * topology's defaults). Each builder refuses a flow of another transport. A system with several
 * instances is several base URLs to a rest-sync caller, one poller per instance to a rest-poll
 * receiver, and one owner per instance among the batch pickers of its inbox.
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
import { codecFor, type RecordCodec } from './common.ts';
import type { Outbox } from './outbox.ts';
import type { OutboxStore } from './outbox-store.ts';
import { recordKindsOf } from '../model/kinds.ts';

function expect(flow: Flow, ...transports: LegacyTransport[]): void {
  if (!transports.includes(flow.legacy.transport)) {
    throw new Error(`flow ${flow.id} travels by ${flow.legacy.transport}, not ${transports.join(' or ')}`);
  }
}

const codecs = new WeakMap<Topology, RecordCodec>();
/** The codec of a landscape's kinds (one per topology). */
function codecOf(t: Topology): RecordCodec {
  let c = codecs.get(t);
  if (!c) codecs.set(t, (c = codecFor(recordKindsOf(t))));
  return c;
}

function schedule(flow: Flow): number {
  if (flow.legacy.scheduleMs === undefined) throw new Error(`flow ${flow.id} (${flow.legacy.transport}) has no scheduleMs`);
  return flow.legacy.scheduleMs;
}

/**
 * The caller's client of a rest-sync flow (or the poller's client of a rest-poll flow). Several
 * base URLs (the receiver's instances): calls are spread over them and fail over between them.
 */
export function restClientForFlow(t: Topology, flow: Flow, baseUrl: string | readonly string[], extra: Partial<RestClientOptions> = {}): RestClient {
  expect(flow, 'rest-sync', 'rest-poll');
  return new RestClient({ ...restPolicy(t, flow), codec: codecOf(t), ...extra, baseUrl });
}

/** The receiver's poller of a rest-poll flow; its cursor lives in `<stateDir>/<flowId>.cursor.json`. */
export function restPollerForFlow<R = unknown>(t: Topology, flow: Flow, o: { baseUrl: string; stateDir: string }
  & Pick<RestPollerOptions<R>, 'onRecords'> & Partial<Omit<RestPollerOptions<R>, 'onRecords'>>): RestPoller<R> {
  expect(flow, 'rest-poll');
  const { baseUrl, stateDir, ...rest } = o;
  return new RestPoller<R>({
    client: restClientForFlow(t, flow, baseUrl),
    kind: flow.data, format: flow.legacy.format, scheduleMs: schedule(flow), codec: codecOf(t),
    cursorFile: path.join(stateDir, `${flow.id}.cursor.json`),
    ...rest,
  });
}

/** One instance of a rest-poll sender: its process name (`B`, `B.2`) and base URL. */
export interface FeedSource {
  readonly name: string;
  readonly baseUrl: string;
}

/**
 * The receiver's pollers of a rest-poll flow, one per instance of the sender (each instance serves
 * its own feed, so each has its own cursor): `<cursorDir>/<flowId>.cursor.json` when the sender has
 * one instance, `<cursorDir>/<flowId>.<instance name>.cursor.json` otherwise. Receivers with several
 * instances share cursorDir and pass `isMyTurn` (a lease) so one of them polls at a time.
 */
export function restPollersForFlow<R = unknown>(t: Topology, flow: Flow, o: { senders: readonly FeedSource[]; cursorDir: string }
  & Pick<RestPollerOptions<R>, 'onRecords'> & Partial<Omit<RestPollerOptions<R>, 'onRecords' | 'client' | 'cursorFile'>>): RestPoller<R>[] {
  expect(flow, 'rest-poll');
  const { senders, cursorDir, ...rest } = o;
  if (senders.length === 0) throw new Error(`flow ${flow.id}: no instance of ${flow.from} to poll`);
  return senders.map((sender) => restPollerForFlow<R>(t, flow, {
    ...rest,
    baseUrl: sender.baseUrl,
    stateDir: cursorDir,
    cursorFile: path.join(cursorDir, senders.length === 1 ? `${flow.id}.cursor.json` : `${flow.id}.${sender.name}.cursor.json`),
  }));
}

export function amqpPublisherForFlow(t: Topology, flow: Flow, connector: AmqpConnector, extra: Partial<AmqpPublisherOptions> = {}): AmqpPublisher {
  expect(flow, 'amqp');
  return new AmqpPublisher({ connector, flowId: flow.id, kind: flow.data, format: flow.legacy.format, codec: codecOf(t), ...extra });
}

export function amqpConsumerForFlow<R = unknown>(t: Topology, flow: Flow, connector: AmqpConnector,
  o: Pick<AmqpConsumerOptions<R>, 'handler'> & Partial<AmqpConsumerOptions<R>>): AmqpConsumer<R> {
  expect(flow, 'amqp');
  return new AmqpConsumer<R>({ connector, flowId: flow.id, kind: flow.data, format: flow.legacy.format, prefetch: amqpPrefetch(t, flow), codec: codecOf(t), ...o });
}

/**
 * The sender's writer of a batch flow; `inbox` is the receiver's inbox root. `outboxes`
 * (outbox=durable): the writer keeps its records in the outbox `batch-<flowId>` there.
 */
export function batchWriterForFlow(t: Topology, flow: Flow, inbox: string, extra: Partial<BatchWriterOptions> & { outboxes?: OutboxStore | null } = {}): BatchWriter {
  expect(flow, 'batch');
  const { outboxes, ...rest } = extra;
  const outbox = outboxes ? outboxOfFlow(t, outboxes, `batch-${flow.id}`, flow.data) : undefined;
  return new BatchWriter({ inbox, flowId: flow.id, kind: flow.data, format: flow.legacy.format, scheduleMs: schedule(flow), codec: codecOf(t), ...rest, ...(outbox ? { outbox } : {}) });
}

/** outbox=durable: the outbox a rest-poll sender keeps its feed of a flow's kind in, `feed-<kind>` (one feed per kind). */
export function feedOutboxForFlow(t: Topology, flow: Flow, outboxes: OutboxStore): Outbox<object> {
  expect(flow, 'rest-poll');
  return outboxOfFlow(t, outboxes, `feed-${flow.data}`, flow.data);
}

/** An outbox of records of `kind`, deduped by their identity. */
function outboxOfFlow<R>(t: Topology, outboxes: OutboxStore, name: string, kind: string): Outbox<R> {
  const kinds = recordKindsOf(t);
  return outboxes.open<R>(name, { idOf: (r) => kinds.idOf(kind, r) });
}

/** The receiver's picker of a batch flow; `inbox` is its own inbox root. */
export function batchPickerForFlow<R = unknown>(t: Topology, flow: Flow, inbox: string,
  o: Pick<BatchPickerOptions<R>, 'onRecords'> & Partial<BatchPickerOptions<R>>): BatchPicker<R> {
  expect(flow, 'batch');
  return new BatchPicker<R>({ inbox, flowId: flow.id, kind: flow.data, format: flow.legacy.format, scheduleMs: schedule(flow), codec: codecOf(t), ...o });
}
