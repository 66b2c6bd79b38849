import type { LogConfig } from './log/partition-log.ts';

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
  autoCreateTopics: boolean;
  /** null = no metrics endpoint; 0 picks a free port. */
  metricsPort: number | null;
  /** Largest request frame accepted; a bigger size prefix closes the connection (socket.request.max.bytes). */
  maxFrameBytes: number;
  maxConnections: number;
  /** Requests read ahead of the one being handled on one connection before reading pauses. */
  maxQueuedRequestsPerConnection: number;
  /** Bytes of responses queued for a slow reader before we stop handling its requests. */
  maxPendingResponseBytesPerConnection: number;
  /** Request bytes held in memory across all connections before reading pauses (queued.max.request.bytes). */
  maxQueuedRequestBytes: number;
  /** Upper bound on Fetch MaxWaitMs, so a long poll can never hold a connection forever. */
  maxFetchWaitMs: number;
  /** Largest Fetch response (per request), whatever the client asks for. */
  maxFetchResponseBytes: number;
  maxTopics: number;
  maxPartitionsPerTopic: number;
  groupInitialRebalanceDelayMs: number;
  retentionCheckIntervalMs: number;
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
  autoCreateTopics: true,
  metricsPort: null,
  maxFrameBytes: 100 * 1024 * 1024,
  maxConnections: 1000,
  maxQueuedRequestsPerConnection: 64,
  maxPendingResponseBytesPerConnection: 64 * 1024 * 1024,
  maxQueuedRequestBytes: 512 * 1024 * 1024,
  maxFetchWaitMs: 30_000,
  maxFetchResponseBytes: 64 * 1024 * 1024,
  maxTopics: 10_000,
  maxPartitionsPerTopic: 1_000,
  groupInitialRebalanceDelayMs: 3_000,
  retentionCheckIntervalMs: 60_000,
};
