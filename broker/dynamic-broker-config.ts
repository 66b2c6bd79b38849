// Kafka's dynamic broker configs (AlterConfigs on a BROKER resource): the few settings this broker can change while
// running, safely, each under Kafka's name. Two levels, as Kafka: per broker (resource name = the node id) and the
// cluster-wide default (resource name ""), the per-broker value winning; either overrides what the broker was started
// with. They are kept in <data dir>/meta/broker-configs.json (written atomically) and applied again at start, before
// the logs and connection limits are built from the config, so a restart keeps them. Everything else about the broker
// is static: DescribeConfigs reports it read-only (server/handlers/broker-configs.ts).
import { join } from 'node:path';
import type { BrokerConfig } from './config.ts';
import { ErrorCode, KafkaError } from './protocol/errors.ts';
import { readTextIfExists, writeFileAtomic } from './log/storage.ts';
import { LONG_MAX } from './topic-config.ts';

export type DynamicLevel = 'broker' | 'default';

/** What cluster/node.ts tells the broker about the node it runs in. */
export interface ClusterNodeRoles {
  roles: readonly string[];
  /** The controller tuning when the node is a controller too; null on a broker-only node. */
  controller: { brokerSessionTimeoutMs?: number; leaderRebalanceIntervalMs?: number; leaderImbalancePercent?: number } | null;
}

/** Defaults of cluster/controller/controller.ts (resolve) for the settings DescribeConfigs reports. */
export const CONTROLLER_DEFAULTS = { brokerSessionTimeoutMs: 3_000, leaderRebalanceIntervalMs: 300_000, leaderImbalancePercent: 10 };

/** A cluster broker's settings with their defaults (broker/index.ts starts its ClusterBroker with these). */
export function clusterNodeSettings(o: {
  voters: ClusterNodeSettings['voters'];
  replicaLagTimeMaxMs?: number;
  defaultMinInsyncReplicas?: number;
  offsetsTopicPartitions?: number;
  node?: ClusterNodeRoles;
}): ClusterNodeSettings {
  const c = o.node?.controller ?? null;
  return {
    roles: o.node?.roles ?? ['broker'],
    voters: o.voters,
    replicaLagTimeMaxMs: o.replicaLagTimeMaxMs ?? 5_000,
    defaultMinInsyncReplicas: o.defaultMinInsyncReplicas ?? 1,
    offsetsTopicPartitions: o.offsetsTopicPartitions ?? 10,
    controller: c && {
      brokerSessionTimeoutMs: c.brokerSessionTimeoutMs ?? CONTROLLER_DEFAULTS.brokerSessionTimeoutMs,
      leaderRebalanceIntervalMs: c.leaderRebalanceIntervalMs ?? CONTROLLER_DEFAULTS.leaderRebalanceIntervalMs,
      leaderImbalancePercent: c.leaderImbalancePercent ?? CONTROLLER_DEFAULTS.leaderImbalancePercent,
    },
  };
}

/** A cluster node's settings besides BrokerConfig (broker/index.ts, cluster/node.ts), for DescribeConfigs. */
export interface ClusterNodeSettings {
  roles: readonly string[];
  voters: readonly { id: number; host: string; port: number }[];
  replicaLagTimeMaxMs: number;
  defaultMinInsyncReplicas: number;
  offsetsTopicPartitions: number;
  /** This node's controller settings when it is one; null on a broker-only node. */
  controller: { brokerSessionTimeoutMs: number; leaderRebalanceIntervalMs: number; leaderImbalancePercent: number } | null;
}

/** Kafka's ConfigType (DescribeConfigs v3+). */
export const ConfigType = { BOOLEAN: 1, STRING: 2, INT: 3, SHORT: 4, LONG: 5, DOUBLE: 6, LIST: 7, CLASS: 8, PASSWORD: 9 } as const;

interface DynamicSpec {
  type: number;
  /** The value in effect, as Kafka writes it (of the running config, or of what the broker was started with). */
  get(c: StartFields): string;
  /** Parses and applies a value; throws INVALID_CONFIG for one the broker cannot take. */
  set(c: BrokerConfig, value: string): void;
}

function integer(name: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new KafkaError(ErrorCode.INVALID_CONFIG, `${name}=${value} is invalid: expected an integer in [${min}, ${max}]`);
  }
  return n;
}

/** log.flush.interval.*: Kafka's Long.MAX_VALUE (or anything beyond a safe integer) means never. */
function flushInterval(name: string, value: string, min: number): number | undefined {
  if (/^\d{16,}$/.test(value.trim()) && Number(value) > Number.MAX_SAFE_INTEGER) return undefined;
  return integer(name, value, min);
}

