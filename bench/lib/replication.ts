// Replication cost: kafkajs produce with acks=all on one broker process, and on a 3-node cluster of
// broker processes with replication factor 1 and with replication factor 3 (min.insync.replicas=2).
//
// The fair comparison is RF3 against RF1 on the same cluster, in the same run: the same three
// processes, the same partition leaders spread over all nodes, the same client and load; only the
// replication differs. The single-node row is the broker without cluster mode, for reference.
// kafkajs runs with TCP_NODELAY here (as kcat does in the main table): with Nagle on, its small
// requests wait for delayed ACKs and the latency measured is mostly the client's.
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startBrokerProcess } from '../../test/helpers/broker-process.ts';
import { startProcessCluster, type ProcessCluster } from '../../broker/cluster/process-cluster.ts';
import { kafkajsProduce, kafkajsProduceLatency } from './kafkajs-runner.ts';
import { fmt, table } from './stats.ts';
import { MB } from './types.ts';

/** Two leaders per node of the 3-node cluster, so RF1 and RF3 spread their load alike. */
export const REPLICATION_PARTITIONS = 6;
const NODES = 3;
const MIN_INSYNC_RF3 = 2;
/** Longest a single measurement may take before it is abandoned as hung. */
const STEP_TIMEOUT_MS = 120_000;
const SECTION_TIMEOUT_MS = 600_000;

export interface ReplicationRow {
  setup: 'single-node' | 'cluster';
  replicationFactor: number;
  minInsyncReplicas: number;
  messageBytes: number;
  messages: number;
  produceSeconds: number;
  produceMsgsPerSec: number;
  produceMBPerSec: number;
  /** send() to acks=all answer, one message per request, one request at a time. */
  ackSamples: number;
  ackP50Ms: number;
  ackP99Ms: number;
  ackPerSecond: number;
  /** Partition leaders' node ids and the smallest ISR after the run (cluster only). */
  leaders: number[] | null;
  minIsrAtEnd: number | null;
  notes: string[];
}

export interface ReplicationSettings {
  quick: boolean;
  /** Seconds of sendBatch per throughput run, of one-at-a-time sends per latency run, of warm-up per setup. */
  produceSeconds: number;
  ackSeconds: number;
  warmupSeconds: number;
}

export interface ReplicationResult {
  settings: ReplicationSettings;
  partitions: number;
  nodes: number;
  rows: ReplicationRow[];
  /** 1-minute load average when the section started and ended: anything above 0 on top of it shares the CPUs. */
  loadAverage: [number, number];
  ratios: Record<string, number | null>;
  errors: string[];
}

export function replicationSettings(quick: boolean): ReplicationSettings {
  return quick ? { quick, produceSeconds: 1.5, ackSeconds: 1.5, warmupSeconds: 0.5 } : { quick, produceSeconds: 6, ackSeconds: 4, warmupSeconds: 2 };
}

const CLIENT = { noDelay: true };

function produce(brokers: string[], topic: string, size: number, seconds: number) {
  return kafkajsProduce(brokers, topic, size, { quick: false, minSeconds: seconds, e2eRate: 0, e2eSeconds: 0 }, CLIENT);
}

function adminFor(brokers: string[]): Admin {
  return new Kafka({ clientId: 'bench-replication-admin', brokers, logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } }).admin();
}

function withTimeout<T>(what: string, p: Promise<T>, ms = STEP_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function createTopic(admin: Admin, topic: string, rf: number): Promise<void> {
  const configEntries = rf >= 3 ? [{ name: 'min.insync.replicas', value: String(MIN_INSYNC_RF3) }] : [];
  await admin.createTopics({ topics: [{ topic, numPartitions: REPLICATION_PARTITIONS, replicationFactor: rf, configEntries }], waitForLeaders: true });
}

async function placement(admin: Admin, topic: string): Promise<{ leaders: number[]; minIsr: number }> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const parts = [...meta.topics[0].partitions].sort((a, b) => a.partitionId - b.partitionId);
  return { leaders: parts.map((p) => p.leader), minIsr: Math.min(...parts.map((p) => p.isr.length)) };
}

