/**
 * Can an operator tell, from ONE place, which component failed? The failures runner samples that
 * place about once a second while the killed component is down:
 *  - hub: the broker's Prometheus endpoint (untangle_broker_consumer_lag per group and partition);
 *  - hub-cluster: the cluster as a whole (failures/cluster-locate.ts);
 *  - legacy: RabbitMQ's view of the run's flow queues (depth and consumer count, AMQP checkQueue).
 * The place "names" a component by the rules in concludeLocation; the failure is locatable when
 * what it named is exactly the killed component.
 */
import amqp from 'amqplib';
import { amqpNames } from '../../../systems/legacy/amqp.ts';
import { parseAmqpUrls } from '../../../systems/legacy/amqp-connection.ts';
import { LAKE_SINK } from '../../../systems/runtime/landscape.ts';
import { queuePrefixOf, topicPrefixOf } from '../../../systems/runtime/options.ts';
import { hubLayout, type Topology } from '../../../systems/topology/index.ts';
import { redactAmqpUrl } from '../../../infra/rabbitmq.ts';

/** What the place says about one watched key (a consumer group, a queue). */
export interface Reading {
  /** Consumer lag summed over the group's partitions / messages ready in the queue. */
  value: number;
  /** Queues: consumers attached. */
  consumers?: number;
  /** Groups: the high watermarks summed over the same partitions (the records that arrived for it). */
  inflow?: number;
  /** Groups: which partitions the sums cover (sums are comparable only over the same ones). */
  parts?: string;
}

/** hub-cluster: which nodes the cluster itself counted as present at one sample (null: not known). */
export interface Members {
  /** The active controller, and its Raft term. */
  leaderId: number | null;
  term: number | null;
  /** Voters the active controller was connected to. */
  reachableVoters: number[] | null;
  /** Brokers in the cluster's metadata (registered, not fenced). */
  liveBrokers: number[] | null;
}

/** One observation of the place. */
export interface LocatorSample {
  atMs: number;
  /** The place answered (metrics endpoint fetched / AMQP connection opened). */
  reachable: boolean;
  problem?: string;
  values: Map<string, Reading>;
  members?: Members;
}

export interface Locator {
  /** The place, for messages: the metrics URL or the (redacted) AMQP URL. */
  readonly place: string;
  /** Watched key → the component it points at (group → its system or lake-sink; queue → its consumer). */
  readonly owners: ReadonlyMap<string, string>;
  /** The component an unreachable place points at ('broker' / 'rabbitmq'). */
  readonly itself: string;
  /** 'lag' or 'depth'. */
  readonly measure: string;
  sample(): Promise<LocatorSample>;
  /** What the samples named, when this place has its own rules (hub-cluster); else concludeLocation. */
  conclude?(samples: readonly LocatorSample[], minGrowth: number): Location;
}

export const SAMPLE_TIMEOUT_MS = 900;

/** The samples of one metric in Prometheus text: labels and value per line. */
export function promSamples(text: string, metric: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const close = line.lastIndexOf('}');
    const value = Number(line.slice(close + 1).trim().split(/\s+/)[0]);
    if (!Number.isFinite(value)) continue;
    const labels: Record<string, string> = {};
    for (const m of line.slice(metric.length + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]] = m[2];
    out.push({ labels, value });
  }
  return out;
}

/**
 * Per consumer group: untangle_broker_consumer_lag summed over its partitions, and
 * untangle_broker_high_watermark summed over the same partitions.
 */
export function groupReadings(text: string): Map<string, Reading> {
  const hw = new Map(promSamples(text, 'untangle_broker_high_watermark').map((s) => [`${s.labels.topic}/${s.labels.partition}`, s.value]));
  const parts = new Map<string, { lag: number; inflow: number; keys: string[] }>();
  for (const s of promSamples(text, 'untangle_broker_consumer_lag')) {
    const group = s.labels.group;
    const key = `${s.labels.topic}/${s.labels.partition}`;
    if (group === undefined || !hw.has(key)) continue;
    let g = parts.get(group);
    if (!g) parts.set(group, (g = { lag: 0, inflow: 0, keys: [] }));
    g.lag += s.value;
    g.inflow += hw.get(key)!;
    g.keys.push(key);
  }
  return new Map([...parts].map(([group, g]) => [group, { value: g.lag, inflow: g.inflow, parts: g.keys.sort().join(',') }]));
}

