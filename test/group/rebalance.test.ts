import { describe, expect, it } from 'vitest';
import { GroupCoordinator } from '../../broker/group/coordinator.ts';
import { MemoryOffsetStore } from '../../broker/group/offset-store.ts';
import { CONFIG, flush, formGroup, joinReq, memberId, meta, setup, stableGroup, track } from './helpers.ts';

const state = (t: ReturnType<typeof setup>, groupId = 'g') => t.coordinator.describeGroups([groupId])[0].groupState;

describe('JoinGroup', () => {
  it('answers a new v4+ member MEMBER_ID_REQUIRED with a generated id, then admits it', async () => {
    const t = setup();
    const first = await t.coordinator.joinGroup(joinReq({ clientId: 'kcat' }));
    expect(first).toEqual({ errorCode: 79, generationId: -1, protocolType: null, protocolName: '', leader: '', memberId: first.memberId, members: [] });
    expect(first.memberId).toMatch(/^kcat-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(state(t)).toBe('Empty');

    const join = track(t.coordinator.joinGroup(joinReq({ clientId: 'kcat', memberId: first.memberId })));
    await flush();
    expect(join.done).toBe(false); // parked for the initial rebalance delay
    expect(state(t)).toBe('PreparingRebalance');
    t.clock.advance(100);
    const r = await join.promise;
    expect(r).toMatchObject({ errorCode: 0, generationId: 1, protocolType: 'consumer', protocolName: 'range', leader: first.memberId, memberId: first.memberId });
    expect(r.members).toEqual([{ memberId: first.memberId, groupInstanceId: null, metadata: meta('range-meta') }]);
    expect(state(t)).toBe('CompletingRebalance');
  });

  it('admits members directly below v4', async () => {
    const t = setup();
    const join = t.coordinator.joinGroup(joinReq({ apiVersion: 3 }));
    t.clock.advance(100);
    const r = await join;
    expect(r.errorCode).toBe(0);
    expect(r.memberId).toMatch(/^client-/);
    expect(r.leader).toBe(r.memberId);
  });

  it('forgets a pending member id whose session expires before it rejoins', async () => {
    const t = setup();
    const id = await memberId(t.coordinator);
    t.clock.advance(10_001);
    expect((await t.coordinator.joinGroup(joinReq({ memberId: id }))).errorCode).toBe(25);
  });

  it('forms one generation for three members, leader gets all, protocol chosen by vote', async () => {
    const t = setup();
    const rr = { name: 'roundrobin', metadata: meta('rr') };
    const range = { name: 'range', metadata: meta('rg') };
    const joins = await formGroup(t, [
      { clientId: 'a', protocols: [range, rr] },
      { clientId: 'b', protocols: [rr, range] },
      { clientId: 'c', protocols: [rr, range, { name: 'sticky', metadata: meta('st') }] },
    ]);
    const [a, b, c] = joins;
    for (const j of joins) {
      expect(j).toMatchObject({ errorCode: 0, generationId: 1, protocolName: 'roundrobin', protocolType: 'consumer', leader: a.memberId });
    }
    expect(a.members.map((m) => [m.memberId, m.metadata.toString()])).toEqual([
      [a.memberId, 'rr'],
      [b.memberId, 'rr'],
      [c.memberId, 'rr'],
    ]);
    expect(b.members).toEqual([]);
    expect(c.members).toEqual([]);
  });

  it('rejects a joiner sharing no protocol with the group (kafkajs vs librdkafka)', async () => {
    const t = setup();
    const kafkajs = [{ name: 'RoundRobinAssigner', metadata: meta('k') }];
    const id = await memberId(t.coordinator, { protocols: kafkajs });
    void t.coordinator.joinGroup(joinReq({ memberId: id, protocols: kafkajs })); // parked: the group now has a member
    const rd = await t.coordinator.joinGroup(joinReq({ protocols: [{ name: 'range', metadata: meta('r') }, { name: 'roundrobin', metadata: meta('rr') }] }));
    expect(rd.errorCode).toBe(23);
    expect(rd.protocolName).toBe('');
    const otherType = await t.coordinator.joinGroup(joinReq({ protocolType: 'connect', protocols: kafkajs }));
    expect(otherType.errorCode).toBe(23);
    expect((await t.coordinator.joinGroup(joinReq({ protocols: [] }))).errorCode).toBe(23);
  });

  it('lets librdkafka (range, roundrobin) and platformatic (roundrobin) meet on roundrobin', async () => {
    const t = setup();
    const [rd, plt] = await formGroup(t, [
      { clientId: 'rdkafka', protocols: [{ name: 'range', metadata: meta('r1') }, { name: 'roundrobin', metadata: meta('rr1') }] },
      { clientId: 'plt', protocols: [{ name: 'roundrobin', metadata: meta('rr2') }] },
    ]);
    expect([rd.protocolName, plt.protocolName]).toEqual(['roundrobin', 'roundrobin']);
    expect(rd.members.map((m) => m.metadata.toString())).toEqual(['rr1', 'rr2']);
  });

  it('works on the real clock with small timeouts', async () => {
    const coordinator = new GroupCoordinator({ ...CONFIG, initialRebalanceDelayMs: 20 }, new MemoryOffsetStore());
    const id = await memberId(coordinator);
    const started = Date.now();
    const r = await coordinator.joinGroup(joinReq({ memberId: id }));
    expect(r.errorCode).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    await coordinator.close();
  });

  it('validates session timeouts, group ids and unknown member ids', async () => {
    const t = setup();
    expect((await t.coordinator.joinGroup(joinReq({ sessionTimeoutMs: 5_999 }))).errorCode).toBe(26);
    expect((await t.coordinator.joinGroup(joinReq({ sessionTimeoutMs: 1_800_001 }))).errorCode).toBe(26);
    expect((await t.coordinator.joinGroup(joinReq({ groupId: '' }))).errorCode).toBe(24);
    expect((await t.coordinator.joinGroup(joinReq({ memberId: 'nobody' }))).errorCode).toBe(25);
    expect(t.coordinator.listGroups()).toEqual([]);
  });

  it('extends the initial delay while members keep arriving', async () => {
    const t = setup();
    const a = await memberId(t.coordinator);
    const b = await memberId(t.coordinator);
    const ja = track(t.coordinator.joinGroup(joinReq({ memberId: a })));
    t.clock.advance(90);
    const jb = track(t.coordinator.joinGroup(joinReq({ memberId: b })));
    t.clock.advance(10); // first delay ends, but b arrived in it: wait another delay
    await flush();
    expect(ja.done).toBe(false);
    t.clock.advance(100);
    await flush();
    expect(ja.done && jb.done).toBe(true);
    expect(ja.value?.generationId).toBe(1);
    expect(ja.value?.leader).toBe(a);
  });

  it('repeats the current generation to a follower rejoining unchanged, rebalances when the leader rejoins', async () => {
    const t = setup();
    const g = await stableGroup(t, [{}, {}]);
    const follower = g.ids[1];
    const again = await t.coordinator.joinGroup(joinReq({ memberId: follower }));
    expect(again).toMatchObject({ errorCode: 0, generationId: 1, leader: g.leader, members: [] });
    expect(state(t)).toBe('Stable');
    const leaderJoin = track(t.coordinator.joinGroup(joinReq({ memberId: g.leader })));
    expect(state(t)).toBe('PreparingRebalance');
    const followerJoin = t.coordinator.joinGroup(joinReq({ memberId: follower }));
    await flush();
    expect(leaderJoin.done).toBe(true); // all members rejoined: no waiting
    expect((await followerJoin).generationId).toBe(2);
  });
});

describe('SyncGroup', () => {
  it('holds followers until the leader syncs, then gives each member its own assignment', async () => {
    const t = setup();
    const [a, b, c] = await formGroup(t, [{}, {}, {}]);
    const sync = (memberId: string, assignments: { memberId: string; assignment: Buffer }[] = []) =>
      t.coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments });
    const sb = track(sync(b.memberId));
    const sc = track(sync(c.memberId));
    await flush();
    expect(sb.done || sc.done).toBe(false);
    const sa = await sync(a.memberId, [
      { memberId: a.memberId, assignment: meta('A') },
      { memberId: b.memberId, assignment: meta('B') },
      { memberId: 'stranger', assignment: meta('X') },
    ]);
    expect(sa).toEqual({ errorCode: 0, protocolType: 'consumer', protocolName: 'range', assignment: meta('A') });
    expect((await sb.promise).assignment).toEqual(meta('B'));
    expect((await sc.promise)).toEqual({ errorCode: 0, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.alloc(0) });
    expect(state(t)).toBe('Stable');
    // A late sync in Stable gets the stored assignment.
    expect((await sync(b.memberId)).assignment).toEqual(meta('B'));
  });

  it('checks member, generation, protocol and rebalance state', async () => {
    const t = setup();
    const [a, b] = await formGroup(t, [{}, {}]);
    const base = { groupId: 'g', generationId: 1, memberId: b.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] };
    expect((await t.coordinator.syncGroup({ ...base, memberId: 'nobody' })).errorCode).toBe(25);
    expect((await t.coordinator.syncGroup({ ...base, groupId: 'other' })).errorCode).toBe(25);
    expect((await t.coordinator.syncGroup({ ...base, generationId: 7 })).errorCode).toBe(22);
    expect((await t.coordinator.syncGroup({ ...base, protocolName: 'roundrobin' })).errorCode).toBe(23);
    // A rebalance starting while a follower's sync is parked answers it 27.
    const held = t.coordinator.syncGroup(base);
    const joinC = t.coordinator.joinGroup(joinReq({ memberId: await memberId(t.coordinator) }));
    expect((await held).errorCode).toBe(27);
    expect((await t.coordinator.syncGroup({ ...base, memberId: a.memberId })).errorCode).toBe(27);
    void joinC;
  });

  it('removes members that never sync and rebalances the rest', async () => {
    const t = setup();
    const [a, b] = await formGroup(t, [{}, {}]);
    const held = track(t.coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: b.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }));
    // The leader keeps heartbeating (0 between join and sync) but never sends its SyncGroup.
    for (let i = 0; i < 19; i++) {
      t.clock.advance(3_000);
      expect(t.coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: null }).errorCode).toBe(0);
    }
    await flush();
    expect(held.done).toBe(false);
    t.clock.advance(3_000); // rebalance timeout (60 s) since the join completed
    expect((await held.promise).errorCode).toBe(27);
    expect(t.coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: null }).errorCode).toBe(25);
    const r = await t.coordinator.joinGroup(joinReq({ memberId: b.memberId }));
    expect(r).toMatchObject({ errorCode: 0, generationId: 2, leader: b.memberId });
  });

  it('rejects an oversized assignment and rebalances', async () => {
    const t = setup({ maxMemberMetadataBytes: 16 });
    const [a] = await formGroup(t, [{ protocols: [{ name: 'range', metadata: meta('m') }] }]);
    const r = await t.coordinator.syncGroup({
      groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: null, protocolType: null, protocolName: null,
      assignments: [{ memberId: a.memberId, assignment: Buffer.alloc(17) }],
    });
    expect(r.errorCode).toBe(-1);
    expect(state(t)).toBe('PreparingRebalance');
  });
});