const INT32_MAX = 2_147_483_647;

/** The broker configs that can change at runtime, and how each maps onto the running config. */
export const DYNAMIC_BROKER_CONFIGS: Readonly<Record<string, DynamicSpec>> = {
  // Defaults of the partition logs (topics without their own retention.ms etc.); every log is updated at once.
  'log.retention.ms': { type: ConfigType.LONG, get: (c) => String(c.log.retentionMs), set: (c, v) => void (c.log.retentionMs = integer('log.retention.ms', v, -1)) },
  'log.retention.bytes': { type: ConfigType.LONG, get: (c) => String(c.log.retentionBytes), set: (c, v) => void (c.log.retentionBytes = integer('log.retention.bytes', v, -1)) },
  'log.segment.bytes': { type: ConfigType.INT, get: (c) => String(c.log.segmentBytes), set: (c, v) => void (c.log.segmentBytes = integer('log.segment.bytes', v, 1024, INT32_MAX)) },
  'log.roll.ms': { type: ConfigType.LONG, get: (c) => String(c.log.segmentMs), set: (c, v) => void (c.log.segmentMs = integer('log.roll.ms', v, 1)) },
  'message.max.bytes': { type: ConfigType.INT, get: (c) => String(c.log.maxBatchBytes), set: (c, v) => void (c.log.maxBatchBytes = integer('message.max.bytes', v, 64, INT32_MAX)) },
  'log.flush.interval.messages': {
    type: ConfigType.LONG,
    // --fsync true flushes every append: flush.messages=1 in effect.
    get: (c) => (c.log.fsyncOnAppend ? '1' : String(c.log.flushMessages ?? LONG_MAX)),
    // A dynamic value replaces --fsync's flush on every append.
    set: (c, v) => {
      c.log.flushMessages = flushInterval('log.flush.interval.messages', v, 1);
      c.log.fsyncOnAppend = false;
    },
  },
  'log.flush.interval.ms': { type: ConfigType.LONG, get: (c) => String(c.log.flushMs ?? LONG_MAX), set: (c, v) => void (c.log.flushMs = flushInterval('log.flush.interval.ms', v, 0)) },
  // Connection limits: the tracker reads them from the config at each new connection and sweep.
  'max.connections': { type: ConfigType.INT, get: (c) => String(c.maxConnections), set: (c, v) => void (c.maxConnections = integer('max.connections', v, 1, INT32_MAX)) },
  'max.connections.per.ip': { type: ConfigType.INT, get: (c) => String(c.maxConnectionsPerIp), set: (c, v) => void (c.maxConnectionsPerIp = integer('max.connections.per.ip', v, 0, INT32_MAX)) },
  'connections.max.idle.ms': { type: ConfigType.LONG, get: (c) => String(c.connectionsMaxIdleMs), set: (c, v) => void (c.connectionsMaxIdleMs = integer('connections.max.idle.ms', v, -1)) },
};

interface StoredConfigs {
  version: 1;
  broker: Record<string, string>;
  default: Record<string, string>;
}

/** The dynamic configs of one broker: what is set at each level, what the broker was started with, and the file. */
export class DynamicBrokerConfigs {
  private readonly file: string;
  /** The fields the dynamic configs set, as the broker was started: a config removed from every level goes back to these. */
  private readonly startFields: StartFields;
  private readonly listeners: (() => void)[] = [];
  private levels: { broker: Record<string, string>; default: Record<string, string> } = { broker: {}, default: {} };

  private constructor(
    private readonly config: BrokerConfig,
    /** Cluster mode (cluster-wide defaults would have to go through the controller, so only per-broker ones are taken); null on a single node. */
    readonly node: ClusterNodeSettings | null,
  ) {
    this.file = join(config.dataDir, 'meta', 'broker-configs.json');
    this.startFields = startFields(config);
  }

  /** Reads the stored dynamic configs and applies them to `config`. A file that does not parse, or holds a value this broker refuses, stops the start. */
  static async open(config: BrokerConfig, node: ClusterNodeSettings | null): Promise<DynamicBrokerConfigs> {
    const store = new DynamicBrokerConfigs(config, node);
    const text = await readTextIfExists(store.file);
    if (text !== null) {
      try {
        const parsed = JSON.parse(text) as Partial<StoredConfigs>;
        const levels = { broker: stringRecord(parsed.broker), default: stringRecord(parsed.default) };
        for (const level of ['broker', 'default'] as const) store.check(level, levels[level], levels);
        store.levels = levels;
      } catch (err) {
        throw new Error(`${store.file}: ${(err as Error).message}; fix or delete the file (it holds the broker configs set with AlterConfigs)`, { cause: err });
      }
      store.apply(config);
    }
    return store;
  }

