// startController: one voter of the controller quorum (Kafka's KRaft controller) as a running
// process part. It keeps the Raft log in dataDir/controller/, listens on its own voter entry's
// port for the other controllers and for brokers, ticks Raft on a timer, and - while it is the
// active controller (the Raft leader) - serves the brokers' RPCs and fences brokers whose
// heartbeats stop. See core.ts (Raft + state), operations.ts (decisions), sessions.ts (brokers).
import path from 'node:path';
import type { MetadataState } from '../metadata/index.ts';
import { ControllerCore, monotonicNow } from './core.ts';
import { DEFAULT_MAX_FRAME_BYTES } from './framing.ts';
import { Operations } from './operations.ts';
import { formatQuorum, votersProblem, type QuorumVoter } from './quorum.ts';
import { BrokerSessions } from './sessions.ts';
import { ControllerTransport } from './transport.ts';
import { checkClusterSecret } from '../secret.ts';

export interface ControllerOptions {
  readonly nodeId: number;
  readonly voters: readonly QuorumVoter[];
  /** The Raft log and hard state go to dataDir/controller/. */
  readonly dataDir: string;
  /** Address to listen on; default the voter entry's host. */
  readonly listenHost?: string;
  readonly logger?: (line: string) => void;
  /** Raft timing; defaults suit a real network: election 1000-2000 ms, heartbeat 200 ms. */
  readonly raft?: { readonly electionTimeoutMinMs: number; readonly electionTimeoutMaxMs: number; readonly heartbeatIntervalMs: number };
  /** How often Raft is ticked. Default heartbeatIntervalMs / 4, between 5 and 50 ms. */
  readonly tickMs?: number;
  /** A broker without a heartbeat for this long is fenced. Default 3000 ms (fast failover on a local cluster). */
  readonly brokerSessionTimeoutMs?: number;
  /** Told to brokers on registration. Default 500 ms. */
  readonly brokerHeartbeatIntervalMs?: number;
  /** Told to brokers on registration (Kafka's replica.lag.time.max.ms). Default 10000 ms. */
  readonly replicaLagTimeMaxMs?: number;
  /** Longest a metadata change waits for a majority before failing with NO_QUORUM. Default 5000 ms. */
  readonly requestTimeoutMs?: number;
  /** Compact the Raft log every this many applied entries. Default 1000. */
  readonly snapshotEveryEntries?: number;
  /** Move leadership back to preferred replicas this often (Kafka's leader.imbalance.check.interval.seconds, 300 s); 0 = never. Default 300000 ms. */
  readonly leaderRebalanceIntervalMs?: number;
  /** Kafka's leader.imbalance.per.broker.percentage. Default 10. */
  readonly leaderImbalancePercent?: number;
  /** Replication factor for createTopic with -1. Default min(3, live brokers). */
  readonly defaultReplicationFactor?: number;
  /** Largest frame on controller connections. Default 64 MiB. */
  readonly maxFrameBytes?: number;
  /** The cluster secret every node holds (../secret.ts); every connection must prove it. Required. */
  readonly clusterSecret: Buffer;
}

export interface RunningController {
  readonly nodeId: number;
  /** The port this controller listens on. */
  readonly port: number;
  /** Whether this controller is the active one: the Raft leader, with every earlier committed entry applied. */
  isLeader(): boolean;
  leaderId(): number | null;
  term(): number;
  /** This controller's copy of the committed metadata (may lag on a follower). */
  metadata(): MetadataState;
  close(): Promise<void>;
}

/** Entries per AppendEntries; with maxEntryBytes this keeps one message well under the frame limit. */
const MAX_ENTRIES_PER_APPEND = 32;

