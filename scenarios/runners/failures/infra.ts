/**
 * What runs under one layout of the failures runner besides the systems, and how each component is
 * killed, restarted and looked for:
 *  - legacy: RabbitMQ, a private node when RabbitMQ is to be killed (never the machine's shared one);
 *  - legacy-ha: RABBIT_CLUSTER_NODES private RabbitMQ nodes clustered (infra/rabbitmq-cluster.ts,
 *    rabbitmq-1, rabbitmq-2, ...; their own Supervisor, so the landscape's stop leaves them up to
 *    delete the run's queues); the systems get every node's URL, fail over between them and declare
 *    their flow queues as quorum queues. After a node's restart the cluster is whole again once
 *    every node runs and every quorum queue of the run has all its members online; then the
 *    queues' leaders are spread over the nodes again (RabbitMQ 3.10 does not move them back itself);
 *  - hub: our broker as its own process under the landscape's Supervisor;
 *  - hub-cluster: CLUSTER_NODES of our brokers, each also a controller quorum voter, each its own
 *    process under the landscape's Supervisor (broker-1, broker-2, ...), with the run's topics
 *    created replicated (CLUSTER_REPLICATION_FACTOR, min.insync.replicas CLUSTER_MIN_INSYNC) before
 *    any system starts; the systems' producers already use acks=all (systems/hub/publisher.ts).
 */
import { join } from 'node:path';
import type { ClusterSetup, FailuresLayoutName } from '../../../report/model.ts';
import type { FailuresSettings } from '../../settings.ts';
import { noteForReport, startHubProcess, subDir, type RunnerContext } from '../context.ts';
import type { Supervisor } from '../../../systems/process/supervisor.ts';
import type { Landscape } from '../../../systems/runtime/landscape.ts';
import { queuePrefixOf, topicPrefixOf } from '../../../systems/runtime/options.ts';
import { hubLayout, type Topology } from '../../../systems/topology/index.ts';
import { allHubTopics } from '../../../systems/hub/index.ts';
import { findRabbitmqServer, startRabbitNode, type RabbitNode } from '../../../infra/rabbitmq-node.ts';
import { redactAmqpUrl } from '../../../infra/rabbitmq.ts';
import { RABBIT_CLUSTER_NODES, startRabbitCluster, type RabbitCluster } from '../../../infra/rabbitmq-cluster.ts';
import type { ResolvedHub } from '../../../infra/kafka.ts';
import { startKafkaCluster, type KafkaCluster } from '../../../infra/kafka-cluster.ts';
import { QUORUM_LEADER, type ComponentKind, type LayoutParts, type PlannedComponent } from './components.ts';
import { brokerMetricsLocator, rabbitQueuesLocator, type Locator } from './locate.ts';
import { clusterLocator } from './cluster-locate.ts';
import { rabbitClusterLocator } from './rabbit-cluster-locate.ts';
import { HUB_TOPICS } from '../../../systems/runtime/tuning.ts';

export const CLUSTER_NODES = 3;
export const CLUSTER_REPLICATION_FACTOR = 3;
export const CLUSTER_MIN_INSYNC = 2;
/**
 * Failover within a few seconds: the controller fences a broker 2 s after its heartbeats stop (it
 * beats every 0.5 s), a leader drops a follower that has not caught up for 5 s from the ISR; topics
 * that do not set it get min.insync.replicas 2 (the consumer offsets, for one).
 */
export const CLUSTER_SESSION_TIMEOUT_MS = 2000;
/**
 * Leadership goes back to the preferred replicas 1 s after a restarted broker is in sync (Kafka checks
 * every 300 s; here faults come seconds apart, and each fault's cost should include moving back).
 */
export const CLUSTER_LEADER_REBALANCE_MS = 1000;
const CLUSTER_ARGS = ['--broker-session-timeout-ms', String(CLUSTER_SESSION_TIMEOUT_MS), '--replica-lag-time-max-ms', '5000', '--group-initial-rebalance-delay-ms', '0',
  '--min-insync-replicas', String(CLUSTER_MIN_INSYNC), '--leader-rebalance-interval-ms', String(CLUSTER_LEADER_REBALANCE_MS),
  // Every partition back on its preferred leader, not only a broker over Kafka's 10 % imbalance: the
  // runner waits for exactly that before the next fault (leaders back).
  '--leader-imbalance-per-broker-percentage', '0'];