describe('Heartbeat, session expiry and LeaveGroup', () => {
  it('answers 27 during a rebalance so members rejoin, 0 between join and sync', async () => {
    const t = setup();
    const [a, b] = await formGroup(t, [{}, {}]);
    const hb = (memberId: string, generationId = 1) => t.coordinator.heartbeat({ groupId: 'g', generationId, memberId, groupInstanceId: null }).errorCode;
    expect(hb(a.memberId)).toBe(0); // CompletingRebalance
    expect(hb(a.memberId, 2)).toBe(22);
    expect(hb('nobody')).toBe(25);
    expect(t.coordinator.heartbeat({ groupId: 'none', generationId: 1, memberId: 'x', groupInstanceId: null }).errorCode).toBe(25);

    const c = await memberId(t.coordinator);
    const jc = track(t.coordinator.joinGroup(joinReq({ memberId: c })));
    expect(hb(a.memberId)).toBe(27);
    expect(hb(b.memberId)).toBe(27);
    const ja = t.coordinator.joinGroup(joinReq({ memberId: a.memberId }));
    const jb = t.coordinator.joinGroup(joinReq({ memberId: b.memberId }));
    const all = await Promise.all([ja, jb, jc.promise]);
    expect(all.map((r) => r.generationId)).toEqual([2, 2, 2]);
    expect(all[0].members).toHaveLength(3);
    expect(hb(c, 2)).toBe(0);
  });

  it('removes a member whose session expires and rebalances the rest', async () => {
    const t = setup();
    const g = await stableGroup(t, [{}, {}]);
    const [a, b] = g.ids;
    const hb = (memberId: string, generationId = 1) => t.coordinator.heartbeat({ groupId: 'g', generationId, memberId, groupInstanceId: null }).errorCode;
    t.clock.advance(6_000);
    expect(hb(a)).toBe(0);
    t.clock.advance(6_000); // b silent for 12 s > 10 s session timeout
    expect(hb(b)).toBe(25);
    expect(hb(a)).toBe(27);
    const r = await t.coordinator.joinGroup(joinReq({ memberId: a }));
    expect(r).toMatchObject({ errorCode: 0, generationId: 2, leader: a });
    expect(r.members.map((m) => m.memberId)).toEqual([a]);
    // The last member expiring empties the group.
    t.clock.advance(10_001);
    expect(state(t)).toBe('Empty');
  });

  it('keeps a member whose join is parked past its session timeout; the rebalance timeout drops non-rejoiners', async () => {
    const t = setup();
    const g = await stableGroup(t, [{ rebalanceTimeoutMs: 30_000 }, { rebalanceTimeoutMs: 30_000 }]);
    const [a, b] = g.ids;
    const ja = track(t.coordinator.joinGroup(joinReq({ memberId: a, rebalanceTimeoutMs: 30_000 })));
    for (let i = 0; i < 9; i++) {
      t.clock.advance(3_000);
      expect(t.coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: b, groupInstanceId: null }).errorCode).toBe(27);
    }
    await flush();
    expect(ja.done).toBe(false); // 27 s: past a's 10 s session, still parked
    t.clock.advance(3_000);
    const r = await ja.promise;
    expect(r).toMatchObject({ errorCode: 0, generationId: 2, leader: a });
    expect(r.members.map((m) => m.memberId)).toEqual([a]);
  });

  it('handles LeaveGroup for single and batched members', async () => {
    const t = setup();
    const g = await stableGroup(t, [{}, {}, {}]);
    const [a, b, c] = g.ids;
    const left = t.coordinator.leaveGroup({ groupId: 'g', members: [{ memberId: b, groupInstanceId: null }, { memberId: 'ghost', groupInstanceId: null }] });
    expect(left).toEqual({
      errorCode: 0,
      members: [
        { memberId: b, groupInstanceId: null, errorCode: 0 },
        { memberId: 'ghost', groupInstanceId: null, errorCode: 25 },
      ],
    });
    expect(state(t)).toBe('PreparingRebalance');
    const joins = await Promise.all([a, c].map((memberId) => t.coordinator.joinGroup(joinReq({ memberId }))));
    expect(joins[0].members.map((m) => m.memberId)).toEqual([a, c]);
    t.coordinator.leaveGroup({ groupId: 'g', members: [{ memberId: a, groupInstanceId: null }, { memberId: c, groupInstanceId: null }] });
    expect(state(t)).toBe('Empty');
    expect(t.coordinator.leaveGroup({ groupId: 'nope', members: [{ memberId: a, groupInstanceId: null }] }).members[0].errorCode).toBe(25);
  });

  it('lets a parked member leave and answers its join UNKNOWN_MEMBER_ID', async () => {
    const t = setup();
    const a = await memberId(t.coordinator);
    const ja = t.coordinator.joinGroup(joinReq({ memberId: a }));
    t.coordinator.leaveGroup({ groupId: 'g', members: [{ memberId: a, groupInstanceId: null }] });
    expect((await ja).errorCode).toBe(25);
    expect(state(t)).toBe('Empty');
  });
});

