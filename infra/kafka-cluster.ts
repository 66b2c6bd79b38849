// The hub-cluster layout's brokers: a local cluster of our broker, one OS process per node
// (`untangle broker --roles broker,controller --controller-quorum ...`, as planned by
// broker/cluster/process-cluster.ts), each under the caller's Supervisor as `broker-N`, so a scenario
// kills -9 and restarts any node like any other process. A node keeps its ports (Kafka, controller,
// metrics) and its data directory across restarts, so clients and peers find it where it was.
// Also here: the run's topics created replicated, the controller quorum's leader, and whether every
// replica is in sync.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { planProcessCluster } from '../broker/cluster/process-cluster.ts';
import { ControllerClient, type QuorumVoter } from '../broker/cluster/controller/index.ts';
import type { Supervisor } from '../systems/process/supervisor.ts';
import { freePort } from '../broker/cluster/free-ports.ts';
import type { Log } from './docker.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** `untangle broker ready ...` of a cluster node (cli/broker-command.ts). */
export const CLUSTER_NODE_READY = /^untangle broker ready node=(\d+) roles=(\S+) listen=(\S+):(\d+) controller=(\S+) metrics=(\S+) data=(.*)$/;
/** A node is ready once a controller majority registered it: all nodes start together, so allow for the slowest. */
const READY_TIMEOUT_MS = 60_000;

export interface ClusterNode {
  /** Its name under the Supervisor: broker-<node id>. */
  name: string;
  nodeId: number;
  /** host:port for Kafka clients. */
  address: string;
  metricsUrl: string;
}

export interface QuorumStatus {
  leaderId: number;
  term: number;
  /** Voters the active controller is connected to, itself included (null: not reported). */
  reachable: number[] | null;
}

export interface ReplicaStatus {
  /** Brokers in the cluster's metadata (registered and not fenced). */
  liveBrokers: number[];
  partitions: number;
  /** topic/partition of every partition with fewer in-sync replicas than replicas, or without a leader. */
  notInSync: string[];
  /** topic/partition of every partition not led by its preferred (first) replica. */
  notOnPreferred: string[];
}

export interface StartKafkaClusterOptions {
  supervisor: Supervisor;
  /** Node N keeps its data in dataDir/node-N and its log in dataDir/broker-N.log. */
  dataDir: string;
  nodes?: number;
  /** Extra `untangle broker` arguments for every node (timeouts, min.insync.replicas default). */
  extraArgs?: string[];
  log?: Log;
}

export interface KafkaCluster {
  /** Bootstrap list: every broker. */
  brokers: string[];
  nodes: ClusterNode[];
  voters: QuorumVoter[];
  /** Creates the topics (a topic that exists is left as it is) and waits until each has every replica in sync. */
  createTopics(topics: readonly string[], o: { partitions: number; replicationFactor: number; minInsyncReplicas: number; timeoutMs?: number }): Promise<void>;
  /** The controller quorum as its active controller describes it. */
  quorum(): Promise<QuorumStatus>;
  /** Every topic's partitions as the cluster's metadata shows them. */
  replicas(): Promise<ReplicaStatus>;
  /**
   * Waits until every broker is live and every partition has all its replicas in sync (with
   * `preferredLeaders`, also led by its preferred replica again); false when `timeoutMs` passed first.
   */
  waitInSync(timeoutMs: number, signal?: AbortSignal, o?: { preferredLeaders?: boolean }): Promise<{ ok: boolean; waitedMs: number; problem: string }>;
  stop(): Promise<void>;
}

const few = (names: string[]): string => `${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}`;

/** A kafkajs admin against the bootstrap list with short timeouts (a node may be down). */
function adminOf(brokers: string[]): Admin {
  const kafka = new Kafka({
    clientId: 'untangle-cluster-check', brokers, logLevel: logLevel.NOTHING,
    connectionTimeout: 1000, requestTimeout: 5000, retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 500 },
  });
  return kafka.admin();
}

/**
 * Starts every node at once (a node is ready only when a controller majority is up) and resolves
 * when all are ready and serve metrics. On failure the nodes started are stopped again.
 */
