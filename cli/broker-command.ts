import { InvalidArgumentError, type Command } from 'commander';
import { startBroker, type StartBrokerOptions } from '../broker/index.ts';
import { DEFAULT_BROKER_CONFIG } from '../broker/config.ts';
import { DEFAULT_LOG_CONFIG } from '../broker/log/partition-log.ts';
import { boolOption, intOption } from './options.ts';
import { closeOnSignal } from './lifecycle.ts';
import { addSecurityOptions, securitySettings, type SecurityCliOptions } from './users-listener-options.ts';
import { parseRoles, startNode } from '../broker/cluster/node.ts';
import { parseQuorum } from '../broker/cluster/controller/index.ts';
import { readClusterSecretFile } from '../broker/cluster/secret.ts';
import { parsePreset, type BrokerPreset } from '../broker/testing/preset.ts';
import { parseSuperUsers as parseSuperUserList } from '../broker/security/acl.ts';

interface BrokerOptions extends SecurityCliOptions {
  port: number;
  host: string;
  advertisedHost?: string;
  dataDir?: string;
  preset?: BrokerPreset;
  groupMinSessionTimeoutMs: number;
  maxFetchWaitMs: number;
  nodeId: number;
  defaultPartitions: number;
  autoCreateTopics: boolean;
  metricsPort?: number;
  maxFrameBytes: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxConnectionsPerIpOverrides?: Record<string, number>;
  connectionsMaxIdleMs: number;
  requestBodyTimeoutMs: number;
  queuedMaxRequestBytes: number;
  maxQueuedResponseBytes: number;
  maxMessageBytes: number;
  segmentBytes: number;
  retentionMs: number;
  retentionBytes: number;
  fsync: boolean;
  logFlushIntervalMessages?: number;
  logFlushIntervalMs?: number;
  maxOpenFiles: number;
  logScrubIntervalMs: number;
  logScrubBytesPerSec: number;
  groupInitialRebalanceDelayMs: number;
  maxGroups: number;
  groupMaxSize: number;
  maxMemberMetadataBytes: number;
  memberMetadataBudgetBytes: number;
  offsetMetadataMaxBytes: number;
  maxOffsetsPerGroup: number;
  offsetsBudgetBytes: number;
  authorizer: 'none' | 'acl';
  superUsers: string[];
  allowEveryoneIfNoAclFound: boolean;
  maxAcls: number;
  roles?: string;
  controllerQuorum?: string;
  brokerSessionTimeoutMs?: number;
  replicaLagTimeMaxMs?: number;
  minInsyncReplicas?: number;
  offsetsTopicPartitions?: number;
  offsetsCompactBytes?: number;
  leaderRebalanceIntervalMs?: number;
  leaderImbalancePerBrokerPercentage?: number;
  clusterSecretFile?: string;
}

