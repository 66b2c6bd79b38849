// Test helpers for the group coordinator: a hand-driven clock and request builders.
import { GroupCoordinator } from '../../broker/group/coordinator.ts';
import { MemoryOffsetStore, type OffsetStore } from '../../broker/group/offset-store.ts';
import type { Clock, GroupCoordinatorConfig, JoinGroupRequest, JoinGroupResponse, SyncGroupResponse, Timer } from '../../broker/group/types.ts';

/** A clock whose time only moves when the test says so; due timers run in deadline order. */
export class FakeClock implements Clock {
  private t = 1_000_000;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, delayMs), fn });
    return { cancel: () => void this.timers.delete(id) };
  }

  /** Moves time forward, running every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | null = null;
      for (const entry of this.timers) if (entry[1].at <= target && (next === null || entry[1].at < next[1].at)) next = entry;
      if (next === null) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = target;
  }

  get pendingTimers(): number {
    return this.timers.size;
  }
}

export const CONFIG: GroupCoordinatorConfig = {
  initialRebalanceDelayMs: 100,
  minSessionTimeoutMs: 6_000,
  maxSessionTimeoutMs: 1_800_000,
  maxGroups: 100,
  maxMembersPerGroup: 100,
  maxMemberMetadataBytes: 1024,
  memberMetadataBudgetBytes: 1024 * 1024,
  maxOffsetMetadataBytes: 4096,
  maxOffsetsPerGroup: 1000,
  offsetsBudgetBytes: 1024 * 1024,
};

export function setup(config: Partial<GroupCoordinatorConfig> = {}, store: OffsetStore = new MemoryOffsetStore()) {
  const clock = new FakeClock();
  const coordinator = new GroupCoordinator({ ...CONFIG, ...config }, store, clock);
  return { clock, coordinator, store };
}

export const meta = (s: string) => Buffer.from(s);

export function joinReq(over: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 60_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: meta('range-meta') }],
    apiVersion: 5,
    ...over,
  };
}

/** Tracks whether a promise has settled, without awaiting it. */
export function track<T>(p: Promise<T>): { readonly done: boolean; readonly value: T | undefined; promise: Promise<T> } {
  const state: { done: boolean; value: T | undefined; promise: Promise<T> } = { done: false, value: undefined, promise: p };
  p.then((v) => {
    state.done = true;
    state.value = v;
  });
  return state;
}

/** Lets resolved promise callbacks run. */
export const flush = () => new Promise<void>((r) => setImmediate(r));

/** The MEMBER_ID_REQUIRED round trip: returns the member id the coordinator assigns. */
export async function memberId(c: GroupCoordinator, over: Partial<JoinGroupRequest> = {}): Promise<string> {
  const r = await c.joinGroup(joinReq(over));
  if (r.errorCode !== 79) throw new Error(`expected MEMBER_ID_REQUIRED, got ${r.errorCode}`);
  return r.memberId;
}

/** Joins `n` members (ids first, then parked joins), advances past the initial delay and returns their answers. */
export async function formGroup(
  t: { clock: FakeClock; coordinator: GroupCoordinator },
  members: Partial<JoinGroupRequest>[],
): Promise<JoinGroupResponse[]> {
  const ids: string[] = [];
  for (const m of members) ids.push(await memberId(t.coordinator, m));
  const joins = members.map((m, i) => t.coordinator.joinGroup(joinReq({ ...m, memberId: ids[i] })));
  // Members arriving during the initial delay extend it by one more delay (Kafka's InitialDelayedJoin).
  t.clock.advance(CONFIG.initialRebalanceDelayMs * (members.length > 1 ? 2 : 1));
  return Promise.all(joins);
}

/** Forms a group and completes the sync: the leader assigns `assignment-<memberId>` to every member. */
export async function stableGroup(
  t: { clock: FakeClock; coordinator: GroupCoordinator },
  members: Partial<JoinGroupRequest>[],
): Promise<{ joins: JoinGroupResponse[]; syncs: SyncGroupResponse[]; leader: string; ids: string[]; generationId: number }> {
  const joins = await formGroup(t, members);
  const leader = joins[0].leader;
  const generationId = joins[0].generationId;
  const ids = joins.map((j) => j.memberId);
  const groupId = members[0].groupId ?? 'g';
  const syncs = await Promise.all(
    joins.map((j) =>
      t.coordinator.syncGroup({
        groupId,
        generationId,
        memberId: j.memberId,
        groupInstanceId: members[ids.indexOf(j.memberId)].groupInstanceId ?? null,
        protocolType: null,
        protocolName: null,
        assignments: j.memberId === leader ? ids.map((id) => ({ memberId: id, assignment: meta(`assignment-${id}`) })) : [],
      }),
    ),
  );
  return { joins, syncs, leader, ids, generationId };
}
