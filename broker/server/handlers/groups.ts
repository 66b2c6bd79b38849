import type {
  JoinGroupRequest,
  JoinGroupResponse,
  SyncGroupRequest,
  SyncGroupResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  OffsetDeleteRequest,
  OffsetDeleteResponse,
} from '../../protocol/generated/index.ts';
import { ErrorCode } from '../../protocol/errors.ts';
import type { RequestContext } from '../context.ts';
import { AclOperation, clusterAllowed, groupAllowed, topicAllowed } from '../../security/acl-checks.ts';

// Glue between the wire messages and the group coordinator, which has plain types of its own.
// In a cluster a broker coordinates only the groups whose offsets partition it leads; requests for
// other groups get NOT_COORDINATOR (or COORDINATOR_LOAD_IN_PROGRESS) and clients look again.
// OffsetCommit carries each topic's current partition count to the coordinator, which refuses
// partitions that do not exist (as Kafka's KafkaApis does) and applies the offset limits.
// Refusals by a broker limit are logged through ctx.warn (rate-limited); the client gets the code.

function coordinatorError(ctx: RequestContext, groupId: string): number {
  return ctx.cluster ? ctx.cluster.coordinatorError(groupId) : ErrorCode.NONE;
}

/** A group-level refusal: GROUP_AUTHORIZATION_FAILED without the ACL (checked first, as Kafka), else coordinatorError. */
function groupRefusal(ctx: RequestContext, groupId: string, operation: number): number {
  return groupAllowed(ctx, operation, groupId) ? coordinatorError(ctx, groupId) : ErrorCode.GROUP_AUTHORIZATION_FAILED;
}

/** Partitions the topic has now, 0 when it does not exist: in a cluster from the controller's metadata, else the local topic store. */
function partitionCount(ctx: RequestContext, topic: string): number {
  if (ctx.cluster) return ctx.cluster.metadata()?.topics.get(topic)?.partitions.length ?? 0;
  return ctx.topics.get(topic)?.partitions.length ?? 0;
}

/** A coordinator refusal the operator should see (a broker limit was reached), to the rate-limited log. */
function warnRefusal(ctx: RequestContext, warning: string | undefined): void {
  if (warning !== undefined) ctx.warn(`${warning} (client ${ctx.header.clientId ?? '-'} at ${ctx.conn.remoteAddress})`);
}

export async function handleJoinGroup(req: JoinGroupRequest, ctx: RequestContext): Promise<JoinGroupResponse> {
  const notHere = groupRefusal(ctx, req.groupId, AclOperation.READ);
  if (notHere !== ErrorCode.NONE) {
    return { throttleTimeMs: 0, errorCode: notHere, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId: req.memberId, members: [] };
  }
  const { warning, ...res } = await ctx.groups.joinGroup({
    groupId: req.groupId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId ?? null,
    clientId: ctx.header.clientId ?? '',
    clientHost: `/${ctx.conn.remoteAddress}`,
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: ctx.header.apiVersion >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
    protocolType: req.protocolType,
    protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
    apiVersion: ctx.header.apiVersion,
  });
  warnRefusal(ctx, warning);
  return { throttleTimeMs: 0, skipAssignment: false, ...res };
}

export async function handleSyncGroup(req: SyncGroupRequest, ctx: RequestContext): Promise<SyncGroupResponse> {
  const notHere = groupRefusal(ctx, req.groupId, AclOperation.READ);
  if (notHere !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: notHere, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
  const { warning, ...res } = await ctx.groups.syncGroup({
    groupId: req.groupId,
    generationId: req.generationId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId ?? null,
    protocolType: req.protocolType ?? null,
    protocolName: req.protocolName ?? null,
    assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
  });
  warnRefusal(ctx, warning);
  return { throttleTimeMs: 0, ...res };
}

export function handleHeartbeat(req: HeartbeatRequest, ctx: RequestContext): HeartbeatResponse {
  const notHere = groupRefusal(ctx, req.groupId, AclOperation.READ);
  if (notHere !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: notHere };
  const res = ctx.groups.heartbeat({ groupId: req.groupId, generationId: req.generationId, memberId: req.memberId, groupInstanceId: req.groupInstanceId ?? null });
  return { throttleTimeMs: 0, errorCode: res.errorCode };
}

export function handleLeaveGroup(req: LeaveGroupRequest, ctx: RequestContext): LeaveGroupResponse {
  const notHere = groupRefusal(ctx, req.groupId, AclOperation.READ);
  if (notHere !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: notHere, members: [] };
  const v3 = ctx.header.apiVersion >= 3;
  const members = v3 ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null })) : [{ memberId: req.memberId, groupInstanceId: null }];
  const res = ctx.groups.leaveGroup({ groupId: req.groupId, members });
  const errorCode = !v3 && res.errorCode === ErrorCode.NONE ? (res.members[0]?.errorCode ?? ErrorCode.NONE) : res.errorCode;
  return { throttleTimeMs: 0, errorCode, members: res.members };
}

