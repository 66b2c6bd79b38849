import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { resolveHub } from '../../infra/kafka.ts';
import { validateReport } from '../../report/validate.ts';
import type { Report } from '../../report/model.ts';
import { ingressEvents } from '../../scenarios/load/ingress-feed.ts';
import { canonicalSet, readLake } from '../../systems/lake/index.ts';
import { modelOf } from '../../systems/model/landscape-model.ts';
import { formatVerifyReport } from '../../systems/oracle/index.ts';
import { startLandscape, type Landscape } from '../../systems/runtime/landscape.ts';
import { collectSourceTicks, driveEvents, waitForOutcome } from '../../systems/runtime/run-check.ts';
import { loadTopology } from '../../systems/topology/index.ts';
import { startBrokerProcess } from '../helpers/broker-process.ts';
import { peerChecks, requirePeer, RABBITMQ_URL } from '../helpers/peers.ts';

// The acceptance test of declarative landscapes: a landscape written only for this test
// (test/fixtures/topologies/orbital.yaml: its system ids, names, kinds and fields appear nowhere in
// the code) runs in both layouts with nothing lost or duplicated and the same canonical lake, and
// through every runner of `untangle run` at a small scale.

const execFileP = promisify(execFile);
const TOPOLOGY = 'test/fixtures/topologies/orbital.yaml';
const SCENARIO = 'test/fixtures/scenarios/orbital.yaml';
const SEED = 11;
const EVENTS = 300;
const hasRabbit = await requirePeer('rabbitmq', () => peerChecks.rabbitmq());
const topology = loadTopology(TOPOLOGY);
const events = ingressEvents(topology, SEED, EVENTS);
const digests: Record<string, string> = {};
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function workDir(name: string): string {
  const d = mkdtempSync(join(tmpdir(), `untangle-orbital-${name}-`));
  dirs.push(d);
  return d;
}

