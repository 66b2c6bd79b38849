import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runScenario } from '../../scenarios/run.ts';
import { loadScenario } from '../../scenarios/scenario.ts';
import { createProgress } from '../../scenarios/progress.ts';
import { findRabbitmqServer } from '../../infra/rabbitmq-node.ts';
import { validateReport } from '../../report/validate.ts';
import type { FailureMeasurement, FailuresResult, Report } from '../../report/model.ts';
import { requirePeer } from '../helpers/peers.ts';

// The fair fight's second pair for real, through `untangle run`'s own code path (scenario file,
// runner, report files): systems A-D of the shop in legacy-ha (three local RabbitMQ nodes, quorum
// queues, every best practice: durable outboxes, peer reload, JSON, idempotent delivery) and in
// hub-cluster (three of our brokers, RF 3, acks=all, idempotent delivery), and the single-broker hub
// with idempotent delivery. Every system is killed once in each, then every node, the quorum leader
// and the lake sink: nothing is lost and nothing is applied twice, and a RabbitMQ node's kill is
// reported exactly as a broker's.

const TOPOLOGY = resolve('scenarios/topologies/shop.yaml');
const SYSTEMS = ['A', 'B', 'C', 'D'];

const hasRabbitServer = await requirePeer('rabbitmq-server', () => {
  if (!findRabbitmqServer()) throw new Error('rabbitmq-server is not on PATH (Debian package rabbitmq-server)');
});

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function show(l: FailuresResult['layouts'][number]): void {
  console.log(`${l.layout}: practices ${JSON.stringify(l.practices)}; skipped ${JSON.stringify(l.skipped)}; summary ${JSON.stringify(l.summary)}`);
  console.table(l.components.map((c) => ({
    component: c.component, kind: c.kind, readyMs: c.downMs, serviceMs: c.killToServiceMs, outageMs: c.ingressOutageMs,
    sent: c.ingressSent, failed: c.ingressFailed, accepted: c.ordersAccepted, lost: c.recordsLost, dup: c.recordsDuplicated,
    inSyncMs: c.replicasInSyncMs, leadersBackMs: c.leadersBackMs, spof: c.singlePointOfFailure,
  })));
}

