/**
 * The kafkajs client of the hub wiring: one `Kafka` per system process (clientId names the system),
 * retries that ride out a broker restart, kafkajs log lines routed to our line logger, and
 * `ensureTopics`, which creates missing topics idempotently and waits until every partition has a
 * leader. Works against our broker, Apache Kafka or Redpanda alike: only the broker list changes.
 */
import { Kafka, logLevel as LogLevel, type Admin, type Consumer, type ITopicMetadata, type LogEntry, type RetryOptions } from 'kafkajs';
import { MemberMemory } from './member-memory.ts';
import { HUB_CONSUMER, KAFKA_CLIENT } from '../runtime/tuning.ts';

/** Where a log line goes: the same shape as the broker's logger. */
export type HubLogger = (line: string) => void;

export const stderrLogger: HubLogger = (line) => void process.stderr.write(`${new Date().toISOString()} ${line}\n`);

/** Env var naming the kafkajs log level: nothing | error | warn | info | debug. */
export const KAFKA_LOG_LEVEL_ENV = 'UNTANGLE_KAFKA_LOG_LEVEL';

const LEVELS: Readonly<Record<string, LogLevel>> = {
  nothing: LogLevel.NOTHING,
  error: LogLevel.ERROR,
  warn: LogLevel.WARN,
  info: LogLevel.INFO,
  debug: LogLevel.DEBUG,
};

/** The kafkajs log level from `UNTANGLE_KAFKA_LOG_LEVEL` (default: error; unknown values too). */
export function kafkaLogLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const name = env[KAFKA_LOG_LEVEL_ENV]?.trim().toLowerCase();
  const level = name ? LEVELS[name] : undefined;
  return level ?? LogLevel.ERROR;
}

/**
 * Retries of every client request: exponential from 100 ms to 500 ms, about a minute in all. A
 * retry also refreshes the metadata, and until a cluster has fenced a dead broker that metadata
 * still names it, so what counts is how soon a retry comes after the failover. In one run of
 * test/cluster/failover.test.ts the producer's first acknowledgement came 1.4 s after the new leader
 * was elected with retries up to 1 s apart, and about 0.4 s after with 0.5 s.
 */
export const DEFAULT_RETRY: Readonly<RetryOptions> = { retries: 120, initialRetryTime: 100, maxRetryTime: 500, factor: 0.2, multiplier: 2 };

export interface HubKafkaOptions {
  /** host:port of each bootstrap broker. */
  brokers: readonly string[];
  /** Names the client in the broker's logs and metrics, e.g. `untangle-system-A`. */
  clientId: string;
  logger?: HubLogger;
  /** Overrides the env-derived level. */
  logLevel?: LogLevel;
  retry?: RetryOptions;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /**
   * The process's own folder (an instance's state folder), where its group consumers remember their
   * member ids, so that after a crash the restarted process removes its dead predecessor from each
   * group before joining (see groupConsumer). Omit to remember nothing.
   */
  memberStateDir?: string;
}

/** What groupConsumer needs to know of a Kafka made by createKafka with a memberStateDir. */
interface MemberStateOf {
  dir: string;
  brokers: readonly string[];
  clientId: string;
  log: HubLogger;
}

const memberStateOf = new WeakMap<Kafka, MemberStateOf>();

/** A log creator that turns kafkajs entries into single lines on `logger`. */
export function kafkaLogCreator(logger: HubLogger): () => (entry: LogEntry) => void {
  return () => ({ namespace, label, log }) => {
    const { message, timestamp: _ts, logger: _logger, ...extra } = log as LogEntry['log'] & { logger?: unknown };
    const detail = Object.keys(extra).length > 0 ? ` ${safeJson(extra)}` : '';
    logger(`kafkajs ${label} [${namespace}] ${message}${detail}`);
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    return '[unserializable]';
  }
}

/** The clientId of a system's hub wiring. */
export const systemClientId = (systemId: string): string => `untangle-system-${systemId}`;

export function createKafka(options: HubKafkaOptions): Kafka {
  if (options.brokers.length === 0) throw new Error('createKafka: the broker list is empty');
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeoutMs ?? KAFKA_CLIENT.connectionTimeout,
    requestTimeout: options.requestTimeoutMs ?? KAFKA_CLIENT.requestTimeout,
    retry: { ...DEFAULT_RETRY, ...options.retry },
    logLevel: options.logLevel ?? kafkaLogLevelFromEnv(),
    logCreator: kafkaLogCreator(options.logger ?? stderrLogger),
  });
  if (options.memberStateDir !== undefined) {
    memberStateOf.set(kafka, { dir: options.memberStateDir, brokers: [...options.brokers], clientId: options.clientId, log: options.logger ?? stderrLogger });
  }
  return kafka;
}

export interface EnsureTopicsOptions {
  /** Replicas per partition; 1 for a single broker. */
  replicationFactor?: number;
  /** How long to wait for every partition to have a leader. */
  timeoutMs?: number;
}

const TOPIC_EXISTS = 'TOPIC_ALREADY_EXISTS';

/**
 * Creates the topics that do not exist yet with `partitions` partitions (an existing topic is left
 * as it is, whatever its partition count) and waits until metadata shows a leader for every
 * partition of every topic. Safe to call from several processes at once. Resolves with each
 * topic's partition count.
 */
