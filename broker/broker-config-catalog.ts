// Every broker config DescribeConfigs reports, under Kafka's name, mapped onto what this broker really runs with
// (BrokerConfig, the cluster node's settings, the dynamic configs). A Kafka config this broker has no equivalent for is
// not listed. The dynamic ones (dynamic-broker-config.ts) take their value from the level that sets them; the others
// are read-only: set when the broker starts (the `untangle broker` flag named in the documentation).
import type { BrokerConfig } from './config.ts';
import { DEFAULT_BROKER_CONFIG } from './config.ts';
import { DEFAULT_LOG_CONFIG } from './log/log-config.ts';
import { DEFAULT_SECURITY_CONFIG } from './server/listeners.ts';
import { CLUSTER_SASL_MECHANISM } from './server/sasl/cluster.ts';
import { CONTROLLER_DEFAULTS, ConfigType, DYNAMIC_BROKER_CONFIGS, type ClusterNodeSettings, type DynamicBrokerConfigs } from './dynamic-broker-config.ts';
import { LONG_MAX } from './topic-config.ts';

/** What the catalogue reads. `liveBrokers`: in a cluster, the brokers alive now (default.replication.factor follows them). */
export interface BrokerConfigView {
  config: BrokerConfig;
  dynamic: DynamicBrokerConfigs;
  node: ClusterNodeSettings | null;
  liveBrokers: number;
}

export interface CatalogueEntry {
  name: string;
  type: number;
  doc: string;
  /** Not sent: the value of a sensitive config is null in every answer, as Kafka's. */
  sensitive?: boolean;
  /** The value this broker has when nothing sets it (null: unset); a value that differs was set at start. */
  default: string | null;
  value(v: BrokerConfigView): string | null;
  /** Listed only where the broker has the setting (a cluster node, a controller, a TLS key). */
  when?(v: BrokerConfigView): boolean;
}

/** Kafka's default listener.security.protocol.map; ours maps the same (a protocol name maps to itself). */
const DEFAULT_PROTOCOL_MAP = 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL';
const HOUR_MS = 3_600_000;

const d = DEFAULT_BROKER_CONFIG;
const inCluster = (v: BrokerConfigView): boolean => v.node !== null;
const onController = (v: BrokerConfigView): boolean => v.node?.controller != null;
const controller = (v: BrokerConfigView): NonNullable<ClusterNodeSettings['controller']> => v.node!.controller!;
const defaultListener = (host: string, port: number): string => `PLAINTEXT://${host}:${port}`;

/** A dynamic config: its value is the one in effect (dynamic level or start). */
function dynamic(name: string, doc: string, dflt: string): CatalogueEntry {
  return { name, type: DYNAMIC_BROKER_CONFIGS[name].type, doc, default: dflt, value: (v) => v.dynamic.effective(name).value };
}

function fixed(name: string, type: number, doc: string, dflt: string | null, value: (v: BrokerConfigView) => string | null, when?: (v: BrokerConfigView) => boolean): CatalogueEntry {
  return { name, type, doc, default: dflt, value, when };
}

function secret(name: string, doc: string, when: (v: BrokerConfigView) => boolean): CatalogueEntry {
  return { name, type: ConfigType.PASSWORD, doc, sensitive: true, default: null, value: () => null, when };
}

const L = DEFAULT_LOG_CONFIG;
const T = ConfigType;

