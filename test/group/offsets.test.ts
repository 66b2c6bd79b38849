import { describe, expect, it } from 'vitest';
import { MemoryOffsetStore, type OffsetEntry } from '../../broker/group/offset-store.ts';
import type { OffsetCommitRequest } from '../../broker/group/types.ts';
import { flush, formGroup, joinReq, memberId, meta, setup, stableGroup, track } from './helpers.ts';

function commitReq(over: Partial<OffsetCommitRequest> = {}, offset = 42): OffsetCommitRequest {
  return {
    groupId: 'g',
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [{ name: 't', partitionCount: 8, partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: 3, committedMetadata: 'm' }] }],
    ...over,
  };
}

const codes = (r: { topics: { partitions: { errorCode: number }[] }[] }) => r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));

describe('OffsetCommit / OffsetFetch', () => {
  it('stores admin commits (generation -1) and fetches them, -1 with no error when absent', async () => {
    const { coordinator } = setup();
    expect(codes(await coordinator.commitOffsets(commitReq()))).toEqual([0]);
    const fetched = coordinator.fetchOffsets('g', [{ name: 't', partitionIndexes: [0, 1] }, { name: 'u', partitionIndexes: [0] }]);
    expect(fetched).toEqual({
      errorCode: 0,
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: 3, metadata: 'm', errorCode: 0 },
            { partitionIndex: 1, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
          ],
        },
        { name: 'u', partitions: [{ partitionIndex: 0, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 }] },
      ],
    });
    expect(coordinator.fetchOffsets('unknown', [{ name: 't', partitionIndexes: [0] }]).topics[0].partitions[0].committedOffset).toBe(-1);
  });

  it('fetches all committed partitions for null topics', async () => {
    const { coordinator } = setup();
    await coordinator.commitOffsets(
      commitReq({
        topics: [
          { name: 't', partitionCount: 8, partitions: [0, 1].map((p) => ({ partitionIndex: p, committedOffset: 10 + p, committedLeaderEpoch: -1, committedMetadata: null })) },
          { name: 'u', partitionCount: 8, partitions: [{ partitionIndex: 2, committedOffset: 7, committedLeaderEpoch: -1, committedMetadata: null }] },
        ],
      }),
    );
    const all = coordinator.fetchOffsets('g', null);
    expect(all.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.committedOffset])])).toEqual([
      ['t', [[0, 10], [1, 11]]],
      ['u', [[2, 7]]],
    ]);
    expect(coordinator.fetchOffsets('none', null)).toEqual({ errorCode: 0, topics: [] });
  });

  it('checks member and generation for group members', async () => {
    const t = setup();
    const g = await stableGroup(t, [{}, {}]);
    const [a] = g.ids;
    const c = (over: Partial<OffsetCommitRequest>) => t.coordinator.commitOffsets(commitReq(over)).then(codes);
    expect(await c({ generationId: 1, memberId: a })).toEqual([0]);
    expect(await c({ generationId: 0, memberId: a })).toEqual([22]);
    expect(await c({ generationId: 1, memberId: 'ghost' })).toEqual([25]);
    expect(await c({ generationId: -1, memberId: '' })).toEqual([25]); // admin commit to a live group
    expect(await c({ groupId: 'no-such-group', generationId: 3, memberId: a })).toEqual([22]);
    // During PreparingRebalance the current generation may still commit.
    const joinC = t.coordinator.joinGroup(joinReq({ memberId: await memberId(t.coordinator) }));
    expect(await c({ generationId: 1, memberId: a })).toEqual([0]);
    void joinC;
  });

  it('answers 27 to commits between join and sync', async () => {
    const t = setup();
    const [a] = await formGroup(t, [{}]);
    expect(codes(await t.coordinator.commitOffsets(commitReq({ generationId: 1, memberId: a.memberId })))).toEqual([27]);
  });

  it('allows generation -1 commits once the group is empty again', async () => {
    const t = setup();
    const g = await stableGroup(t, [{}]);
    t.coordinator.leaveGroup({ groupId: 'g', members: [{ memberId: g.ids[0], groupInstanceId: null }] });
    expect(codes(await t.coordinator.commitOffsets(commitReq()))).toEqual([0]);
  });

  it('rejects only the partitions whose metadata is too large', async () => {
    const { coordinator } = setup({ maxOffsetMetadataBytes: 8 });
    const r = await coordinator.commitOffsets(
      commitReq({
        topics: [
          {
            name: 't',
            partitionCount: 8,
            partitions: [
              { partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: 'x'.repeat(9) },
              { partitionIndex: 1, committedOffset: 2, committedLeaderEpoch: -1, committedMetadata: 'ok' },
            ],
          },
        ],
      }),
    );
    expect(codes(r)).toEqual([12, 0]);
    expect(coordinator.fetchOffsets('g', [{ name: 't', partitionIndexes: [0, 1] }]).topics[0].partitions.map((p) => p.committedOffset)).toEqual([-1, 2]);
  });

  it('answers only once the store is durable, and 15 when the store fails', async () => {
    class SlowStore extends MemoryOffsetStore {
      release: (() => void) | null = null;
      fail = false;
      override async commit(groupId: string, entries: OffsetEntry[]): Promise<void> {
        await new Promise<void>((r) => (this.release = r));
        if (this.fail) throw new Error('disk on fire');
        return super.commit(groupId, entries);
      }
    }
    const store = new SlowStore();
    const { coordinator } = setup({}, store);
    const pending = track(coordinator.commitOffsets(commitReq()));
    await flush();
    expect(pending.done).toBe(false);
    store.release?.();
    expect(codes(await pending.promise)).toEqual([0]);
    store.fail = true;
    const failing = coordinator.commitOffsets(commitReq());
    await flush();
    store.release?.();
    expect(codes(await failing)).toEqual([15]);
  });

  it('bounds the groups that only hold offsets', async () => {
    const { coordinator } = setup({ maxGroups: 2 });
    expect(codes(await coordinator.commitOffsets(commitReq({ groupId: 'a' })))).toEqual([0]);
    expect(codes(await coordinator.commitOffsets(commitReq({ groupId: 'b' })))).toEqual([0]);
    expect(codes(await coordinator.commitOffsets(commitReq({ groupId: 'c' })))).toEqual([28]);
    expect(codes(await coordinator.commitOffsets(commitReq({ groupId: 'a' }, 43)))).toEqual([0]);
  });

  it('forgets a deleted topic and reports offsets for the lag metric', async () => {
    const { coordinator } = setup();
    await coordinator.commitOffsets(commitReq());
    await coordinator.commitOffsets(commitReq({ groupId: 'h', topics: [{ name: 'u', partitionCount: 8, partitions: [{ partitionIndex: 1, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }] }] }));
    expect([...coordinator.committedOffsetsForLag()]).toEqual([
      { groupId: 'g', topic: 't', partition: 0, offset: 42 },
      { groupId: 'h', topic: 'u', partition: 1, offset: 5 },
    ]);
    coordinator.deleteTopicOffsets('t');
    await flush();
    expect([...coordinator.committedOffsetsForLag()]).toEqual([{ groupId: 'h', topic: 'u', partition: 1, offset: 5 }]);
  });
});

