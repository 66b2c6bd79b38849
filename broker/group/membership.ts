// Request handlers of the classic group protocol: JoinGroup, SyncGroup, Heartbeat and LeaveGroup,
// following Kafka's GroupMetadataManager (classic groups). The state machine is in rebalance.ts.
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/errors.ts';
import { ClassicGroup, EMPTY_BUFFER, errorJoin, errorSync, sameProtocols, type Member } from './classic-group.ts';
import { GroupRebalancer, validateExistingMember } from './rebalance.ts';
import type {
  HeartbeatRequest,
  HeartbeatResponse,
  JoinGroupProtocol,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  SyncGroupRequest,
  SyncGroupResponse,
} from './types.ts';

/** Longest group id accepted (the classic wire string limit). */
export const MAX_GROUP_ID_LENGTH = 32767;

export class GroupMembership extends GroupRebalancer {

  // ---- JoinGroup ----

  joinGroup(req: JoinGroupRequest): Promise<JoinGroupResponse> {
    if (this.closed) return Promise.resolve(errorJoin(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (req.groupId === '' || req.groupId.length > MAX_GROUP_ID_LENGTH) return Promise.resolve(errorJoin(ErrorCode.INVALID_GROUP_ID));
    if (req.sessionTimeoutMs < this.cfg.minSessionTimeoutMs || req.sessionTimeoutMs > this.cfg.maxSessionTimeoutMs) {
      return Promise.resolve(errorJoin(ErrorCode.INVALID_SESSION_TIMEOUT, req.memberId));
    }
    const protocols = dedupeProtocols(req.protocols);
    let bytes = 0;
    for (const p of protocols) bytes += Buffer.byteLength(p.name) + p.metadata.length;
    if (bytes > this.cfg.maxMetadataBytes) return Promise.resolve(errorJoin(ErrorCode.INVALID_REQUEST, req.memberId));
    const rebalanceTimeoutMs = req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs;
    const r = { ...req, protocols, rebalanceTimeoutMs };

    let group = this.groups.get(req.groupId);
    const isUnknownMember = req.memberId === '';
    if (!group) {
      if (!isUnknownMember) return Promise.resolve(errorJoin(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId));
      const created = this.createGroup(req.groupId);
      if (!created) return Promise.resolve(errorJoin(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      group = created;
    }
    let result: Promise<JoinGroupResponse>;
    if (!this.acceptJoiningMember(group, req.memberId)) {
      result = Promise.resolve(errorJoin(ErrorCode.GROUP_MAX_SIZE_REACHED, req.memberId));
    } else {
      result = isUnknownMember ? this.joinNewMember(group, r) : this.joinExistingMember(group, r);
    }
    // A group created by a join that failed at once holds nothing worth keeping.
    if (group.is('Empty') && group.generationId === 0 && group.members.size === 0 && group.pendingMembers.size === 0) {
      this.groups.delete(group.groupId);
    }
    return result;
  }

  private createGroup(groupId: string): ClassicGroup | null {
    if (this.groups.size >= this.cfg.maxGroups) {
      // Make room by forgetting an idle group (its committed offsets stay in the offset store).
      for (const g of this.groups.values()) {
        if (g.is('Empty') && g.members.size === 0 && g.pendingMembers.size === 0) {
          this.dropGroup(g);
          break;
        }
      }
      if (this.groups.size >= this.cfg.maxGroups) return null;
    }
    const group = new ClassicGroup(groupId);
    this.groups.set(groupId, group);
    return group;
  }

  private acceptJoiningMember(group: ClassicGroup, memberId: string): boolean {
    const max = this.cfg.maxMembersPerGroup;
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return (group.members.get(memberId)?.joinWaiter ?? null) !== null || group.numAwaitingJoin < max;
      default:
        return group.members.has(memberId) || group.members.size < max;
    }
  }

  private joinNewMember(group: ClassicGroup, req: JoinGroupRequest): Promise<JoinGroupResponse> {
    if (group.is('Dead')) return Promise.resolve(errorJoin(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(req.protocolType, req.protocols)) return Promise.resolve(errorJoin(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    const memberId = `${req.clientId}-${randomUUID()}`;
    if (req.groupInstanceId !== null) {
      // Static member (simplified): a new incarnation fences the old one and triggers a rebalance.
      const oldId = group.staticMembers.get(req.groupInstanceId);
      const old = oldId === undefined ? undefined : group.members.get(oldId);
      if (old) {
        group.completeJoin(old, errorJoin(ErrorCode.FENCED_INSTANCE_ID, old.memberId));
        group.completeSync(old, errorSync(ErrorCode.FENCED_INSTANCE_ID));
        group.remove(old.memberId);
      }
      return this.addMemberAndRebalance(group, req, memberId);
    }
    if (req.apiVersion >= 4) {
      if (group.pendingMembers.size >= this.cfg.maxMembersPerGroup) return Promise.resolve(errorJoin(ErrorCode.GROUP_MAX_SIZE_REACHED));
      const timer = this.clock.setTimer(req.sessionTimeoutMs, () => this.expirePendingMember(group, memberId));
      group.pendingMembers.set(memberId, timer);
      return Promise.resolve(errorJoin(ErrorCode.MEMBER_ID_REQUIRED, memberId));
    }
    return this.addMemberAndRebalance(group, req, memberId);
  }

  private joinExistingMember(group: ClassicGroup, req: JoinGroupRequest): Promise<JoinGroupResponse> {
    const memberId = req.memberId;
    if (group.is('Dead')) return Promise.resolve(errorJoin(ErrorCode.COORDINATOR_NOT_AVAILABLE, memberId));
    if (!group.supportsProtocols(req.protocolType, req.protocols)) {
      return Promise.resolve(errorJoin(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, memberId));
    }
    if (group.pendingMembers.has(memberId) && req.groupInstanceId === null) {
      group.pendingMembers.get(memberId)?.cancel();
      group.pendingMembers.delete(memberId);
      return this.addMemberAndRebalance(group, req, memberId);
    }
    const error = validateExistingMember(group, memberId, req.groupInstanceId);
    if (error !== ErrorCode.NONE) return Promise.resolve(errorJoin(error, memberId));
    const member = group.members.get(memberId) as Member;
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, member, req);
      case 'CompletingRebalance':
        // Same metadata: the member probably missed the JoinGroup answer; repeat it.
        if (sameProtocols(member.protocols, req.protocols)) return Promise.resolve(group.joinResponseFor(memberId));
        return this.updateMemberAndRebalance(group, member, req);
      case 'Stable':
        // The leader rejoining forces a rebalance (it may have seen topic metadata change).
        if (group.isLeader(memberId) || !sameProtocols(member.protocols, req.protocols)) {
          return this.updateMemberAndRebalance(group, member, req);
        }
        return Promise.resolve(group.joinResponseFor(memberId));
      default:
        return Promise.resolve(errorJoin(ErrorCode.UNKNOWN_MEMBER_ID, memberId));
    }
  }

  private addMemberAndRebalance(group: ClassicGroup, req: JoinGroupRequest, memberId: string): Promise<JoinGroupResponse> {
    return new Promise((resolve) => {
      const member: Member = {
        memberId,
        groupInstanceId: req.groupInstanceId,
        clientId: req.clientId,
        clientHost: req.clientHost,
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        protocolType: req.protocolType,
        protocols: req.protocols,
        assignment: EMPTY_BUFFER,
        isNew: true,
        joinWaiter: resolve,
        syncWaiter: null,
        heartbeatTimer: null,
      };
      group.add(member);
      // A parked join cannot heartbeat; new members get Kafka's new-member join timeout instead.
      this.scheduleHeartbeat(group, member, this.cfg.newMemberJoinTimeoutMs);
      if (group.is('PreparingRebalance') && group.previousState === 'Empty') group.newMemberAdded = true;
      this.maybePrepareRebalanceOrCompleteJoin(group);
    });
  }

  private updateMemberAndRebalance(group: ClassicGroup, member: Member, req: JoinGroupRequest): Promise<JoinGroupResponse> {
    return new Promise((resolve) => {
      group.updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs);
      group.setJoinWaiter(member, resolve);
      this.maybePrepareRebalanceOrCompleteJoin(group);
    });
  }

  // ---- SyncGroup ----

  syncGroup(req: SyncGroupRequest): Promise<SyncGroupResponse> {
    if (this.closed) return Promise.resolve(errorSync(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    const group = this.groups.get(req.groupId);
    if (!group) return Promise.resolve(errorSync(ErrorCode.UNKNOWN_MEMBER_ID));
    const error = this.validateMemberRequest(group, req.memberId, req.groupInstanceId, req.generationId);
    if (error !== ErrorCode.NONE) return Promise.resolve(errorSync(error));
    if ((req.protocolType !== null && req.protocolType !== group.protocolType) || (req.protocolName !== null && req.protocolName !== group.protocolName)) {
      return Promise.resolve(errorSync(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const member = group.members.get(req.memberId) as Member;
    switch (group.state) {
      case 'PreparingRebalance':
        return Promise.resolve(errorSync(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'CompletingRebalance':
        return new Promise((resolve) => {
          group.completeSync(member, errorSync(ErrorCode.REBALANCE_IN_PROGRESS));
          member.syncWaiter = resolve;
          this.removePendingSync(group, member.memberId);
          if (group.isLeader(member.memberId)) this.applyLeaderAssignment(group, req);
        });
      case 'Stable':
        this.removePendingSync(group, member.memberId);
        return Promise.resolve({ errorCode: 0, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment });
      default:
        return Promise.resolve(errorSync(ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  private applyLeaderAssignment(group: ClassicGroup, req: SyncGroupRequest): void {
    if (req.assignments.some((a) => a.assignment.length > this.cfg.maxMetadataBytes)) {
      // Kafka answers a failed group store with UNKNOWN_SERVER_ERROR and rebalances.
      this.resetAssignmentsWithError(group, ErrorCode.UNKNOWN_SERVER_ERROR);
      this.prepareRebalance(group);
      return;
    }
    const byMember = new Map<string, Buffer>();
    for (const a of req.assignments) if (group.members.has(a.memberId)) byMember.set(a.memberId, a.assignment);
    for (const m of group.members.values()) m.assignment = byMember.get(m.memberId) ?? EMPTY_BUFFER;
    for (const m of group.members.values()) {
      if (!m.syncWaiter) continue;
      group.completeSync(m, { errorCode: 0, protocolType: group.protocolType, protocolName: group.protocolName, assignment: m.assignment });
      this.scheduleHeartbeat(group, m, m.sessionTimeoutMs);
    }
    group.transitionTo('Stable');
  }

  // ---- Heartbeat ----

  heartbeat(req: HeartbeatRequest): HeartbeatResponse {
    if (this.closed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    const group = this.groups.get(req.groupId);
    if (!group) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
    const error = this.validateMemberRequest(group, req.memberId, req.groupInstanceId, req.generationId);
    if (error !== ErrorCode.NONE) return { errorCode: error };
    if (group.is('Empty')) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
    const member = group.members.get(req.memberId) as Member;
    this.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
    return { errorCode: group.is('PreparingRebalance') ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE };
  }

  /** Common checks of SyncGroup, Heartbeat and OffsetCommit: group alive, member known, generation current. */
  // ---- LeaveGroup ----

  leaveGroup(req: LeaveGroupRequest): LeaveGroupResponse {
    const answer = (m: { memberId: string; groupInstanceId: string | null }, errorCode: number) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      errorCode,
    });
    if (this.closed) {
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: req.members.map((m) => answer(m, ErrorCode.COORDINATOR_NOT_AVAILABLE)) };
    }
    const group = this.groups.get(req.groupId);
    if (!group) return { errorCode: ErrorCode.NONE, members: req.members.map((m) => answer(m, ErrorCode.UNKNOWN_MEMBER_ID)) };
    const leaving: Member[] = [];
    let pendingLeft = false;
    const members = req.members.map((lm) => {
      if (lm.groupInstanceId !== null) {
        const id = group.staticMembers.get(lm.groupInstanceId);
        if (id === undefined) return answer(lm, ErrorCode.UNKNOWN_MEMBER_ID);
        if (lm.memberId !== '' && lm.memberId !== id) return answer(lm, ErrorCode.FENCED_INSTANCE_ID);
        const m = group.members.get(id) as Member;
        if (!leaving.includes(m)) leaving.push(m);
        return answer({ memberId: id, groupInstanceId: lm.groupInstanceId }, ErrorCode.NONE);
      }
      if (group.pendingMembers.has(lm.memberId)) {
        group.remove(lm.memberId);
        pendingLeft = true;
        return answer(lm, ErrorCode.NONE);
      }
      const m = group.members.get(lm.memberId);
      if (!m || leaving.includes(m)) return answer(lm, ErrorCode.UNKNOWN_MEMBER_ID);
      leaving.push(m);
      return answer(lm, ErrorCode.NONE);
    });
    if (leaving.length > 0) this.removeMembers(group, leaving);
    else if (pendingLeft) this.afterRemoval(group);
    return { errorCode: ErrorCode.NONE, members };
  }

  /** Removes members (answering their parked requests) and moves the group on, as Kafka does. */
}

function dedupeProtocols(protocols: JoinGroupProtocol[]): JoinGroupProtocol[] {
  const seen = new Set<string>();
  return protocols.filter((p) => !seen.has(p.name) && (seen.add(p.name), true));
}
