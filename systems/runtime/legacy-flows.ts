/**
 * The running flows of one legacy system instance: each flow of its plan (systems/legacy/flow-set.ts)
 * built into its transport (a REST client or route, a feed, an AMQP publisher or consumer, a batch
 * writer or picker) and started. apply() moves the running set to another plan, changing only what
 * differs: new flows are started, removed ones stopped after the sends under way on them are done
 * (what they buffer is flushed), and unchanged flows keep running untouched, so a peer reload
 * loses no record in flight.
 */
import { join } from 'node:path';
import { instanceNames, type Flow, type Topology } from '../topology/index.ts';
import { AmqpConnector } from '../legacy/amqp-connection.ts';
import { amqpNames } from '../legacy/amqp.ts';
import type { RecordValidator } from '../legacy/common.ts';
import type { LegacyCounterRegistry } from '../legacy/counters.ts';
import { FeedLog } from '../legacy/feed-log.ts';
import type { RestApp, RouteHandle } from '../legacy/rest-server.ts';
import type { OutboxStore } from '../legacy/outbox-store.ts';
import {
  amqpConsumerForFlow,
  amqpPublisherForFlow,
  batchPickerForFlow,
  batchWriterForFlow,
  feedOutboxForFlow,
  restClientForFlow,
  restPollersForFlow,
} from '../legacy/flow-wiring.ts';
import { diffFlowPlans, emptyPlan, isEmptyDiff, type FlowPlan, type FlowPlanDiff, type PlannedFlow } from '../legacy/flow-set.ts';
import { FileLease, tickLease } from '../process/lease.ts';
import { PATHS, leaseFileOf, queuePrefixOf } from './options.ts';

/** Records a rest-poll feed keeps for its pollers; older ones are evicted (and counted as missed). */
const FEED_CAPACITY = 200_000;
/** A rest-poll receiver with several instances: how long the polling instance's lease outlives it, at least. */
const POLL_LEASE_TTL_MS_MIN = 3_000;
/** Taking a flow down in a reload: how long to wait for the sends under way on it (a REST call, an unconfirmed publish). */
const DRAIN_TIMEOUT_MS = 15_000;

export type Send = (records: object[]) => Promise<void>;

/** What every flow of one system instance is built with. */
export interface FlowEnvironment {
  /** This instance's process name (`B`, `B.2`). */
  readonly me: string;
  readonly systemId: string;
  /** The system runs as several instances (rest-poll leases, batch file claims). */
  readonly several: boolean;
  readonly workDir: string;
  /** What the system's instances share (rest-poll cursors, leases). */
  readonly sharedDir: string;
  readonly runId?: string;
  readonly amqpUrl?: string;
  readonly rest: RestApp;
  readonly counters: LegacyCounterRegistry;
  readonly validate: RecordValidator;
  /** Hands received records to the system (its core), in order; throws to refuse them. */
  readonly receive: (kind: string, records: unknown[]) => Promise<void>;
  readonly logger: (line: string) => void;
  /** outbox=durable: where feeds and batch writers keep their records (null or absent: in memory). */
  readonly outboxes?: OutboxStore | null;
}

interface LiveFlow {
  readonly planned: PlannedFlow;
  /** Outgoing flows: carries records onwards. */
  readonly send?: Send;
  start(): Promise<void>;
  /** `drain`: first wait (bounded) for the sends under way on the flow. */
  stop(drain: boolean): Promise<void>;
}

export interface ApplyResult {
  readonly diff: FlowPlanDiff;
  /** Flows that failed to start or stop cleanly (the rest of the change was made). */
  readonly problems: string[];
}

/** A send that counts the calls under way, so taking its flow down can wait for them. */
function tracked(raw: Send): { send: Send; drain(timeoutMs: number): Promise<void> } {
  let inFlight = 0;
  const waiters = new Set<() => void>();
  return {
    send: async (records) => {
      inFlight++;
      try {
        await raw(records);
      } finally {
        if (--inFlight === 0) for (const w of waiters) w();
      }
    },
    drain: (timeoutMs) => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => {
      const done = (): void => { clearTimeout(timer); waiters.delete(done); resolve(); };
      const timer = setTimeout(done, timeoutMs);
      waiters.add(done);
    })),
  };
}

export class LiveFlows {
  private plan: FlowPlan;
  private live = new Map<string, LiveFlow>();
  private sends = new Map<string, { flow: Flow; send: Send }[]>();
  private connector: AmqpConnector | null = null;
  /** rest-poll feeds by data kind: served once, kept for the life of the process (pollers may still read them). */
  private readonly feeds = new Map<string, FeedLog<object>>();
  /** Rebuilds so far: names the batch files of a rebuilt writer apart from its predecessor's. */
  private rebuilds = 0;

  constructor(private readonly env: FlowEnvironment) {
    this.plan = emptyPlan(env.systemId);
  }

  /** The outgoing flows of a data kind, with their sends, as of now. */
  sendsOf(kind: string): readonly { flow: Flow; send: Send }[] {
    return this.sends.get(kind) ?? [];
  }

