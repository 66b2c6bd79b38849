/**
 * What one system process is started with (SystemRuntimeOptions), where its files live, and the
 * small naming rules every layout shares: queue and topic prefixes of a run, the HTTP paths, the
 * name of an instance and its folders.
 */
import { join } from 'node:path';
import { instanceNames, type SystemSpec, type Topology } from '../topology/index.ts';
import type { Practices } from './practices.ts';

export { AS_GROWN, BEST_PRACTICE, formatPractices, parsePractices, type Practices } from './practices.ts';

export type LayoutName = 'legacy' | 'hub';

/** Everything one system process is started with. A landscape runner fills these in for each system. */
export interface SystemRuntimeOptions {
  topology: Topology;
  systemId: string;
  layout: LayoutName;
  /**
   * Which of the system's instances this process is, from 1 (see instanceName). Several instances
   * share the system's inbox, queues, consumer group and shared folder; each has its own port and state folder.
   */
  instance: number;
  /**
   * Shared by the whole landscape: batch inboxes (inbox/<system>/), the data lake (lake/), state per
   * instance (state/<instance name>/) and what a system's instances share (shared/<system>/).
   */
  workDir: string;
  /** This instance's HTTP port (health, state, REST flows, feeds, and for the ingress POST /ingress/<kind>). 0 = any. */
  port: number;
  /**
   * Base URLs of the systems, every instance of each in instance order (legacy rest-sync calls are
   * spread over them; rest-poll polls each one's feed).
   */
  peers: Record<string, string[]>;
  /** legacy: the RabbitMQ URL, or a cluster's nodes comma-separated (failover between them, quorum queues). */
  amqpUrl?: string;
  /** hub: the Kafka bootstrap brokers. */
  kafkaBrokers?: string[];
  /** hub: a new consumer group starts at the first offset, so a late joiner receives history. */
  fromBeginning?: boolean;
  /** Names this run's queues and topics, so runs on a shared RabbitMQ or Kafka never see each other's data. */
  runId?: string;
  /** The run's seed: scheduled sources make their records from it (as the load makes the ingress events). */
  seed?: number;
  /** The integration practices of the run (systems/runtime/practices.ts); AS_GROWN when absent. */
  practices?: Practices;
  /**
   * legacy with peers=reload: a JSON file `{ "generation": n, "topology": <file>, "peers": { "B": ["http://..."] } }`
   * the system watches (peers-file.ts); a change rewires its flows without a restart, and /state
   * shows the generation followed (wiring.reload). The system's own rules stay those it started with.
   */
  peersFile?: string;
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
  /** The process's CPU and its measured parts (systems/process/cpu-meter.ts); light, sampled during load. */
  cpu: '/cpu',
  /** The ingress system takes records of each ingress kind here (JSON, XML or CSV). */
  ingress: (kind: string) => `/ingress/${kind}`,
  /** legacy rest-sync flows: POST /in/<flowId>. */
  flowIn: (flowId: string) => `/in/${flowId}`,
} as const;

/** The process name of instance `instance` (from 1) of a system: `B` when it has one, `B.2` otherwise. */
export function instanceName(spec: Pick<SystemSpec, 'id' | 'instances'>, instance: number): string {
  if (!Number.isInteger(instance) || instance < 1 || instance > Math.max(1, spec.instances)) {
    throw new RangeError(`system ${spec.id} has ${spec.instances} instance(s); there is no instance ${instance}`);
  }
  return instanceNames(spec)[instance - 1];
}

/** An instance's own folder: `<workDir>/state/<instance name>/` (its journal, what it alone keeps). */
export function instanceStateDir(workDir: string, instanceNameOrId: string): string {
  return join(workDir, 'state', instanceNameOrId);
}

/**
 * What all instances of a system share: `<workDir>/shared/<system id>/` (rest-poll cursors any
 * instance can continue, lease files). The same folder when the system has one instance.
 */
export function sharedStateDir(workDir: string, systemId: string): string {
  return join(workDir, 'shared', systemId);
}

/**
 * The lease file for something only one instance of a system may do at a time (`purpose`: e.g.
 * `source` for its scheduled sources, `poll-<flowId>` for a rest-poll receiver), for FileLease
 * (systems/process/lease.ts) with the instance name as owner.
 */
export function leaseFileOf(workDir: string, systemId: string, purpose: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(purpose)) throw new RangeError(`a lease purpose is [A-Za-z0-9._-], got ${JSON.stringify(purpose)}`);
  return join(sharedStateDir(workDir, systemId), `${purpose}.lease`);
}
