// Membership bookkeeping of one classic consumer group (Kafka's ClassicGroup / ClassicGroupMember).
// The rebalance protocol that drives it lives in rebalance.ts.
//
// The group owns what its members hold in memory: it copies their protocol metadata and
// assignments out of the request frames (a view would keep a whole frame alive) and charges every
// member and pending member id to the broker-wide MemberMetadataBudget, releasing it on removal.
import type { GroupState, JoinGroupProtocol, JoinGroupResponse, JoinGroupResponseMember, SyncGroupResponse, Timer } from './types.ts';

export interface Member {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: JoinGroupProtocol[];
  assignment: Buffer;
  /** Joined during the current rebalance: session expiry removes it even while its join is parked. */
  isNew: boolean;
  joinWaiter: ((r: JoinGroupResponse) => void) | null;
  syncWaiter: ((r: SyncGroupResponse) => void) | null;
  heartbeatTimer: Timer | null;
  /** Bytes this member is charged against the member metadata budget (0 until added). */
  chargedBytes: number;
}

export const EMPTY_BUFFER = Buffer.alloc(0);

/** Estimated fixed heap bytes of one member beyond its strings and buffers: the object, its timer, map slots. */
export const MEMBER_OVERHEAD_BYTES = 1024;
/** Estimated fixed heap bytes of one pending member id beyond the id itself: its map slot and session timer. */
export const PENDING_MEMBER_OVERHEAD_BYTES = 256;

/** Protocol names and metadata as sent (duplicates included): what the per-member limit applies to. */
export function protocolBytes(protocols: readonly JoinGroupProtocol[]): number {
  let n = 0;
  for (const p of protocols) n += 2 * p.name.length + p.metadata.length;
  return n;
}

/** Estimated heap bytes one member holds; strings at two bytes a UTF-16 unit. */
export function memberBytes(m: Pick<Member, 'memberId' | 'groupInstanceId' | 'clientId' | 'clientHost' | 'protocols' | 'assignment'>): number {
  const strings = m.memberId.length + (m.groupInstanceId?.length ?? 0) + m.clientId.length + m.clientHost.length;
  return MEMBER_OVERHEAD_BYTES + 2 * strings + protocolBytes(m.protocols) + m.assignment.length;
}

export function pendingMemberBytes(memberId: string): number {
  return PENDING_MEMBER_OVERHEAD_BYTES + 2 * memberId.length;
}

/**
 * The broker-wide budget for what group members hold in memory. Every group charges its members and
 * pending member ids here; the coordinator asks `fits` before it admits a member or an assignment.
 */
export class MemberMetadataBudget {
  private used = 0;

  constructor(readonly limitBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  /** Whether `extraBytes` more fit; shrinking always fits. */
  fits(extraBytes: number): boolean {
    return extraBytes <= 0 || this.used + extraBytes <= this.limitBytes;
  }

  charge(deltaBytes: number): void {
    this.used += deltaBytes;
  }
}

/** Copies of the metadata buffers, so a stored member never pins the request frame they were read from. */
function ownProtocols(protocols: readonly JoinGroupProtocol[]): JoinGroupProtocol[] {
  return protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) }));
}

/** Same protocol names and metadata, in the same order. */
export function sameProtocols(a: JoinGroupProtocol[], b: JoinGroupProtocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i].name && p.metadata.equals(b[i].metadata));
}

export class ClassicGroup {
  state: GroupState = 'Empty';
  previousState: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** groupInstanceId -> memberId of static members. */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, with their session timers; change it through addPending/removePending. */
  readonly pendingMembers = new Map<string, Timer>();
  /** Members of the current generation whose SyncGroup has not arrived yet. */
  readonly pendingSyncMembers = new Set<string>();
  /** Protocol name -> number of members that offer it. */
  private readonly supportedProtocols = new Map<string, number>();
  numAwaitingJoin = 0;
  newMemberAdded = false;
  joinTimer: Timer | null = null;
  syncTimer: Timer | null = null;

  constructor(
    readonly groupId: string,
    private readonly budget: MemberMetadataBudget,
  ) {}

  is(state: GroupState): boolean {
    return this.state === state;
  }

  transitionTo(state: GroupState): void {
    this.previousState = this.state;
    this.state = state;
  }

  /** Kafka's canRebalance: a rebalance may start from these states. */
  canRebalance(): boolean {
    return this.state === 'Stable' || this.state === 'CompletingRebalance' || this.state === 'Empty';
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  add(member: Member): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    member.protocols = ownProtocols(member.protocols);
    this.recharge(member);
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    this.incProtocols(member);
    if (member.joinWaiter) this.numAwaitingJoin++;
    this.leaderId ??= member.memberId;
  }