/** The consumer groups of this run's hub wiring, each mapped to its component (a system or the lake sink). */
export function groupOwners(topology: Topology, runId: string): Map<string, string> {
  const layout = hubLayout(topology, { topicPrefix: topicPrefixOf(topology.name, runId) });
  const owners = new Map<string, string>(layout.systems.filter((s) => s.subscribes.length > 0).map((s) => [s.groupId, s.systemId]));
  owners.set(layout.lakeSink.groupId, LAKE_SINK);
  return owners;
}

/** The hub's place: our broker's metrics endpoint; consumer groups of this run mapped to components. */
export function brokerMetricsLocator(metricsUrl: string, topology: Topology, runId: string): Locator {
  const owners = groupOwners(topology, runId);
  return {
    place: `the broker's metrics ${metricsUrl}`,
    owners,
    itself: 'broker',
    measure: 'consumer lag',
    async sample() {
      const atMs = Date.now();
      try {
        const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(SAMPLE_TIMEOUT_MS) });
        const text = await res.text();
        if (res.status !== 200) return { atMs, reachable: false, problem: `HTTP ${res.status}`, values: new Map() };
        const readings = groupReadings(text);
        return { atMs, reachable: true, values: new Map([...readings].filter(([g]) => owners.has(g))) };
      } catch (err) {
        return { atMs, reachable: false, problem: describeError(err), values: new Map() };
      }
    },
  };
}

