import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_BROKER_CONFIG, type BrokerConfig } from './config.ts';
import { DEFAULT_LOG_CONFIG, type LogConfig } from './log/partition-log.ts';
import { TopicStore } from './topics.ts';
import { GroupCoordinator, FileOffsetStore } from './group/index.ts';
import { BrokerMetrics } from './server/metrics.ts';
import { Connection } from './server/connection.ts';
import { RateLimitedLog } from './server/rate-limited-log.ts';
import { RequestRouter } from './server/router.ts';
import { MemoryPool } from './server/memory-pool.ts';
import { ConnectionTracker, ResponseBudget, registerLimitMetrics } from './server/connection-limits.ts';
import { ProducerIdAllocator } from './producer-ids.ts';
import { ClusterBroker } from './cluster/broker-node.ts';
import type { QuorumVoter } from './cluster/controller/index.ts';
import type { OffsetStore } from './group/offset-store.ts';
import { DEFAULT_OFFSETS_COMPACT_BYTES } from './group/replicated-offset-store.ts';

export type { BrokerConfig } from './config.ts';

/** Cluster mode: the broker registers with a controller quorum and replicates its partitions. */
export interface BrokerClusterOptions {
  voters: QuorumVoter[];
  /** Default 500 ms. */
  heartbeatIntervalMs?: number;
  /** A follower that has not caught up for this long leaves the ISR. Default 5000 ms. */
  replicaLagTimeMaxMs?: number;
  /** For topics that do not set min.insync.replicas. Default 1. */
  defaultMinInsyncReplicas?: number;
  /** Partitions of __consumer_offsets. Default 10. */
  offsetsTopicPartitions?: number;
  /** An __consumer_offsets partition is rewritten as a snapshot of its offsets once it holds this many bytes (and twice its last snapshot). Default 16 MiB. */
  offsetsCompactBytes?: number;
  /** How long a metadata change waits for the controller quorum. Default 5000 ms. */
  controllerRequestTimeoutMs?: number;
}

export interface StartBrokerOptions extends Partial<Omit<BrokerConfig, 'log' | 'advertisedHost'>> {
  dataDir: string;
  advertisedHost?: string;
  log?: Partial<LogConfig>;
  cluster?: BrokerClusterOptions;
}

export interface RunningBroker {
  host: string;
  port: number;
  /** host:port, as clients should use it. */
  address: string;
  metricsUrl: string | null;
  config: BrokerConfig;
  close(): Promise<void>;
}

/**
 * Starts one broker node in this process: opens (and recovers) every partition log and the
 * committed offsets, then listens for Kafka clients. The CLI's `untangle broker` is a thin wrapper.
 */