export async function handleOffsetCommit(req: OffsetCommitRequest, ctx: RequestContext): Promise<OffsetCommitResponse> {
  const notHere = groupRefusal(ctx, req.groupId, AclOperation.READ);
  if (notHere !== ErrorCode.NONE) {
    return { throttleTimeMs: 0, topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: notHere })) })) };
  }
  // Kafka: READ on each topic too; the others are committed.
  const allowed: OffsetCommitRequest['topics'] = [];
  const denied: OffsetCommitResponse['topics'] = [];
  for (const t of req.topics) {
    if (topicAllowed(ctx, AclOperation.READ, t.name)) allowed.push(t);
    else denied.push({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })) });
  }
  if (allowed.length === 0 && denied.length > 0) return { throttleTimeMs: 0, topics: denied };
  const { warning, ...res } = await ctx.groups.commitOffsets({
    groupId: req.groupId,
    generationId: req.generationIdOrMemberEpoch,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId ?? null,
    // The decoded partitions are handed over as they are (one object each is enough for a request
    // that may list millions); below v6 the decoder already gives committedLeaderEpoch -1.
    topics: allowed.map((t) => ({ name: t.name, partitionCount: partitionCount(ctx, t.name), partitions: t.partitions })),
  });
  warnRefusal(ctx, warning);
  return { throttleTimeMs: 0, ...res, topics: [...res.topics, ...denied] };
}

export function handleOffsetFetch(req: OffsetFetchRequest, ctx: RequestContext): OffsetFetchResponse {
  const notHere = groupRefusal(ctx, req.groupId, AclOperation.DESCRIBE);
  if (notHere !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: notHere, topics: [], groups: [] };
  // Kafka: DESCRIBE on each topic; all-topics requests leave the others out.
  const described = (name: string, log: boolean): boolean => topicAllowed(ctx, AclOperation.DESCRIBE, name, log);
  const allowed = req.topics === null ? null : new Set(req.topics.filter((t) => described(t.name, true)));
  const denied = (req.topics ?? []).filter((t) => !allowed?.has(t)).map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: null, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })),
  }));
  const topics = allowed === null ? null : [...allowed].map((t) => ({ name: t.name, partitionIndexes: t.partitionIndexes }));
  const res = ctx.groups.fetchOffsets(req.groupId, topics);
  const visible = allowed === null ? res.topics.filter((t) => described(t.name, false)) : res.topics;
  return { throttleTimeMs: 0, ...res, topics: [...visible, ...denied], groups: [] };
}

export function handleDescribeGroups(req: DescribeGroupsRequest, ctx: RequestContext): DescribeGroupsResponse {
  const groups = ctx.groups.describeGroups(req.groups).map((g) => {
    const notHere = groupRefusal(ctx, g.groupId, AclOperation.DESCRIBE);
    return notHere === ErrorCode.NONE ? { ...g, authorizedOperations: -2147483648 } : { ...g, errorCode: notHere, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: -2147483648 };
  });
  return { throttleTimeMs: 0, groups };
}

export function handleListGroups(req: ListGroupsRequest, ctx: RequestContext): ListGroupsResponse {
  const filter = req.statesFilter && req.statesFilter.length > 0 ? req.statesFilter : undefined;
  // Kafka: all groups with DESCRIBE on the cluster, else those the principal may DESCRIBE.
  const everything = clusterAllowed(ctx, AclOperation.DESCRIBE, false);
  const groups = ctx.groups
    .listGroups(filter)
    .filter((g) => everything || groupAllowed(ctx, AclOperation.DESCRIBE, g.groupId, false))
    .map((g) => ({ ...g, groupType: 'classic' }));
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups };
}

export async function handleDeleteGroups(req: DeleteGroupsRequest, ctx: RequestContext): Promise<DeleteGroupsResponse> {
  const refusals = new Map(req.groupsNames.map((g) => [g, groupRefusal(ctx, g, AclOperation.DELETE)]));
  const mine = req.groupsNames.filter((g) => refusals.get(g) === ErrorCode.NONE);
  const results = [...(await ctx.groups.deleteGroups(mine)), ...req.groupsNames.filter((g) => !mine.includes(g)).map((groupId) => ({ groupId, errorCode: refusals.get(groupId) ?? ErrorCode.NONE }))];
  return { throttleTimeMs: 0, results };
}

/**
 * OffsetDelete, as Kafka's KafkaApis: DELETE on the group, else GROUP_AUTHORIZATION_FAILED for all;
 * per topic READ (TOPIC_AUTHORIZATION_FAILED) and existence (UNKNOWN_TOPIC_OR_PARTITION, also for a
 * partition past the topic's count); the rest goes to the coordinator, whose top-level error (the
 * group is unknown, busy, or coordinated elsewhere) replaces the whole answer.
 */
export async function handleOffsetDelete(req: OffsetDeleteRequest, ctx: RequestContext): Promise<OffsetDeleteResponse> {
  // An empty id is the coordinator's INVALID_GROUP_ID, found before any coordinator lookup (as Kafka).
  const notHere = !groupAllowed(ctx, AclOperation.DELETE, req.groupId)
    ? ErrorCode.GROUP_AUTHORIZATION_FAILED
    : req.groupId === '' ? ErrorCode.NONE : coordinatorError(ctx, req.groupId);
  if (notHere !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: notHere, topics: [] };
  const early = req.topics.map((t) => {
    if (!topicAllowed(ctx, AclOperation.READ, t.name)) return t.partitions.map(() => ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const count = partitionCount(ctx, t.name);
    return t.partitions.map((p) => (p.partitionIndex >= 0 && p.partitionIndex < count ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
  });
  const asked = req.topics.map((t, ti) => ({ name: t.name, partitions: t.partitions.filter((_, pi) => early[ti][pi] === ErrorCode.NONE).map((p) => p.partitionIndex) }));
  const res = await ctx.groups.deleteOffsets(req.groupId, asked);
  if (res.errorCode !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: res.errorCode, topics: [] };
  const topics = req.topics.map((t, ti) => {
    const decided = res.topics[ti].partitions;
    let next = 0;
    return { name: t.name, partitions: t.partitions.map((p, pi) => ({ partitionIndex: p.partitionIndex, errorCode: early[ti][pi] !== ErrorCode.NONE ? early[ti][pi] : decided[next++].errorCode })) };
  });
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, topics };
}