describe.runIf(hasRabbitServer)('failures runner, the HA pair: legacy-ha against hub-cluster, and the hub with idempotent delivery (A-D)', () => {
  let report: Report;
  const layout = (name: string): FailuresResult['layouts'][number] => {
    const l = report.runners.failures!.layouts.find((x) => x.layout === name);
    expect(l, `layout ${name} measured`).toBeDefined();
    return l!;
  };

  it('kills every system, node, quorum leader and lake sink in each layout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'untangle-failures-ha-'));
    dirs.push(dir);
    const file = join(dir, 'failures-ha.yaml');
    writeFileSync(file, [
      'name: failures-ha',
      `topology: ${JSON.stringify(TOPOLOGY)}`,
      'layouts: [legacy, hub]',
      `systems: [${SYSTEMS.join(', ')}]`,
      'seed: 7',
      'runners:',
      '  failures:',
      '    loadOrdersPerS: 10',
      '    warmupS: 2',
      '    downS: 2',
      // Long enough for hub-cluster to fail over while the broker is still down: 2-4 s for a broker,
      // up to about 5 s when the killed broker also led the controller quorum and coordinated the
      // lake sink's group (a controller failover, then the group's), and the verdict looks at the
      // second half of the down time.
      '    infraDownS: 10',
      '    observeS: 2',
      '    settleS: 40',
      '    components: all',
      '    layouts: [legacy-ha, hub-cluster, hub]',
      '    practices: { hub: { delivery: idempotent } }',
      '',
    ].join('\n'));
    const out = join(dir, 'run');
    const started = Date.now();
    const outcome = await runScenario(loadScenario(file), {
      outDir: out, runId: 'failures-ha-test', keepWork: false,
      progress: createProgress({ interactive: false, write: (line) => console.log(line) }),
    });
    console.log(`the HA pair's failures took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const n of outcome.report.notes) console.log(`note: ${n}`);
    expect(outcome.failed, outcome.report.notes.join('\n')).toEqual([]);
    const checked = validateReport(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')));
    expect(checked.ok ? [] : checked.errors).toEqual([]);
    if (!checked.ok) return;
    report = checked.report;
    for (const l of report.runners.failures!.layouts) show(l);
    expect(report.runners.failures!.layouts.map((l) => l.layout)).toEqual(['legacy-ha', 'hub-cluster', 'hub']);
  }, 600_000);

  it('every system of every layout is killed once; each cluster also loses each node and its quorum leader', () => {
    expect(report, 'the run above produced a report').toBeDefined();
    const names = (l: string): string[] => layout(l).components.map((c) => c.component);
    expect(names('legacy-ha').slice(0, 7)).toEqual([...SYSTEMS, 'rabbitmq-1', 'rabbitmq-2', 'rabbitmq-3']);
    expect(names('legacy-ha')[7]).toMatch(/^quorum-leader \(rabbitmq-[123]\)$/);
    expect(layout('legacy-ha').skipped.map((s) => s.component)).toEqual(['lake-sink']);
    expect(names('hub-cluster').slice(0, 7)).toEqual([...SYSTEMS, 'broker-1', 'broker-2', 'broker-3']);
    expect(names('hub-cluster').slice(7)).toEqual([expect.stringMatching(/^quorum-leader \(broker-[123]\)$/), 'lake-sink']);
    expect(names('hub')).toEqual([...SYSTEMS, 'broker', 'lake-sink']);
  });

  it('with idempotent delivery and the durable outbox: nothing lost, nothing applied twice, in all three', () => {
    expect(report, 'the run above produced a report').toBeDefined();
    expect(layout('legacy-ha').practices).toEqual({ outbox: 'durable', peers: 'reload', formats: 'json', delivery: 'idempotent' });
    for (const name of ['legacy-ha', 'hub-cluster', 'hub']) {
      const l = layout(name);
      expect(l.practices?.delivery, name).toBe('idempotent');
      for (const c of l.components) {
        expect(c.ordersAccepted, `${name} ${c.component}: orders accepted`).toBeGreaterThan(0);
        expect(c.recordsLost, `${name} ${c.component}: records lost ${JSON.stringify(c.lostByCause)}`).toBe(0);
        expect(c.recordsDuplicated, `${name} ${c.component}: records duplicated`).toBe(0);
      }
      expect(l.summary.totalRecordsLost, name).toBe(0);
      expect(l.summary.totalRecordsDuplicated, name).toBe(0);
    }
  });

  it('a RabbitMQ node of three lost: no acknowledged message lost, the service carries on, reported as a broker of three is', () => {
    expect(report, 'the run above produced a report').toBeDefined();
    const nodeKills = (name: string, kind: string): FailureMeasurement[] => layout(name).components.filter((c) => c.kind === kind && !c.component.startsWith('quorum-leader'));
    const rabbits = nodeKills('legacy-ha', 'rabbitmq');
    const brokers = nodeKills('hub-cluster', 'broker');
    expect(rabbits.map((c) => c.component)).toEqual(['rabbitmq-1', 'rabbitmq-2', 'rabbitmq-3']);
    expect(brokers.map((c) => c.component)).toEqual(['broker-1', 'broker-2', 'broker-3']);
    for (const c of [...rabbits, ...brokers]) {
      expect(c.downMs, c.component).toBeGreaterThanOrEqual(7000);
      expect(c.recordsLost, `${c.component}: records lost`).toBe(0);
      expect(c.ingressFailed / Math.max(1, c.ingressSent), `${c.component}: ingress error rate`).toBeLessThanOrEqual(0.5);
      // A broker that also led the controller quorum is two failovers at once (the runner remarks
      // it): there the lake sink's consumer has been seen to stall through the second half of the
      // down time on a loaded machine, a known weakness (docs/broker.md) that the report names as a
      // single point of failure. Every other node kill must carry on while the node is down.
      if (!report.notes.some((n) => n.includes(`${c.component} led the controller quorum`))) {
        expect(c.resumedWhileDown, `${c.component}: service resumed while down`).toBe(true);
        expect(c.singlePointOfFailure, `${c.component}: single point of failure`).toBe(false);
      }
      expect(c.killToServiceMs, `${c.component}: kill → service`).not.toBeNull();
      expect(c.killToServiceMs!, `${c.component}: service back before the node`).toBeLessThan(c.downMs);
      expect(c.killToServiceMs! % 100, `${c.component}: kill → service in 100 ms steps`).toBe(0);
      expect(c.replicasInSyncMs, `${c.component}: the cluster whole again`).not.toBeNull();
      expect(c.leadersBackMs, `${c.component}: leaders back`).not.toBeNull();
    }
    // The same figures, field for field, for a node of either cluster.
    const fields = (c: FailureMeasurement): string[] => Object.keys(c).filter((k) => !['component', 'kind', 'locatedBy', 'remark'].includes(k)).sort();
    expect(fields(rabbits[0])).toEqual(fields(brokers[0]));
  });

  it('puts both pairs into the headline, each compared over the components both layouts tested', () => {
    expect(report, 'the run above produced a report').toBeDefined();
    const lost = report.headline.find((h) => h.runner === 'failures' && /^records lost/.test(h.metric));
    const duplicated = report.headline.find((h) => h.runner === 'failures' && /^records duplicated/.test(h.metric));
    expect(lost, report.headline.map((h) => h.metric).join('\n')).toBeDefined();
    expect(duplicated, report.headline.map((h) => h.metric).join('\n')).toBeDefined();
    expect(lost).toMatchObject({ 'legacy-ha': 0, 'hub-cluster': 0, legacy: null });
    expect(duplicated).toMatchObject({ 'legacy-ha': 0, 'hub-cluster': 0, legacy: null });
    const md = readFileSync(join(dirs[dirs.length - 1], 'run', 'report.md'), 'utf8');
    expect(md).toContain('| runner | metric | legacy-ha | hub-cluster | hub-cluster/legacy-ha | better |');
  });
});
