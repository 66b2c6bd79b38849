// The classic group coordinator: membership (rebalance.ts) plus committed offsets and the admin
// APIs (DescribeGroups, ListGroups, DeleteGroups, OffsetDelete). Follows Kafka's GroupMetadataManager.
import { ErrorCode } from '../protocol/errors.ts';
import type { ClassicGroup } from './classic-group.ts';
import type { OffsetEntry, OffsetStore } from './offset-store.ts';
import { GroupMembership } from './membership.ts';
import { validateExistingMember, type ResolvedConfig } from './rebalance.ts';
import { planOffsetCommit } from './offset-commit.ts';
import { planOffsetDelete, type OffsetDeleteResult, type OffsetDeleteTopic } from './offset-delete.ts';
import {
  quoteGroupId,
  systemClock,
  type Clock,
  type CommittedOffsetForLag,
  type DeleteGroupResult,
  type DescribedGroup,
  type GroupCoordinatorConfig,
  type GroupState,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type JoinGroupRequest,
  type JoinGroupResponse,
  type LeaveGroupRequest,
  type LeaveGroupResponse,
  type ListedGroup,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
  type OffsetFetchPartition,
  type OffsetFetchResponse,
  type OffsetFetchTopic,
  type SyncGroupRequest,
  type SyncGroupResponse,
} from './types.ts';

export const DEFAULT_NEW_MEMBER_JOIN_TIMEOUT_MS = 300_000;

export class GroupCoordinator {
  private readonly cfg: ResolvedConfig;
  private readonly membership: GroupMembership;

  constructor(
    config: GroupCoordinatorConfig,
    private readonly offsets: OffsetStore,
    private readonly clock: Clock = systemClock,
    /** Where failures of background store writes (tombstones) are reported. */
    private readonly logger: (line: string) => void = () => undefined,
  ) {
    this.cfg = { newMemberJoinTimeoutMs: DEFAULT_NEW_MEMBER_JOIN_TIMEOUT_MS, ...config };
    this.membership = new GroupMembership(this.cfg, clock);
  }

  /** Estimated bytes members and pending member ids hold, against the member metadata budget. */
  get memberMetadataBytes(): number {
    return this.membership.budget.usedBytes;
  }

  joinGroup(req: JoinGroupRequest): Promise<JoinGroupResponse> {
    return this.membership.joinGroup(req);
  }

  syncGroup(req: SyncGroupRequest): Promise<SyncGroupResponse> {
    return this.membership.syncGroup(req);
  }

  heartbeat(req: HeartbeatRequest): HeartbeatResponse {
    return this.membership.heartbeat(req);
  }

  leaveGroup(req: LeaveGroupRequest): LeaveGroupResponse {
    return this.membership.leaveGroup(req);
  }

  // ---- OffsetCommit / OffsetFetch ----

