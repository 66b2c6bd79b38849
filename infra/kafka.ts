// The hub's brokers: KAFKA_BROKERS when set (any Kafka-compatible cluster), else our own broker,
// embedded in this process (default), as a child process ('process'), or Apache Kafka in a container
// through testcontainers ('container').
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from '../broker/index.ts';
import { Supervisor } from '../systems/process/supervisor.ts';
import { freePort } from '../broker/cluster/free-ports.ts';
import { requireContainerRuntime, type Env, type Log } from './docker.ts';
import { parseBrokerList } from './broker-list.ts';

export { parseBrokerList } from './broker-list.ts';

export type HubMode = 'embedded' | 'process' | 'container';
export type HubSource = 'env' | HubMode;

export interface ResolvedHub {
  /** host:port bootstrap addresses for Kafka clients. */
  brokers: string[];
  source: HubSource;
  /** Prometheus endpoint of our broker; null for KAFKA_BROKERS and containers. */
  metricsUrl: string | null;
  /** Where our broker keeps its logs; null when it is not ours. */
  dataDir: string | null;
  /** The broker's OS process in 'process' mode (this process in 'embedded' mode); null otherwise. */
  pid: number | null;
  stop(): Promise<void>;
}

export interface ResolveHubOptions {
  /** Environment to read KAFKA_BROKERS from (default process.env). KAFKA_BROKERS wins over `mode`. */
  env?: Env;
  /** Our broker's data directory; a temp dir, removed on stop, when omitted. */
  dataDir?: string;
  mode?: HubMode;
  log?: Log;
  /** Settings for our broker (embedded and process modes). */
  broker?: { groupInitialRebalanceDelayMs?: number; defaultPartitions?: number };
  /** 'process' mode: supervise the broker with this Supervisor (so a scenario can kill/restart it). */
  supervisor?: Supervisor;
  /** 'process' mode: the broker's name in the supervisor (default 'hub-broker'). */
  processName?: string;
  /** 'container' mode image (a Confluent Platform build of Apache Kafka, as @testcontainers/kafka expects). */
  image?: string;
  /** For the KAFKA_BROKERS reachability check (default 10 s). */
  connectTimeoutMs?: number;
}

export const DEFAULT_KAFKA_IMAGE = 'confluentinc/cp-kafka:7.7.1';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BROKER_READY = /^untangle broker ready node=(\d+) listen=(\S+):(\d+) metrics=(\S+) data=(.*)$/;


/** Connects an admin client and asks for the cluster; throws a message naming the addresses. */
export async function checkKafka(brokers: string[], timeoutMs = 10_000): Promise<{ clusterId: string; brokerCount: number }> {
  const kafka = new Kafka({
    clientId: 'untangle-infra-check', brokers, logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(3000, timeoutMs), requestTimeout: timeoutMs,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  let timer: NodeJS.Timeout | undefined;
  try {
    const cluster = await Promise.race([
      admin.connect().then(() => admin.describeCluster()),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); }),
    ]);
    return { clusterId: cluster.clusterId, brokerCount: cluster.brokers.length };
  } catch (err) {
    throw new Error(`Kafka brokers ${brokers.join(',')} are not reachable: ${(err as Error).message}`, { cause: err });
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
}

export async function resolveHub(opts: ResolveHubOptions = {}): Promise<ResolvedHub> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const fromEnv = env.KAFKA_BROKERS?.trim();
  if (fromEnv) {
    let brokers: string[];
    try {
      brokers = parseBrokerList(fromEnv);
    } catch (err) {
      throw new Error(`KAFKA_BROKERS="${fromEnv}" is invalid: ${(err as Error).message}`, { cause: err });
    }
    let info: { clusterId: string; brokerCount: number };
    try {
      info = await checkKafka(brokers, opts.connectTimeoutMs);
    } catch (err) {
      throw new Error(`KAFKA_BROKERS=${fromEnv} is set but unusable: ${(err as Error).message}`, { cause: err });
    }
    if (opts.mode) log(`hub: KAFKA_BROKERS is set, so mode '${opts.mode}' is ignored`);
    log(`hub: using KAFKA_BROKERS ${brokers.join(',')} (cluster ${info.clusterId}, ${info.brokerCount} broker(s))`);
    return { brokers, source: 'env', metricsUrl: null, dataDir: null, pid: null, stop: async () => undefined };
  }
  const mode = opts.mode ?? 'embedded';
  if (mode === 'container') return startKafkaContainer(opts.image ?? DEFAULT_KAFKA_IMAGE, env, log);
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? await mkdtemp(path.join(tmpdir(), 'untangle-hub-'));
  const removeDir = async (): Promise<void> => { if (ownDir) await rm(dataDir, { recursive: true, force: true }); };
  try {
    return mode === 'process' ? await startBrokerProcess(opts, dataDir, removeDir, log) : await startEmbedded(opts, dataDir, removeDir, log);
  } catch (err) {
    await removeDir();
    throw err;
  }
}

