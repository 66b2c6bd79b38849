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
  /**
   * Groups held in memory (JoinGroup answers COORDINATOR_NOT_AVAILABLE beyond, after evicting an idle
   * one) and, separately, groups holding committed offsets (OffsetCommit answers INVALID_COMMIT_OFFSET_SIZE).
   */
  maxGroups: number;
  /** group.max.size: members (and, separately, pending member ids) per group; GROUP_MAX_SIZE_REACHED (81) beyond. */
  maxMembersPerGroup: number;
  /**
   * One member's JoinGroup protocol metadata (names and metadata over all the protocols it sends;
   * INVALID_REQUEST beyond) and, separately, the assignment its leader sends for it in SyncGroup
   * (UNKNOWN_SERVER_ERROR and a new rebalance beyond, as Kafka answers a group record too large to store).
   */
  maxMemberMetadataBytes: number;
  /**
   * Broker-wide budget for what members hold in memory: protocol metadata, assignments, ids, plus a
   * fixed overhead per member and per pending member id. A join or an assignment that does not fit
   * is answered COORDINATOR_NOT_AVAILABLE (retriable: room comes back as members leave).
   */
  memberMetadataBudgetBytes: number;
  /** offset.metadata.max.bytes (Kafka default 4096, counted in UTF-16 units as Kafka's String.length); OFFSET_METADATA_TOO_LARGE per partition beyond. */
  maxOffsetMetadataBytes: number;
  /** Committed partitions one group may hold; a commit of new partitions beyond is answered INVALID_COMMIT_OFFSET_SIZE per partition. */
  maxOffsetsPerGroup: number;
  /** Broker-wide budget for committed offsets held (estimated bytes, see offsetEntryBytes); INVALID_COMMIT_OFFSET_SIZE beyond. */
  offsetsBudgetBytes: number;
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
  /** Why a broker limit refused this join, for the broker's rate-limited log; never sent to the client. */
  warning?: string;
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
  /** Why a broker limit refused the leader's assignments, for the broker's rate-limited log; never sent to the client. */
  warning?: string;
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
  /**
   * partitionCount: how many partitions the topic has now, 0 when it does not exist. Partitions
   * outside it are refused with UNKNOWN_TOPIC_OR_PARTITION and nothing is stored for them, as
   * Kafka's KafkaApis checks every partition against its metadata cache before the coordinator.
   */
  topics: { name: string; partitionCount: number; partitions: OffsetCommitPartition[] }[];
}

export interface OffsetCommitResponse {
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
  /** Why a broker limit refused partitions, for the broker's rate-limited log; never sent to the client. */
  warning?: string;
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

/** A group id for a log line: quoted, and cut short (ids may be 32 KiB). */
export function quoteGroupId(id: string): string {
  return JSON.stringify(id.length > 100 ? `${id.slice(0, 100)}...` : id);
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