export async function startBroker(options: StartBrokerOptions): Promise<RunningBroker> {
  const config: BrokerConfig = {
    ...DEFAULT_BROKER_CONFIG,
    logger: () => undefined,
    ...stripUndefined(options),
    dataDir: options.dataDir,
    advertisedHost: options.advertisedHost || options.host || DEFAULT_BROKER_CONFIG.host,
    log: { ...DEFAULT_LOG_CONFIG, ...stripUndefined(options.log ?? {}) },
  };
  const logger = config.logger;
  await mkdir(config.dataDir, { recursive: true });

  const topics = await TopicStore.open(config.dataDir, config.log, config, logger, Boolean(options.cluster));
  let port = config.port;
  const cluster = options.cluster
    ? new ClusterBroker({
        nodeId: config.nodeId,
        voters: options.cluster.voters,
        advertised: () => ({ host: config.advertisedHost, port }),
        topics,
        heartbeatIntervalMs: options.cluster.heartbeatIntervalMs ?? 500,
        replicaLagTimeMaxMs: options.cluster.replicaLagTimeMaxMs ?? 5_000,
        defaultMinInsyncReplicas: options.cluster.defaultMinInsyncReplicas ?? 1,
        offsetsTopicPartitions: options.cluster.offsetsTopicPartitions ?? 10,
        offsetsCompactBytes: options.cluster.offsetsCompactBytes ?? DEFAULT_OFFSETS_COMPACT_BYTES,
        controllerRequestTimeoutMs: options.cluster.controllerRequestTimeoutMs ?? 5_000,
        maxFrameBytes: config.maxFrameBytes,
        log: logger,
      })
    : null;
  // A single node keeps committed offsets in its own file; a cluster node in the replicated __consumer_offsets topic.
  const offsets: OffsetStore = cluster ? cluster.offsets : new FileOffsetStore(join(config.dataDir, '__consumer_offsets'), { log: logger });
  await offsets.load();
  const groups = new GroupCoordinator(
    {
      initialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
      minSessionTimeoutMs: 6_000,
      maxSessionTimeoutMs: 1_800_000,
      maxGroups: config.maxGroups,
      maxMembersPerGroup: config.groupMaxSize,
      maxMemberMetadataBytes: config.maxMemberMetadataBytes,
      memberMetadataBudgetBytes: config.memberMetadataBudgetBytes,
      maxOffsetMetadataBytes: config.offsetMetadataMaxBytes,
      maxOffsetsPerGroup: config.maxOffsetsPerGroup,
      offsetsBudgetBytes: config.offsetsBudgetBytes,
    },
    offsets,
  );
  const metrics = new BrokerMetrics(topics, groups, config.nodeId);
  topics.registerMetrics(metrics.registry);
  const producerIds = new ProducerIdAllocator(join(config.dataDir, 'meta', 'producer-ids.json'), 1000, cluster ? config.nodeId : null);

  const server: Server = createServer();
  let nextConnectionId = 1;
  const badInputLog = new RateLimitedLog(logger);
  // Closes and refusals by the connection limits get their own budget of log lines, so a flood of
  // them cannot hide malformed-frame lines (and the other way round).
  const limitsLog = new RateLimitedLog(logger);
  const pool = new MemoryPool(config.maxQueuedRequestBytes);
  const responses = new ResponseBudget(config.maxQueuedResponseBytes);
  const limitMetrics = registerLimitMetrics(metrics.registry, pool, responses);
  const connections = new ConnectionTracker<Connection>(config, {
    log: (line) => limitsLog.log(line),
    closed: (reason) => limitMetrics.closed.inc({ reason }),
    refused: (reason) => limitMetrics.refused.inc({ reason }),
  });
  const connectionLimits = {
    maxFrameBytes: config.maxFrameBytes,
    maxQueuedRequests: config.maxQueuedRequestsPerConnection,
    // One connection's share of the pool: a few connections can never hold all of it.
    maxRequestBytes: Math.max(config.maxFrameBytes + 4, Math.floor(config.maxQueuedRequestBytes / 8)),
    maxPendingResponseBytes: config.maxPendingResponseBytesPerConnection,
    pool,
    responses,
  };
  const router = new RequestRouter({ config, topics, groups, metrics, producerIds, warn: (line) => badInputLog.log(line), self: () => ({ host: config.advertisedHost, port }), cluster });

  server.on('connection', (socket: Socket) => {
    if (!connections.admit(socket.remoteAddress ?? '?')) {
      socket.destroy();
      return;
    }
    const conn = new Connection(
      nextConnectionId++,
      socket,
      connectionLimits,
      (header, body, info) => router.handle(header, body, info),
      (line) => badInputLog.log(line),
      (closed) => {
        connections.remove(closed);
        metrics.connections.set(connections.size);
      },
    );
    connections.add(conn);
    metrics.connections.set(connections.size);
  });
  connections.start();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const metricsUrl = config.metricsPort === null ? null : await metrics.listen(config.host, config.metricsPort);

  // Contains storage errors per partition (logged, counted, retried): never throws out of the timer.
  const retentionTimer = setInterval(() => topics.enforceRetention(), config.retentionCheckIntervalMs);
  retentionTimer.unref();

  logger(`listening on ${config.host}:${port} (data ${config.dataDir})`);
  if (cluster) await cluster.start();
  let closing: Promise<void> | null = null;
  return {
    host: config.host,
    port,
    address: `${config.advertisedHost}:${port}`,
    metricsUrl,
    config,
    close() {
      closing ??= (async () => {
        clearInterval(retentionTimer);
        connections.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const conn of connections.all()) conn.close();
        });
        router.close();
        await cluster?.close();
        await groups.close();
        await offsets.close();
        await topics.close();
        await metrics.close();
        logger('stopped');
      })();
      return closing;
    },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