export async function runReplication(opts: { tmp: string; sizes: number[]; quick: boolean; log: (msg: string) => void }): Promise<ReplicationResult> {
  const { sizes, log } = opts;
  const settings = replicationSettings(opts.quick);
  const loadAtStart = os.loadavg()[0];
  const rows: ReplicationRow[] = [];
  const errors: string[] = [];
  const attempt = async (what: string, fn: () => Promise<void>, ms = STEP_TIMEOUT_MS) => {
    try { await withTimeout(what, fn(), ms); } catch (e) {
      const msg = `${what}: ${(e as Error).message.split('\n').slice(0, 6).join(' | ')}`;
      errors.push(msg);
      log(`FAILED ${msg}`);
    }
  };

  // Unmeasured sendBatch load on a topic of its own, so the first measured setup does not pay for JIT warm-up.
  const warmUp = async (brokers: string[], admin: Admin, rf: number): Promise<void> => {
    const topic = `bench-repl-warmup-rf${rf}`;
    await createTopic(admin, topic, rf);
    await produce(brokers, topic, 100, settings.warmupSeconds);
  };

  const measure = async (setup: ReplicationRow['setup'], brokers: string[], admin: Admin, rf: number, size: number): Promise<void> => {
    const topic = `bench-repl-${setup === 'cluster' ? `rf${rf}` : 'single'}-${size}`;
    await createTopic(admin, topic, rf);
    const before = setup === 'cluster' ? await placement(admin, topic) : null;
    const t = await produce(brokers, topic, size, settings.produceSeconds);
    const ack = await kafkajsProduceLatency(brokers, topic, size, settings.ackSeconds, CLIENT);
    const after = setup === 'cluster' ? await placement(admin, topic) : null;
    const row: ReplicationRow = {
      setup, replicationFactor: rf, minInsyncReplicas: rf >= 3 ? MIN_INSYNC_RF3 : 1, messageBytes: size,
      messages: t.messages, produceSeconds: t.produceSeconds,
      produceMsgsPerSec: t.messages / t.produceSeconds, produceMBPerSec: (t.messages * size) / MB / t.produceSeconds,
      ackSamples: ack.samples, ackP50Ms: ack.p50, ackP99Ms: ack.p99, ackPerSecond: ack.perSecond,
      leaders: before?.leaders ?? null, minIsrAtEnd: after?.minIsr ?? null,
      notes: [t.note, `ack latency: 1 message per send(), 1 in flight, for ${settings.ackSeconds} s`],
    };
    if (before && new Set(before.leaders).size < NODES) row.notes.push(`partition leaders on only ${new Set(before.leaders).size} of ${NODES} nodes`);
    if (after && after.minIsr < rf) row.notes.push(`an ISR shrank to ${after.minIsr} of ${rf} during the run`);
    rows.push(row);
    log(`${label(row)} ${size} B: ${fmt(row.produceMsgsPerSec)} msg/s, ${fmt(row.produceMBPerSec, 1)} MB/s, ` +
      `ack p50 ${fmt(row.ackP50Ms, 2)} ms p99 ${fmt(row.ackP99Ms, 2)} ms (${fmt(row.ackPerSecond)}/s)${row.minIsrAtEnd !== null ? `, min ISR ${row.minIsrAtEnd}` : ''}`);
  };

  // One broker without cluster mode, stopped before the cluster starts so they never share the CPUs.
  await attempt('replication: single-node', async () => {
    const broker = await startBrokerProcess({ dataDir: path.join(opts.tmp, 'single'), metrics: false, defaultPartitions: REPLICATION_PARTITIONS });
    const admin = adminFor([broker.address]);
    try {
      await admin.connect();
      await warmUp([broker.address], admin, 1);
      for (const size of sizes) await attempt(`single-node ${size} B`, () => measure('single-node', [broker.address], admin, 1, size));
    } finally {
      await admin.disconnect().catch(() => undefined);
      await broker.stop().catch(() => null);
    }
  }, SECTION_TIMEOUT_MS);

  await attempt('replication: cluster', async () => {
    log(`starting a ${NODES}-node cluster (one process per node)...`);
    const cluster: ProcessCluster = await startProcessCluster({
      nodes: NODES, dataDir: path.join(opts.tmp, 'cluster'), basePort: 0, extraArgs: ['--broker-session-timeout-ms', '3000'],
    });
    log(`cluster ready: ${cluster.bootstrap.join(',')} (pids ${cluster.nodes.map((n) => n.pid).join(', ')})`);
    // Should this section be abandoned as hung, the nodes still go when the benchmark exits.
    const killNodes = () => { for (const n of cluster.nodes) n.child?.kill('SIGKILL'); };
    process.once('exit', killNodes);
    const admin = adminFor(cluster.bootstrap);
    try {
      await admin.connect();
      await warmUp(cluster.bootstrap, admin, 3);
      // RF1 and RF3 alternate which goes first, so drift over the run does not favour one of them.
      for (const [i, size] of sizes.entries()) {
        for (const rf of i % 2 === 0 ? [1, 3] : [3, 1]) {
          await attempt(`cluster RF${rf} ${size} B`, () => measure('cluster', cluster.bootstrap, admin, rf, size).catch((e) => { throw withLogs(e, cluster); }));
        }
      }
    } catch (e) {
      throw withLogs(e, cluster);
    } finally {
      await admin.disconnect().catch(() => undefined);
      await cluster.close().catch(() => undefined);
      process.off('exit', killNodes);
    }
  }, SECTION_TIMEOUT_MS);

  const ratios: Record<string, number | null> = {};
  const find = (setup: ReplicationRow['setup'], rf: number, size: number) => rows.find((r) => r.setup === setup && r.replicationFactor === rf && r.messageBytes === size);
  for (const size of sizes) {
    const rf1 = find('cluster', 1, size); const rf3 = find('cluster', 3, size); const single = find('single-node', 1, size);
    ratios[`rf3VsRf1_${size}B_produceMsgs`] = rf1 && rf3 ? rf3.produceMsgsPerSec / rf1.produceMsgsPerSec : null;
    ratios[`rf3VsRf1_${size}B_ackP50`] = rf1 && rf3 ? rf3.ackP50Ms / rf1.ackP50Ms : null;
    ratios[`rf3VsRf1_${size}B_ackP99`] = rf1 && rf3 ? rf3.ackP99Ms / rf1.ackP99Ms : null;
    ratios[`clusterRf1VsSingleNode_${size}B_produceMsgs`] = rf1 && single ? rf1.produceMsgsPerSec / single.produceMsgsPerSec : null;
  }
  return { settings, partitions: REPLICATION_PARTITIONS, nodes: NODES, rows, loadAverage: [loadAtStart, os.loadavg()[0]], ratios, errors };
}

