import { describe, expect, it } from 'vitest';
import { planComponents } from '../../scenarios/runners/failures/components.ts';
import { concludeClusterLocation, mergeGroupReadings } from '../../scenarios/runners/failures/cluster-locate.ts';
import { concludeRabbitClusterLocation } from '../../scenarios/runners/failures/rabbit-cluster-locate.ts';
import type { Locator, LocatorSample, Members } from '../../scenarios/runners/failures/locate.ts';

// The rules the HA layouts' failures figures follow, on made-up inputs: which components hub-cluster
// and legacy-ha fail, and what each cluster, as the one place to look, names. The real runs of both
// layouts are in failures-ha.test.ts.

describe('hub-cluster: which components, and what the cluster names', () => {
  const parts = { layout: 'hub-cluster' as const, systems: ['A', 'B'], rabbitmqUnavailable: null, brokerUnavailable: null, clusterBrokers: ['broker-1', 'broker-2', 'broker-3'] };

  it('kills every system, each broker, the quorum leader and the lake sink; "broker" means each broker', () => {
    expect(planComponents('all', parts).planned.map((c) => `${c.name}:${c.kind}`))
      .toEqual(['A:system', 'B:system', 'broker-1:broker', 'broker-2:broker', 'broker-3:broker', 'quorum-leader:quorum-leader', 'lake-sink:lake-sink']);
    expect(planComponents(['lake-sink'], parts).planned.map((c) => c.name)).toEqual(['lake-sink']);
    const some = planComponents(['broker', 'quorum-leader', 'broker-2', 'rabbitmq'], parts);
    expect(some.planned.map((c) => c.name)).toEqual(['broker-1', 'broker-2', 'broker-3', 'quorum-leader']);
    expect(some.skipped).toEqual([{ component: 'rabbitmq', reason: 'the hub-cluster layout uses no RabbitMQ' }]);
    const hub = planComponents(['quorum-leader', 'broker-1'], { ...parts, layout: 'hub' });
    expect(hub.planned).toEqual([]);
    expect(hub.skipped.map((s) => s.component)).toEqual(['quorum-leader', 'broker-1']);
  });

  it('legacy-ha runs the same components: every system, each RabbitMQ node, the quorum leader; it has no lake sink', () => {
    const ha = { layout: 'legacy-ha' as const, systems: ['A', 'B'], rabbitmqUnavailable: null, brokerUnavailable: null, rabbitNodes: ['rabbitmq-1', 'rabbitmq-2', 'rabbitmq-3'] };
    const all = planComponents('all', ha);
    expect(all.planned.map((c) => `${c.name}:${c.kind}`))
      .toEqual(['A:system', 'B:system', 'rabbitmq-1:rabbitmq', 'rabbitmq-2:rabbitmq', 'rabbitmq-3:rabbitmq', 'quorum-leader:quorum-leader']);
    expect(all.skipped).toEqual([{ component: 'lake-sink', reason: 'legacy-ha has no lake sink: every system exports to the lake itself' }]);
    const some = planComponents(['rabbitmq', 'rabbitmq-2', 'quorum-leader', 'broker', 'broker-1'], ha);
    expect(some.planned.map((c) => c.name)).toEqual(['rabbitmq-1', 'rabbitmq-2', 'rabbitmq-3', 'quorum-leader']);
    expect(some.skipped).toEqual([
      { component: 'broker', reason: 'the legacy-ha layout has no broker' },
      { component: 'broker-1', reason: expect.stringContaining('not a component of the legacy-ha layout') },
    ]);
    // The nodes' names belong to legacy-ha: elsewhere 'rabbitmq' is the one RabbitMQ, or none.
    const legacy = planComponents(['rabbitmq', 'rabbitmq-1', 'quorum-leader'], { ...ha, layout: 'legacy' });
    expect(legacy.planned.map((c) => `${c.name}:${c.kind}`)).toEqual(['rabbitmq:rabbitmq']);
    expect(legacy.skipped.map((s) => s.component)).toEqual(['rabbitmq-1', 'quorum-leader']);
    expect(planComponents(['rabbitmq-1'], parts).skipped.map((s) => s.component)).toEqual(['rabbitmq-1']);
  });

  it('legacy-ha: the cluster names the node it did not count as running, and consumers whose queue grew unconsumed', () => {
    const nodes = ['rabbitmq-1', 'rabbitmq-2', 'rabbitmq-3'];
    const queues: Locator = { place: 'the RabbitMQ cluster', owners: new Map([['q-D', 'D']]), itself: 'the cluster', measure: 'queue depth', sample: () => Promise.reject(new Error('unused')) };
    const down = new Map<LocatorSample, string[] | null>();
    const at = (atMs: number, notRunning: string[] | null, depth: number, consumers = 1): LocatorSample => {
      const s: LocatorSample = { atMs, reachable: true, values: new Map([['q-D', { value: depth, consumers }]]) };
      down.set(s, notRunning);
      return s;
    };
    const node2 = concludeRabbitClusterLocation(queues, [at(0, [], 0), at(1000, ['rabbitmq-2'], 1), at(2000, ['rabbitmq-2'], 0)], 3, nodes, (s) => down.get(s) ?? null);
    expect(node2.named).toEqual(['rabbitmq-2']);
    expect(node2.locatedBy).toContain('rabbitmq-2 not running in the cluster from 1.0 s (2/3 samples) ⇒ rabbitmq-2');
    const consumer = concludeRabbitClusterLocation(queues, [at(0, [], 2, 0), at(1000, null, 5, 0), at(2000, [], 9, 0)], 3, nodes, (s) => down.get(s) ?? null);
    expect(consumer.named).toEqual(['D']);
    expect(consumer.locatedBy).toMatch(/every node running throughout; no cluster status in 1\/3 samples; queue depth of q-D 2→9/);
    const calm = concludeRabbitClusterLocation(queues, [at(0, [], 1), at(2000, [], 1)], 3, nodes, (s) => down.get(s) ?? null);
    expect(calm).toMatchObject({ named: [] });
    expect(calm.locatedBy).toMatch(/it named nobody$/);
  });

  const locator: Locator = { place: 'the cluster', owners: new Map([['g-D', 'D']]), itself: 'the cluster', measure: 'consumer lag', sample: () => Promise.reject(new Error('unused')) };
  const names = new Map([[1, 'broker-1'], [2, 'broker-2'], [3, 'broker-3']]);
  const sample = (atMs: number, members: Members, lag = 0, inflow = 100): LocatorSample => ({
    atMs, reachable: true, values: new Map([['g-D', { value: lag, inflow, parts: 't/0' }]]), members,
  });

  it('names the broker the active controller stopped reaching or the metadata dropped, and follows the quorum leader', () => {
    const all = [1, 2, 3];
    const loc = concludeClusterLocation(locator, [
      sample(0, { leaderId: 2, term: 4, reachableVoters: all, liveBrokers: all }),
      sample(1000, { leaderId: null, term: null, reachableVoters: null, liveBrokers: all }),
      sample(2000, { leaderId: 1, term: 5, reachableVoters: [1, 3], liveBrokers: all }),
      sample(3000, { leaderId: 1, term: 5, reachableVoters: [1, 3], liveBrokers: [1, 3] }),
    ], 3, names);
    expect(loc.named).toEqual(['broker-2']);
    expect(loc.locatedBy).toContain('broker-2 not reached by the active controller from 2.0 s, not among the live brokers from 3.0 s');
    expect(loc.locatedBy).toContain('quorum leader broker-2 (term 4) → broker-1 (term 5), none in 1/4 samples');
  });

  it('names a consumer whose lag grows as fast as its topics, and nobody when all is well', () => {
    const all = { leaderId: 1, term: 2, reachableVoters: [1, 2, 3], liveBrokers: [1, 2, 3] };
    expect(concludeClusterLocation(locator, [sample(0, all, 0, 100), sample(3000, all, 30, 130)], 3, names).named).toEqual(['D']);
    const calm = concludeClusterLocation(locator, [sample(0, all, 1, 100), sample(3000, all, 1, 130)], 3, names);
    expect(calm.named).toEqual([]);
    expect(calm.locatedBy).toMatch(/every broker present throughout.*it named nobody$/);
  });

  it('merges the brokers\' group readings: the widest, then the least lag', () => {
    const a = new Map([['g', { value: 9, inflow: 50, parts: 't/0' }]]);
    const b = new Map([['g', { value: 2, inflow: 90, parts: 't/0,t/1' }]]);
    const c = new Map([['g', { value: 1, inflow: 90, parts: 't/0,t/1' }]]);
    expect(mergeGroupReadings([a, b, c]).get('g')).toEqual({ value: 1, inflow: 90, parts: 't/0,t/1' });
  });

});
