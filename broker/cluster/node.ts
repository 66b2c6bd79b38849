// One cluster node (Kafka's process.roles): a controller quorum voter, a broker, or both in one
// process; and a whole local cluster started in this process, for tests and for code that wants a
// cluster without child processes. `untangle broker --roles ...` and `untangle cluster` use these.
import { join } from 'node:path';
import { startBroker, type RunningBroker, type StartBrokerOptions, type BrokerClusterOptions } from '../index.ts';
import { startController, type QuorumVoter, type RunningController } from './controller/index.ts';
import { freePorts } from './free-ports.ts';
import { checkClusterSecret, generateClusterSecret } from './secret.ts';
import { presetDataDir, type BrokerPreset } from '../testing/preset.ts';

export type NodeRole = 'broker' | 'controller';

export interface ControllerTuning {
  electionTimeoutMinMs?: number;
  electionTimeoutMaxMs?: number;
  raftHeartbeatIntervalMs?: number;
  brokerSessionTimeoutMs?: number;
  requestTimeoutMs?: number;
  snapshotEveryEntries?: number;
  /** Move leadership back to preferred replicas this often; 0 = never. Default 300000 ms, as Kafka. */
  leaderRebalanceIntervalMs?: number;
  /** Move it back only for a broker with more than this percentage of its preferred partitions led elsewhere. Default 10, as Kafka. */
  leaderImbalancePercent?: number;
}

export interface StartNodeOptions extends Omit<StartBrokerOptions, 'cluster' | 'dataDir'> {
  dataDir: string;
  nodeId: number;
  roles: readonly NodeRole[];
  /** Every controller of the quorum (`--controller-quorum`). */
  voters: QuorumVoter[];
  controller?: ControllerTuning;
  broker?: Omit<BrokerClusterOptions, 'voters' | 'clusterSecret'>;
  /** The cluster secret, the same on every node (`--cluster-secret-file`; secret.ts). Required: a cluster never runs unauthenticated. */
  clusterSecret: Buffer;
}

export interface RunningNode {
  nodeId: number;
  roles: readonly NodeRole[];
  controller: RunningController | null;
  broker: RunningBroker | null;
  close(): Promise<void>;
}

export function parseRoles(spec: string): NodeRole[] {
  const roles = [...new Set(spec.split(',').map((r) => r.trim()).filter((r) => r.length > 0))];
  if (roles.length === 0) throw new Error('--roles needs broker, controller or broker,controller');
  for (const r of roles) if (r !== 'broker' && r !== 'controller') throw new Error(`unknown role "${r}": expected broker, controller or both (broker,controller)`);
  return roles as NodeRole[];
}

/** Starts the controller first (when this node is one), then the broker, which waits to be registered and unfenced. */
export async function startNode(options: StartNodeOptions): Promise<RunningNode> {
  const { roles, voters, nodeId } = options;
  const logger = options.logger ?? (() => undefined);
  const clusterSecret = checkClusterSecret(options.clusterSecret, `node ${nodeId}`);
  let controller: RunningController | null = null;
  if (roles.includes('controller')) {
    if (!voters.some((v) => v.id === nodeId)) throw new Error(`node ${nodeId} has the controller role but is not in the controller quorum (${voters.map((v) => `${v.id}@${v.host}:${v.port}`).join(',')})`);
    const t = options.controller ?? {};
    controller = await startController({
      nodeId,
      voters,
      dataDir: options.dataDir,
      logger,
      raft: { electionTimeoutMinMs: t.electionTimeoutMinMs ?? 1_000, electionTimeoutMaxMs: t.electionTimeoutMaxMs ?? 2_000, heartbeatIntervalMs: t.raftHeartbeatIntervalMs ?? 200 },
      brokerSessionTimeoutMs: t.brokerSessionTimeoutMs,
      requestTimeoutMs: t.requestTimeoutMs,
      snapshotEveryEntries: t.snapshotEveryEntries,
      leaderRebalanceIntervalMs: t.leaderRebalanceIntervalMs,
      leaderImbalancePercent: t.leaderImbalancePercent,
      clusterSecret,
    });
  }
  let broker: RunningBroker | null = null;
  if (roles.includes('broker')) {
    try {
      // roles and controller: what DescribeConfigs reports as process.roles and the controller's settings.
      const node = { roles, controller: controller ? (options.controller ?? {}) : null };
      broker = await startBroker({ ...options, cluster: { ...options.broker, voters, clusterSecret, node } });
    } catch (err) {
      await controller?.close();
      throw err;
    }
  }
  let closing: Promise<void> | null = null;
  return {
    nodeId,
    roles,
    controller,
    broker,
    close() {
      closing ??= (async () => {
        await broker?.close();
        await controller?.close();
      })();
      return closing;
    },
  };
}