  /** Stores what planOffsetCommit accepts; answers once it is durable, COORDINATOR_NOT_AVAILABLE if the store fails. */
  async commitOffsets(req: OffsetCommitRequest): Promise<OffsetCommitResponse> {
    const plan = planOffsetCommit(req, this.validateCommitter(req), this.cfg, this.offsets, this.clock.now());
    let storeError: number = ErrorCode.NONE;
    if (plan.entries.length > 0) {
      try {
        await this.offsets.commit(req.groupId, plan.entries);
      } catch (err) {
        this.logger(`offset commit for group ${quoteGroupId(req.groupId)} failed: ${(err as Error).message}`);
        storeError = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    return {
      topics: req.topics.map((t, ti) => ({
        name: t.name,
        partitions: t.partitions.map((p, pi) => ({ partitionIndex: p.partitionIndex, errorCode: plan.codes[ti][pi] === ErrorCode.NONE ? storeError : plan.codes[ti][pi] })),
      })),
      ...(plan.warning === undefined ? {} : { warning: plan.warning }),
    };
  }

  /** Kafka's ClassicGroup.validateOffsetCommit, plus the unknown-group case. */
  private validateCommitter(req: OffsetCommitRequest): number {
    if (this.membership.isClosed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const group = this.membership.groups.get(req.groupId);
    // No live group: only admin / simple-consumer commits (generation -1) are accepted.
    if (!group) return req.generationId < 0 ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (req.generationId < 0 && group.is('Empty')) return ErrorCode.NONE;
    if (req.generationId >= 0 || req.memberId !== '' || req.groupInstanceId !== null) {
      const error = validateExistingMember(group, req.memberId, req.groupInstanceId);
      if (error !== ErrorCode.NONE) return error;
      if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (!group.is('Empty')) {
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    if (group.is('CompletingRebalance')) return ErrorCode.REBALANCE_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  fetchOffsets(groupId: string, topics: OffsetFetchTopic[] | null): OffsetFetchResponse {
    if (this.membership.isClosed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
    const toPartition = (partitionIndex: number, e: OffsetEntry | undefined): OffsetFetchPartition => ({
      partitionIndex,
      committedOffset: e ? e.offset : -1,
      committedLeaderEpoch: e ? e.leaderEpoch : -1,
      metadata: e ? (e.metadata ?? '') : '',
      errorCode: ErrorCode.NONE,
    });
    if (topics !== null) {
      return {
        errorCode: ErrorCode.NONE,
        topics: topics.map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((p) => toPartition(p, this.offsets.get(groupId, t.name, p))),
        })),
      };
    }
    const byTopic = new Map<string, OffsetFetchPartition[]>();
    for (const e of this.offsets.entries(groupId)) {
      let list = byTopic.get(e.topic);
      if (!list) byTopic.set(e.topic, (list = []));
      list.push(toPartition(e.partition, e));
    }
    return { errorCode: ErrorCode.NONE, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) };
  }

  // ---- admin ----

  describeGroups(groupIds: string[]): DescribedGroup[] {
    return groupIds.map((groupId) => {
      const none = (groupState: GroupState, errorCode: number): DescribedGroup => ({ errorCode, groupId, groupState, protocolType: '', protocolData: '', members: [] });
      if (this.membership.isClosed) return none('Dead', ErrorCode.COORDINATOR_NOT_AVAILABLE);
      const group = this.membership.groups.get(groupId);
      // Unknown groups describe as Dead with no error (what Kafka answers below DescribeGroups v6).
      if (!group) return none(this.offsets.hasGroup(groupId) ? 'Empty' : 'Dead', ErrorCode.NONE);
      return describe(group);
    });
  }

  listGroups(statesFilter?: string[]): ListedGroup[] {
    if (this.membership.isClosed) return [];
    const filter = statesFilter && statesFilter.length > 0 ? new Set(statesFilter.map((s) => s.toLowerCase())) : null;
    const out: ListedGroup[] = [];
    for (const g of this.membership.groups.values()) {
      if (!g.is('Dead')) out.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state });
    }
    for (const groupId of this.offsets.groups()) {
      if (!this.membership.groups.has(groupId)) out.push({ groupId, protocolType: '', groupState: 'Empty' });
    }
    return filter ? out.filter((g) => filter.has(g.groupState.toLowerCase())) : out;
  }

  deleteGroups(groupIds: string[]): DeleteGroupResult[] {
    return groupIds.map((groupId) => {
      if (this.membership.isClosed) return { groupId, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
      const group = this.membership.groups.get(groupId);
      if (group) {
        if (!group.is('Empty')) return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
        this.membership.dropGroup(group);
      } else if (!this.offsets.hasGroup(groupId)) {
        return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
      }
      this.offsets.deleteGroup(groupId).catch((err: Error) => this.logger(`deleting offsets of group ${groupId} failed: ${err.message}`));
      return { groupId, errorCode: ErrorCode.NONE };
    });
  }

  /**
   * OffsetDelete: deletes the named committed offsets the group may lose (offset-delete.ts) and
   * answers once the deletion is durable; COORDINATOR_NOT_AVAILABLE if the store fails.
   */
  async deleteOffsets(groupId: string, topics: readonly OffsetDeleteTopic[]): Promise<OffsetDeleteResult> {
    if (this.membership.isClosed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
    const { result, deletions } = planOffsetDelete(groupId, this.membership.groups.get(groupId), topics, this.offsets);
    if (deletions.length === 0) return result;
    try {
      await this.offsets.deleteOffsets(groupId, deletions);
    } catch (err) {
      this.logger(`deleting ${deletions.length} offset(s) of group ${quoteGroupId(groupId)} failed: ${(err as Error).message}`);
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
    }
    return result;
  }

  *committedOffsetsForLag(): Iterable<CommittedOffsetForLag> {
    for (const groupId of [...this.offsets.groups()]) {
      for (const e of this.offsets.entries(groupId)) yield { groupId, topic: e.topic, partition: e.partition, offset: e.offset };
    }
  }

  /** Forgets every group's committed offsets for a deleted topic. */
  deleteTopicOffsets(topic: string): void {
    this.offsets.deleteTopic(topic).catch((err: Error) => this.logger(`deleting offsets of topic ${topic} failed: ${err.message}`));
  }

  /** Cancels all timers and answers parked requests with COORDINATOR_NOT_AVAILABLE. The store stays open (its owner closes it). */
  async close(): Promise<void> {
    this.membership.close();
  }
}

function describe(group: ClassicGroup): DescribedGroup {
  // Like Kafka, member metadata and assignments are shown only once the group is Stable.
  const stable = group.is('Stable');
  return {
    errorCode: ErrorCode.NONE,
    groupId: group.groupId,
    groupState: group.state,
    protocolType: group.protocolType ?? '',
    protocolData: stable ? (group.protocolName ?? '') : '',
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberMetadata: stable ? (m.protocols.find((p) => p.name === group.protocolName)?.metadata ?? Buffer.alloc(0)) : Buffer.alloc(0),
      memberAssignment: stable ? m.assignment : Buffer.alloc(0),
    })),
  };
}