export function registerBrokerCommand(program: Command): void {
  const d = DEFAULT_BROKER_CONFIG;
  addSecurityOptions(program.command('broker'))
    .description('Run one node of the untangle broker (speaks the Kafka wire protocol)')
    .option('--data-dir <dir>', 'directory for partition logs, offsets and metadata (required unless --preset test)')
    .option('--preset <name>', 'test: the broker as a test suite\'s Kafka: a temporary data directory removed on exit, any free port, auto-created topics, no initial rebalance delay, session timeouts from 100 ms; flags given explicitly still win', parsePreset)
    .option('--port <port>', 'TCP port for Kafka clients (0 = any free port)', intOption(0, 65535), d.port)
    .option('--host <host>', 'address to listen on', d.host)
    .option('--advertised-host <host>', 'host name given to clients in Metadata (default: --host)')
    .option('--node-id <id>', 'this node\'s id', intOption(0, 2 ** 31 - 1), d.nodeId)
    .option('--default-partitions <n>', 'partitions of auto-created topics and of CreateTopics with -1', intOption(1, d.maxPartitionsPerTopic), d.defaultPartitions)
    .option('--auto-create-topics <bool>', 'create unknown topics when a client\'s Metadata request names them (true|false; off by default: create topics explicitly)', boolOption, d.autoCreateTopics)
    .option('--metrics-port <port>', 'serve Prometheus metrics on http://HOST:PORT/metrics (0 = any free port)', intOption(0, 65535))
    .option('--max-frame-bytes <n>', 'largest request frame accepted', intOption(1024), d.maxFrameBytes)
    .option('--max-connections <n>', 'most client connections at once; at the limit a new connection closes the one idle the longest (refused only if every one is handling a request)', intOption(1), d.maxConnections)
    .option('--max-connections-per-ip <n>', 'most connections from one address (max.connections.per.ip; default unlimited, as Kafka: on loopback every client is 127.0.0.1)', intOption(0), d.maxConnectionsPerIp)
    .option('--max-connections-per-ip-overrides <list>', 'per-address exceptions, address:n,... (max.connections.per.ip.overrides)', parseConnectionOverrides)
    .option('--connections-max-idle-ms <ms>', 'close a connection that has no request in flight and has received nothing for this long (connections.max.idle.ms; -1 = never)', intOption(-1), d.connectionsMaxIdleMs)
    .option('--request-body-timeout-ms <ms>', 'close a connection that started a request frame and has not completed it this long after (-1 = no deadline)', intOption(-1), d.requestBodyTimeoutMs)
    .option('--queued-max-request-bytes <n>', 'request bytes held in memory across all connections before reading pauses (queued.max.request.bytes); one connection holds at most max(--max-frame-bytes, this / 8)', intOption(1024 * 1024), d.maxQueuedRequestBytes)
    .option('--max-queued-response-bytes <n>', 'response bytes queued for clients across all connections; past it, connections that are not reading their responses are no longer read or served until they drain', intOption(1024 * 1024), d.maxQueuedResponseBytes)
    .option('--max-message-bytes <n>', 'largest record batch accepted (message.max.bytes)', intOption(64), DEFAULT_LOG_CONFIG.maxBatchBytes)
    .option('--segment-bytes <n>', 'roll a log segment at this size', intOption(1024), DEFAULT_LOG_CONFIG.segmentBytes)
    .option('--retention-ms <ms>', 'delete segments older than this (-1 = keep forever)', intOption(-1), DEFAULT_LOG_CONFIG.retentionMs)
    .option('--retention-bytes <n>', 'delete old segments above this size per partition (-1 = no limit)', intOption(-1), DEFAULT_LOG_CONFIG.retentionBytes)
    .option('--fsync <bool>', 'fsync every append (and committed offset) before acknowledging (true|false)', boolOption, DEFAULT_LOG_CONFIG.fsyncOnAppend)
    .option('--log-flush-interval-messages <n>', 'fsync a partition once this many messages were appended since its last flush (log.flush.interval.messages; default never: segments are flushed when they roll)', intOption(1))
    .option('--log-flush-interval-ms <ms>', 'fsync a partition once this long has passed since its last flush (log.flush.interval.ms; default never)', intOption(0))
    .option('--max-open-files <n>', 'most log segment files held open at once; the least recently used is closed beyond it', intOption(1), d.maxOpenFiles)
    .option('--log-scrub-interval-ms <ms>', 'pause between background passes that CRC-check every sealed segment (0 = off)', intOption(0), d.scrubIntervalMs)
    .option('--log-scrub-bytes-per-sec <n>', 'read rate limit of the background scrubber, across all partitions', intOption(1024), d.scrubBytesPerSec)
    .option('--max-fetch-wait-ms <ms>', 'longest a Fetch waits for data, whatever its MaxWaitMs asks (a long poll never holds a connection longer)', intOption(0), d.maxFetchWaitMs)
    .option('--group-initial-rebalance-delay-ms <ms>', 'how long a new group waits for more members', intOption(0), d.groupInitialRebalanceDelayMs)
    .option('--group-min-session-timeout-ms <ms>', 'shortest session timeout a group member may ask for (group.min.session.timeout.ms)', intOption(1), d.groupMinSessionTimeoutMs)
    .option('--max-groups <n>', 'consumer groups held in memory, and separately groups holding committed offsets', intOption(1), d.maxGroups)
    .option('--group-max-size <n>', 'members per consumer group (group.max.size); GROUP_MAX_SIZE_REACHED beyond', intOption(1, 2 ** 31 - 1), d.groupMaxSize)
    .option('--max-member-metadata-bytes <n>', 'one group member\'s JoinGroup protocol metadata, and separately its SyncGroup assignment', intOption(1024), d.maxMemberMetadataBytes)
    .option('--member-metadata-budget-bytes <n>', 'broker-wide budget for what group members hold in memory (metadata, assignments, ids); COORDINATOR_NOT_AVAILABLE beyond', intOption(64 * 1024), d.memberMetadataBudgetBytes)
    .option('--offset-metadata-max-bytes <n>', 'longest metadata of a committed offset (offset.metadata.max.bytes); OFFSET_METADATA_TOO_LARGE beyond', intOption(0), d.offsetMetadataMaxBytes)
    .option('--max-offsets-per-group <n>', 'committed partitions one group may hold; INVALID_COMMIT_OFFSET_SIZE beyond', intOption(1), d.maxOffsetsPerGroup)
    .option('--offsets-budget-bytes <n>', 'broker-wide budget for committed offsets held (estimated bytes); INVALID_COMMIT_OFFSET_SIZE beyond', intOption(64 * 1024), d.offsetsBudgetBytes)
    .option('--authorizer <kind>', 'none (every request allowed) or acl (Kafka ACLs enforced on every API; manage them with any Kafka admin client) (authorizer.class.name)', parseAuthorizer, d.authorizer)
    .option('--super-users <list>', 'principals allowed everything, semicolon-separated: User:admin;User:ops (super.users)', parseSuperUsers, d.superUsers)
    .option('--allow-everyone-if-no-acl-found <bool>', 'with --authorizer acl, a resource no ACL names is open to everyone (allow.everyone.if.no.acl.found; true|false)', boolOption, d.allowEveryoneIfNoAclFound)
    .option('--max-acls <n>', 'most ACLs the broker holds; CreateAcls beyond is refused', intOption(1), d.maxAcls)
    .option('--roles <roles>', 'cluster roles of this node: broker, controller or broker,controller (Kafka\'s process.roles); needs --controller-quorum')
    .option('--controller-quorum <voters>', 'the controller quorum, id@host:port,... (e.g. 1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194); runs this node as part of a cluster')
    .option('--broker-session-timeout-ms <ms>', 'controller: fence a broker whose heartbeats stop for this long', intOption(500))
    .option('--replica-lag-time-max-ms <ms>', 'leader: drop a follower from the ISR when it has not caught up for this long', intOption(100))
    .option('--min-insync-replicas <n>', 'min.insync.replicas for topics that do not set it', intOption(1))
    .option('--leader-rebalance-interval-ms <ms>', 'controller: every this often, move leadership back to preferred replicas for a broker that leads under 90 % of the partitions it should (Kafka\'s auto leader rebalance; 0 = never; default 300000)', intOption(0))
    .option('--leader-imbalance-per-broker-percentage <n>', 'controller: move leadership back only when more than this percentage of the partitions a broker should lead are led elsewhere (leader.imbalance.per.broker.percentage; 0 = always; default 10)', intOption(0, 100))
    .option('--offsets-topic-partitions <n>', 'partitions of __consumer_offsets when this cluster creates it (default 10)', intOption(1, 1000))
    .option('--cluster-secret-file <file>', 'cluster mode: a file holding the secret every node of the cluster shares (at least 32 bytes, e.g. `openssl rand -hex 32`; readable by this user only); authenticates controller traffic and replica fetches. Required with --controller-quorum')
    .option('--offsets-compact-bytes <n>', 'rewrite an __consumer_offsets partition as a snapshot of its offsets once it holds this many bytes (default 16 MiB)', intOption(64 * 1024))
    .action(async (opts: BrokerOptions, command: Command) => {
      const logger = (line: string): void => void process.stderr.write(`${new Date().toISOString()} broker ${opts.nodeId}: ${line}\n`);
      if (opts.preset !== undefined) dropPresetDefaults(opts, command);
      else if (opts.dataDir === undefined) throw new Error('untangle broker needs --data-dir DIR (or --preset test for a temporary one)');
      if (opts.roles !== undefined || opts.controllerQuorum !== undefined) {
        await runClusterNode(opts, logger);
        return;
      }
      const broker = await startBroker(brokerSettings(opts, logger));
      process.stdout.write(
        `untangle broker ready node=${opts.nodeId} listen=${broker.address} metrics=${broker.metricsUrl ?? '-'} data=${broker.config.dataDir}\n`,
      );
      closeOnSignal(() => broker.close(), logger);
    });
}