describe('static members', () => {
  it('joins without MEMBER_ID_REQUIRED, fences an old incarnation, leaves by instance id', async () => {
    const t = setup();
    const j1 = t.coordinator.joinGroup(joinReq({ groupInstanceId: 'i-1' }));
    t.clock.advance(100);
    const first = await j1;
    expect(first.errorCode).toBe(0);
    expect(t.coordinator.describeGroups(['g'])[0].members[0].groupInstanceId).toBe('i-1');
    const second = await t.coordinator.joinGroup(joinReq({ groupInstanceId: 'i-1' }));
    expect(second.memberId).not.toBe(first.memberId);
    expect(second.generationId).toBe(2);
    expect(t.coordinator.heartbeat({ groupId: 'g', generationId: 2, memberId: first.memberId, groupInstanceId: 'i-1' }).errorCode).toBe(82);
    expect(t.coordinator.leaveGroup({ groupId: 'g', members: [{ memberId: first.memberId, groupInstanceId: 'i-1' }] }).members[0].errorCode).toBe(82);
    const left = t.coordinator.leaveGroup({ groupId: 'g', members: [{ memberId: '', groupInstanceId: 'i-1' }] });
    expect(left.members[0]).toEqual({ memberId: second.memberId, groupInstanceId: 'i-1', errorCode: 0 });
    expect(state(t)).toBe('Empty');
  });
});

