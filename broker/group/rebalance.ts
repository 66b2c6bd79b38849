// The classic rebalance state machine of Kafka's GroupMetadataManager: preparing a rebalance, the
// initial join delay, completing the join phase, sync and session expiry, member removal, timers.
// The request handlers that drive it (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) are in
// membership.ts. Parked joins and syncs are Promise resolvers; timers come from the injected Clock.
import { ErrorCode } from '../protocol/errors.ts';
import { ClassicGroup, EMPTY_BUFFER, errorJoin, errorSync, MemberMetadataBudget, type Member } from './classic-group.ts';
import type { Clock, GroupCoordinatorConfig } from './types.ts';

export type ResolvedConfig = Required<GroupCoordinatorConfig>;

export class GroupRebalancer {
  readonly groups = new Map<string, ClassicGroup>();
  /** What every group's members hold in memory, against cfg.memberMetadataBudgetBytes. */
  readonly budget: MemberMetadataBudget;
  protected closed = false;

  constructor(
    protected readonly cfg: ResolvedConfig,
    protected readonly clock: Clock,
  ) {
    this.budget = new MemberMetadataBudget(cfg.memberMetadataBudgetBytes);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  protected maybePrepareRebalanceOrCompleteJoin(group: ClassicGroup): void {
    if (group.canRebalance()) this.prepareRebalance(group);
    else if (group.is('PreparingRebalance') && group.hasAllMembersJoined() && group.previousState !== 'Empty') this.completeJoin(group);
  }

  protected prepareRebalance(group: ClassicGroup): void {
    if (group.is('CompletingRebalance')) this.resetAssignmentsWithError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    group.syncTimer?.cancel();
    group.syncTimer = null;
    const initial = group.is('Empty');
    group.transitionTo('PreparingRebalance');
    if (initial) {
      // A new group waits for more members to arrive, extending while they keep coming.
      const delay = this.cfg.initialRebalanceDelayMs;
      const remaining = Math.max(group.rebalanceTimeoutMs() - delay, 0);
      group.newMemberAdded = false;
      this.scheduleJoin(group, delay, () => this.tryCompleteInitialRebalance(group, delay, remaining));
    } else if (group.hasAllMembersJoined()) {
      this.completeJoin(group);
    } else {
      this.scheduleJoin(group, group.rebalanceTimeoutMs(), () => this.completeJoin(group));
    }
  }

  protected tryCompleteInitialRebalance(group: ClassicGroup, delayMs: number, remainingMs: number): void {
    if (!group.is('PreparingRebalance')) return;
    if (group.newMemberAdded && remainingMs !== 0) {
      group.newMemberAdded = false;
      const newDelay = Math.min(this.cfg.initialRebalanceDelayMs, remainingMs);
      const newRemaining = Math.max(remainingMs - delayMs, 0);
      this.scheduleJoin(group, newDelay, () => this.tryCompleteInitialRebalance(group, newDelay, newRemaining));
    } else {
      this.completeJoin(group);
    }
  }

  /** Ends the join phase: drops members that did not rejoin, starts the next generation, answers the joins. */
  protected completeJoin(group: ClassicGroup): void {
    if (!group.is('PreparingRebalance')) return;
    group.joinTimer?.cancel();
    group.joinTimer = null;
    for (const m of group.notYetRejoinedMembers()) {
      group.completeSync(m, errorSync(ErrorCode.UNKNOWN_MEMBER_ID));
      group.remove(m.memberId);
    }
    group.initNextGeneration();
    if (group.is('Empty')) return;
    for (const m of group.members.values()) {
      m.isNew = false;
      group.completeJoin(m, group.joinResponseFor(m.memberId));
      this.scheduleHeartbeat(group, m, m.sessionTimeoutMs);
      group.pendingSyncMembers.add(m.memberId);
    }
    const generation = group.generationId;
    group.syncTimer = this.clock.setTimer(group.rebalanceTimeoutMs(), () => this.expirePendingSync(group, generation));
  }

  /** Members that never sent SyncGroup within the rebalance timeout are removed. */
  protected expirePendingSync(group: ClassicGroup, generationId: number): void {
    group.syncTimer = null;
    if (generationId !== group.generationId || !(group.is('CompletingRebalance') || group.is('Stable'))) return;
    if (group.pendingSyncMembers.size === 0) return;
    for (const memberId of [...group.pendingSyncMembers]) {
      const m = group.members.get(memberId);
      if (m) group.completeSync(m, errorSync(ErrorCode.UNKNOWN_MEMBER_ID));
      group.remove(memberId);
    }
    this.prepareRebalance(group);
  }

  protected removePendingSync(group: ClassicGroup, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    if (group.pendingSyncMembers.size === 0) {
      group.syncTimer?.cancel();
      group.syncTimer = null;
    }
  }

  protected resetAssignmentsWithError(group: ClassicGroup, errorCode: number): void {
    for (const m of group.members.values()) {
      group.setAssignment(m, EMPTY_BUFFER);
      if (!m.syncWaiter) continue;
      group.completeSync(m, errorSync(errorCode));
      this.scheduleHeartbeat(group, m, m.sessionTimeoutMs);
    }
  }

  validateMemberRequest(group: ClassicGroup, memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const error = validateExistingMember(group, memberId, groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    return ErrorCode.NONE;
  }

  protected scheduleHeartbeat(group: ClassicGroup, member: Member, timeoutMs: number): void {
    member.heartbeatTimer?.cancel();
    member.heartbeatTimer = this.clock.setTimer(timeoutMs, () => {
      member.heartbeatTimer = null;
      this.expireHeartbeat(group, member);
    });
  }

  protected expireHeartbeat(group: ClassicGroup, member: Member): void {
    if (this.closed || group.members.get(member.memberId) !== member) return;
    // Members parked in a rebalance satisfy their heartbeats (the rebalance timeout governs), except new ones.
    if (!member.isNew && (member.joinWaiter !== null || member.syncWaiter !== null)) return;
    this.removeMembers(group, [member]);
  }

  protected expirePendingMember(group: ClassicGroup, memberId: string): void {
    if (this.closed || !group.removePending(memberId)) return;
    this.afterRemoval(group);
  }

  protected removeMembers(group: ClassicGroup, members: Member[]): void {
    for (const m of members) {
      group.completeJoin(m, errorJoin(ErrorCode.UNKNOWN_MEMBER_ID));
      group.completeSync(m, errorSync(ErrorCode.UNKNOWN_MEMBER_ID));
      group.remove(m.memberId);
    }
    this.afterRemoval(group);
  }

  protected afterRemoval(group: ClassicGroup): void {
    if (group.is('Stable') || group.is('CompletingRebalance')) this.prepareRebalance(group);
    else if (group.is('PreparingRebalance') && group.hasAllMembersJoined()) this.completeJoin(group);
  }

  // ---- lifecycle ----

  protected scheduleJoin(group: ClassicGroup, delayMs: number, fn: () => void): void {
    group.joinTimer?.cancel();
    group.joinTimer = this.clock.setTimer(delayMs, () => {
      group.joinTimer = null;
      if (!this.closed) fn();
    });
  }

  /** Forgets a group (deleted, or evicted while idle): cancels its timers and marks it Dead. */
  dropGroup(group: ClassicGroup): void {
    this.cancelTimers(group);
    for (const id of [...group.pendingMembers.keys()]) group.remove(id);
    group.transitionTo('Dead');
    this.groups.delete(group.groupId);
  }

  protected cancelTimers(group: ClassicGroup): void {
    group.joinTimer?.cancel();
    group.joinTimer = null;
    group.syncTimer?.cancel();
    group.syncTimer = null;
    for (const t of group.pendingMembers.values()) t.cancel();
    for (const m of group.members.values()) {
      m.heartbeatTimer?.cancel();
      m.heartbeatTimer = null;
    }
  }

  /** Cancels every timer and answers every parked request with COORDINATOR_NOT_AVAILABLE. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const group of this.groups.values()) {
      this.cancelTimers(group);
      for (const m of group.members.values()) {
        group.completeJoin(m, errorJoin(ErrorCode.COORDINATOR_NOT_AVAILABLE, m.memberId));
        group.completeSync(m, errorSync(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      }
    }
  }
}

/** Kafka's validateExistingMember: dynamic members by id, static ones by instance id (fencing stale ids). */
export function validateExistingMember(group: ClassicGroup, memberId: string, groupInstanceId: string | null): number {
  if (groupInstanceId === null) return group.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  const existing = group.staticMembers.get(groupInstanceId);
  if (existing === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
  return existing === memberId ? ErrorCode.NONE : ErrorCode.FENCED_INSTANCE_ID;
}
