/**
 * The legacy layout's wiring of one system instance: its flows, each in its own transport and
 * format (REST, RabbitMQ, batch files), built from the topology, and its own lake export.
 */
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
  restPollersForFlow,
} from '../legacy/flow-wiring.ts';
import { FileLease, tickLease } from '../process/lease.ts';
import { instanceNames } from '../topology/index.ts';
import type { SystemCore } from './core.ts';
import { PATHS, instanceName, instanceStateDir, leaseFileOf, queuePrefixOf, sharedStateDir, type SystemRuntimeOptions } from './options.ts';
import { amqpNames } from '../legacy/amqp.ts';
import { LakeExporter } from './lake-exporter.ts';
import type { Wiring } from './wiring.ts';

/** Records a rest-poll feed keeps for its pollers; older ones are evicted (and counted as missed). */
const FEED_CAPACITY = 200_000;
/** A rest-poll receiver with several instances: how long the polling instance's lease outlives it, at least. */
const POLL_LEASE_TTL_MS_MIN = 3_000;

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
 *
 * This is one instance of the system. With several: rest-sync callers spread over every instance
 * of the receiver (--peers lists them all), each instance serves its own rest-poll feed and a
 * receiver polls every instance's feed, one receiver instance at a time (a lease per flow, cursors
 * in the system's shared folder); AMQP consumers of all instances compete on the flow's one queue;
 * batch pickers of all instances claim files from the system's one inbox. Each instance has its
 * own port, state folder and lake export.
 */
export async function startLegacyWiring(opts: SystemRuntimeOptions, core: SystemCore, rest: RestApp): Promise<Wiring> {
  const t = opts.topology;
  const id = opts.systemId;
  const spec = t.systems.find((s) => s.id === id)!;
  const me = instanceName(spec, opts.instance ?? 1);
  const several = spec.instances > 1;
  const inboxOf = (systemId: string): string => join(opts.workDir, 'inbox', systemId);
  const stateDir = instanceStateDir(opts.workDir, me);
  const sharedDir = sharedStateDir(opts.workDir, id);
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(sharedDir, { recursive: true });
  mkdirSync(inboxOf(id), { recursive: true });
  const counters = new LegacyCounterRegistry().restServer(rest);
  const incoming = t.flows.filter((f) => f.to === id);
  const outgoing = t.flows.filter((f) => f.from === id);
  /** Every instance's base URL of a peer system, in instance order. */
  const peer = (systemId: string, flow: Flow): string[] => {
    const urls = opts.peers[systemId];
    if (!urls || urls.length === 0) throw new Error(`system ${me}: flow ${flow.id} needs the address of system ${systemId} (--peers ${systemId}=URL|URL...)`);
    return urls;
  };

  let connector: AmqpConnector | null = null;
  if ([...incoming, ...outgoing].some((f) => f.legacy.transport === 'amqp')) {
    if (!opts.amqpUrl) throw new Error(`system ${id}: its AMQP flows need a RabbitMQ URL (--amqp-url)`);
    connector = new AmqpConnector({ url: opts.amqpUrl, name: `untangle-system-${me}` });
    counters.amqpConnector(connector);
    connector.start();
    await connector.waitConnected(15_000);
  }

  const recordProblem = core.kinds.problem;
  const lake = spec.lakeExport ? new LakeExporter(join(opts.workDir, 'lake'), id, spec.lakeExport, core.kinds, opts.logger) : null;
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
        const publisher = amqpPublisherForFlow(t, flow, connector!, { names: amqpNames(flow.id, queuePrefixOf(opts.runId)) });
        counters.amqpPublisher(flow.id, publisher);
        send = (records) => publisher.publish(records);
        parts.push({ start: () => publisher.start(), stop: () => publisher.close() });
        break;
      }
      case 'batch': {
        const writer = batchWriterForFlow(t, flow, inboxOf(flow.to), { fileTag: me });
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
      const result = await core.handle(kind, record);
      if (!result.ok) throw new Error(result.reason);
      for (const out of result.outputs) await emit(out.kind, out.record);
    }
  };

  for (const flow of incoming) {
    switch (flow.legacy.transport) {
      case 'rest-sync':
        rest.acceptRecords(PATHS.flowIn(flow.id), flow.data, async (records) => receive(flow.data, records));
        break;
      case 'rest-poll': {
        // One poller per sender instance (each has its own feed); with several receiver instances,
        // the one holding the flow's lease polls, from cursors any of them can continue.
        const urls = peer(flow.from, flow);
        const names = instanceNames({ id: flow.from, instances: urls.length });
        let isMyTurn: (() => boolean) | undefined;
        if (several) {
          const ttlMs = Math.max(POLL_LEASE_TTL_MS_MIN, 3 * (flow.legacy.scheduleMs ?? 1000));
          const lease = new FileLease({ file: leaseFileOf(opts.workDir, id, `poll-${flow.id}`), owner: me, ttlMs });
          let ticker: ReturnType<typeof tickLease> | null = null;
          parts.push({
            start: () => { ticker = tickLease(lease, { onChange: (held) => opts.logger(`${held ? 'polls' : 'no longer polls'} flow ${flow.id}`), onError: (e) => opts.logger(`flow ${flow.id} lease: ${e.message}`) }); },
            stop: async () => { ticker?.stop(); },
          });
          isMyTurn = () => lease.held;
        }
        const pollers = restPollersForFlow<object>(t, flow, {
          senders: urls.map((baseUrl, i) => ({ name: names[i], baseUrl })),
          cursorDir: sharedDir, isMyTurn, validate: recordProblem, onRecords: (records) => receive(flow.data, records),
        });
        pollers.forEach((poller, i) => {
          counters.restPoller(pollers.length === 1 ? flow.id : `${flow.id}@${names[i]}`, poller);
          parts.push({ start: () => poller.start(), stop: () => poller.stop() });
        });
        break;
      }
      case 'amqp': {
        const consumer = amqpConsumerForFlow<object>(t, flow, connector!, { names: amqpNames(flow.id, queuePrefixOf(opts.runId)), validate: recordProblem, handler: (records) => receive(flow.data, records) });
        counters.amqpConsumer(flow.id, consumer);
        parts.push({ start: () => consumer.start(), stop: () => consumer.stop() });
        break;
      }
      case 'batch': {
        // Every instance scans the system's one inbox; with several, each claims a file before reading it.
        const picker = batchPickerForFlow<object>(t, flow, inboxOf(id), { ...(several ? { owner: me } : {}), validate: recordProblem, onRecords: (records) => receive(flow.data, records) });
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