export async function ensureTopics(admin: Admin, topics: readonly string[], partitions: number, options: EnsureTopicsOptions = {}): Promise<Map<string, number>> {
  if (!Number.isInteger(partitions) || partitions < 1) throw new Error(`ensureTopics: partitions must be a positive integer, got ${partitions}`);
  const wanted = [...new Set(topics)];
  if (wanted.length === 0) return new Map();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const existing = new Set(await admin.listTopics());
  const missing = wanted.filter((t) => !existing.has(t));
  if (missing.length > 0) {
    try {
      await admin.createTopics({
        topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: options.replicationFactor ?? 1 })),
        waitForLeaders: true,
        timeout: timeoutMs,
      });
    } catch (err) {
      // Another process created some of them first: fine, as long as all exist below.
      if (!isTopicExistsError(err)) throw err;
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const { problem: lastProblem, partitionCounts } = await metadataProblem(admin, wanted);
    if (lastProblem === '') return partitionCounts;
    if (Date.now() > deadline) throw new Error(`ensureTopics: timed out after ${timeoutMs} ms: ${lastProblem}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function isTopicExistsError(err: unknown): boolean {
  const e = err as { type?: string; errors?: { type?: string }[] };
  if (e?.type === TOPIC_EXISTS) return true;
  return Array.isArray(e?.errors) && e.errors.length > 0 && e.errors.every((x) => x?.type === TOPIC_EXISTS);
}

/** problem '' when every topic has partitions and each has a leader (otherwise what is missing), and the partition counts seen. */
async function metadataProblem(admin: Admin, topics: readonly string[]): Promise<{ problem: string; partitionCounts: Map<string, number> }> {
  const partitionCounts = new Map<string, number>();
  let metadata: ITopicMetadata[];
  try {
    metadata = (await admin.fetchTopicMetadata({ topics: [...topics] })).topics;
  } catch (err) {
    return { problem: (err as Error).message, partitionCounts };
  }
  for (const topic of topics) {
    const m = metadata.find((x) => x.name === topic);
    if (!m || m.partitions.length === 0) return { problem: `topic ${topic} has no metadata yet`, partitionCounts };
    const leaderless = m.partitions.filter((p) => p.leader < 0);
    if (leaderless.length > 0) return { problem: `topic ${topic} partitions ${leaderless.map((p) => p.partitionId).join(',')} have no leader`, partitionCounts };
    partitionCounts.set(topic, m.partitions.length);
  }
  return { problem: '', partitionCounts };
}

/** Consumer settings shared by the systems' subscribers and the lake sink. */
export interface GroupConsumerSettings {
  groupId: string;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  maxWaitTimeMs?: number;
  maxBytesPerPartition: number;
}

/** How long a restarted process tries to remove its predecessor's member before joining regardless. */
export const LEAVE_PREVIOUS_TIMEOUT_MS = 5_000;

/**
 * A consumer-group member that never creates topics (ensureTopics does that, with our partition count).
 *
 * Coming back after a crash: a member that dies without leaving (kill -9) stays in its group until
 * its session (sessionTimeoutMs) ends, and a restarted process's join waits that long for it (9-10 s
 * measured from the kill, against about 1 s to start the process). When the Kafka was made with a memberStateDir,
 * the consumer remembers its member id there at every join (kafkajs' GROUP_JOIN), and its first
 * connect() removes the member its previous incarnation left behind (one LeaveGroup, what a clean
 * stop sends; leave-group.ts) before joining: the join then completes as after a clean stop. When
 * the dead member was the group's only one, the group is empty by then, so the join waits the
 * broker's group.initial.rebalance.delay.ms: 0 on the brokers our runners start, 3 s on a Kafka left at its
 * default. kafkajs cannot join with a static group.instance.id, which would be Kafka's own answer
 * (KIP-345). The session stays 10 s: shorter would not help a restart enough (Kafka refuses
 * sessions below group.min.session.timeout.ms, 6 s by default) and would expire a member whose
 * handler is busy on a loaded machine (heartbeats go out between records, not during one). A clean
 * stop (disconnect) leaves the group itself.
 */
export function groupConsumer(kafka: Kafka, s: GroupConsumerSettings): Consumer {
  const consumer = kafka.consumer({
    groupId: s.groupId,
    sessionTimeout: s.sessionTimeoutMs ?? HUB_CONSUMER.sessionTimeout,
    rebalanceTimeout: HUB_CONSUMER.rebalanceTimeout,
    heartbeatInterval: s.heartbeatIntervalMs ?? HUB_CONSUMER.heartbeatInterval,
    maxWaitTimeInMs: s.maxWaitTimeMs ?? HUB_CONSUMER.maxWaitTimeInMs,
    minBytes: HUB_CONSUMER.minBytes,
    maxBytes: HUB_CONSUMER.maxBytes,
    maxBytesPerPartition: s.maxBytesPerPartition,
    allowAutoTopicCreation: false,
  });
  const state = memberStateOf.get(kafka);
  if (!state) return consumer;
  const memory = new MemberMemory({ ...state, groupId: s.groupId, leaveTimeoutMs: LEAVE_PREVIOUS_TIMEOUT_MS });
  consumer.on(consumer.events.GROUP_JOIN, (e) => memory.remember(e.payload.memberId));
  return {
    ...consumer,
    async connect() {
      await memory.leavePrevious();
      await consumer.connect();
    },
  };
}
