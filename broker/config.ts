import type { LogConfig } from './log/partition-log.ts';
import { DEFAULT_MAX_OPEN_FILES } from './log/storage-open-files.ts';
import { DEFAULT_SECURITY_CONFIG, type SecurityConfig } from './server/listeners.ts';
import { DEFAULT_SCRUBBER_CONFIG } from './log/scrubber.ts';

/** Everything a broker node is started with. Every limit is explicit. */
export interface BrokerConfig {
  nodeId: number;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The host clients are told to connect to (Metadata); defaults to host. */
  advertisedHost: string;
  dataDir: string;
  clusterId: string;
  defaultPartitions: number;
  /**
   * Create a topic when a client's Metadata request names an unknown one (auto.create.topics.enable).
   * Off by default, unlike Kafka's own default: an open broker would let any client create topics
   * (and partitions, each holding storage) by asking for them; a typo then makes a topic too.
   */
  autoCreateTopics: boolean;
  /** null = no metrics endpoint; 0 picks a free port. */
  metricsPort: number | null;
  /** Largest request frame accepted; a bigger size prefix closes the connection (socket.request.max.bytes). */
  maxFrameBytes: number;
  /** At this many, a new connection closes the one idle the longest (Kafka closes its least recently used one); refused only if every one is handling a request. */
  maxConnections: number;
  /** Connections from one address (max.connections.per.ip); a connection past it is refused. */
  maxConnectionsPerIp: number;
  /** Per-address exceptions to maxConnectionsPerIp, address -> count (max.connections.per.ip.overrides). */
  maxConnectionsPerIpOverrides: Record<string, number>;
  /** A connection with no request being handled that received nothing and had no response byte taken for this long is closed (connections.max.idle.ms); -1 = never. */
  connectionsMaxIdleMs: number;
  /** A connection that started a request frame and has not completed it this long after is closed; -1 = no deadline. */
  requestBodyTimeoutMs: number;
  /** Requests read ahead of the one being handled on one connection before reading pauses. */
  maxQueuedRequestsPerConnection: number;
  /** Bytes of responses queued for a slow reader before we stop handling its requests. */
  maxPendingResponseBytesPerConnection: number;
  /** Request bytes held in memory across all connections before reading pauses (queued.max.request.bytes). One connection may hold at most max(maxFrameBytes, this / 8). */
  maxQueuedRequestBytes: number;
  /** Response bytes queued for clients across all connections; past it, connections with unsent responses are neither read nor served until they drain. */
  maxQueuedResponseBytes: number;
  /** Upper bound on Fetch MaxWaitMs, so a long poll can never hold a connection forever. */
  maxFetchWaitMs: number;
  /** Largest Fetch response (per request), whatever the client asks for. */
  maxFetchResponseBytes: number;
  maxTopics: number;
  maxPartitionsPerTopic: number;
  groupInitialRebalanceDelayMs: number;
  /** Shortest session timeout a group member may ask for (group.min.session.timeout.ms; Kafka's default 6000, the test preset 100). */
  groupMinSessionTimeoutMs: number;
  /** Consumer groups held in memory, and separately groups holding committed offsets (Kafka has no such limit). */
  maxGroups: number;
  /** Members per group (group.max.size); GROUP_MAX_SIZE_REACHED beyond. */
  groupMaxSize: number;
  /** One member's JoinGroup protocol metadata, and separately its SyncGroup assignment. */
  maxMemberMetadataBytes: number;
  /** Broker-wide budget for what group members hold in memory (metadata, assignments, ids). */
  memberMetadataBudgetBytes: number;
  /** Longest metadata of one committed offset (offset.metadata.max.bytes); OFFSET_METADATA_TOO_LARGE beyond. */
  offsetMetadataMaxBytes: number;
  /** Committed partitions per group; INVALID_COMMIT_OFFSET_SIZE beyond. */
  maxOffsetsPerGroup: number;
  /** Broker-wide budget for committed offsets held (estimated bytes); INVALID_COMMIT_OFFSET_SIZE beyond. */
  offsetsBudgetBytes: number;
  retentionCheckIntervalMs: number;
  /** Pause between passes of the background scrubber over sealed segments (log/scrubber.ts); 0 turns it off. */
  scrubIntervalMs: number;
  /** The scrubber's read rate limit, bytes per second across all partitions. */
  scrubBytesPerSec: number;
  /**
   * Most segment files held open at once across all partitions; beyond it the least recently used is closed and
   * reopens on its next use (log/storage-open-files.ts). Process-wide: the last broker started sets it.
   */
  maxOpenFiles: number;
  /** Kafka's authorizer.class.name: "none" allows every request (loopback stays easy), "acl" enforces ACLs on every API. */
  authorizer: 'none' | 'acl';
  /** Principals allowed everything whatever the ACLs say (super.users); every "Broker:<id>" is one too. */
  superUsers: string[];
  /** With ACLs on: a resource no ACL names is open to everyone (allow.everyone.if.no.acl.found); default false, as Kafka. */
  allowEveryoneIfNoAclFound: boolean;
  /** Most ACLs the broker holds; CreateAcls past it is refused with POLICY_VIOLATION. */
  maxAcls: number;
  /** Listeners, TLS and SASL (server/listeners.ts); by default one PLAINTEXT listener on host:port. */
  security: SecurityConfig;
  log: LogConfig;
  /** Where log lines go; stderr for the CLI. */
  logger: (line: string) => void;
}

