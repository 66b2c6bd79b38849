import type { Socket } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_BROKER_CONFIG, type BrokerConfig } from './config.ts';
import { DynamicBrokerConfigs, clusterNodeSettings, type ClusterNodeRoles } from './dynamic-broker-config.ts';
import { DEFAULT_LOG_CONFIG, type LogConfig } from './log/partition-log.ts';
import { TopicStore } from './topics.ts';
import { GroupCoordinator, FileOffsetStore } from './group/index.ts';
import { BrokerMetrics } from './server/metrics.ts';
import { Connection, type ConnectionInfo, type FrameHandler } from './server/connection.ts';
import { decodeRequestHeader } from './protocol/frame.ts';
import { Reader } from './protocol/wire.ts';
import { RateLimitedLog } from './server/rate-limited-log.ts';
import { RequestRouter } from './server/router.ts';
import { MemoryPool } from './server/memory-pool.ts';
import { ConnectionTracker, ResponseBudget, registerLimitMetrics } from './server/connection-limits.ts';
import { ProducerIdAllocator } from './producer-ids.ts';
import { ClusterBroker } from './cluster/broker-node.ts';
import type { QuorumVoter } from './cluster/controller/index.ts';
import type { OffsetStore } from './group/offset-store.ts';
import { openFiles } from './log/storage-open-files.ts';
import { Scrubber } from './log/scrubber.ts';
import { DEFAULT_OFFSETS_COMPACT_BYTES } from './group/replicated-offset-store.ts';
import { Authorizer } from './security/acl-store.ts';
import { committedOffsets, resetBroker, topicRecords, type CommittedOffset, type InspectedRecord } from './testing/inspect.ts';
import { presetDataDir, TEST_PRESET, type BrokerPreset } from './testing/preset.ts';
import { bindListeners, closeListeners, interBrokerTlsOptions, isTlsProtocol, planListeners, DEFAULT_SECURITY_CONFIG, type ListenerSpec, type SecurityConfig, type SecurityProtocol } from './server/listeners.ts';
import { openBrokerSecurity, type SaslMechanism } from './server/sasl/index.ts';

export type { BrokerConfig } from './config.ts';
export type { CommittedOffset, InspectedRecord } from './testing/inspect.ts';
export type { BrokerPreset } from './testing/preset.ts';

/** Cluster mode: the broker registers with a controller quorum and replicates its partitions. */
export interface BrokerClusterOptions {
  voters: QuorumVoter[];
  /** The cluster secret (cluster/secret.ts), the same on every node: authenticates controller traffic and replica fetches. */
  clusterSecret: Buffer;
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
  /** This node's roles and controller settings (cluster/node.ts), for DescribeConfigs. */
  node?: ClusterNodeRoles;
}

export interface StartBrokerOptions extends Partial<Omit<BrokerConfig, 'log' | 'advertisedHost' | 'security'>> {
  /** Where partition logs, offsets and metadata live. Optional with preset 'test' (a temporary directory removed on close). */
  dataDir?: string;
  /** 'test': the broker as a test suite's Kafka (testing/preset.ts); options given here still win over it. */
  preset?: BrokerPreset;
  advertisedHost?: string;
  log?: Partial<LogConfig>;
  /** Listeners, TLS, SASL (server/listeners.ts SecurityConfig); unset fields take its defaults. */
  security?: Partial<SecurityConfig>;
  /** SASL mechanisms offered besides the enabled client ones (the inter-node one); each mechanism's anyListener says where. */
  saslMechanisms?: SaslMechanism[];
  cluster?: BrokerClusterOptions;
}