describe('limits and close', () => {
  it('caps members per group, pending member ids and metadata size', async () => {
    const t = setup({ maxMembersPerGroup: 2, maxMemberMetadataBytes: 64 });
    await stableGroup(t, [{}, {}]);
    expect((await t.coordinator.joinGroup(joinReq())).errorCode).toBe(81);
    const u = setup({ maxMembersPerGroup: 2 });
    await memberId(u.coordinator);
    await memberId(u.coordinator);
    expect((await u.coordinator.joinGroup(joinReq())).errorCode).toBe(81);
    const big = await t.coordinator.joinGroup(joinReq({ groupId: 'h', protocols: [{ name: 'range', metadata: Buffer.alloc(65) }] }));
    expect(big.errorCode).toBe(42);
  });

  it('caps groups in memory, evicting idle ones first', async () => {
    const t = setup({ maxGroups: 2 });
    await stableGroup(t, [{ groupId: 'g1' }]);
    const g2 = await stableGroup(t, [{ groupId: 'g2' }]);
    expect((await t.coordinator.joinGroup(joinReq({ groupId: 'g3' }))).errorCode).toBe(15);
    t.coordinator.leaveGroup({ groupId: 'g2', members: [{ memberId: g2.ids[0], groupInstanceId: null }] });
    expect((await t.coordinator.joinGroup(joinReq({ groupId: 'g3' }))).errorCode).toBe(79);
    expect(t.coordinator.listGroups().map((g) => g.groupId).sort()).toEqual(['g1', 'g3']);
  });

  it('close answers parked requests 15 and cancels every timer', async () => {
    const t = setup();
    const [a, b] = await formGroup(t, [{}, {}]);
    const held = t.coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: b.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    const parked = t.coordinator.joinGroup(joinReq({ groupId: 'x', memberId: await memberId(t.coordinator, { groupId: 'x' }) }));
    await t.coordinator.close();
    expect((await held).errorCode).toBe(15);
    expect((await parked).errorCode).toBe(15);
    expect(t.clock.pendingTimers).toBe(0);
    expect(t.coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: null }).errorCode).toBe(15);
    expect((await t.coordinator.joinGroup(joinReq())).errorCode).toBe(15);
  });
});
