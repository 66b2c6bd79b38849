// A legacy system's flow set as data: what a peer reload starts, stops, rebuilds or leaves alone,
// from the topology and the peers' addresses alone (systems/legacy/flow-set.ts).
import { describe, expect, it } from 'vitest';
import { diffFlowPlans, describeDiff, emptyPlan, isEmptyDiff, planFlows, rulesChanged } from '../../../systems/legacy/flow-set.ts';
import { loadTopology, restrictTo, type Topology } from '../../../systems/topology/index.ts';

const shop = loadTopology('scenarios/topologies/shop.yaml');
const sub = (ids: string[]): Topology => restrictTo(shop, ids);
const peers = Object.fromEntries(shop.systems.map((s, i) => [s.id, [`http://127.0.0.1:${4000 + i}`]]));
const keys = (ps: { key: string }[]): string[] => ps.map((p) => p.key).sort();

describe('legacy flow set', () => {
  it('plans each flow of a system from its end, with the peer addresses its transport talks to', () => {
    const plan = planFlows(sub(['A', 'B', 'C', 'D', 'I']), 'A', peers);
    expect([...plan.flows.keys()].sort()).toEqual(['out:a-b-payment', 'out:a-c-stock', 'out:a-i-score']);
    expect(plan.flows.get('out:a-i-score')!.peerUrls).toEqual(peers.I);
    const b = planFlows(sub(['A', 'B', 'C', 'D', 'F', 'I']), 'F', peers);
    // F polls B's feed (rest-poll: the receiver holds the sender's address).
    expect(b.flows.get('in:b-f-payments')!.peerUrls).toEqual(peers.B);
    const amqp = planFlows(sub(['A', 'B', 'C', 'D', 'I']), 'B', peers).flows.get('out:b-i-payments')!;
    expect(amqp.peerUrls).toEqual([]);
    expect(() => planFlows(sub(['A', 'B', 'C', 'D', 'I']), 'A', { B: peers.B, C: peers.C })).toThrow(/flow a-i-score needs the address of system I/);
  });

  it('adding a system: the senders to it gain flows; every other flow is unchanged', () => {
    const before = sub(['A', 'B', 'C', 'D']);
    const after = sub(['A', 'B', 'C', 'D', 'I']);
    const a = diffFlowPlans(planFlows(before, 'A', peers), planFlows(after, 'A', peers));
    expect(keys(a.added)).toEqual(['out:a-i-score']);
    expect(a.removed).toEqual([]);
    expect(a.changed).toEqual([]);
    expect(keys(a.unchanged)).toEqual(['out:a-b-payment', 'out:a-c-stock']);
    expect(describeDiff(a)).toBe('+a-i-score(out)');
    const b = diffFlowPlans(planFlows(before, 'B', peers), planFlows(after, 'B', peers));
    expect(keys(b.added)).toEqual(['out:b-i-payments']);
    const c = diffFlowPlans(planFlows(before, 'C', peers), planFlows(after, 'C', peers));
    expect(isEmptyDiff(c)).toBe(true);
    expect(describeDiff(c)).toBe('no change');
    // And back: the flows to the newcomer are removed.
    const back = diffFlowPlans(planFlows(after, 'A', peers), planFlows(before, 'A', peers));
    expect(keys(back.removed)).toEqual(['out:a-i-score']);
    expect(back.added).toEqual([]);
  });

  it('a new peer address, a new format or a new default rebuilds exactly the flows built from it', () => {
    const t = sub(['A', 'B', 'C', 'D', 'I']);
    const moved = { ...peers, I: ['http://127.0.0.1:5999', 'http://127.0.0.1:5998'] };
    const d = diffFlowPlans(planFlows(t, 'A', peers), planFlows(t, 'A', moved));
    expect(d.changed.map((c) => c.after.key)).toEqual(['out:a-i-score']);
    expect(d.changed[0].after.peerUrls).toEqual(moved.I);
    // B's AMQP flow to I knows no address: moving I changes nothing for it.
    expect(isEmptyDiff(diffFlowPlans(planFlows(t, 'B', peers), planFlows(t, 'B', moved)))).toBe(true);
    const json: Topology = { ...t, flows: t.flows.map((f) => (f.id === 'c-d-pick' ? { ...f, legacy: { ...f.legacy, format: 'json' } } : f)) };
    expect(diffFlowPlans(planFlows(t, 'D', peers), planFlows(json, 'D', peers)).changed.map((c) => c.after.key)).toEqual(['in:c-d-pick']);
    const slower: Topology = { ...t, defaults: { ...t.defaults, restTimeoutMs: t.defaults.restTimeoutMs + 1 } };
    // a-c-stock and a-i-score set their own timeout; a-b-payment takes the default.
    expect(diffFlowPlans(planFlows(t, 'A', peers), planFlows(slower, 'A', peers)).changed.map((c) => c.after.key)).toEqual(['out:a-b-payment']);
  });

  it('the first build starts everything; plans of different systems are not compared', () => {
    const plan = planFlows(shop, 'B', peers);
    const d = diffFlowPlans(emptyPlan('B'), plan);
    expect(d.added.length).toBe(plan.flows.size);
    expect(() => diffFlowPlans(emptyPlan('A'), plan)).toThrow(/system A with those of B/);
  });

  it('tells a change of the system\'s own rules from a change of its wiring', () => {
    const before = sub(['A', 'B', 'C', 'D']);
    const after = sub(['A', 'B', 'C', 'D', 'I']);
    for (const id of ['A', 'B', 'C', 'D']) expect(rulesChanged(before, after, id)).toBe(false);
    const costlier: Topology = { ...after, systems: after.systems.map((s) => (s.id === 'B' ? { ...s, costPerMessageUs: s.costPerMessageUs + 1 } : s)) };
    expect(rulesChanged(before, costlier, 'B')).toBe(true);
    expect(rulesChanged(before, costlier, 'A')).toBe(false);
  });
});
