// Plain request/response shapes of the classic group coordinator. Field names follow Kafka's
// JoinGroup/SyncGroup/Heartbeat/LeaveGroup/OffsetCommit/OffsetFetch/DescribeGroups/ListGroups/
// DeleteGroups messages; the server glue maps wire requests onto them and back.

export interface GroupCoordinatorConfig {
  /** group.initial.rebalance.delay.ms (Kafka default 3000). */
  initialRebalanceDelayMs: number;
  /** group.min.session.timeout.ms (Kafka default 6000). */
  minSessionTimeoutMs: number;
  /** group.max.session.timeout.ms (Kafka default 1800000). */
  maxSessionTimeoutMs: number;
  /** Groups held in memory (and, separately, groups that only have committed offsets). */
  maxGroups: number;
  /** Members (and, separately, pending member ids) per group; GROUP_MAX_SIZE_REACHED (81) beyond. */
  maxMembersPerGroup: number;
  /** Limit on one member's protocol metadata (sum over its protocols), one assignment, and one offset's metadata. */
  maxMetadataBytes: number;
  /** Kafka's new-member join timeout: how long a new member's parked JoinGroup may wait (default 300000). */
  newMemberJoinTimeoutMs?: number;
}

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface JoinGroupProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupRequest {
  groupId: string;
  /** "" for a member that has no id yet. */
  memberId: string;
  /** Static membership (JoinGroup v5+); null for dynamic members. */
  groupInstanceId: string | null;
  /** From the request header. */
  clientId: string;
  /** The peer address, as Kafka shows it ("/127.0.0.1"). */
  clientHost: string;
  sessionTimeoutMs: number;
  /** v0 has none: pass sessionTimeoutMs, as Kafka does. */
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: JoinGroupProtocol[];
  /** The JoinGroup request version (MEMBER_ID_REQUIRED only from v4). */
  apiVersion: number;
}

export interface JoinGroupResponseMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinGroupResponse {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  /** Never null: "" on errors, the chosen protocol otherwise. */
  protocolName: string;
  leader: string;
  memberId: string;
  /** All members for the leader, [] for followers and on errors. */
  members: JoinGroupResponseMember[];
}

export interface SyncGroupAssignment {
  memberId: string;
  assignment: Buffer;
}

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** v5+; null when absent. Checked against the group's when set. */
  protocolType: string | null;
  protocolName: string | null;
  /** Only the leader's carries assignments. */
  assignments: SyncGroupAssignment[];
}

export interface SyncGroupResponse {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface HeartbeatResponse {
  errorCode: number;
}

export interface LeaveGroupMember {
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeaveGroupRequest {
  groupId: string;
  /** v0-v2 carry one memberId: pass [{ memberId, groupInstanceId: null }]. */
  members: LeaveGroupMember[];
}

export interface LeaveGroupResponse {
  /** Top-level error (15 once closed, else 0). For v0-v2 answer with members[0].errorCode when this is 0. */
  errorCode: number;
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

export interface OffsetCommitPartition {
  partitionIndex: number;
  committedOffset: number;
  /** -1 when unknown (OffsetCommit < v6). */
  committedLeaderEpoch: number;
  committedMetadata: string | null;
}

export interface OffsetCommitRequest {
  groupId: string;
  /** -1 for admin / simple consumers (and OffsetCommit v0). */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  topics: { name: string; partitions: OffsetCommitPartition[] }[];
}

export interface OffsetCommitResponse {
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

export interface OffsetFetchTopic {
  name: string;
  partitionIndexes: number[];
}

export interface OffsetFetchPartition {
  partitionIndex: number;
  /** -1 when nothing is committed. */
  committedOffset: number;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

export interface OffsetFetchResponse {
  /** Top-level error (v2+). */
  errorCode: number;
  topics: { name: string; partitions: OffsetFetchPartition[] }[];
}

export interface DescribedGroupMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  memberMetadata: Buffer;
  memberAssignment: Buffer;
}

export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  groupState: GroupState;
  protocolType: string;
  protocolData: string;
  members: DescribedGroupMember[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  groupState: GroupState;
}

export interface DeleteGroupResult {
  groupId: string;
  errorCode: number;
}

export interface CommittedOffsetForLag {
  groupId: string;
  topic: string;
  partition: number;
  offset: number;
}

/** A cancellable one-shot timer. */
export interface Timer {
  cancel(): void;
}

/** Time source and timers, injectable so tests can drive time by hand. */
export interface Clock {
  now(): number;
  setTimer(delayMs: number, fn: () => void): Timer;
}

/** Wall-clock time with unref'd timers, so parked rebalances never keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs, fn) {
    const handle = setTimeout(fn, Math.max(0, delayMs));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};