/** The run's topics get the partitions the systems would create them with (the wiring's tuning). */
const TOPIC_PARTITIONS = HUB_TOPICS.partitions;
/** Longest wait for every replica to be back in sync after a restart. */
const IN_SYNC_WAIT_MS = 60_000;

/** One fault as it will be done: what is killed, under which name the report shows it. */
export interface FaultTarget {
  /** The component in the report; the quorum leader's names its node: "quorum-leader (broker-2)". */
  name: string;
  kind: ComponentKind;
  /** The process killed, as a place to look would name it. */
  process: string;
  /** Worth a line in the report (hub-cluster: this broker also led the controller quorum). */
  remark?: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
}

export interface LayoutInfra {
  amqpUrl: string | undefined;
  kafkaBrokers: string[] | undefined;
  /** What components.ts needs to know about this layout's infrastructure. */
  parts: Omit<LayoutParts, 'layout' | 'systems'>;
  cluster: ClusterSetup | undefined;
  /** The one place to look, once the landscape runs; or why there is none. */
  locator(landscape: Landscape): { locator: Locator | null; noLocator: string };
  /** The target of a planned component right before its fault (the quorum leader is looked up then), or why there is none. */
  target(c: PlannedComponent, landscape: Landscape): Promise<FaultTarget | { skip: string }>;
  /**
   * hub-cluster: waits until every broker is live and every replica in sync again, then until every
   * partition is led by its preferred replica; legacy-ha: until every node runs and every quorum
   * queue has all its members online, then spreads the leaders again. Resolves when both are done,
   * or the wait is over.
   */
  whole?(): Promise<{ inSyncAtMs: number | null; leadersBackAtMs: number | null; problem: string }>;
}

export interface InfraOptions {
  dir: string;
  supervisor: Supervisor;
  topology: Topology;
  runId: string;
  /** Stops what was started, last first (the runner runs them in reverse). */
  teardown: { label: string; run: () => Promise<unknown> }[];
}

/** kill -9 / restart of a process under the landscape's Supervisor; a restarted system or lake sink may listen elsewhere. */
function supervised(supervisor: Supervisor, landscape: Landscape, name: string, kind: ComponentKind, process = name, shown = name): FaultTarget {
  return {
    name: shown, kind, process,
    kill: async () => { await supervisor.kill(process, 'SIGKILL'); },
    restart: async () => {
      const started = await supervisor.restart(process);
      if (kind === 'system' || kind === 'lake-sink') landscape.urls[process] = started.readyMatch[3];
    },
  };
}