export async function startController(options: ControllerOptions): Promise<RunningController> {
  const s = resolve(options);
  const log = (line: string): void => s.logger(`controller ${s.nodeId}: ${line}`);
  let closing: Promise<void> | null = null;
  let running: RunningController | null = null;
  const core = new ControllerCore({
    nodeId: s.nodeId,
    voterIds: s.voters.map((v) => v.id),
    dir: path.join(s.dataDir, 'controller'),
    electionTimeoutMinMs: s.raft.electionTimeoutMinMs,
    electionTimeoutMaxMs: s.raft.electionTimeoutMaxMs,
    heartbeatIntervalMs: s.raft.heartbeatIntervalMs,
    maxEntriesPerAppend: MAX_ENTRIES_PER_APPEND,
    // A full AppendEntries must fit in one frame, with room for the JSON around the entries.
    maxEntryBytes: Math.min(1024 * 1024, Math.floor(s.maxFrameBytes / (MAX_ENTRIES_PER_APPEND + 8))),
    brokerSessionTimeoutMs: s.brokerSessionTimeoutMs,
    snapshotEveryEntries: s.snapshotEveryEntries,
    maxSnapshotBytes: s.maxFrameBytes - 64 * 1024,
    log,
    onFatal: () => void running?.close(),
  });
  const ops = new Operations(core, {
    brokerSessionTimeoutMs: s.brokerSessionTimeoutMs,
    brokerHeartbeatIntervalMs: s.brokerHeartbeatIntervalMs,
    replicaLagTimeMaxMs: s.replicaLagTimeMaxMs,
    requestTimeoutMs: s.requestTimeoutMs,
    defaultReplicationFactor: s.defaultReplicationFactor,
    leaderRebalanceIntervalMs: s.leaderRebalanceIntervalMs,
    leaderImbalancePercent: s.leaderImbalancePercent,
    now: monotonicNow,
    log,
  });
  let transport: ControllerTransport | null = null;
  const sessions = new BrokerSessions(core, ops, {
    nodeId: s.nodeId,
    voterIds: s.voters.map((v) => v.id),
    requestTimeoutMs: s.requestTimeoutMs,
    now: monotonicNow,
    term: () => core.node.currentTerm,
    reachablePeers: () => transport?.connectedPeers() ?? [],
  });
  transport = new ControllerTransport({
    nodeId: s.nodeId,
    voters: s.voters,
    listenHost: s.listenHost,
    maxFrameBytes: s.maxFrameBytes,
    clusterSecret: s.clusterSecret,
    log,
    onRaftMessage: (from, value) => core.receive(from, value),
    onBrokerConnection: (channel, brokerId) => sessions.open(channel, brokerId),
  });
  core.attach(transport);

  let wasActive = false;
  let lastLeader: number | null = null;
  core.onChange = () => {
    const active = core.isActive();
    if (active !== wasActive) {
      wasActive = active;
      if (active) {
        log(`active controller for term ${core.node.currentTerm} (metadata offset ${core.state.offset})`);
        ops.becameActive();
      } else {
        log(`no longer the active controller (term ${core.node.currentTerm})`);
        ops.lostActive();
      }
    }
    const leader = core.leaderId();
    if (leader !== lastLeader && leader !== s.nodeId) {
      if (leader !== null) log(`controller ${leader} leads term ${core.node.currentTerm}`);
      else if (lastLeader !== null && lastLeader !== s.nodeId) log(`controller ${lastLeader} is no longer leader (now term ${core.node.currentTerm}); an election is running`);
    }
    lastLeader = leader;
    sessions.changed();
  };

  let port: number;
  try {
    port = await transport.start();
  } catch (err) {
    core.close();
    throw new Error(`controller ${s.nodeId} cannot listen on ${s.listenHost}:${s.self.port}: ${(err as Error).message}`, { cause: err });
  }
  const timer = setInterval(() => {
    try {
      core.tick();
      if (core.isActive()) ops.maintain();
    } catch (err) {
      log(`tick failed: ${(err as Error).stack ?? String(err)}`);
    }
  }, s.tickMs);
  log(`listening on ${s.listenHost}:${port}, quorum ${formatQuorum(s.voters)}`);

  running = {
    nodeId: s.nodeId,
    port,
    isLeader: () => core.isActive(),
    leaderId: () => core.leaderId(),
    term: () => core.node.currentTerm,
    metadata: () => core.state,
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        core.close();
        sessions.close();
        await transport.close();
        log('stopped');
      })();
      return closing;
    },
  };
  return running;
}

