// Defaults and validation for RaftConfig.
import type { NodeId, RaftConfig } from './types.ts';

export interface ResolvedRaftConfig {
  readonly voters: ReadonlySet<NodeId>;
  readonly peers: readonly NodeId[];
  readonly quorum: number;
  readonly electionMinMs: number;
  readonly electionMaxMs: number;
  readonly heartbeatMs: number;
  readonly maxEntriesPerAppend: number;
  readonly maxUncommitted: number;
  readonly maxCommittedPerReady: number;
  readonly checkQuorum: boolean;
}

export function resolveRaftConfig<C>(config: RaftConfig<C>): ResolvedRaftConfig {
  const voters = new Set(config.voters);
  if (voters.size !== config.voters.length) throw new Error('raft: duplicate voter ids');
  if (voters.size % 2 === 0) throw new Error(`raft: voter count must be odd, got ${voters.size}`);
  if (!voters.has(config.id)) throw new Error(`raft: node ${config.id} is not among the voters`);
  const resolved: ResolvedRaftConfig = {
    voters,
    peers: config.voters.filter((v) => v !== config.id),
    quorum: Math.floor(voters.size / 2) + 1,
    electionMinMs: config.electionTimeoutMinMs ?? 150,
    electionMaxMs: config.electionTimeoutMaxMs ?? 300,
    heartbeatMs: config.heartbeatIntervalMs ?? 50,
    maxEntriesPerAppend: config.maxEntriesPerAppend ?? 64,
    maxUncommitted: config.maxUncommittedEntries ?? 1024,
    maxCommittedPerReady: config.maxCommittedPerReady ?? 256,
    checkQuorum: config.checkQuorum ?? true,
  };
  if (!(resolved.heartbeatMs > 0 && resolved.electionMinMs > resolved.heartbeatMs && resolved.electionMaxMs > resolved.electionMinMs)) {
    throw new Error('raft: need 0 < heartbeatInterval < electionTimeoutMin < electionTimeoutMax');
  }
  for (const k of ['maxEntriesPerAppend', 'maxUncommitted', 'maxCommittedPerReady'] as const) {
    if (!Number.isInteger(resolved[k]) || resolved[k] < 1) throw new Error(`raft: ${k} must be an integer >= 1`);
  }
  return resolved;
}