  /**
   * Moves the running flows to `next` (a plan for topology `t`). Everything new is built first: a
   * flow that cannot be built throws and leaves the wiring as it was. Then: changed incoming flows
   * stop, new outgoing flows start and take the sends over, new incoming flows start, and removed
   * flows (and the old versions of changed outgoing ones) stop once their sends under way are done.
   */
  async apply(t: Topology, next: FlowPlan): Promise<ApplyResult> {
    const diff = diffFlowPlans(this.plan, next);
    const problems: string[] = [];
    if (isEmptyDiff(diff)) {
      this.plan = next;
      return { diff, problems };
    }
    const first = this.plan.flows.size === 0 && this.live.size === 0;
    if (!first) this.rebuilds++;
    const fresh = [...diff.added, ...diff.changed.map((c) => c.after)];
    if (fresh.some((p) => p.flow.legacy.transport === 'amqp')) await this.amqp();
    const rebuilt = new Set(diff.changed.map((c) => c.after.key));
    const built = fresh.map((p) => this.build(t, p, rebuilt.has(p.key)));
    const attempt = async (what: string, p: PlannedFlow, f: () => Promise<void>): Promise<void> => {
      try {
        await f();
      } catch (err) {
        problems.push(`flow ${p.flow.id} (${p.side}): ${what}: ${(err as Error).message}`);
      }
    };
    const oldOf = (p: PlannedFlow): LiveFlow | undefined => this.live.get(p.key);
    // A changed receiver stops before its successor starts: they would share a route, a cursor or an inbox.
    for (const c of diff.changed.filter((x) => x.after.side === 'in')) await attempt('stop', c.before, async () => oldOf(c.before)?.stop(false));
    for (const f of built.filter((x) => x.planned.side === 'out')) await attempt('start', f.planned, () => f.start());
    const live = new Map<string, LiveFlow>();
    const builtByKey = new Map(built.map((f) => [f.planned.key, f]));
    for (const p of next.flows.values()) {
      const f = builtByKey.get(p.key) ?? this.live.get(p.key);
      if (f) live.set(p.key, f);
    }
    const previous = this.live;
    this.live = live;
    this.plan = next;
    this.sends = new Map();
    for (const f of live.values()) {
      if (!f.send) continue;
      const list = this.sends.get(f.planned.flow.data) ?? [];
      list.push({ flow: f.planned.flow, send: f.send });
      this.sends.set(f.planned.flow.data, list);
    }
    for (const f of built.filter((x) => x.planned.side === 'in')) await attempt('start', f.planned, () => f.start());
    const retiring = [
      ...diff.removed.filter((p) => p.side === 'in'),
      ...diff.removed.filter((p) => p.side === 'out'),
      ...diff.changed.filter((c) => c.before.side === 'out').map((c) => c.before),
    ];
    for (const p of retiring) await attempt('stop', p, async () => previous.get(p.key)?.stop(true));
    for (const p of diff.removed) this.env.counters.forget(p.flow.id, p.side);
    return { diff, problems };
  }

  /** Stops every flow, incoming first (no new input), then outgoing (flushing what they hold), then the AMQP connection. */
  async close(): Promise<void> {
    const flows = [...this.live.values()];
    for (const f of [...flows.filter((x) => x.planned.side === 'in'), ...flows.filter((x) => x.planned.side === 'out').reverse()]) await f.stop(false);
    await this.connector?.close();
  }

  private async amqp(): Promise<AmqpConnector> {
    if (this.connector) return this.connector;
    if (!this.env.amqpUrl) throw new Error(`system ${this.env.systemId}: its AMQP flows need a RabbitMQ URL (--amqp-url)`);
    const connector = new AmqpConnector({ url: this.env.amqpUrl, name: `untangle-system-${this.env.me}` });
    this.env.counters.amqpConnector(connector);
    connector.start();
    this.connector = connector;
    await connector.waitConnected(15_000);
    return connector;
  }

  private feedOf(t: Topology, flow: Flow): FeedLog<object> {
    let feed = this.feeds.get(flow.data);
    if (!feed) {
      const outboxes = this.env.outboxes;
      feed = new FeedLog<object>({ capacity: FEED_CAPACITY, ...(outboxes ? { outbox: feedOutboxForFlow(t, flow, outboxes) } : {}) });
      this.feeds.set(flow.data, feed);
      this.env.rest.serveFeed(flow.data, feed as FeedLog, flow.legacy.format);
    }
    return feed;
  }

  private build(t: Topology, p: PlannedFlow, rebuilt: boolean): LiveFlow {
    return p.side === 'out' ? this.buildOutgoing(t, p, rebuilt) : this.buildIncoming(t, p);
  }