/** The error with the last log lines of every node appended. */
function withLogs(e: unknown, cluster: ProcessCluster): Error {
  const tails = cluster.nodes.map((n) => `node ${n.nodeId}${n.running ? '' : ' (exited)'}: ${n.recentLog().split('\n').slice(-2).join(' / ')}`);
  return new Error([(e as Error).message, ...tails].join('\n'));
}

function label(r: ReplicationRow): string {
  return r.setup === 'single-node' ? 'single-node' : `cluster RF${r.replicationFactor}`;
}

export function printReplication(res: ReplicationResult): void {
  const s = res.settings;
  console.log(`\nReplication: kafkajs (TCP_NODELAY), acks=all, ${res.partitions} partitions; produce = ${s.produceSeconds} s of sendBatch (the kafkajs load of the main table), ` +
    `then ack = ${s.ackSeconds} s of single-message send()s one at a time (ack/s is their rate)`);
  console.log(`Compare RF3 with RF1 on the same ${res.nodes}-node cluster (${res.nodes} broker processes, every node also a controller, leaders ` +
    `spread over all nodes); single-node is one broker process without cluster mode, for reference. All share this machine's CPUs ` +
    `(1-minute load average ${res.loadAverage.map((l) => l.toFixed(1)).join(' at the start, ')} at the end).\n`);
  const rows = res.rows.map((r) => [label(r), r.setup === 'cluster' ? `${r.replicationFactor}/${r.minInsyncReplicas}` : '-', String(r.messageBytes),
    fmt(r.messages), fmt(r.produceMsgsPerSec), fmt(r.produceMBPerSec, 1), fmt(r.ackP50Ms, 2), fmt(r.ackP99Ms, 2), fmt(r.ackPerSecond),
    r.leaders ? r.leaders.join(',') : '-', r.minIsrAtEnd === null ? '-' : String(r.minIsrAtEnd)]);
  console.log(table(['setup', 'RF/minISR', 'bytes', 'messages', 'produce msg/s', 'produce MB/s', 'ack p50 ms', 'ack p99 ms', 'ack/s', 'leaders', 'min ISR after'], rows));
  console.log('');
  for (const [k, v] of Object.entries(res.ratios)) console.log(`${k}: ${v === null ? '-' : v.toFixed(3)}`);
  for (const r of res.rows) for (const n of r.notes.slice(2)) console.log(`NOTE ${label(r)} ${r.messageBytes} B: ${n}`);
  for (const e of res.errors) console.log(`ERROR ${e}`);
}
