import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runThroughput } from '../../scenarios/runners/throughput.ts';
import { searchSustainedRate } from '../../scenarios/runners/throughput/search.ts';
import { backlogGrowth } from '../../scenarios/runners/throughput/point.ts';
import { throughputSettingsSchema } from '../../scenarios/settings.ts';
import type { RunnerContext } from '../../scenarios/runners/context.ts';
import type { ThroughputResult } from '../../report/model.ts';
import { peerChecks, RABBITMQ_URL, requirePeer } from '../helpers/peers.ts';

// The rate search as a method (a pure search over a known edge), the backlog check, and the whole
// runner against a landscape whose limit is known: `slow` handles one order at a time with a
// declared 100 ms each (test/scenarios/fixtures/throttled.yaml), so 10 orders/s at most.

describe('searchSustainedRate', () => {
  const edge = (limit: number) => async (rate: number) => ({ point: rate, sustained: rate <= limit });

  it('brackets by doubling, then bisects to the precision asked', async () => {
    const out = await searchSustainedRate(edge(137), { start: 10, max: 5000, precision: 0.05, maxPoints: 20 });
    expect(out.stoppedBecause).toBe('precision');
    expect(out.sustained!).toBeLessThanOrEqual(137);
    expect(out.sustained!).toBeGreaterThanOrEqual(137 / 1.05);
    expect((out.failed! - out.sustained!) / out.sustained!).toBeLessThanOrEqual(0.05);
    expect(out.points.slice(0, 5).map((p) => p.rate)).toEqual([10, 20, 40, 80, 160]);
  });

  it('halves from a start above the edge, and stops at the floor when nothing is sustained', async () => {
    const low = await searchSustainedRate(edge(7), { start: 100, max: 5000, precision: 0.1, maxPoints: 20 });
    expect(low.sustained!).toBeLessThanOrEqual(7);
    expect(low.sustained!).toBeGreaterThanOrEqual(7 / 1.1);
    const none = await searchSustainedRate(edge(0), { start: 4, max: 5000, min: 1, precision: 0.1, maxPoints: 20 });
    expect(none).toMatchObject({ sustained: null, stoppedBecause: 'min' });
  });

  it('counts a known point and starts at a hint, stepping by 25 %', async () => {
    const out = await searchSustainedRate(edge(260), { start: 10, hint: 250, known: { rate: 40, point: 40, sustained: true }, max: 5000, precision: 0.05, maxPoints: 10 });
    expect(out.points.map((p) => p.rate).slice(0, 3)).toEqual([40, 250, 312.5]);
    expect(out.sustained!).toBeGreaterThanOrEqual(260 / 1.05);
  });

  it('goes on from a known point without a hint as if it had measured it', async () => {
    const out = await searchSustainedRate(edge(100), { start: 30, known: { rate: 30, point: 30, sustained: true }, max: 5000, precision: 0.1, maxPoints: 10 });
    expect(out.points.map((p) => p.rate).slice(0, 3)).toEqual([30, 60, 120]);
  });

  it('never goes beyond its points or its ceiling', async () => {
    expect((await searchSustainedRate(edge(1e9), { start: 10, max: 100, precision: 0.1, maxPoints: 20 })).stoppedBecause).toBe('max');
    const few = await searchSustainedRate(edge(137), { start: 10, max: 5000, precision: 0.001, maxPoints: 4 });
    expect(few.points).toHaveLength(4);
    expect(few.stoppedBecause).toBe('points');
  });
});

describe('backlogGrowth', () => {
  const at = (sentAtMs: number, toSystemsMs: number) => ({ sentAtMs, toSystemsMs, toLakeMs: null, systemsComplete: true, complete: true });

  it('compares the last quarter with the first, halves when a quarter is shorter than the slowest hop, nothing below two hops', () => {
    // A delay growing 100 ms per second of sending over a 10 s window.
    const growing = Array.from({ length: 100 }, (_, i) => at(i * 100, 50 + i * 10));
    expect(backlogGrowth(growing, 0, 10_000, 0)).toBeCloseTo(750, -1);
    expect(backlogGrowth(growing, 0, 10_000, 3000)).toBeCloseTo(500, -1);
    expect(backlogGrowth(growing, 0, 10_000, 6000)).toBeNull();
    const flat = Array.from({ length: 100 }, (_, i) => at(i * 100, 40 + (i % 3)));
    expect(Math.abs(backlogGrowth(flat, 0, 10_000, 0)!)).toBeLessThanOrEqual(2);
  });
});