  /** What is set at a level (the per-broker one is this broker's). */
  at(level: DynamicLevel): Readonly<Record<string, string>> {
    return this.levels[level];
  }

  /** What the broker was started with, for a dynamic config. */
  startValue(name: string): string | undefined {
    return Object.hasOwn(DYNAMIC_BROKER_CONFIGS, name) ? DYNAMIC_BROKER_CONFIGS[name].get(this.startFields) : undefined;
  }

  /** Called after every change, once the config holds the new values: the broker updates its logs and limits. */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  /** Throws the KafkaError AlterConfigs answers with if `configs` cannot replace what is set at `level`. */
  validate(level: DynamicLevel, configs: Record<string, string>): void {
    this.check(level, configs, { ...this.levels, [level]: configs });
  }

  /** Replaces what is set at a level (AlterConfigs: keys left out go back to the level below), applies it live and stores it. */
  replace(level: DynamicLevel, configs: Record<string, string>): void {
    const next = { ...this.levels, [level]: { ...configs } };
    this.check(level, configs, next);
    const data: StoredConfigs = { version: 1, broker: next.broker, default: next.default };
    writeFileAtomic(this.file, `${JSON.stringify(data, null, 2)}\n`, { createDir: true });
    this.levels = next;
    this.apply(this.config);
    for (const fn of this.listeners) fn();
  }

  /** The value in effect for a dynamic config, and the level it comes from. */
  effective(name: string): { value: string; level: DynamicLevel | 'start' } {
    const b = this.levels.broker[name];
    if (b !== undefined) return { value: b, level: 'broker' };
    const d = this.levels.default[name];
    if (d !== undefined) return { value: d, level: 'default' };
    return { value: this.startValue(name) ?? '', level: 'start' };
  }

  private check(level: DynamicLevel, configs: Record<string, string>, all: { broker: Record<string, string>; default: Record<string, string> }): void {
    if (level === 'default' && this.node !== null && Object.keys(configs).length > 0) {
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        'cluster-wide default broker configs (resource name "") are not supported in a cluster yet: set them per broker (resource name = the node id) on each broker',
      );
    }
    for (const name of Object.keys(configs)) {
      if (!Object.hasOwn(DYNAMIC_BROKER_CONFIGS, name)) throw new KafkaError(ErrorCode.INVALID_CONFIG, `"${name}" is not a dynamic broker config (dynamic: ${Object.keys(DYNAMIC_BROKER_CONFIGS).join(', ')})`);
    }
    // Applied to a copy: a value the broker cannot take is refused before anything changes.
    const scratch: BrokerConfig = { ...this.config, log: { ...this.config.log } };
    for (const [name, spec] of Object.entries(DYNAMIC_BROKER_CONFIGS)) {
      const value = all.broker[name] ?? all.default[name];
      if (value !== undefined) spec.set(scratch, value);
    }
  }

  private apply(config: BrokerConfig): void {
    const { log, ...limits } = this.startFields;
    Object.assign(config, limits);
    Object.assign(config.log, log);
    for (const [name, spec] of Object.entries(DYNAMIC_BROKER_CONFIGS)) {
      const { value, level } = this.effective(name);
      if (level === 'start') continue;
      spec.set(config, value);
    }
  }
}

type StartFields = Pick<BrokerConfig, 'maxConnections' | 'maxConnectionsPerIp' | 'connectionsMaxIdleMs'> & {
  log: Pick<BrokerConfig['log'], 'retentionMs' | 'retentionBytes' | 'segmentBytes' | 'segmentMs' | 'maxBatchBytes' | 'flushMessages' | 'flushMs' | 'fsyncOnAppend'>;
};

function startFields(c: BrokerConfig): StartFields {
  const { retentionMs, retentionBytes, segmentBytes, segmentMs, maxBatchBytes, flushMessages, flushMs, fsyncOnAppend } = c.log;
  return {
    maxConnections: c.maxConnections,
    maxConnectionsPerIp: c.maxConnectionsPerIp,
    connectionsMaxIdleMs: c.connectionsMaxIdleMs,
    log: { retentionMs, retentionBytes, segmentBytes, segmentMs, maxBatchBytes, flushMessages, flushMs, fsyncOnAppend },
  };
}

function stringRecord(v: unknown): Record<string, string> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected an object of config name -> value');
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== 'string') throw new Error(`config ${k}: expected a string value`);
    out[k] = value;
  }
  return out;
}