async function startEmbedded(opts: ResolveHubOptions, dataDir: string, removeDir: () => Promise<void>, log: Log): Promise<ResolvedHub> {
  const broker = await startBroker({
    port: 0, host: '127.0.0.1', dataDir, metricsPort: 0,
    groupInitialRebalanceDelayMs: opts.broker?.groupInitialRebalanceDelayMs,
    defaultPartitions: opts.broker?.defaultPartitions,
    logger: opts.log ? (line: string) => log(`broker: ${line}`) : undefined,
  });
  log(`hub: embedded broker at ${broker.address} (data ${dataDir})`);
  let stopped = false;
  return {
    brokers: [broker.address], source: 'embedded', metricsUrl: broker.metricsUrl, dataDir, pid: process.pid,
    async stop() {
      if (stopped) return;
      stopped = true;
      await broker.close();
      await removeDir();
    },
  };
}

async function startBrokerProcess(opts: ResolveHubOptions, dataDir: string, removeDir: () => Promise<void>, log: Log): Promise<ResolvedHub> {
  const supervisor = opts.supervisor ?? new Supervisor();
  const name = opts.processName ?? 'hub-broker';
  // Ports are chosen up front, not left to the OS at bind time, so a restart (after a scenario's
  // kill -9) comes back at the same address and the clients reconnect on their own.
  const [port, metricsPort] = [await freePort(), await freePort()];
  const args = [path.join(REPO_ROOT, 'bin/untangle.js'), 'broker', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir, '--metrics-port', String(metricsPort)];
  if (opts.broker?.groupInitialRebalanceDelayMs !== undefined) args.push('--group-initial-rebalance-delay-ms', String(opts.broker.groupInitialRebalanceDelayMs));
  if (opts.broker?.defaultPartitions !== undefined) args.push('--default-partitions', String(opts.broker.defaultPartitions));
  const started = await supervisor.start(name, {
    command: process.execPath, args, cwd: REPO_ROOT,
    readyPattern: BROKER_READY, readyTimeoutMs: 30_000,
    healthUrl: (m) => m[4],
  });
  const m = started.readyMatch;
  const address = `${m[2]}:${m[3]}`;
  log(`hub: broker process pid ${started.pid} at ${address} (data ${dataDir})`);
  let stopped = false;
  return {
    brokers: [address], source: 'process', metricsUrl: m[4] === '-' ? null : m[4], dataDir, pid: started.pid,
    async stop() {
      if (stopped) return;
      stopped = true;
      await supervisor.stop(name, { timeoutMs: 15_000 });
      await removeDir();
    },
  };
}

async function startKafkaContainer(image: string, env: Env, log: Log): Promise<ResolvedHub> {
  const why = 'cannot start Apache Kafka in a container';
  const help = 'Set KAFKA_BROKERS=host:port to use a running Kafka, use mode \'embedded\' or \'process\' (our broker), or make a Docker engine reachable (start Docker, or set DOCKER_HOST).';
  try {
    await requireContainerRuntime(why, { env, log });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${help}`, { cause: err });
  }
  const { KafkaContainer } = await import('@testcontainers/kafka');
  log(`hub: starting ${image} (KRaft) through testcontainers (first run pulls the image)`);
  const container = await new KafkaContainer(image).withKraft().start();
  const brokers = [`${container.getHost()}:${container.getMappedPort(9093)}`];
  try {
    await checkKafka(brokers, 30_000);
  } catch (err) {
    await container.stop().catch(() => undefined);
    throw err;
  }
  log(`hub: Kafka container ${container.getId().slice(0, 12)} at ${brokers[0]}`);
  let stopped = false;
  return {
    brokers, source: 'container', metricsUrl: null, dataDir: null, pid: null,
    async stop() {
      if (stopped) return;
      stopped = true;
      await container.stop();
    },
  };
}
