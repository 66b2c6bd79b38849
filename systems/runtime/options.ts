import type { Topology } from '../topology/index.ts';

export type LayoutName = 'legacy' | 'hub';

/** Everything one system process is started with. A landscape runner fills these in for each system. */
export interface SystemRuntimeOptions {
  topology: Topology;
  systemId: string;
  layout: LayoutName;
  /** Shared by the whole landscape: batch inboxes (inbox/), the data lake (lake/), per-system state (state/). */
  workDir: string;
  /** This system's HTTP port (health, state, REST flows, feeds, and for the ingress POST /orders). 0 = any. */
  port: number;
  /** Base URLs of the other systems (legacy rest-sync calls and rest-poll feeds). */
  peers: Record<string, string>;
  /** legacy: the RabbitMQ URL. */
  amqpUrl?: string;
  /** hub: the Kafka bootstrap brokers. */
  kafkaBrokers?: string[];
  /** hub: a new consumer group starts at the first offset, so a late joiner receives history. */
  fromBeginning?: boolean;
  /** Names this run's queues and topics, so runs on a shared RabbitMQ or Kafka never see each other's data. */
  runId?: string;
  logger: (line: string) => void;
}

/** The hub topic prefix of a run: `<topology>.` alone, or `<topology>.<runId>.`. */
export function topicPrefixOf(topologyName: string, runId?: string): string {
  return runId ? `${topologyName}.${runId}.` : `${topologyName}.`;
}

/** The AMQP queue prefix of a run. */
export function queuePrefixOf(runId?: string): string {
  return runId ? `legacy.${runId}.` : 'legacy.';
}

/** The HTTP surface every system process has, in both layouts. */
export const PATHS = {
  health: '/health',
  state: '/state',
  /** The ingress system takes orders here (one JSON order per request). */
  orders: '/orders',
  /** legacy rest-sync flows: POST /in/<flowId>. */
  flowIn: (flowId: string) => `/in/${flowId}`,
} as const;