// The throttled landscape runs in the legacy layout (its limit is set by a queue's prefetch).
const hasRabbit = await requirePeer('rabbitmq', () => peerChecks.rabbitmq());

describe.runIf(hasRabbit)('the throughput runner on a landscape with a known limit', () => {
  const workDir = mkdtempSync(path.join(tmpdir(), 'untangle-tput-search-'));
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));
  const notes: string[] = [];
  const ctx: RunnerContext = {
    topologyFile: path.resolve('test/scenarios/fixtures/throttled.yaml'),
    systems: ['web', 'slow', 'fast'],
    runId: `t${Date.now().toString(36)}`,
    workDir,
    seed: 7,
    amqpUrl: RABBITMQ_URL,
    progress: { step: () => undefined, note: (line) => notes.push(line) },
    reportNote: (line) => notes.push(line),
  };
  const LIMIT = 1000 / 100;
  let result: ThroughputResult;

  it('finds the limit within 10 %, with the cost attributed and the idle cost per process', async () => {
    const settings = throughputSettingsSchema.parse({
      costRatePerS: 4, costRampS: 1, idleS: 1, rampS: 1, minWindowS: 4, minOrdersPerPoint: 50,
      precision: 0.04, maxPoints: 10, backlogGrowthBoundMs: 200, ingressP99BoundMs: 500, settleS: 15, scaleOutInstances: 1,
    });
    result = await runThroughput(ctx, settings, ['legacy'], 1);
    const run = result.layouts[0].runs[0];
    const found = run.search.sustainedPerS!;
    const trail = run.search.points.map((p) => `${p.targetPerS}${p.sustained ? '+' : `- (${p.why.join('; ')})`}`).join(', ');
    console.log(`rate search on the throttled landscape (limit ${LIMIT}/s): found ${found}/s; points ${trail}`);
    expect(found, trail).toBeGreaterThanOrEqual(0.9 * LIMIT);
    expect(found, trail).toBeLessThanOrEqual(1.1 * LIMIT);
    // A point above the limit failed because the backlog grew, not because the ingress refused.
    const above = run.search.points.filter((p) => p.targetPerS > 1.1 * LIMIT);
    expect(above.length).toBeGreaterThan(0);
    for (const p of above) expect(p.sustained, trail).toBe(false);
    expect(above.some((p) => p.why.some((w) => /backlog growing/.test(w))), trail).toBe(true);
    expect(run.search.bottleneck).not.toBe('');
  }, 240_000);

  it('splits the cost point\'s CPU by part, summing to the total within 5 %, and counts idle CPU per process', () => {
    const run = result.layouts[0].runs[0];
    const cost = run.cost!;
    expect(cost, notes.join('\n')).not.toBeNull();
    const sum = Object.values(cost.parts).reduce((s, x) => s + x, 0);
    expect(Math.abs(sum - cost.cpuMsPerOrder), JSON.stringify(cost.parts)).toBeLessThanOrEqual(0.05 * cost.cpuMsPerOrder);
    expect(Math.abs(cost.unattributedMsPerOrder)).toBeLessThanOrEqual(0.05 * cost.cpuMsPerOrder);
    expect(cost.parts.broker).toBeGreaterThan(0); // RabbitMQ's process
    expect(cost.parts.rules + cost.parts.serialization + cost.parts.transport).toBeGreaterThan(0);
    // web's order goes to slow and fast, and each exports to the lake: records crossing per order.
    expect(cost.recordsPerOrder).toBeGreaterThanOrEqual(2);
    expect(cost.loadgenMsPerOrder).toBeGreaterThan(0);
    expect(run.idle.perProcess.map((p) => p.process).sort()).toEqual(['fast', 'rabbitmq', 'slow', 'web']);
    for (const p of run.idle.perProcess) expect(p.cpuMsPerS).toBeGreaterThanOrEqual(0);
    expect(result.tuning.length).toBeGreaterThan(0);
  });
});