export interface StartClusterOptions {
  /** Broker nodes (ids 1..nodes). */
  nodes: number;
  /** Controllers among them (ids 1..controllers, each also a broker); odd. Default min(3, nodes) rounded down to odd. */
  controllers?: number;
  /** Node i keeps its data in dataDir/node-i. Optional with preset 'test': a temporary directory removed on close. */
  dataDir?: string;
  /** 'test': every node with the broker's test preset (testing/preset.ts), and brokers fenced after 2 s without heartbeats. */
  preset?: BrokerPreset;
  host?: string;
  logger?: (line: string) => void;
  controller?: ControllerTuning;
  broker?: Omit<BrokerClusterOptions, 'voters' | 'clusterSecret'>;
  /** The cluster secret; default a fresh random one (see `clusterSecret` of the result). */
  clusterSecret?: Buffer;
  /** Extra broker settings for every node. */
  brokerConfig?: Partial<Omit<StartBrokerOptions, 'cluster' | 'dataDir' | 'nodeId' | 'port' | 'host'>>;
}

export interface RunningCluster {
  nodes: RunningNode[];
  voters: QuorumVoter[];
  /** The secret the nodes share, for clients of the controller quorum (ControllerClient). */
  clusterSecret: Buffer;
  /** host:port of every broker, for bootstrap.servers. */
  bootstrap: string[];
  close(): Promise<void>;
}

/** The default controller count for `nodes` nodes: 3 when there are at least 3, else 1. */
export function defaultControllerCount(nodes: number): number {
  return nodes >= 3 ? 3 : 1;
}

/** A whole cluster in this process, on free ports; node i keeps its data in dataDir/node-i. */
export async function startCluster(options: StartClusterOptions): Promise<RunningCluster> {
  const place = await presetDataDir(options.dataDir, options.preset);
  try {
    const cluster = await startClusterIn(options, place.dataDir);
    return place.remove ? { ...cluster, close: () => cluster.close().then(place.remove!) } : cluster;
  } catch (err) {
    await place.remove?.();
    throw err;
  }
}

async function startClusterIn(options: StartClusterOptions, dataDir: string): Promise<RunningCluster> {
  const test = options.preset === 'test';
  const host = options.host ?? '127.0.0.1';
  const controllers = options.controllers ?? defaultControllerCount(options.nodes);
  checkClusterShape(options.nodes, controllers);
  const ports = await freePorts(options.nodes + controllers, host);
  const voters: QuorumVoter[] = Array.from({ length: controllers }, (_, i) => ({ id: i + 1, host, port: ports[options.nodes + i] }));
  const clusterSecret = options.clusterSecret ?? generateClusterSecret();
  const nodes = await Promise.all(
    Array.from({ length: options.nodes }, (_, i) => {
      const nodeId = i + 1;
      const log = options.logger;
      return startNode({
        ...options.brokerConfig,
        nodeId,
        roles: nodeId <= controllers ? ['broker', 'controller'] : ['broker'],
        voters,
        host,
        port: ports[i],
        dataDir: join(dataDir, `node-${nodeId}`),
        ...(test ? { preset: 'test' as const } : {}),
        logger: log ? (line) => log(`node ${nodeId}: ${line}`) : undefined,
        controller: test ? { brokerSessionTimeoutMs: 2_000, ...options.controller } : options.controller,
        broker: options.broker,
        clusterSecret,
      });
    }),
  );
  return {
    nodes,
    voters,
    clusterSecret,
    bootstrap: nodes.map((n) => n.broker!.address),
    async close() {
      await Promise.all(nodes.map((n) => n.close()));
    },
  };
}

export function checkClusterShape(nodes: number, controllers: number): void {
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 64) throw new Error(`--nodes must be 1..64, got ${nodes}`);
  if (!Number.isInteger(controllers) || controllers < 1 || controllers % 2 === 0) throw new Error(`--controllers must be an odd number (1, 3, 5...), got ${controllers}`);
  if (controllers > nodes) throw new Error(`--controllers (${controllers}) cannot exceed --nodes (${nodes}): every controller here is also a broker`);
}
