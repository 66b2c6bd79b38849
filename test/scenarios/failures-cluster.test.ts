import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runScenario } from '../../scenarios/run.ts';
import { loadScenario } from '../../scenarios/scenario.ts';
import { createProgress } from '../../scenarios/progress.ts';
import { planComponents } from '../../scenarios/runners/failures/components.ts';
import { concludeClusterLocation, mergeGroupReadings } from '../../scenarios/runners/failures/cluster-locate.ts';
import { concludeRabbitClusterLocation } from '../../scenarios/runners/failures/rabbit-cluster-locate.ts';
import type { Locator, LocatorSample, Members } from '../../scenarios/runners/failures/locate.ts';
import { validateReport } from '../../report/validate.ts';
import type { FailuresResult, Report } from '../../report/model.ts';

// The failures runner on the hub-cluster layout only: systems A-D of the shop on a cluster of three
// of our brokers (topics replicated 3 times, min.insync.replicas 2, acks=all), each broker killed
// in turn and then the controller quorum's leader, through `untangle run`'s own code path (scenario
// file, runner, report files). Before it, the rules the cluster's figures follow, on made-up inputs.

const TOPOLOGY = resolve('scenarios/topologies/shop.yaml');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

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

describe('failures runner, hub-cluster layout (A-D on three brokers)', () => {
  let report: Report;
  let failures: FailuresResult['layouts'][number];

  it('kills each broker and then the quorum leader: nothing lost, the service fails over while the broker is down, no single point of failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'untangle-failures-cluster-'));
    dirs.push(dir);
    const file = join(dir, 'failures-cluster.yaml');
    writeFileSync(file, [
      'name: failures-cluster',
      `topology: ${JSON.stringify(TOPOLOGY)}`,
      'layouts: [hub]',
      'systems: [A, B, C, D]',
      'runners:',
      '  failures: { loadOrdersPerS: 10, warmupS: 3, downS: 3, infraDownS: 7, observeS: 3, settleS: 30, components: [broker, quorum-leader], layouts: [hub-cluster] }',
      '',
    ].join('\n'));
    const scenario = loadScenario(file);
    const out = join(dir, 'run');
    const started = Date.now();
    const outcome = await runScenario(scenario, {
      outDir: out, runId: 'failures-cluster-test', keepWork: false,
      progress: createProgress({ interactive: false, write: (line) => console.log(line) }),
    });
    console.log(`hub-cluster failures took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(outcome.failed, outcome.report.notes.join('\n')).toEqual([]);

    const checked = validateReport(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')));
    expect(checked.ok ? [] : checked.errors).toEqual([]);
    if (!checked.ok) return;
    report = checked.report;
    expect(report.runners.failures!.layouts.map((l) => l.layout)).toEqual(['hub-cluster']);
    failures = report.runners.failures!.layouts[0];
    console.table(failures.components.map((c) => ({
      component: c.component, kind: c.kind, readyMs: c.downMs, serviceMs: c.killToServiceMs, sent: c.ingressSent, failed: c.ingressFailed, outageMs: c.ingressOutageMs,
      accepted: c.ordersAccepted, lost: c.recordsLost, dup: c.recordsDuplicated, ordersLost: c.ordersLost,
      inSyncMs: c.replicasInSyncMs, leadersBackMs: c.leadersBackMs, blast: c.blastRadius.join(','), locatable: c.locatable, spof: c.singlePointOfFailure,
    })));
    for (const c of failures.components) console.log(`  ${c.component}: ${c.locatedBy}`);
    for (const n of report.notes) console.log(`note: ${n}`);

    expect(failures.cluster).toEqual({ brokers: 3, controllers: 3, replicationFactor: 3, minInsyncReplicas: 2, acks: -1, brokerSessionTimeoutMs: 2000, leaderRebalanceIntervalMs: 1000 });
    expect(failures.skipped).toEqual([]);
    const names = failures.components.map((c) => c.component);
    expect(names.slice(0, 3)).toEqual(['broker-1', 'broker-2', 'broker-3']);
    expect(names[3]).toMatch(/^quorum-leader \(broker-[123]\)$/);
    expect(failures.components.map((c) => c.kind)).toEqual(['broker', 'broker', 'broker', 'quorum-leader']);
    for (const c of failures.components) {
      expect(c.downMs, c.component).toBeGreaterThanOrEqual(7000);
      expect(c.ordersAccepted, c.component).toBeGreaterThan(0);
      expect(c.recordsLost, `${c.component}: records lost`).toBe(0);
      // Ingress keeps taking orders: at most a failover's worth of requests fail.
      expect(c.ingressFailed / Math.max(1, c.ingressSent), `${c.component}: ingress error rate`).toBeLessThanOrEqual(0.5);
      expect(c.replicasInSyncMs, `${c.component}: replicas back in sync`).not.toBeNull();
      // The controller's leader rebalance gives the restarted broker its partitions back.
      expect(c.leadersBackMs, `${c.component}: leaders back on their preferred replicas`).not.toBeNull();
      expect(c.leadersBackMs!, c.component).toBeGreaterThanOrEqual(c.replicasInSyncMs!);
      // A new leader takes over within the down time: the service works again before the broker is back.
      expect(c.resumedWhileDown, `${c.component}: service resumed while down`).toBe(true);
      expect(c.killToServiceMs, `${c.component}: kill → service`).not.toBeNull();
      expect(c.killToServiceMs!, `${c.component}: kill → service before kill → ready`).toBeLessThan(c.downMs);
      expect(c.killToServiceMs! % 100, `${c.component}: kill → service in 100 ms steps`).toBe(0);
      expect(c.ingressOutageMs!, `${c.component}: longest ingress outage`).toBeLessThan(c.downMs);
      expect(c.singlePointOfFailure, `${c.component}: single point of failure`).toBe(false);
    }
  }, 240_000);

  it('puts hub-cluster into the headline and the failures section', () => {
    expect(report, 'the run above produced a report').toBeDefined();
    const spof = report.headline.find((h) => h.runner === 'failures' && h.metric === 'single points of failure in the integration')!;
    const flagged = failures.components.filter((c) => c.singlePointOfFailure).length;
    expect(flagged).toBe(0);
    expect(spof).toMatchObject({ legacy: null, hub: null, 'legacy-ha': null, 'hub-cluster': 0 });
    const md = readFileSync(join(dirs[dirs.length - 1], 'run', 'report.md'), 'utf8');
    expect(md).toContain('| runner | metric | legacy-ha | hub-cluster | hub-cluster/legacy-ha | better |');
    expect(md).toMatch(/\| failures \| single points of failure in the integration \(components\) \| not measured \| 0 \| – \| lower \|/);
    expect(md).toContain('hub-cluster is the hub on 3 brokers');
    expect(md).toContain('legacy-ha was not measured in this run, so hub-cluster is shown over every component it failed');
    expect(md).toMatch(/\| hub-cluster \| memory \| fixed \| declared \| idempotent \(best practice\) \|/);
  });
});
