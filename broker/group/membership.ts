// Request handlers of the classic group protocol: JoinGroup, SyncGroup, Heartbeat and LeaveGroup,
// following Kafka's GroupMetadataManager (classic groups). The state machine is in rebalance.ts.
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/errors.ts';
import {
  ClassicGroup,
  EMPTY_BUFFER,
  errorJoin,
  errorSync,
  memberBytes,
  pendingMemberBytes,
  protocolBytes,
  sameProtocols,
  type Member,
} from './classic-group.ts';
import { GroupRebalancer, validateExistingMember } from './rebalance.ts';
import {
  quoteGroupId as quote,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type JoinGroupProtocol,
  type JoinGroupRequest,
  type JoinGroupResponse,
  type LeaveGroupRequest,
  type LeaveGroupResponse,
  type SyncGroupRequest,
  type SyncGroupResponse,
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
    // The limit applies to the metadata as sent, duplicates included (Kafka would store them all).
    if (protocolBytes(req.protocols) > this.cfg.maxMemberMetadataBytes) return Promise.resolve(errorJoin(ErrorCode.INVALID_REQUEST, req.memberId));
    const protocols = dedupeProtocols(req.protocols);
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
    const group = new ClassicGroup(groupId, this.budget);
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
      const refused = this.refuseOverBudget(group, prospectiveBytes(req, memberId) - (old?.chargedBytes ?? 0), 'a static member');
      if (refused) return Promise.resolve(refused);
      if (old) {
        group.completeJoin(old, errorJoin(ErrorCode.FENCED_INSTANCE_ID, old.memberId));
        group.completeSync(old, errorSync(ErrorCode.FENCED_INSTANCE_ID));
        group.remove(old.memberId);
      }
      return this.addMemberAndRebalance(group, req, memberId);
    }
    if (req.apiVersion >= 4) {
      if (group.pendingMembers.size >= this.cfg.maxMembersPerGroup) return Promise.resolve(errorJoin(ErrorCode.GROUP_MAX_SIZE_REACHED));
      const refused = this.refuseOverBudget(group, pendingMemberBytes(memberId), 'a pending member id');
      if (refused) return Promise.resolve(refused);
      const timer = this.clock.setTimer(req.sessionTimeoutMs, () => this.expirePendingMember(group, memberId));
      group.addPending(memberId, timer);
      return Promise.resolve(errorJoin(ErrorCode.MEMBER_ID_REQUIRED, memberId));
    }
    const refused = this.refuseOverBudget(group, prospectiveBytes(req, memberId), 'a new member');
    if (refused) return Promise.resolve(refused);
    return this.addMemberAndRebalance(group, req, memberId);
  }

  /**
   * COORDINATOR_NOT_AVAILABLE when `extraBytes` more do not fit the broker-wide member metadata
   * budget: retriable, since room comes back as members leave; the warning tells the operator why.
   */
  private refuseOverBudget(group: ClassicGroup, extraBytes: number, what: string, memberId = ''): JoinGroupResponse | null {
    if (this.budget.fits(extraBytes)) return null;
    return {
      ...errorJoin(ErrorCode.COORDINATOR_NOT_AVAILABLE, memberId),
      warning: `JoinGroup for group ${quote(group.groupId)} refused ${what} of ${extraBytes} bytes: members hold ${this.budget.usedBytes} of the ${this.budget.limitBytes}-byte member metadata budget`,
    };
  }

  private joinExistingMember(group: ClassicGroup, req: JoinGroupRequest): Promise<JoinGroupResponse> {
    const memberId = req.memberId;
    if (group.is('Dead')) return Promise.resolve(errorJoin(ErrorCode.COORDINATOR_NOT_AVAILABLE, memberId));
    if (!group.supportsProtocols(req.protocolType, req.protocols)) {
      return Promise.resolve(errorJoin(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, memberId));
    }
    if (group.pendingMembers.has(memberId) && req.groupInstanceId === null) {
      const refused = this.refuseOverBudget(group, prospectiveBytes(req, memberId) - pendingMemberBytes(memberId), 'a new member', memberId);
      if (refused) return Promise.resolve(refused);
      group.removePending(memberId);
      return this.addMemberAndRebalance(group, req, memberId);
    }
    const error = validateExistingMember(group, memberId, req.groupInstanceId);
    if (error !== ErrorCode.NONE) return Promise.resolve(errorJoin(error, memberId));
    const member = group.members.get(memberId) as Member;
    if (!sameProtocols(member.protocols, req.protocols)) {
      const refused = this.refuseOverBudget(group, protocolBytes(req.protocols) - protocolBytes(member.protocols), 'new metadata of a member', memberId);
      if (refused) return Promise.resolve(refused);
    }
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
        chargedBytes: 0,
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
    let warning: string | undefined;
    switch (group.state) {
      case 'PreparingRebalance':
        return Promise.resolve(errorSync(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'CompletingRebalance':
        return new Promise<SyncGroupResponse>((resolve) => {
          group.completeSync(member, errorSync(ErrorCode.REBALANCE_IN_PROGRESS));
          member.syncWaiter = resolve;
          this.removePendingSync(group, member.memberId);
          if (group.isLeader(member.memberId)) warning = this.applyLeaderAssignment(group, req);
        }).then((r) => (warning === undefined ? r : { ...r, warning }));
      case 'Stable':
        this.removePendingSync(group, member.memberId);
        return Promise.resolve({ errorCode: 0, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment });
      default:
        return Promise.resolve(errorSync(ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  /** Returns why the assignments were refused (for the broker's log), or undefined when they were applied. */
  private applyLeaderAssignment(group: ClassicGroup, req: SyncGroupRequest): string | undefined {
    const byMember = new Map<string, Buffer>();
    for (const a of req.assignments) if (group.members.has(a.memberId)) byMember.set(a.memberId, a.assignment);
    let extraBytes = 0;
    for (const m of group.members.values()) extraBytes += (byMember.get(m.memberId)?.length ?? 0) - m.assignment.length;
    // Kafka answers a group it fails to store (a record too large) with UNKNOWN_SERVER_ERROR and
    // rebalances; a budget that is used up gets the retriable COORDINATOR_NOT_AVAILABLE the same way.
    let refusal: { errorCode: number; warning: string } | null = null;
    if (req.assignments.some((a) => a.assignment.length > this.cfg.maxMemberMetadataBytes)) {
      refusal = { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, warning: `SyncGroup for group ${quote(group.groupId)} refused: an assignment is larger than ${this.cfg.maxMemberMetadataBytes} bytes` };
    } else if (!this.budget.fits(extraBytes)) {
      refusal = {
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        warning: `SyncGroup for group ${quote(group.groupId)} refused ${extraBytes} bytes of assignments: members hold ${this.budget.usedBytes} of the ${this.budget.limitBytes}-byte member metadata budget`,
      };
    }
    if (refusal) {
      this.resetAssignmentsWithError(group, refusal.errorCode);
      this.prepareRebalance(group);
      return refusal.warning;
    }
    for (const m of group.members.values()) group.setAssignment(m, byMember.get(m.memberId) ?? EMPTY_BUFFER);
    for (const m of group.members.values()) {
      if (!m.syncWaiter) continue;
      group.completeSync(m, { errorCode: 0, protocolType: group.protocolType, protocolName: group.protocolName, assignment: m.assignment });
      this.scheduleHeartbeat(group, m, m.sessionTimeoutMs);
    }
    group.transitionTo('Stable');
    return undefined;
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

/** Estimated bytes of the member `req` would add, before it exists. */
function prospectiveBytes(req: JoinGroupRequest, memberId: string): number {
  return memberBytes({ memberId, groupInstanceId: req.groupInstanceId, clientId: req.clientId, clientHost: req.clientHost, protocols: req.protocols, assignment: EMPTY_BUFFER });
}

function dedupeProtocols(protocols: JoinGroupProtocol[]): JoinGroupProtocol[] {
  const seen = new Set<string>();
  return protocols.filter((p) => !seen.has(p.name) && (seen.add(p.name), true));
}