export async function startLayoutInfra(ctx: RunnerContext, settings: FailuresSettings, layout: FailuresLayoutName, o: InfraOptions): Promise<LayoutInfra> {
  const note = (line: string): void => ctx.progress.note(`failures ${layout}: ${line}`);
  const reportNote = (line: string): void => noteForReport(ctx, `failures ${layout}: ${line}`);
  // A system of several instances loses one of them (the first): what an instance failure costs
  // when the others go on (a whole system's outage is the one-instance case).
  const plain = (c: PlannedComponent, landscape: Landscape): FaultTarget => {
    const instances = c.kind === 'system' ? landscape.instancesOf(c.name) : [c.name];
    const target = supervised(o.supervisor, landscape, c.name, c.kind, instances[0], c.name);
    return instances.length > 1 ? { ...target, remark: `${c.name} runs ${instances.length} instances: kill -9 of ${instances[0]} only, the others kept running` } : target;
  };

  if (layout === 'legacy') {
    let amqpUrl = ctx.amqpUrl;
    let rabbit: RabbitNode | null = null;
    let rabbitmqUnavailable: string | null = null;
    const usesAmqp = o.topology.flows.some((f) => f.legacy.transport === 'amqp');
    const shared = `the run used the shared RabbitMQ at ${redactAmqpUrl(ctx.amqpUrl)}, which is not ours to kill`;
    const killsRabbit = settings.components === 'all' || settings.components.includes('rabbitmq');
    if (!usesAmqp) {
      rabbitmqUnavailable = `no AMQP flow among this run's systems (${ctx.systems.join(', ')}): RabbitMQ is not part of this landscape`;
    } else if (!killsRabbit) {
      // Nothing kills RabbitMQ in this run: the shared one will do, and saves the node's start.
    } else if (!findRabbitmqServer()) {
      rabbitmqUnavailable = `rabbitmq-server is not on PATH, so ${shared}`;
    } else {
      ctx.progress.step(`failures ${layout}: starting a private RabbitMQ node`, 8);
      try {
        rabbit = await startRabbitNode({ log: note });
        const node = rabbit;
        o.teardown.push({ label: 'private RabbitMQ node', run: () => node.stop() });
        amqpUrl = rabbit.url;
      } catch (err) {
        rabbitmqUnavailable = `the private RabbitMQ node did not start (${firstLine(err)}), so ${shared}`;
        reportNote(rabbitmqUnavailable);
      }
    }
    return {
      amqpUrl, kafkaBrokers: undefined, cluster: undefined,
      parts: { rabbitmqUnavailable, brokerUnavailable: null },
      locator: (landscape) => (amqpUrl ? { locator: rabbitQueuesLocator(amqpUrl, landscape.topology, o.runId), noLocator: '' } : { locator: null, noLocator: '' }),
      target: async (c, landscape) => (c.kind === 'rabbitmq'
        ? { name: c.name, kind: c.kind, process: c.name, kill: () => rabbit!.kill(), restart: () => rabbit!.restart() }
        : plain(c, landscape)),
    };
  }

  if (layout === 'legacy-ha') return startLegacyHa(ctx, layout, o, plain);

  if (layout === 'hub') {
    ctx.progress.step(`failures ${layout}: starting the broker`, 3);
    const hub: ResolvedHub = await startHubProcess(ctx, o.supervisor, join(o.dir, 'broker'));
    o.teardown.push({ label: 'broker', run: () => hub.stop() });
    const brokerUnavailable = hub.source !== 'process' || hub.pid === null ? `the hub is ${hub.brokers.join(',')} (${hub.source}), not our broker process: not ours to kill` : null;
    return {
      amqpUrl: undefined, kafkaBrokers: hub.brokers, cluster: undefined,
      parts: { rabbitmqUnavailable: null, brokerUnavailable },
      locator: (landscape) => (hub.metricsUrl
        ? { locator: brokerMetricsLocator(hub.metricsUrl, landscape.topology, o.runId), noLocator: '' }
        : { locator: null, noLocator: `no broker metrics endpoint: the hub is ${hub.brokers.join(',')} (${hub.source}), not our broker` }),
      target: async (c, landscape) => plain(c, landscape),
    };
  }

  // hub-cluster: always our own brokers (KAFKA_BROKERS names a hub for the hub layout, not a cluster to kill).
  ctx.progress.step(`failures ${layout}: starting ${CLUSTER_NODES} brokers and creating the run's topics`, 6);
  const cluster: KafkaCluster = await startKafkaCluster({ supervisor: o.supervisor, dataDir: subDir(ctx, `failures-${layout}`, 'cluster'), nodes: CLUSTER_NODES, extraArgs: CLUSTER_ARGS, log: note });
  o.teardown.push({ label: 'cluster', run: () => cluster.stop() });
  const topics = allHubTopics(hubLayout(o.topology, { topicPrefix: topicPrefixOf(o.topology.name, o.runId) }));
  await cluster.createTopics(topics, { partitions: TOPIC_PARTITIONS, replicationFactor: CLUSTER_REPLICATION_FACTOR, minInsyncReplicas: CLUSTER_MIN_INSYNC });
  note(`${topics.length} topics created with replication factor ${CLUSTER_REPLICATION_FACTOR}, min.insync.replicas ${CLUSTER_MIN_INSYNC}`);
  return {
    amqpUrl: undefined, kafkaBrokers: cluster.brokers,
    cluster: { brokers: CLUSTER_NODES, controllers: cluster.voters.length, replicationFactor: CLUSTER_REPLICATION_FACTOR, minInsyncReplicas: CLUSTER_MIN_INSYNC, acks: -1, brokerSessionTimeoutMs: CLUSTER_SESSION_TIMEOUT_MS,
      leaderRebalanceIntervalMs: CLUSTER_LEADER_REBALANCE_MS },
    parts: { rabbitmqUnavailable: null, brokerUnavailable: null, clusterBrokers: cluster.nodes.map((n) => n.name) },
    locator: (landscape) => ({ locator: clusterLocator(cluster, landscape.topology, o.runId), noLocator: '' }),
    target: async (c, landscape) => {
      if (c.kind !== 'broker' && c.kind !== 'quorum-leader') return plain(c, landscape);
      let leader: { leaderId: number; term: number } | null = null;
      let problem = '';
      try {
        leader = await cluster.quorum();
      } catch (err) {
        problem = firstLine(err);
      }
      if (c.kind === 'broker') {
        // Every broker is also a voter: killing the one that leads the quorum is a controller failover too.
        const led = leader !== null && cluster.nodes.find((n) => n.nodeId === leader.leaderId)?.name === c.name;
        return { ...plain(c, landscape), ...(led ? { remark: `${c.name} led the controller quorum (term ${leader!.term}) when it was killed: a controller failover too` } : {}) };
      }
      if (leader === null) return { skip: `no controller answered who leads the quorum (${problem})` };
      const node = cluster.nodes.find((n) => n.nodeId === leader.leaderId);
      if (!node) return { skip: `the quorum leader is node ${leader.leaderId}, which is not one of this cluster's brokers` };
      return supervised(o.supervisor, landscape, node.name, 'quorum-leader', node.name, `${QUORUM_LEADER} (${node.name})`);
    },
    whole: async () => {
      const r = await cluster.waitInSync(IN_SYNC_WAIT_MS, ctx.signal);
      if (!r.ok) return { inSyncAtMs: null, leadersBackAtMs: null, problem: r.problem };
      const inSyncAtMs = Date.now();
      const back = await cluster.waitInSync(IN_SYNC_WAIT_MS, ctx.signal, { preferredLeaders: true });
      return { inSyncAtMs, leadersBackAtMs: back.ok ? Date.now() : null, problem: back.problem };
    },
  };
}

