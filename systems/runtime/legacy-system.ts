import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Flow } from '../topology/index.ts';
import { AmqpConnector } from '../legacy/amqp-connection.ts';
import { FeedLog } from '../legacy/feed-log.ts';
import { LegacyCounterRegistry } from '../legacy/counters.ts';
import type { RestApp } from '../legacy/rest-server.ts';
import {
  amqpConsumerForFlow,
  amqpPublisherForFlow,
  batchPickerForFlow,
  batchWriterForFlow,
  restClientForFlow,
  restPollerForFlow,
} from '../legacy/flow-wiring.ts';
import type { SystemCore } from './core.ts';
import { PATHS, queuePrefixOf, type SystemRuntimeOptions } from './options.ts';
import { amqpNames } from '../legacy/amqp.ts';
import { recordProblem } from './system.ts';
import { LakeExporter } from './lake-exporter.ts';
import type { Wiring } from './wiring.ts';

/** Records a rest-poll feed keeps for its pollers; older ones are evicted (and counted as missed). */
const FEED_CAPACITY = 200_000;

type Send = (records: object[]) => Promise<void>;
interface Part {
  start?(): void | Promise<void>;
  stop?(): Promise<void>;
}

/**
 * The legacy wiring of one system, built flow by flow from the topology: each flow speaks its own
 * transport and format. Incoming: rest-sync routes, rest-poll pollers of the sender's feed, AMQP
 * consumers, batch pickers. Outgoing: synchronous REST calls (made one after another, as the
 * calling code of a legacy system does), feed entries, confirmed AMQP publishes and batch files.
 * Besides, the system exports its own records to the lake in its own format on its own schedule.
 */
export async function startLegacyWiring(opts: SystemRuntimeOptions, core: SystemCore, rest: RestApp): Promise<Wiring> {
  const t = opts.topology;
  const id = opts.systemId;
  const spec = t.systems.find((s) => s.id === id)!;
  const inboxOf = (systemId: string): string => join(opts.workDir, 'inbox', systemId);
  const stateDir = join(opts.workDir, 'state', id);
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(inboxOf(id), { recursive: true });
  const counters = new LegacyCounterRegistry().restServer(rest);
  const incoming = t.flows.filter((f) => f.to === id);
  const outgoing = t.flows.filter((f) => f.from === id);
  const peer = (systemId: string, flow: Flow): string => {
    const url = opts.peers[systemId];
    if (!url) throw new Error(`system ${id}: flow ${flow.id} needs the address of system ${systemId} (--peers ${systemId}=URL)`);
    return url;
  };

  let connector: AmqpConnector | null = null;
  if ([...incoming, ...outgoing].some((f) => f.legacy.transport === 'amqp')) {
    if (!opts.amqpUrl) throw new Error(`system ${id}: its AMQP flows need a RabbitMQ URL (--amqp-url)`);
    connector = new AmqpConnector({ url: opts.amqpUrl, name: `untangle-system-${id}` });
    counters.amqpConnector(connector);
    connector.start();
    await connector.waitConnected(15_000);
  }

  const lake = spec.lakeExport ? new LakeExporter(join(opts.workDir, 'lake'), id, spec.lakeExport, opts.logger) : null;
  const sends = new Map<string, { flow: Flow; send: Send }[]>();
  const parts: Part[] = [];
  const feeds = new Map<string, FeedLog<object>>();

  for (const flow of outgoing) {
    let send: Send;
    switch (flow.legacy.transport) {
      case 'rest-sync': {
        const client = restClientForFlow(t, flow, peer(flow.to, flow));
        counters.restClient(flow.id, client);
        send = async (records) => {
          await client.postRecords(PATHS.flowIn(flow.id), flow.data, flow.legacy.format, records);
        };
        parts.push({ stop: async () => client.close() });
        break;
      }
      case 'rest-poll': {
        let feed = feeds.get(flow.data);
        if (!feed) {
          feed = new FeedLog<object>({ capacity: FEED_CAPACITY });
          feeds.set(flow.data, feed);
          rest.serveFeed(flow.data, feed as FeedLog, flow.legacy.format);
        }
        const log = feed;
        send = async (records) => log.append(...records);
        break;
      }
      case 'amqp': {
        const publisher = amqpPublisherForFlow(flow, connector!, { names: amqpNames(flow.id, queuePrefixOf(opts.runId)) });
        counters.amqpPublisher(flow.id, publisher);
        send = (records) => publisher.publish(records);
        parts.push({ start: () => publisher.start(), stop: () => publisher.close() });
        break;
      }
      case 'batch': {
        const writer = batchWriterForFlow(flow, inboxOf(flow.to));
        counters.batchWriter(flow.id, writer);
        send = async (records) => {
          const accepted = writer.add(...records);
          if (accepted < records.length) throw new Error(`flow ${flow.id}: batch buffer full, ${records.length - accepted} record(s) refused`);
        };
        parts.push({ start: () => writer.start(), stop: () => writer.stop() });
        break;
      }
    }
    const list = sends.get(flow.data) ?? [];
    list.push({ flow, send });
    sends.set(flow.data, list);
  }

  const emit = async (kind: string, record: object): Promise<void> => {
    lake?.add(kind, record);
    const targets = sends.get(kind) ?? [];
    // Synchronous calls one after another, as the calling code does; the rest are hand-offs.
    for (const { flow, send } of targets) if (flow.legacy.transport === 'rest-sync') await send([record]);
    await Promise.all(targets.filter(({ flow }) => flow.legacy.transport !== 'rest-sync').map(({ send }) => send([record])));
  };

  const receive = async (kind: string, records: unknown[]): Promise<void> => {
    for (const record of records) {
      const result = core.process(kind, record);
      if (!result.ok) throw new Error(result.reason);
      if (result.output) await emit(result.output.kind, result.output.record);
    }
  };

  for (const flow of incoming) {
    switch (flow.legacy.transport) {
      case 'rest-sync':
        rest.acceptRecords(PATHS.flowIn(flow.id), flow.data, async (records) => receive(flow.data, records));
        break;
      case 'rest-poll': {
        const poller = restPollerForFlow<object>(t, flow, { baseUrl: peer(flow.from, flow), stateDir, validate: recordProblem, onRecords: (records) => receive(flow.data, records) });
        counters.restPoller(flow.id, poller);
        parts.push({ start: () => poller.start(), stop: () => poller.stop() });
        break;
      }
      case 'amqp': {
        const consumer = amqpConsumerForFlow<object>(t, flow, connector!, { names: amqpNames(flow.id, queuePrefixOf(opts.runId)), validate: recordProblem, handler: (records) => receive(flow.data, records) });
        counters.amqpConsumer(flow.id, consumer);
        parts.push({ start: () => consumer.start(), stop: () => consumer.stop() });
        break;
      }
      case 'batch': {
        const picker = batchPickerForFlow<object>(flow, inboxOf(id), { validate: recordProblem, onRecords: (records) => receive(flow.data, records) });
        counters.batchPicker(flow.id, picker);
        parts.push({ start: () => picker.start(), stop: () => picker.stop() });
        break;
      }
    }
  }

  for (const part of parts) await part.start?.();
  lake?.start();

  return {
    emit,
    counters: () => ({ ...counters.snapshot(), lakeExport: lake?.counters() ?? null }),
    async close() {
      // Stop taking input first, then flush what is on its way out, then the connection.
      for (const part of [...parts].reverse()) await part.stop?.();
      await lake?.close();
      await connector?.close();
    },
  };
}