  private buildOutgoing(t: Topology, p: PlannedFlow, rebuilt: boolean): LiveFlow {
    const { env } = this;
    const flow = p.flow;
    let raw: Send;
    let start = async (): Promise<void> => undefined;
    let stop = async (): Promise<void> => undefined;
    switch (flow.legacy.transport) {
      case 'rest-sync': {
        const client = restClientForFlow(t, flow, p.peerUrls);
        raw = async (records) => {
          await client.postRecords(PATHS.flowIn(flow.id), flow.data, flow.legacy.format, records);
        };
        start = async () => { env.counters.restClient(flow.id, client); };
        stop = async () => client.close();
        break;
      }
      case 'rest-poll': {
        const log = this.feedOf(t, flow);
        raw = async (records) => log.append(...records);
        break;
      }
      case 'amqp': {
        const publisher = amqpPublisherForFlow(t, flow, this.connector!, { names: amqpNames(flow.id, queuePrefixOf(env.runId)) });
        raw = (records) => publisher.publish(records);
        start = async () => { env.counters.amqpPublisher(flow.id, publisher); publisher.start(); };
        stop = () => publisher.close();
        break;
      }
      case 'batch': {
        // A rebuilt writer overlaps its predecessor's last flush: its own file tag keeps their names apart.
        const fileTag = rebuilt ? `${env.me}-r${this.rebuilds}` : env.me;
        const writer = batchWriterForFlow(t, flow, join(env.workDir, 'inbox', flow.to), { fileTag, outboxes: env.outboxes });
        raw = async (records) => {
          const accepted = writer.add(...records);
          if (accepted < records.length) throw new Error(`flow ${flow.id}: batch buffer full, ${records.length - accepted} record(s) refused`);
        };
        start = async () => { env.counters.batchWriter(flow.id, writer); writer.start(); };
        stop = () => writer.stop();
        break;
      }
    }
    const sends = tracked(raw);
    return {
      planned: p,
      send: sends.send,
      start,
      async stop(drain) {
        if (drain) await sends.drain(DRAIN_TIMEOUT_MS);
        await stop();
      },
    };
  }

  private buildIncoming(t: Topology, p: PlannedFlow): LiveFlow {
    const { env } = this;
    const flow = p.flow;
    const receive = (records: unknown[]): Promise<void> => env.receive(flow.data, records);
    switch (flow.legacy.transport) {
      case 'rest-sync': {
        let route: RouteHandle | null = null;
        return {
          planned: p,
          start: async () => { route = env.rest.acceptRecords(PATHS.flowIn(flow.id), flow.data, async (records) => receive(records)); },
          stop: async () => { route?.remove(); route = null; },
        };
      }
      case 'rest-poll': {
        // One poller per sender instance (each has its own feed); with several receiver instances,
        // the one holding the flow's lease polls, from cursors any of them can continue.
        const names = instanceNames({ id: flow.from, instances: p.peerUrls.length });
        let isMyTurn: (() => boolean) | undefined;
        let lease: FileLease | null = null;
        let ticker: ReturnType<typeof tickLease> | null = null;
        if (env.several) {
          const ttlMs = Math.max(POLL_LEASE_TTL_MS_MIN, 3 * (flow.legacy.scheduleMs ?? 1000));
          const held = new FileLease({ file: leaseFileOf(env.workDir, env.systemId, `poll-${flow.id}`), owner: env.me, ttlMs });
          lease = held;
          isMyTurn = () => held.held;
        }
        const pollers = restPollersForFlow<object>(t, flow, {
          senders: p.peerUrls.map((baseUrl, i) => ({ name: names[i], baseUrl })),
          cursorDir: env.sharedDir, isMyTurn, validate: env.validate, onRecords: receive,
        });
        return {
          planned: p,
          async start() {
            if (lease) {
              ticker = tickLease(lease, {
                onChange: (held) => env.logger(`${held ? 'polls' : 'no longer polls'} flow ${flow.id}`),
                onError: (e) => env.logger(`flow ${flow.id} lease: ${e.message}`),
              });
            }
            for (const [i, poller] of pollers.entries()) {
              env.counters.restPoller(pollers.length === 1 ? flow.id : `${flow.id}@${names[i]}`, poller);
              await poller.start();
            }
          },
          async stop() {
            for (const poller of [...pollers].reverse()) await poller.stop();
            ticker?.stop();
            ticker = null;
          },
        };
      }
      case 'amqp': {
        const consumer = amqpConsumerForFlow<object>(t, flow, this.connector!, { names: amqpNames(flow.id, queuePrefixOf(env.runId)), validate: env.validate, handler: receive });
        return {
          planned: p,
          start: async () => { env.counters.amqpConsumer(flow.id, consumer); consumer.start(); },
          stop: () => consumer.stop(),
        };
      }
      case 'batch': {
        // Every instance scans the system's one inbox; with several, each claims a file before reading it.
        const picker = batchPickerForFlow<object>(t, flow, join(env.workDir, 'inbox', env.systemId), { ...(env.several ? { owner: env.me } : {}), validate: env.validate, onRecords: receive });
        return {
          planned: p,
          start: async () => { env.counters.batchPicker(flow.id, picker); picker.start(); },
          stop: () => picker.stop(),
        };
      }
    }
  }
}