/** legacy-ha: the RabbitMQ cluster; a node or the quorum leader killed and restarted through it (see the top of this file). */
async function startLegacyHa(ctx: RunnerContext, layout: FailuresLayoutName, o: InfraOptions, plain: (c: PlannedComponent, landscape: Landscape) => FaultTarget): Promise<LayoutInfra> {
  const note = (line: string): void => ctx.progress.note(`failures ${layout}: ${line}`);
  ctx.progress.step(`failures ${layout}: starting ${RABBIT_CLUSTER_NODES} RabbitMQ nodes and clustering them`, 20);
  const rabbit: RabbitCluster = await startRabbitCluster({ dir: subDir(ctx, `failures-${layout}`, 'rabbitmq'), nodes: RABBIT_CLUSTER_NODES, log: note });
  o.teardown.push({ label: 'RabbitMQ cluster', run: () => rabbit.stop() });
  const prefix = queuePrefixOf(o.runId);
  const node = (index: number, kind: ComponentKind, shown: string): FaultTarget => ({
    name: shown, kind, process: rabbit.names[index],
    kill: () => rabbit.kill(index),
    restart: () => rabbit.restart(index),
  });
  return {
    amqpUrl: rabbit.amqpUrl, kafkaBrokers: undefined, cluster: undefined,
    parts: { rabbitmqUnavailable: null, brokerUnavailable: null, rabbitNodes: rabbit.names },
    locator: (landscape) => ({ locator: rabbitClusterLocator(rabbit, landscape.topology, o.runId), noLocator: '' }),
    target: async (c, landscape) => {
      if (c.kind === 'rabbitmq') return node(rabbit.names.indexOf(c.name), c.kind, c.name);
      if (c.kind !== 'quorum-leader') return plain(c, landscape);
      let leader: Awaited<ReturnType<RabbitCluster['leaderOfMost']>>;
      try {
        leader = await rabbit.leaderOfMost(prefix);
      } catch (err) {
        return { skip: `no RabbitMQ node answered which node leads the run's quorum queues (${firstLine(err)})` };
      }
      if (leader === null) return { skip: `none of the run's quorum queues (${prefix}*) has a leader` };
      return { ...node(leader.index, 'quorum-leader', `${QUORUM_LEADER} (${leader.name})`), remark: `${QUORUM_LEADER}: ${leader.name} led ${leader.leads} of the run's ${leader.of} quorum queues` };
    },
    whole: async () => {
      const r = await rabbit.waitWhole(prefix, IN_SYNC_WAIT_MS, ctx.signal);
      if (!r.ok) return { inSyncAtMs: null, leadersBackAtMs: null, problem: r.problem };
      const inSyncAtMs = Date.now();
      try {
        await rabbit.rebalance(prefix);
      } catch (err) {
        return { inSyncAtMs, leadersBackAtMs: null, problem: `spreading the quorum queues' leaders failed: ${firstLine(err)}` };
      }
      return { inSyncAtMs, leadersBackAtMs: Date.now(), problem: '' };
    },
  };
}

export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