describe('DescribeGroups / ListGroups / DeleteGroups', () => {
  it('describes a stable group with members, metadata and assignments', async () => {
    const t = setup();
    const g = await stableGroup(t, [{ clientId: 'k1' }, { clientId: 'k2' }]);
    const [d] = t.coordinator.describeGroups(['g']);
    expect(d).toMatchObject({ errorCode: 0, groupId: 'g', groupState: 'Stable', protocolType: 'consumer', protocolData: 'range' });
    expect(d.members).toEqual(
      g.ids.map((id, i) => ({
        memberId: id,
        groupInstanceId: null,
        clientId: `k${i + 1}`,
        clientHost: '/127.0.0.1',
        memberMetadata: meta('range-meta'),
        memberAssignment: meta(`assignment-${id}`),
      })),
    );
    // While rebalancing, members are listed without metadata.
    void t.coordinator.joinGroup(joinReq({ memberId: g.leader }));
    const [r] = t.coordinator.describeGroups(['g']);
    expect(r.groupState).toBe('PreparingRebalance');
    expect(r.protocolData).toBe('');
    expect(r.members.map((m) => m.memberAssignment.length)).toEqual([0, 0]);
  });

  it('describes unknown groups as Dead and offset-only groups as Empty', async () => {
    const { coordinator } = setup();
    await coordinator.commitOffsets(commitReq({ groupId: 'simple' }));
    expect(coordinator.describeGroups(['nope', 'simple']).map((d) => [d.groupId, d.errorCode, d.groupState, d.members.length])).toEqual([
      ['nope', 0, 'Dead', 0],
      ['simple', 0, 'Empty', 0],
    ]);
  });

  it('lists live and offset-only groups, filtered by state case-insensitively', async () => {
    const t = setup();
    await stableGroup(t, [{ groupId: 'live' }]);
    await t.coordinator.commitOffsets(commitReq({ groupId: 'simple' }));
    expect(t.coordinator.listGroups()).toEqual([
      { groupId: 'live', protocolType: 'consumer', groupState: 'Stable' },
      { groupId: 'simple', protocolType: '', groupState: 'Empty' },
    ]);
    expect(t.coordinator.listGroups(['empty']).map((g) => g.groupId)).toEqual(['simple']);
    expect(t.coordinator.listGroups(['Stable', 'PreparingRebalance']).map((g) => g.groupId)).toEqual(['live']);
    expect(t.coordinator.listGroups([]).length).toBe(2);
  });

  it('deletes empty groups with their offsets, refuses non-empty and unknown ones', async () => {
    const t = setup();
    const g = await stableGroup(t, [{ groupId: 'live' }]);
    await t.coordinator.commitOffsets(commitReq({ groupId: 'simple' }));
    await t.coordinator.commitOffsets(commitReq({ groupId: 'live', generationId: 1, memberId: g.ids[0] }));
    expect(t.coordinator.deleteGroups(['live', 'simple', 'nope'])).toEqual([
      { groupId: 'live', errorCode: 68 },
      { groupId: 'simple', errorCode: 0 },
      { groupId: 'nope', errorCode: 69 },
    ]);
    t.coordinator.leaveGroup({ groupId: 'live', members: [{ memberId: g.ids[0], groupInstanceId: null }] });
    expect(t.coordinator.deleteGroups(['live'])).toEqual([{ groupId: 'live', errorCode: 0 }]);
    await flush();
    expect(t.coordinator.listGroups()).toEqual([]);
    expect(t.coordinator.fetchOffsets('live', null).topics).toEqual([]);
    expect(t.coordinator.describeGroups(['live'])[0].groupState).toBe('Dead');
    expect(t.coordinator.deleteGroups(['live'])).toEqual([{ groupId: 'live', errorCode: 69 }]);
    expect(t.clock.pendingTimers).toBe(0);
  });
});