export const BROKER_CONFIG_CATALOGUE: readonly CatalogueEntry[] = [
  fixed('node.id', T.INT, 'This node\'s id (--node-id).', String(d.nodeId), (v) => String(v.config.nodeId)),
  fixed('broker.id', T.INT, 'This broker\'s id: the node id (--node-id).', String(d.nodeId), (v) => String(v.config.nodeId)),
  fixed('process.roles', T.LIST, 'This node\'s roles in the cluster: broker, controller or both (--roles).', 'broker', (v) => v.node?.roles.join(',') ?? null, inCluster),
  fixed('controller.quorum.voters', T.LIST, 'The controller quorum, id@host:port,... (--controller-quorum).', null, (v) => v.node?.voters.map((q) => `${q.id}@${q.host}:${q.port}`).join(',') ?? null, inCluster),
  fixed('listeners', T.STRING, 'Listeners, NAME://host:port,... (--listeners; without it one PLAINTEXT listener on --host:--port, port 0 = a free port).', defaultListener(d.host, d.port), (v) => v.config.security.listeners ?? defaultListener(v.config.host, v.config.port)),
  fixed('advertised.listeners', T.STRING, 'What Metadata tells clients per listener (--advertised-listeners, or --advertised-host for the default listener; unset: the bound address).', null, (v) =>
    v.config.security.advertisedListeners ?? (v.config.security.listeners === null && v.config.advertisedHost !== v.config.host ? defaultListener(v.config.advertisedHost, v.config.port) : null)),
  fixed('listener.security.protocol.map', T.STRING, 'Listener name to security protocol (--listener-security-protocol-map); a protocol name maps to itself.', DEFAULT_PROTOCOL_MAP, (v) => v.config.security.listenerSecurityProtocolMap ?? DEFAULT_PROTOCOL_MAP),
  fixed('ssl.client.auth', T.STRING, 'Client certificates on SSL listeners: none, requested or required (--ssl-client-auth).', DEFAULT_SECURITY_CONFIG.sslClientAuth, (v) => v.config.security.sslClientAuth),
  secret('ssl.keystore.certificate.chain', 'The broker\'s PEM certificate chain, read from --ssl-cert at start.', (v) => v.config.security.sslCertFile !== null),
  secret('ssl.keystore.key', 'The broker\'s PEM private key, read from --ssl-key at start.', (v) => v.config.security.sslKeyFile !== null),
  secret('ssl.truststore.certificates', 'PEM CA certificates client certificates are verified against, read from --ssl-ca at start.', (v) => v.config.security.sslCaFile !== null),
  fixed('sasl.enabled.mechanisms', T.LIST, 'SASL mechanisms offered on SASL listeners (--sasl-enabled-mechanisms).', DEFAULT_SECURITY_CONFIG.saslEnabledMechanisms.join(','), (v) => v.config.security.saslEnabledMechanisms.join(',')),
  fixed('sasl.mechanism.inter.broker.protocol', T.STRING, 'How brokers of the cluster authenticate to each other: HMAC with the cluster secret (--cluster-secret-file).', CLUSTER_SASL_MECHANISM, () => CLUSTER_SASL_MECHANISM, inCluster),
  fixed('authorizer.class.name', T.STRING, 'Empty: every request allowed (--authorizer none); "acl": Kafka ACLs enforced on every API (--authorizer acl).', '', (v) => (v.config.authorizer === 'acl' ? 'acl' : '')),
  fixed('super.users', T.LIST, 'Principals allowed everything, semicolon-separated (--super-users); every Broker:<id> is one too.', '', (v) => v.config.superUsers.join(';')),
  fixed('allow.everyone.if.no.acl.found', T.BOOLEAN, 'With ACLs on, a resource no ACL names is open to everyone (--allow-everyone-if-no-acl-found).', String(d.allowEveryoneIfNoAclFound), (v) => String(v.config.allowEveryoneIfNoAclFound)),
  fixed('num.partitions', T.INT, 'Partitions of auto-created topics and of CreateTopics with -1 (--default-partitions).', String(d.defaultPartitions), (v) => String(v.config.defaultPartitions)),
  fixed('default.replication.factor', T.SHORT, 'Replicas of a topic created with replication factor -1: three, or every live broker when there are fewer (1 on a single node).', '1', (v) => String(v.node === null ? 1 : Math.max(1, Math.min(3, v.liveBrokers)))),
  fixed('auto.create.topics.enable', T.BOOLEAN, 'Create an unknown topic a Metadata request names (--auto-create-topics).', String(d.autoCreateTopics), (v) => String(v.config.autoCreateTopics)),
  fixed('min.insync.replicas', T.INT, 'min.insync.replicas of topics that do not set it (--min-insync-replicas; 1 on a single node).', '1', (v) => String(v.node?.defaultMinInsyncReplicas ?? 1)),
  fixed('log.dirs', T.STRING, 'The data directory: partition logs, offsets and metadata (--data-dir).', null, (v) => v.config.dataDir),
  dynamic('log.retention.ms', 'Delete segments older than this, for topics without retention.ms; -1 = keep forever (--retention-ms).', String(L.retentionMs)),
  fixed('log.retention.hours', T.INT, 'log.retention.ms in whole hours, for tools that read it; this broker sets retention in ms: alter log.retention.ms.', String(L.retentionMs / HOUR_MS), (v) => {
    const ms = Number(v.dynamic.effective('log.retention.ms').value);
    return String(ms < 0 ? -1 : Math.floor(ms / HOUR_MS));
  }),
  dynamic('log.retention.bytes', 'Delete old segments above this size per partition, for topics without retention.bytes; -1 = no limit (--retention-bytes).', String(L.retentionBytes)),
  dynamic('log.segment.bytes', 'Roll a segment at this size, for topics without segment.bytes (--segment-bytes).', String(L.segmentBytes)),
  dynamic('log.roll.ms', 'Roll a segment this long after its first batch, for topics without segment.ms.', String(L.segmentMs)),
  fixed('log.index.interval.bytes', T.INT, 'A sparse index entry every this many bytes, for topics without index.interval.bytes.', String(L.indexIntervalBytes), (v) => String(v.config.log.indexIntervalBytes)),
  dynamic('log.flush.interval.messages', 'fsync a partition once this many messages were appended since its last flush; 9223372036854775807 = never, 1 = every append (--log-flush-interval-messages, --fsync).', LONG_MAX),
  dynamic('log.flush.interval.ms', 'fsync a partition once this long has passed since its last flush; 9223372036854775807 = never (--log-flush-interval-ms).', LONG_MAX),
  dynamic('message.max.bytes', 'Largest record batch accepted, for topics without max.message.bytes (--max-message-bytes).', String(L.maxBatchBytes)),
  fixed('offsets.topic.num.partitions', T.INT, 'Partitions of __consumer_offsets when the cluster creates it (--offsets-topic-partitions).', '10', (v) => String(v.node?.offsetsTopicPartitions ?? 10), inCluster),
  fixed('offset.metadata.max.bytes', T.INT, 'Longest metadata of a committed offset (--offset-metadata-max-bytes).', String(d.offsetMetadataMaxBytes), (v) => String(v.config.offsetMetadataMaxBytes)),
  fixed('group.initial.rebalance.delay.ms', T.INT, 'How long a new group waits for more members (--group-initial-rebalance-delay-ms).', String(d.groupInitialRebalanceDelayMs), (v) => String(v.config.groupInitialRebalanceDelayMs)),
  fixed('group.min.session.timeout.ms', T.INT, 'Shortest session timeout a member may ask for.', String(d.groupMinSessionTimeoutMs), (v) => String(v.config.groupMinSessionTimeoutMs)),
  // The GroupCoordinator's maxSessionTimeoutMs (broker/index.ts), Kafka's default.
  fixed('group.max.session.timeout.ms', T.INT, 'Longest session timeout a member may ask for.', '1800000', () => '1800000'),
  fixed('group.max.size', T.INT, 'Members per consumer group (--group-max-size).', String(d.groupMaxSize), (v) => String(v.config.groupMaxSize)),
  dynamic('connections.max.idle.ms', 'Close a connection with no request in flight that has received nothing for this long; -1 = never (--connections-max-idle-ms).', String(d.connectionsMaxIdleMs)),
  dynamic('max.connections', 'Most client connections at once; at the limit a new one closes the one idle the longest (--max-connections).', String(d.maxConnections)),
  dynamic('max.connections.per.ip', 'Most connections from one address; one past it is refused (--max-connections-per-ip).', String(d.maxConnectionsPerIp)),
  fixed('max.connections.per.ip.overrides', T.STRING, 'Per-address exceptions to max.connections.per.ip, address:count,... (--max-connections-per-ip-overrides).', '', (v) =>
    Object.entries(v.config.maxConnectionsPerIpOverrides).map(([a, n]) => `${a}:${n}`).join(',')),
  fixed('socket.request.max.bytes', T.INT, 'Largest request frame accepted (--max-frame-bytes).', String(d.maxFrameBytes), (v) => String(v.config.maxFrameBytes)),
  fixed('queued.max.request.bytes', T.LONG, 'Request bytes held in memory across all connections before reading pauses (--queued-max-request-bytes).', String(d.maxQueuedRequestBytes), (v) => String(v.config.maxQueuedRequestBytes)),
  fixed('replica.lag.time.max.ms', T.LONG, 'A follower that has not caught up for this long leaves the ISR (--replica-lag-time-max-ms).', '5000', (v) => String(v.node?.replicaLagTimeMaxMs ?? 5000), inCluster),
  fixed('broker.session.timeout.ms', T.INT, 'Controller: fence a broker whose heartbeats stop for this long (--broker-session-timeout-ms).', String(CONTROLLER_DEFAULTS.brokerSessionTimeoutMs), (v) => String(controller(v).brokerSessionTimeoutMs), onController),
  fixed('auto.leader.rebalance.enable', T.BOOLEAN, 'Controller: move leadership back to preferred replicas (--leader-rebalance-interval-ms 0 turns it off).', 'true', (v) => String(controller(v).leaderRebalanceIntervalMs > 0), onController),
  fixed('leader.imbalance.check.interval.seconds', T.LONG, 'Controller: how often leadership balance is checked, rounded up to seconds (--leader-rebalance-interval-ms).', String(CONTROLLER_DEFAULTS.leaderRebalanceIntervalMs / 1000), (v) =>
    String(Math.ceil(controller(v).leaderRebalanceIntervalMs / 1000)), onController),
  fixed('leader.imbalance.per.broker.percentage', T.INT, 'Controller: move leadership back only for a broker with more than this percentage of its preferred partitions led elsewhere (--leader-imbalance-per-broker-percentage).', String(CONTROLLER_DEFAULTS.leaderImbalancePercent), (v) =>
    String(controller(v).leaderImbalancePercent), onController),
];

const BY_NAME = new Map(BROKER_CONFIG_CATALOGUE.map((e) => [e.name, e]));

export function catalogueEntry(name: string): CatalogueEntry | undefined {
  return BY_NAME.get(name);
}