/** Options the test preset sets (testing/preset.ts) keep the preset's value unless given on the command line. */
const PRESET_OPTIONS = ['port', 'autoCreateTopics', 'groupInitialRebalanceDelayMs', 'groupMinSessionTimeoutMs', 'logScrubIntervalMs'] as const;

function dropPresetDefaults(opts: BrokerOptions, command: Command): void {
  for (const key of PRESET_OPTIONS) {
    if (command.getOptionValueSource(key) === 'default') delete (opts as unknown as Record<string, unknown>)[key];
  }
}

/** `untangle broker --roles ... --controller-quorum ...`: one node of a cluster. */
async function runClusterNode(opts: BrokerOptions, logger: (line: string) => void): Promise<void> {
  if (opts.controllerQuorum === undefined) throw new Error('--roles needs --controller-quorum id@host:port,... naming every controller');
  const roles = parseRoles(opts.roles ?? 'broker');
  const voters = parseQuorum(opts.controllerQuorum);
  if (opts.clusterSecretFile === undefined) throw new Error('--controller-quorum needs --cluster-secret-file FILE: every node of a cluster must hold the same secret (`untangle cluster` generates one)');
  if (opts.dataDir === undefined) throw new Error('a cluster node needs --data-dir DIR: it must find its log and the quorum\'s state again after a restart');
  const node = await startNode({
    clusterSecret: readClusterSecretFile(opts.clusterSecretFile),
    ...brokerSettings(opts, logger),
    dataDir: opts.dataDir,
    nodeId: opts.nodeId,
    roles,
    voters,
    controller: { brokerSessionTimeoutMs: opts.brokerSessionTimeoutMs, leaderRebalanceIntervalMs: opts.leaderRebalanceIntervalMs, leaderImbalancePercent: opts.leaderImbalancePerBrokerPercentage },
    broker: {
      replicaLagTimeMaxMs: opts.replicaLagTimeMaxMs,
      defaultMinInsyncReplicas: opts.minInsyncReplicas,
      offsetsTopicPartitions: opts.offsetsTopicPartitions,
      offsetsCompactBytes: opts.offsetsCompactBytes,
    },
  });
  const controllerPort = node.controller ? String(node.controller.port) : '-';
  process.stdout.write(
    `untangle broker ready node=${opts.nodeId} roles=${roles.join(',')} listen=${node.broker?.address ?? '-'} controller=${controllerPort} metrics=${node.broker?.metricsUrl ?? '-'} data=${opts.dataDir}\n`,
  );
  closeOnSignal(() => node.close(), logger);
}