  /** Removes a member or pending member; the caller answers its parked requests first. */
  remove(memberId: string): void {
    const member = this.members.get(memberId);
    if (member) {
      this.members.delete(memberId);
      this.budget.charge(-member.chargedBytes);
      member.chargedBytes = 0;
      this.decProtocols(member);
      if (member.joinWaiter) this.numAwaitingJoin--;
      if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
        this.staticMembers.delete(member.groupInstanceId);
      }
      member.heartbeatTimer?.cancel();
      member.heartbeatTimer = null;
    }
    if (this.isLeader(memberId)) this.leaderId = this.members.keys().next().value ?? null;
    this.removePending(memberId);
    this.pendingSyncMembers.delete(memberId);
  }

  addPending(memberId: string, sessionTimer: Timer): void {
    this.pendingMembers.set(memberId, sessionTimer);
    this.budget.charge(pendingMemberBytes(memberId));
  }

  /** Forgets a pending member id and cancels its timer; false when it was not pending. */
  removePending(memberId: string): boolean {
    const timer = this.pendingMembers.get(memberId);
    if (!timer) return false;
    timer.cancel();
    this.pendingMembers.delete(memberId);
    this.budget.charge(-pendingMemberBytes(memberId));
    return true;
  }

  setAssignment(member: Member, assignment: Buffer): void {
    member.assignment = assignment.length === 0 ? EMPTY_BUFFER : Buffer.from(assignment);
    if (this.members.get(member.memberId) === member) this.recharge(member);
  }

  updateMember(member: Member, protocols: JoinGroupProtocol[], rebalanceTimeoutMs: number, sessionTimeoutMs: number): void {
    this.decProtocols(member);
    member.protocols = ownProtocols(protocols);
    this.recharge(member);
    this.incProtocols(member);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
  }

  setJoinWaiter(member: Member, waiter: (r: JoinGroupResponse) => void): void {
    // A second join from the same member replaces the first, which then learns to rejoin.
    if (member.joinWaiter) this.completeJoin(member, errorJoin(27, member.memberId));
    member.joinWaiter = waiter;
    this.numAwaitingJoin++;
  }

  completeJoin(member: Member, response: JoinGroupResponse): void {
    const waiter = member.joinWaiter;
    if (!waiter) return;
    member.joinWaiter = null;
    this.numAwaitingJoin--;
    waiter(response);
  }

  completeSync(member: Member, response: SyncGroupResponse): void {
    const waiter = member.syncWaiter;
    if (!waiter) return;
    member.syncWaiter = null;
    waiter(response);
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.numAwaitingJoin && this.pendingMembers.size === 0;
  }

  notYetRejoinedMembers(): Member[] {
    return [...this.members.values()].filter((m) => m.joinWaiter === null);
  }

  /** Largest rebalance timeout over the members: how long a rebalance may wait for them. */
  rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  /** Kafka's supportsProtocols: may a member with these protocols join? */
  supportsProtocols(protocolType: string, protocols: JoinGroupProtocol[]): boolean {
    if (protocolType === '' || protocols.length === 0) return false;
    if (this.members.size === 0) return true;
    return this.protocolType === protocolType && protocols.some((p) => this.supportedProtocols.get(p.name) === this.members.size);
  }

  /** Chooses the protocol: every member votes for its most preferred protocol that all members support. */
  selectProtocol(): string {
    const candidates = new Set<string>();
    for (const [name, count] of this.supportedProtocols) if (count === this.members.size) candidates.add(name);
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => candidates.has(p.name));
      if (choice) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    // Ties go to the protocol the leader (else the first member) prefers.
    const tieOrder = (this.leaderId ? this.members.get(this.leaderId) : undefined) ?? this.members.values().next().value;
    let best: string | null = null;
    let bestVotes = 0;
    for (const p of tieOrder?.protocols ?? []) {
      const v = votes.get(p.name) ?? 0;
      if (v > bestVotes) {
        best = p.name;
        bestVotes = v;
      }
    }
    if (best === null) throw new Error(`group ${this.groupId}: no protocol shared by all members`);
    return best;
  }

  /** Kafka's initNextGeneration. */
  initNextGeneration(): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.transitionTo('CompletingRebalance');
    } else {
      this.protocolName = null;
      this.transitionTo('Empty');
    }
    this.pendingSyncMembers.clear();
  }

  /** The member list the leader receives: metadata for the chosen protocol. */
  leaderMemberList(): JoinGroupResponseMember[] {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.protocols.find((p) => p.name === this.protocolName)?.metadata ?? EMPTY_BUFFER,
    }));
  }

  /** The JoinGroup answer of the current generation for one member. */
  joinResponseFor(memberId: string): JoinGroupResponse {
    return {
      errorCode: 0,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName ?? '',
      leader: this.leaderId ?? '',
      memberId,
      members: this.isLeader(memberId) ? this.leaderMemberList() : [],
    };
  }

  private recharge(member: Member): void {
    const bytes = memberBytes(member);
    this.budget.charge(bytes - member.chargedBytes);
    member.chargedBytes = bytes;
  }

  private incProtocols(member: Member): void {
    for (const p of member.protocols) this.supportedProtocols.set(p.name, (this.supportedProtocols.get(p.name) ?? 0) + 1);
  }

  private decProtocols(member: Member): void {
    for (const p of member.protocols) {
      const n = (this.supportedProtocols.get(p.name) ?? 0) - 1;
      if (n <= 0) this.supportedProtocols.delete(p.name);
      else this.supportedProtocols.set(p.name, n);
    }
  }
}

export function errorJoin(errorCode: number, memberId = ''): JoinGroupResponse {
  return { errorCode, generationId: -1, protocolType: null, protocolName: '', leader: '', memberId, members: [] };
}

export function errorSync(errorCode: number): SyncGroupResponse {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BUFFER };
}