export async function startKafkaCluster(o: StartKafkaClusterOptions): Promise<KafkaCluster> {
  const log = o.log ?? (() => undefined);
  const plan = await planProcessCluster({ nodes: o.nodes ?? 3, dataDir: o.dataDir, basePort: 0, extraArgs: o.extraArgs });
  const nodes: ClusterNode[] = [];
  const started: string[] = [];
  try {
    await Promise.all(plan.nodes.map(async (spec) => {
      const name = `broker-${spec.nodeId}`;
      // Metrics on a port chosen up front, like the Kafka and controller ports, so a restart keeps it.
      const metricsPort = await freePort();
      started.push(name);
      const s = await o.supervisor.start(name, {
        command: plan.command, args: [...spec.args, '--metrics-port', String(metricsPort)], cwd: REPO_ROOT,
        readyPattern: CLUSTER_NODE_READY, readyTimeoutMs: READY_TIMEOUT_MS, healthUrl: (m) => m[6],
        logFile: path.join(o.dataDir, `${name}.log`),
      });
      nodes.push({ name, nodeId: spec.nodeId, address: `${s.readyMatch[3]}:${s.readyMatch[4]}`, metricsUrl: s.readyMatch[6] });
    }));
  } catch (err) {
    await Promise.all(started.map((n) => o.supervisor.stop(n, { timeoutMs: 10_000 }).catch(() => undefined)));
    throw err;
  }
  nodes.sort((a, b) => a.nodeId - b.nodeId);
  const brokers = nodes.map((n) => n.address);
  log(`hub-cluster: ${nodes.length} broker processes ready at ${brokers.join(',')} (data ${o.dataDir})`);

  const controller = new ControllerClient({ voters: plan.voters, requestTimeoutMs: 2000, clusterSecret: plan.clusterSecret });
  let admin: Admin | null = null;
  /** One admin for the cluster's life; a fresh one after a failure (its broker may be the one killed). */
  const withAdmin = async <T>(fn: (a: Admin) => Promise<T>): Promise<T> => {
    if (!admin) {
      const a = adminOf(brokers);
      await a.connect();
      admin = a;
    }
    try {
      return await fn(admin);
    } catch (err) {
      const a = admin;
      admin = null;
      await a?.disconnect().catch(() => undefined);
      throw err;
    }
  };

  const replicas = (): Promise<ReplicaStatus> => withAdmin(async (a) => {
    const cluster = await a.describeCluster();
    const { topics } = await a.fetchTopicMetadata();
    const notInSync: string[] = [];
    const notOnPreferred: string[] = [];
    let partitions = 0;
    for (const t of topics) {
      for (const p of t.partitions) {
        partitions++;
        if (p.leader < 0 || p.isr.length < p.replicas.length) notInSync.push(`${t.name}/${p.partitionId}`);
        if (p.leader !== p.replicas[0]) notOnPreferred.push(`${t.name}/${p.partitionId}`);
      }
    }
    return { liveBrokers: cluster.brokers.map((b) => b.nodeId).sort((x, y) => x - y), partitions, notInSync, notOnPreferred };
  });

  const waitInSync = async (timeoutMs: number, signal?: AbortSignal, o: { preferredLeaders?: boolean } = {}): Promise<{ ok: boolean; waitedMs: number; problem: string }> => {
    const start = Date.now();
    let problem = 'not asked yet';
    while (!signal?.aborted) {
      try {
        const r = await replicas();
        const missing = nodes.filter((n) => !r.liveBrokers.includes(n.nodeId)).map((n) => n.name);
        problem = missing.length > 0
          ? `not live in the metadata: ${missing.join(', ')}`
          : r.notInSync.length > 0 ? `${r.notInSync.length} of ${r.partitions} partitions not fully in sync (${few(r.notInSync)})`
            : o.preferredLeaders && r.notOnPreferred.length > 0 ? `${r.notOnPreferred.length} of ${r.partitions} partitions not led by their preferred replica (${few(r.notOnPreferred)})` : '';
      } catch (err) {
        problem = `metadata unavailable: ${(err as Error).message}`;
      }
      if (problem === '') return { ok: true, waitedMs: Date.now() - start, problem };
      if (Date.now() - start >= timeoutMs) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    return { ok: false, waitedMs: Date.now() - start, problem };
  };

  let stopped = false;
  return {
    brokers, nodes, voters: plan.voters,
    async createTopics(topics, c) {
      const timeoutMs = c.timeoutMs ?? 30_000;
      await withAdmin(async (a) => {
        const existing = new Set(await a.listTopics());
        const missing = [...new Set(topics)].filter((t) => !existing.has(t));
        if (missing.length === 0) return;
        await a.createTopics({
          topics: missing.map((topic) => ({
            topic, numPartitions: c.partitions, replicationFactor: c.replicationFactor,
            configEntries: [{ name: 'min.insync.replicas', value: String(c.minInsyncReplicas) }],
          })),
          waitForLeaders: true,
          timeout: timeoutMs,
        });
      });
      const wait = await waitInSync(timeoutMs);
      if (!wait.ok) throw new Error(`hub-cluster: the topics were created but not in sync within ${timeoutMs} ms: ${wait.problem}`);
    },
    async quorum() {
      const q = await controller.describeQuorum();
      const reported = q as { leaderId: number; term: number; reachable?: readonly number[] };
      return { leaderId: reported.leaderId, term: reported.term, reachable: reported.reachable ? [...reported.reachable].sort((x, y) => x - y) : null };
    },
    replicas,
    waitInSync,
    async stop() {
      if (stopped) return;
      stopped = true;
      controller.close();
      const a: Admin | null = admin;
      admin = null;
      await a?.disconnect().catch(() => undefined);
      await Promise.all(nodes.map((n) => o.supervisor.stop(n.name, { timeoutMs: 15_000 })));
    },
  };
}