/** One AMQP connection within SAMPLE_TIMEOUT_MS; a late one is closed. */
async function connectWithin(url: string): Promise<amqp.ChannelModel> {
  let timer: NodeJS.Timeout | undefined;
  const attempt = amqp.connect(url, { timeout: SAMPLE_TIMEOUT_MS });
  try {
    return await Promise.race([
      attempt,
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no AMQP handshake within ${SAMPLE_TIMEOUT_MS} ms`)), SAMPLE_TIMEOUT_MS); }),
    ]);
  } catch (err) {
    attempt.then((late) => late.close(), () => undefined).catch(() => undefined);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The legacy layout's place: RabbitMQ's queues of this run's AMQP flows, each mapped to its consumer.
 * `amqpUrl` may list a cluster's nodes (comma-separated): each sample asks the first that answers.
 */
export function rabbitQueuesLocator(amqpUrl: string, topology: Topology, runId: string): Locator {
  const owners = new Map<string, string>(
    topology.flows.filter((f) => f.legacy.transport === 'amqp').map((f) => [amqpNames(f.id, queuePrefixOf(runId)).queue, f.to]),
  );
  const nodes = parseAmqpUrls(amqpUrl);
  return {
    place: nodes.length > 1 ? `the RabbitMQ cluster at ${nodes.map(redactAmqpUrl).join(',')}` : `RabbitMQ at ${redactAmqpUrl(amqpUrl)}`,
    owners,
    itself: 'rabbitmq',
    measure: 'queue depth',
    async sample() {
      const atMs = Date.now();
      let conn: amqp.ChannelModel | undefined;
      const problems: string[] = [];
      for (const node of nodes) {
        try {
          conn = await connectWithin(node);
          break;
        } catch (err) {
          problems.push(describeError(err));
        }
      }
      if (!conn) return { atMs, reachable: false, problem: problems.join('; '), values: new Map() };
      conn.on('error', () => undefined);
      const values = new Map<string, Reading>();
      try {
        for (const queue of owners.keys()) {
          // A missing queue closes the channel (404), so one channel per queue.
          const ch = await conn.createChannel();
          ch.on('error', () => undefined);
          try {
            const q = await ch.checkQueue(queue);
            values.set(queue, { value: q.messageCount, consumers: q.consumerCount });
            await ch.close();
          } catch {
            // not declared (yet): nothing to say about it
          }
        }
      } catch (err) {
        return { atMs, reachable: true, problem: describeError(err), values };
      } finally {
        await conn.close().catch(() => undefined);
      }
      return { atMs, reachable: true, values };
    },
  };
}

export interface Location {
  /** Components the place pointed at (empty: it named nobody). */
  named: string[];
  /** What the place showed. */
  locatedBy: string;
}

/** Hub: a group counts as not consuming when its lag grew by at least this share of what arrived for it. */
export const NOT_CONSUMING_SHARE = 0.9;

/**
 * What the place named, from the samples taken while the component was down (the first right
 * after the kill, then about one a second until the restart):
 *  - the place itself (broker / rabbitmq), when more than half of the samples could not reach it
 *    (metrics endpoint not answering / AMQP connection refused);
 *  - otherwise, from the first and the last reachable sample (two at least):
 *    - hub: every component whose consumer group's lag grew by at least NOT_CONSUMING_SHARE of
 *      what arrived on its partitions (high watermarks) while at least `minGrowth` records arrived:
 *      lag growing as fast as its topics, i.e. nobody consuming. (A live consumer's lag only
 *      swings by what arrives between two commits, about a second's worth, so over a few seconds
 *      it stays well below that share.)
 *    - legacy: every component consuming a queue whose depth never fell across the samples, grew
 *      by at least `minGrowth`, and that had 0 consumers in the last sample;
 *  - nobody otherwise.
 */
export function concludeLocation(locator: Locator, samples: readonly LocatorSample[], minGrowth: number): Location {
  if (samples.length === 0) return { named: [], locatedBy: `${locator.place}: not sampled` };
  const unreachable = samples.filter((s) => !s.reachable);
  if (unreachable.length * 2 > samples.length) {
    return { named: [locator.itself], locatedBy: `${locator.place} unreachable in ${unreachable.length}/${samples.length} samples (${unreachable[0].problem ?? 'no answer'}) ⇒ ${locator.itself}` };
  }
  const ok = samples.filter((s) => s.reachable);
  if (ok.length < 2) return { named: [], locatedBy: `${locator.place}: fewer than 2 answers while it was down` };
  const spanS = ((ok[ok.length - 1].atMs - ok[0].atMs) / 1000).toFixed(1);
  const findings: string[] = [];
  const named = new Set<string>();
  for (const [key, owner] of locator.owners) {
    const series = ok.map((s) => s.values.get(key));
    const first = series[0];
    const last = series[series.length - 1];
    if (!first || !last) continue;
    const growth = last.value - first.value;
    if (first.inflow !== undefined && last.inflow !== undefined) {
      if (first.parts !== last.parts) continue;
      const arrived = last.inflow - first.inflow;
      if (arrived >= minGrowth && growth >= NOT_CONSUMING_SHARE * arrived) {
        named.add(owner);
        findings.push(`${locator.measure} of ${key} ${first.value}→${last.value} over ${spanS} s while ${arrived} record(s) arrived for it (nobody consuming) ⇒ ${owner}`);
      }
    } else {
      if (series.some((v) => v === undefined)) continue;
      const vals = series.map((v) => v!.value);
      const monotone = vals.every((v, i) => i === 0 || v >= vals[i - 1]);
      if (monotone && growth >= minGrowth && last.consumers === 0) {
        named.add(owner);
        findings.push(`${locator.measure} of ${key} ${first.value}→${last.value} over ${spanS} s, never falling, 0 consumers ⇒ ${owner}`);
      }
    }
  }
  if (named.size === 0) {
    const rule = locator.itself === 'broker'
      ? `no group's lag grew as fast as its topics (${minGrowth}+ records)`
      : `no queue grew (by ${minGrowth}+, never falling) with 0 consumers`;
    return { named: [], locatedBy: `${locator.place}: ${rule} over ${spanS} s, ${locator.owners.size} watched: it named nobody` };
  }
  return { named: [...named].sort(), locatedBy: `${locator.place}: ${findings.join('; ')}` };
}

export function describeError(err: unknown): string {
  const e = err as Error & { cause?: Error & { code?: string }; code?: string };
  if (e.name === 'TimeoutError') return `no answer within ${SAMPLE_TIMEOUT_MS} ms`;
  return e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? String(err);
}