export const DEFAULT_BROKER_CONFIG: Omit<BrokerConfig, 'dataDir' | 'log' | 'logger'> = {
  nodeId: 1,
  host: '127.0.0.1',
  port: 9092,
  advertisedHost: '',
  clusterId: 'untangle-cluster',
  defaultPartitions: 1,
  autoCreateTopics: false,
  metricsPort: null,
  maxFrameBytes: 100 * 1024 * 1024,
  maxConnections: 1000,
  // Unlimited, as Kafka: on the default loopback listener every client (and every node of a local
  // cluster) is 127.0.0.1, so a per-address quota could not tell anyone apart; idle sockets cannot
  // lock others out anyway (the longest-idle is closed at maxConnections). Set it where untrusted
  // clients connect from a network.
  maxConnectionsPerIp: 2_147_483_647,
  maxConnectionsPerIpOverrides: {},
  // Kafka's default (10 min); Kafka's Java clients close their own idle connections at 9 min, so
  // clients tuned for Kafka see the same behaviour. Idle sockets as an attack are handled by the
  // eviction at maxConnections, so this need not be short.
  connectionsMaxIdleMs: 600_000,
  // As Kafka clients' request.timeout.ms: a client whose request takes longer to send has given up on it.
  requestBodyTimeoutMs: 30_000,
  maxQueuedRequestsPerConnection: 64,
  maxPendingResponseBytesPerConnection: 64 * 1024 * 1024,
  maxQueuedRequestBytes: 512 * 1024 * 1024,
  maxQueuedResponseBytes: 256 * 1024 * 1024,
  maxFetchWaitMs: 30_000,
  maxFetchResponseBytes: 64 * 1024 * 1024,
  maxTopics: 10_000,
  maxPartitionsPerTopic: 1_000,
  groupInitialRebalanceDelayMs: 3_000,
  groupMinSessionTimeoutMs: 6_000,
  // Group limits (docs/broker.md, "Consumer groups"): far above anything this repo's landscapes and
  // tests use (a few groups of a few members, topics of at most 32 partitions), low enough that a
  // hostile client cannot grow memory or the offsets file without bound. Kafka's group.max.size is
  // unlimited (2147483647); offset.metadata.max.bytes is Kafka's 4096; 1 MiB per member is Kafka's
  // own effective ceiling (a group's metadata is one record of at most message.max.bytes).
  maxGroups: 10_000,
  groupMaxSize: 1_000,
  maxMemberMetadataBytes: 1024 * 1024,
  memberMetadataBudgetBytes: 64 * 1024 * 1024,
  offsetMetadataMaxBytes: 4096,
  maxOffsetsPerGroup: 10_000,
  offsetsBudgetBytes: 64 * 1024 * 1024,
  retentionCheckIntervalMs: 60_000,
  scrubIntervalMs: DEFAULT_SCRUBBER_CONFIG.intervalMs,
  scrubBytesPerSec: DEFAULT_SCRUBBER_CONFIG.bytesPerSec,
  maxOpenFiles: DEFAULT_MAX_OPEN_FILES,
  security: DEFAULT_SECURITY_CONFIG,
  authorizer: 'none',
  superUsers: [],
  allowEveryoneIfNoAclFound: false,
  // Far above any hand-written ACL set; every check scans them, and each change rewrites the file.
  maxAcls: 10_000,
};