/** Drives the events, waits until the scheduled source has fired all its ticks and every effect arrived, checks the oracle. */
async function runEvents(ls: Landscape, label: string): Promise<void> {
  const drive = await driveEvents(ls.ingressUrl, events, 4);
  expect(drive.failures, `${label}: ingress answers other than 2xx`).toEqual({});
  const source = topology.systems.find((s) => s.sources.length > 0)!;
  const times = source.sources[0].times!;
  for (let i = 0; i < 100; i++) {
    const ticks = await collectSourceTicks(ls);
    if (ticks.every((t) => t.ticks >= times) && ticks.length > 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const check = await waitForOutcome(ls, events, 90_000, { seed: SEED, pollMs: 500 });
  console.log(`${label}: ${events.length} events, settled in ${check.waitedMs} ms`);
  expect(check.report.ok, formatVerifyReport(check.report)).toBe(true);
  expect(check.report.totals.lake).toMatchObject({ lost: 0, duplicated: 0, unexpected: 0, mismatched: 0 });
  expect(check.report.totals.received).toMatchObject({ lost: 0, duplicated: 0 });
  expect(check.expected.byKind.get('brindle')?.size).toBe(times);
  expect(check.lakeBadLines).toBe(0);
  digests[label] = canonicalSet(readLake(ls.lakeDir, ls.layout, modelOf(ls.topology).kinds).records).sha256;
  // The two-instance system shared the work: both instances received records.
  const multi = topology.systems.find((s) => s.instances > 1)!;
  const perInstance = await Promise.all(ls.instancesOf(multi.id).map(async (name) => {
    const state = (await ls.state(name)) as { received: Record<string, { count: number }> };
    return Object.values(state.received).reduce((a, r) => a + r.count, 0);
  }));
  expect(perInstance, `${label}: records received per instance of ${multi.id}`).toHaveLength(multi.instances);
  for (const n of perInstance) expect(n).toBeGreaterThan(0);
}

describe.runIf(hasRabbit)('a landscape written only for the test, both layouts', () => {
  it('legacy: nothing lost, nothing duplicated, the two instances share the calls', async () => {
    const ls = await startLandscape({ topologyFile: TOPOLOGY, layout: 'legacy', workDir: workDir('legacy'), runId: `o${Date.now() % 1_000_000}l`, amqpUrl: RABBITMQ_URL, seed: SEED });
    try {
      await runEvents(ls, 'legacy');
    } finally {
      await ls.stop();
    }
  }, 240_000);

  it('hub: nothing lost, nothing duplicated, the two instances are members of one group; the same canonical lake as legacy', async () => {
    const broker = await startBrokerProcess({ groupInitialRebalanceDelayMs: 0, defaultPartitions: 6 });
    const hub = await resolveHub({ env: { KAFKA_BROKERS: broker.address } });
    const ls = await startLandscape({ topologyFile: TOPOLOGY, layout: 'hub', workDir: workDir('hub'), runId: `o${Date.now() % 1_000_000}h`, kafkaBrokers: hub.brokers, seed: SEED });
    try {
      await runEvents(ls, 'hub');
      expect(digests.legacy).toBeDefined();
      expect(digests.hub).toBe(digests.legacy);
    } finally {
      await ls.stop();
      await broker.stop();
      await broker.cleanup();
    }
  }, 240_000);
});

describe.runIf(hasRabbit)('untangle run on that landscape: every runner, both layouts', () => {
  let report: Report;

  it('runs connections, throughput, failures and onboarding and writes a valid report', async () => {
    const out = join(workDir('run'), 'run');
    await execFileP(process.execPath, ['bin/untangle.js', 'run', SCENARIO, '--out', out], { env: { ...process.env, CI: 'true' }, timeout: 400_000, maxBuffer: 16 * 1024 * 1024 })
      .catch((err: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`untangle run failed: ${err.message}\n--- stdout\n${err.stdout ?? ''}\n--- stderr\n${err.stderr ?? ''}`);
      });
    const checked = validateReport(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')));
    expect(checked.ok ? [] : checked.errors).toEqual([]);
    if (!checked.ok) return;
    report = checked.report;
    expect(report.notes.filter((n) => /failed/.test(n))).toEqual([]);
    expect(Object.keys(report.runners).sort()).toEqual(['connections', 'failures', 'onboarding', 'throughput']);
    expect(report.topology.systems.map((s) => s.id)).toEqual(topology.systems.map((s) => s.id));
  }, 420_000);

  it('measured every layout of every runner; no loss where no fault was injected', () => {
    const points = report.runners.connections!.points;
    expect(points.map((p) => `${p.layout}${p.n}`)).toEqual(['legacy3', 'hub3', 'legacy4', 'hub4']);
    for (const p of points) expect(p.ordersAccepted).toBe(p.ordersSent);
    for (const l of report.runners.throughput!.layouts) {
      // The cost point (10 orders/s, the first search point) is sustained: every order complete.
      const first = l.runs[0].search.points[0];
      expect(first.sustained, `${l.layout}: ${first.why.join('; ')}`).toBe(true);
      expect(first.completionRate, l.layout).toBe(1);
    }
    const failures = report.runners.failures!.layouts;
    expect(failures.map((l) => l.layout)).toEqual(['legacy', 'hub']);
    for (const l of failures) expect(l.components.map((c) => c.component)).toEqual(['NARWHAL']);
    const onboarding = report.runners.onboarding!.layouts;
    for (const l of onboarding) {
      expect(l.addedSystems).toEqual(['OKAPI']);
      expect(l.newcomers).toHaveLength(1);
    }
    const hub = onboarding.find((l) => l.layout === 'hub')!;
    expect(hub.restartedSystems).toEqual([]);
    expect(hub.newcomers[0].historyExpected).toBeGreaterThan(0);
    expect(hub.newcomers[0].historyReceived).toBe(hub.newcomers[0].historyExpected);
  });
});
