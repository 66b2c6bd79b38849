import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { validateReport } from '../../report/validate.ts';
import type { Report } from '../../report/model.ts';
import { peerChecks, requirePeer } from '../helpers/peers.ts';

// The acceptance run: `untangle run scenarios/compare.yaml --quick` (the reduced landscape
// A–D, every runner, both layouts) end to end through the real command, then the report it wrote.

const execFileP = promisify(execFile);
const hasRabbit = await requirePeer('rabbitmq', () => peerChecks.rabbitmq());
const RUN_TIMEOUT_MS = 420_000;

describe.runIf(hasRabbit)('npm run compare -- --quick', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'untangle-compare-')), 'run');
  let report: Report;
  let stdout = '';

  it('runs every runner on A–D in both layouts and writes report.md, report.html and report.json', async () => {
    const started = Date.now();
    const run = await execFileP(process.execPath, ['bin/untangle.js', 'run', 'scenarios/compare.yaml', '--quick', '--out', out], {
      env: { ...process.env, CI: 'true' },
      timeout: RUN_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`untangle run failed: ${err.message}\n--- stdout\n${err.stdout ?? ''}\n--- stderr\n${err.stderr ?? ''}`);
    });
    stdout = run.stdout;
    console.log(`compare --quick took ${((Date.now() - started) / 1000).toFixed(1)} s\n${stdout}`);
    for (const f of ['report.md', 'report.html', 'report.json', 'run.log']) expect(existsSync(join(out, f)), f).toBe(true);
    const checked = validateReport(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')));
    expect(checked.ok ? [] : checked.errors).toEqual([]);
    if (!checked.ok) return;
    report = checked.report;
    expect(report.notes.filter((n) => n.includes('failed'))).toEqual([]);
    expect(Object.keys(report.runners).sort()).toEqual(['connections', 'failures', 'onboarding', 'throughput']);
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.topology.systems.map((s) => s.id)).toEqual(['A', 'B', 'C', 'D']);
  }, RUN_TIMEOUT_MS + 10_000);

  it('ends by printing the headline table and the report path', () => {
    expect(stdout).toMatch(/metric +legacy +hub +hub\/legacy/);
    expect(stdout).toContain(`report: `);
    expect(stdout).toContain('report.html');
  });

  it('counts more integration connections in the legacy layout than in the hub layout for n >= 4', () => {
    const points = report.runners.connections!.points;
    expect(points.map((p) => `${p.layout}${p.n}`)).toEqual(['legacy3', 'hub3', 'legacy4', 'hub4']);
    // Only measurements: the report derives its model of larger landscapes from the points.
    expect(report.runners.connections!.model).toBeUndefined();
    const at = (layout: string, n: number) => points.find((p) => p.layout === layout && p.n === n)!;
    const ns = [...new Set(points.map((p) => p.n))].filter((n) => n >= 4);
    expect(ns.length).toBeGreaterThan(0);
    for (const n of ns) {
      const [legacy, hub] = [at('legacy', n), at('hub', n)];
      expect(legacy.declaredLinks, `declared links at n=${n}`).toBeGreaterThan(hub.declaredLinks);
      expect(legacy.protocols.length, `protocols at n=${n}`).toBeGreaterThan(hub.protocols.length);
      expect(legacy.adaptersTotal, `adapters at n=${n}`).toBeGreaterThan(hub.adaptersTotal);
      // Live TCP is measured, not asserted either way: the hub's Kafka clients hold several
      // sockets each (producer, group coordinator, fetch), so it can be higher. Both must be seen.
      expect(legacy.liveTcpTotal).toBeGreaterThan(0);
      expect(hub.liveTcpTotal).toBeGreaterThan(0);
    }
    for (const p of points) {
      expect(p.liveTcpTotal, `${p.layout} n=${p.n}`).toBe(p.liveTcpPairs.reduce((s, x) => s + x.connections, 0));
      expect(p.ordersSent, `${p.layout} n=${p.n}`).toBeGreaterThan(0);
      expect(p.ordersAccepted, `${p.layout} n=${p.n}`).toBe(p.ordersSent);
    }
    // Hub: a star. Every system and the lake sink is connected to the broker, and to nothing else.
    const hub4 = at('hub', 4);
    expect(hub4.liveTcpPairs.every((x) => x.server === 'broker')).toBe(true);
    expect(new Set(hub4.liveTcpPairs.map((x) => x.client))).toEqual(new Set(['A', 'B', 'C', 'D', 'lake-sink']));
    // Legacy: the REST calls A->B and A->C, and C and D (the AMQP flows c-d-pick, d-c-shipped) to
    // RabbitMQ, found as a process of its own; batch files and lake exports hold no connection.
    const legacy4 = at('legacy', 4);
    expect(new Set(legacy4.liveTcpPairs.map((x) => `${x.client}->${x.server}`))).toEqual(new Set(['A->B', 'A->C', 'C->rabbitmq', 'D->rabbitmq']));
    expect(legacy4.liveTcpPerProcess.find((x) => x.process === 'rabbitmq')?.connections).toBeGreaterThanOrEqual(2);
  });

  it('finds at least one single point of failure in the legacy layout', () => {
    const legacy = report.runners.failures!.layouts.find((l) => l.layout === 'legacy')!;
    expect(legacy.summary.singlePointsOfFailure.length).toBeGreaterThan(0);
  });

  it('loses nothing in the hub layout when a consumer system is killed and restarted', () => {
    const hub = report.runners.failures!.layouts.find((l) => l.layout === 'hub')!;
    const consumer = hub.components.find((c) => c.component === 'D')!;
    expect(consumer, 'the quick failures run kills D').toBeDefined();
    expect(consumer.ordersAccepted).toBeGreaterThan(0);
    expect(consumer.recordsLost).toBe(0);
    expect(consumer.ordersLost).toBe(0);
  });

  it('measures throughput and cost in both layouts: the cost point is sustained, attributed, and the search went above it', () => {
    const t = report.runners.throughput!;
    expect(t.layouts.map((l) => l.layout)).toEqual(['legacy', 'hub']);
    expect(t.method.repeats).toBe(1);
    for (const l of t.layouts) {
      const processes = [...'ABCD', ...(l.layout === 'hub' ? ['lake-sink', 'broker'] : ['rabbitmq'])];
      const run = l.runs[0];
      expect(run.idle.perProcess.map((p) => p.process).sort()).toEqual([...processes].sort());
      const cost = run.cost!;
      expect(cost, `${l.layout}: no cost point (${report.notes.join(' | ')})`).not.toBeNull();
      expect(cost.point.completionRate, l.layout).toBe(1);
      expect(cost.point.toSystemsMs.p50, l.layout).not.toBeNull();
      expect(cost.point.toLakeMs.p99!).toBeGreaterThanOrEqual(cost.point.toLakeMs.p50!);
      expect(cost.point.ingressLatencyMs.p99!).toBeGreaterThanOrEqual(cost.point.ingressLatencyMs.p50!);
      expect(cost.cpuMsPerOrder, l.layout).toBeGreaterThan(0);
      expect(cost.parts.declaredWork, l.layout).toBeGreaterThan(0);
      expect(Math.abs(cost.unattributedMsPerOrder), `${l.layout} parts against the total`).toBeLessThanOrEqual(0.05 * cost.cpuMsPerOrder);
      expect(cost.socketBytesPerOrder, l.layout).toBeGreaterThan(0);
      expect(cost.perProcess.map((p) => p.process).sort()).toEqual([...processes].sort());
      expect(run.search.points.length).toBe(2);
      expect(run.search.points[1].targetPerS).toBeGreaterThan(run.search.points[0].targetPerS);
      expect(processes).toContain(run.search.bottleneck);
      expect(l.scaleOut).toBeNull();
    }
    expect(report.headline.filter((h) => h.runner === 'throughput').map((h) => h.metric)).toContain('highest sustained rate');
  });

  it('onboards I: legacy rewires the systems that feed it without a restart and gives it no history; the hub changes nothing and replays it all', () => {
    const [legacy, hub] = ['legacy', 'hub'].map((layout) => report.runners.onboarding!.layouts.find((l) => l.layout === layout)!);
    for (const l of [legacy, hub]) expect(l).toMatchObject({ initialSystems: ['A', 'B', 'C', 'D'], addedSystems: ['I'] });
    // Legacy with peers=reload (compare.yaml): A (calls I synchronously) and B (publishes payments
    // to I's queue) take the new topology while running: reconfigured, not restarted.
    expect(legacy.practices?.peers).toBe('reload');
    expect(legacy.reconfiguredSystems).toEqual(['A', 'B']);
    expect(legacy.reloadedSystems).toEqual(['A', 'B']);
    expect(legacy.restartedSystems).toEqual([]);
    expect(legacy.restartDowntimeMs).toBe(0);
    expect(legacy.newLinkIds).toEqual(['a-i-score', 'b-i-payments', 'I-lake-export']);
    expect(legacy.newcomers.map((n) => n.system)).toEqual(['I']);
    expect(legacy.newcomers.every((n) => n.historyExpected > 0 && n.historyReceived === 0 && !n.receivedHistory)).toBe(true);
    // ...but it is wired: it received the orders and payments that came after the change.
    const wired = /onboarding legacy: .* I 0\/\d+ \((\d+) records received in all\)/.exec(stdout);
    expect(Number(wired?.[1] ?? 0), 'records the legacy newcomer received after the change').toBeGreaterThan(0);
    // Hub: nothing existing changes or restarts, no request fails, I replays its whole history.
    expect(hub.restartedSystems).toEqual([]);
    expect(hub.reconfiguredSystems).toEqual([]);
    expect(hub.newLinkIds).toEqual(['I-hub']);
    expect(hub.ingressFailed).toBe(0);
    expect(hub.newcomers.every((n) => n.historyExpected > 0 && n.receivedHistory && n.historyReceived === n.historyExpected)).toBe(true);
  });

  it('re-renders the run with `untangle report DIR`', async () => {
    const run = await execFileP(process.execPath, ['bin/untangle.js', 'report', out], { timeout: 60_000 });
    expect(run.stdout).toContain('report.html');
  }, 70_000);
});