/** The broker settings every node takes from the command line, single node or cluster. */
function brokerSettings(opts: BrokerOptions, logger: (line: string) => void): StartBrokerOptions {
  return {
    port: opts.port,
    host: opts.host,
    advertisedHost: opts.advertisedHost,
    dataDir: opts.dataDir,
    nodeId: opts.nodeId,
    defaultPartitions: opts.defaultPartitions,
    autoCreateTopics: opts.autoCreateTopics,
    metricsPort: opts.metricsPort ?? null,
    maxFrameBytes: opts.maxFrameBytes,
    maxConnections: opts.maxConnections,
    maxConnectionsPerIp: opts.maxConnectionsPerIp,
    maxConnectionsPerIpOverrides: opts.maxConnectionsPerIpOverrides,
    connectionsMaxIdleMs: opts.connectionsMaxIdleMs,
    requestBodyTimeoutMs: opts.requestBodyTimeoutMs,
    maxQueuedRequestBytes: opts.queuedMaxRequestBytes,
    maxQueuedResponseBytes: opts.maxQueuedResponseBytes,
    groupInitialRebalanceDelayMs: opts.groupInitialRebalanceDelayMs,
    groupMinSessionTimeoutMs: opts.groupMinSessionTimeoutMs,
    maxFetchWaitMs: opts.maxFetchWaitMs,
    preset: opts.preset,
    maxGroups: opts.maxGroups,
    groupMaxSize: opts.groupMaxSize,
    maxMemberMetadataBytes: opts.maxMemberMetadataBytes,
    memberMetadataBudgetBytes: opts.memberMetadataBudgetBytes,
    offsetMetadataMaxBytes: opts.offsetMetadataMaxBytes,
    maxOffsetsPerGroup: opts.maxOffsetsPerGroup,
    offsetsBudgetBytes: opts.offsetsBudgetBytes,
    authorizer: opts.authorizer,
    superUsers: opts.superUsers,
    allowEveryoneIfNoAclFound: opts.allowEveryoneIfNoAclFound,
    maxAcls: opts.maxAcls,
    security: securitySettings(opts),
    log: { maxBatchBytes: opts.maxMessageBytes, segmentBytes: opts.segmentBytes, retentionMs: opts.retentionMs, retentionBytes: opts.retentionBytes, fsyncOnAppend: opts.fsync, flushMessages: opts.logFlushIntervalMessages, flushMs: opts.logFlushIntervalMs },
    maxOpenFiles: opts.maxOpenFiles,
    scrubIntervalMs: opts.logScrubIntervalMs,
    scrubBytesPerSec: opts.logScrubBytesPerSec,
    logger,
  };
}

/** `--max-connections-per-ip-overrides 10.0.0.5:200,127.0.0.1:5000` (Kafka's max.connections.per.ip.overrides, comma-separated host:count). */
export function parseConnectionOverrides(value: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of value.split(',').map((e) => e.trim()).filter((e) => e.length > 0)) {
    const colon = entry.lastIndexOf(':');
    const address = entry.slice(0, colon).trim().replace(/^\[(.*)\]$/, '$1');
    const count = Number(entry.slice(colon + 1));
    if (colon <= 0 || address.length === 0 || !Number.isInteger(count) || count < 0) {
      throw new InvalidArgumentError(`expected address:count,... (e.g. 10.0.0.5:200), got "${entry}"`);
    }
    out[address] = count;
  }
  return out;
}

/** `--authorizer none|acl`. */
function parseAuthorizer(value: string): 'none' | 'acl' {
  if (value !== 'none' && value !== 'acl') throw new InvalidArgumentError(`expected none or acl, got "${value}"`);
  return value;
}

/** `--super-users User:admin;User:ops` (Kafka's super.users). */
function parseSuperUsers(value: string): string[] {
  try {
    return parseSuperUserList(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}