function resolve(o: ControllerOptions) {
  const fail = (why: string): never => {
    throw new Error(`controller ${o.nodeId}: ${why}`);
  };
  const problem = votersProblem(o.voters);
  if (problem) fail(`invalid voters: ${problem}`);
  const self = o.voters.find((v) => v.id === o.nodeId) ?? fail(`node id ${o.nodeId} is not among the voters ${formatQuorum(o.voters)}`);
  const raft = o.raft ?? { electionTimeoutMinMs: 1_000, electionTimeoutMaxMs: 2_000, heartbeatIntervalMs: 200 };
  const positive = (name: string, v: number | undefined, dflt: number): number => {
    const x = v ?? dflt;
    if (!Number.isSafeInteger(x) || x < 1) fail(`${name} must be a positive integer, got ${v}`);
    return x;
  };
  const nonNegative = (name: string, v: number | undefined, dflt: number): number => {
    const x = v ?? dflt;
    if (!Number.isSafeInteger(x) || x < 0) fail(`${name} must be a non-negative integer, got ${v}`);
    return x;
  };
  positive('raft.heartbeatIntervalMs', raft.heartbeatIntervalMs, 1);
  if (!(raft.heartbeatIntervalMs < raft.electionTimeoutMinMs && raft.electionTimeoutMinMs < raft.electionTimeoutMaxMs)) {
    fail(`need raft heartbeatIntervalMs < electionTimeoutMinMs < electionTimeoutMaxMs, got ${raft.heartbeatIntervalMs}, ${raft.electionTimeoutMinMs}, ${raft.electionTimeoutMaxMs}`);
  }
  const tickMs = positive('tickMs', o.tickMs, Math.min(50, Math.max(5, Math.floor(raft.heartbeatIntervalMs / 4))));
  if (tickMs > raft.heartbeatIntervalMs) fail(`tickMs ${tickMs} must not exceed the raft heartbeat interval ${raft.heartbeatIntervalMs}`);
  const maxFrameBytes = positive('maxFrameBytes', o.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES);
  if (maxFrameBytes < 1024 * 1024) fail(`maxFrameBytes must be at least 1 MiB, got ${maxFrameBytes}`);
  const brokerSessionTimeoutMs = positive('brokerSessionTimeoutMs', o.brokerSessionTimeoutMs, 3_000);
  const brokerHeartbeatIntervalMs = positive('brokerHeartbeatIntervalMs', o.brokerHeartbeatIntervalMs, 500);
  if (brokerHeartbeatIntervalMs >= brokerSessionTimeoutMs) fail(`brokerHeartbeatIntervalMs ${brokerHeartbeatIntervalMs} must be below brokerSessionTimeoutMs ${brokerSessionTimeoutMs}`);
  const defaultReplicationFactor = o.defaultReplicationFactor === undefined ? null : positive('defaultReplicationFactor', o.defaultReplicationFactor, 1);
  return {
    nodeId: o.nodeId,
    voters: o.voters,
    clusterSecret: checkClusterSecret(o.clusterSecret, `controller ${o.nodeId}`),
    self,
    dataDir: o.dataDir,
    listenHost: o.listenHost ?? self.host,
    logger: o.logger ?? (() => undefined),
    raft,
    tickMs,
    maxFrameBytes,
    brokerSessionTimeoutMs,
    brokerHeartbeatIntervalMs,
    replicaLagTimeMaxMs: positive('replicaLagTimeMaxMs', o.replicaLagTimeMaxMs, 10_000),
    requestTimeoutMs: positive('requestTimeoutMs', o.requestTimeoutMs, 5_000),
    snapshotEveryEntries: positive('snapshotEveryEntries', o.snapshotEveryEntries, 1_000),
    defaultReplicationFactor,
    leaderRebalanceIntervalMs: nonNegative('leaderRebalanceIntervalMs', o.leaderRebalanceIntervalMs, 300_000),
    leaderImbalancePercent: nonNegative('leaderImbalancePercent', o.leaderImbalancePercent, 10),
  };
}