export interface RunningBroker {
  host: string;
  port: number;
  /** host:port, as clients should use it. */
  address: string;
  metricsUrl: string | null;
  config: BrokerConfig;
  /**
   * Hands one request frame (without its size prefix) to the same header decode, authentication
   * gate and dispatch as a socket's frames, as connection `conn` (never attached to a listener, so
   * not a SASL one), and returns the response frame. Throws where a socket would be closed. For
   * in-process tests that drive far more frames than sockets could carry.
   */
  serveFrame(frame: Buffer, conn: ConnectionInfo): Promise<Buffer[] | null>;
  /** Every listener with the port it bound and the endpoint Metadata gives clients on it; the first is host/port above. */
  listeners: { name: string; protocol: SecurityProtocol; host: string; port: number; advertised: { host: string; port: number } }[];
  /** Every record of `topic` (of one partition when given) from the log start to the high watermark, decoded (testing/inspect.ts). */
  records(topic: string, partition?: number): InspectedRecord[];
  /** The offsets `groupId` has committed, by topic and partition. */
  committedOffsets(groupId: string): CommittedOffset[];
  /** Deletes every topic and every group (which must have no members left) with its offsets: a clean slate between tests. Single node only. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts one broker node in this process: opens (and recovers) every partition log and the
 * committed offsets, then listens for Kafka clients. The CLI's `untangle broker` is a thin wrapper.
 */
export async function startBroker(options: StartBrokerOptions): Promise<RunningBroker> {
  const place = await presetDataDir(options.dataDir, options.preset);
  if (!place.remove) return startBrokerIn(options, place.dataDir);
  const remove = place.remove;
  try {
    const broker = await startBrokerIn(options, place.dataDir);
    return { ...broker, close: () => broker.close().then(remove) };
  } catch (err) {
    await remove();
    throw err;
  }
}

async function startBrokerIn(options: StartBrokerOptions, dataDir: string): Promise<RunningBroker> {
  const { preset, ...given } = options;
  const config: BrokerConfig = {
    ...DEFAULT_BROKER_CONFIG,
    ...(preset === 'test' ? TEST_PRESET : {}),
    logger: () => undefined,
    ...stripUndefined(given),
    dataDir,
    advertisedHost: options.advertisedHost || options.host || DEFAULT_BROKER_CONFIG.host,
    log: { ...DEFAULT_LOG_CONFIG, ...stripUndefined(options.log ?? {}) },
    security: { ...DEFAULT_SECURITY_CONFIG, ...stripUndefined(options.security ?? {}) },
  };
  const logger = config.logger;
  openFiles.setLimit(config.maxOpenFiles);
  // Refuses unsafe or malformed listeners before anything is opened.
  const listenerPlan = planListeners(config.host, config.port, config.advertisedHost, config.security);
  await mkdir(config.dataDir, { recursive: true });
  // Before anything reads the config: the broker configs set with AlterConfigs replace the flags' values.
  const clusterNode = options.cluster ? clusterNodeSettings(options.cluster) : null;
  const brokerConfigs = await DynamicBrokerConfigs.open(config, clusterNode);
  const security = await openBrokerSecurity(config.dataDir, config.security, options.saslMechanisms ?? [], logger);
  // Before the logs are opened: an ACL file that does not parse stops the start (no files or ports held yet).
  const authorizer = await Authorizer.open({
    kind: config.authorizer,
    file: join(config.dataDir, 'meta', 'acls.json'),
    superUsers: config.superUsers,
    allowEveryoneIfNoAclFound: config.allowEveryoneIfNoAclFound,
    maxAcls: config.maxAcls,
  });

  const topics = await TopicStore.open(config.dataDir, config.log, config, logger, Boolean(options.cluster));
  let port = config.port;
  const primaryListener = listenerPlan.listeners[0];
  const cluster = options.cluster
    ? new ClusterBroker({
        nodeId: config.nodeId,
        voters: options.cluster.voters,
        // Every listener is registered, so other brokers answer Metadata per listener name (Kafka's behaviour).
        advertised: () => ({
          ...listenerPlan.advertised(primaryListener, port),
          listeners: listenerPlan.listeners.map((l) => ({ name: l.name, securityProtocol: l.protocol, ...listenerPlan.advertised(l, boundPorts.get(l) ?? port) })),
        }),
        credentials: security.credentials,
        authorizer,
        maxAcls: config.maxAcls,
        topics,
        heartbeatIntervalMs: options.cluster.heartbeatIntervalMs ?? 500,
        replicaLagTimeMaxMs: clusterNode!.replicaLagTimeMaxMs,
        defaultMinInsyncReplicas: clusterNode!.defaultMinInsyncReplicas,
        offsetsTopicPartitions: clusterNode!.offsetsTopicPartitions,
        offsetsCompactBytes: options.cluster.offsetsCompactBytes ?? DEFAULT_OFFSETS_COMPACT_BYTES,
        controllerRequestTimeoutMs: options.cluster.controllerRequestTimeoutMs ?? 5_000,
        maxFrameBytes: config.maxFrameBytes,
        clusterSecret: options.cluster.clusterSecret,
        // Followers fetch from the leaders' registered (first) listener: over TLS when it is SSL / SASL_SSL.
        replicaTls: interBrokerTlsOptions(config.security, primaryListener),
        log: logger,
      })
    : null;
  // Followers authenticate to this broker with the cluster's own SASL mechanism before fetching.
  if (cluster) security.mechanisms.register(cluster.saslMechanism);
  // A single node keeps committed offsets in its own file; a cluster node in the replicated __consumer_offsets topic.
  const offsets: OffsetStore = cluster ? cluster.offsets : new FileOffsetStore(join(config.dataDir, '__consumer_offsets'), {
        log: logger,
        // Committed offsets follow the partition logs' flush policy (--fsync, --log-flush-interval-*).
        fsync: config.log.fsyncOnAppend,
        flushMessages: config.log.flushMessages,
        flushMs: config.log.flushMs,
      });
  await offsets.load();
  const groups = new GroupCoordinator(
    {
      initialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
      minSessionTimeoutMs: config.groupMinSessionTimeoutMs,
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
  const producerIds = new ProducerIdAllocator(join(config.dataDir, 'meta', 'producer-ids.json'), 1000, cluster ? config.nodeId : null, options.cluster?.clusterSecret ?? null);

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
  if (authorizer.enabled) {
    logger(`ACLs enforced (--authorizer acl): ${authorizer.size} ACL(s), super users ${config.superUsers.join(';') || '-'}${config.allowEveryoneIfNoAclFound ? ', resources without ACLs open to everyone' : ''}`);
    if (cluster) logger('ACLs are the cluster\'s: kept in the controller quorum\'s metadata, the same on every broker');
  }
  const router = new RequestRouter({ config, topics, groups, metrics, producerIds, authorizer, warn: (line) => badInputLog.log(line), self: (conn) => selfFor(conn), cluster, security, responses, brokerConfigs });

  const boundPorts = new Map<ListenerSpec, number>();
  /** The endpoint of the listener a connection arrived on (Kafka answers Metadata per listener). */
  const selfFor = (conn?: object): { host: string; port: number; listener: string } => {
    const listener = (conn && security.sessions.listenerOf(conn)) || primaryListener;
    return { ...listenerPlan.advertised(listener, boundPorts.get(listener) ?? port), listener: listener.name };
  };
  const handleFrame: FrameHandler = (header, body, info) => {
    // Unauthenticated connections on SASL listeners may only authenticate: anything else closes them.
    security.sessions.admit(header.apiKey, info);
    return router.handle(header, body, info);
  };
  const onSocket = (socket: Socket, listener: ListenerSpec, certificatePrincipal: string | null): void => {
    if (!connections.admit(socket.remoteAddress ?? '?')) {
      socket.destroy();
      return;
    }
    const conn = new Connection(
      nextConnectionId++,
      socket,
      connectionLimits,
      handleFrame,
      (line) => badInputLog.log(line),
      (closed) => {
        connections.remove(closed);
        security.sessions.detach(closed);
        metrics.connections.set(connections.size);
      },
    );
    security.sessions.attach(conn, listener, certificatePrincipal);
    connections.add(conn);
    metrics.connections.set(connections.size);
  };
  connections.start();

  const bound = await bindListeners(listenerPlan.listeners, config.security, config.maxConnections, onSocket, (line) => limitsLog.log(line));
  for (const b of bound) boundPorts.set(b.spec, b.port);
  // A dynamic broker config changed (AlterConfigs): the logs take the new defaults, the limits their new values.
  brokerConfigs.onChange(() => {
    for (const t of topics.all()) for (const p of t.partitions) p.log.updateConfig(topics.logConfigFor(t.configs));
    connections.stop();
    connections.start();
    for (const b of bound) if (isTlsProtocol(b.spec.protocol)) b.server.maxConnections = config.maxConnections * 2;
  });
  port = bound[0].port;
  const metricsUrl = config.metricsPort === null ? null : await metrics.listen(config.host, config.metricsPort);

  // Contains storage errors per partition (logged, counted, retried): never throws out of the timer.
  const retentionTimer = setInterval(() => topics.enforceRetention(), config.retentionCheckIntervalMs);
  retentionTimer.unref();
  // Re-reads sealed segments at a bounded rate; corruption takes only its partition offline (log/scrubber.ts).
  const scrubber = new Scrubber(
    function* () {
      for (const t of topics.all()) for (const p of t.partitions) yield { name: `${t.name}-${p.index}`, log: p.log };
    },
    { intervalMs: config.scrubIntervalMs, bytesPerSec: config.scrubBytesPerSec },
    logger,
  );
  scrubber.registerMetrics(metrics.registry);
  scrubber.start();

  for (const b of bound) logger(`listening on ${b.spec.name}://${b.spec.host}:${b.port} (${b.spec.protocol}) (data ${config.dataDir})`);
  if (cluster) await cluster.start();
  let closing: Promise<void> | null = null;
  const primary = listenerPlan.advertised(primaryListener, port);
  return {
    host: primaryListener.host,
    port,
    address: `${primary.host}:${primary.port}`,
    metricsUrl,
    config,
    listeners: bound.map((b) => ({ name: b.spec.name, protocol: b.spec.protocol, host: b.spec.host, port: b.port, advertised: listenerPlan.advertised(b.spec, b.port) })),
    records: (topic, partition) => topicRecords(topics, topic, partition),
    committedOffsets: (groupId) => committedOffsets(groups, groupId),
    reset: () => {
      if (cluster) return Promise.reject(new Error('reset() is for a single broker; on a cluster delete topics and groups with an admin client'));
      return resetBroker(topics, groups);
    },
    async serveFrame(frame, conn) {
      const body = new Reader(frame);
      return handleFrame(decodeRequestHeader(body), body, conn);
    },
    close() {
      closing ??= (async () => {
        clearInterval(retentionTimer);
        await scrubber.close();
        connections.stop();
        const closed = closeListeners(bound);
        for (const conn of connections.all()) conn.close();
        await closed;
        router.close();
        await cluster?.close();
        await groups.close();
        await offsets.close();
        await authorizer.close();
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
