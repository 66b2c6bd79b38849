import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { validateReport } from '../../report/validate.ts';
import { ingressEvents } from '../../scenarios/load/ingress-feed.ts';
import { formatVerifyReport } from '../../systems/oracle/index.ts';
import { startLandscape, type Landscape } from '../../systems/runtime/landscape.ts';
import { topicPrefixOf } from '../../systems/runtime/options.ts';
import { driveEvents, waitForOutcome } from '../../systems/runtime/run-check.ts';
import { hubLayout, loadTopology, restrictTo } from '../../systems/topology/index.ts';
import { startBrokerProcess } from '../helpers/broker-process.ts';
import { peerChecks, requirePeer, RABBITMQ_URL } from '../helpers/peers.ts';

// The second bundled landscape (scenarios/topologies/insurer.yaml, 18 systems of an insurer): its
// scenario runs --quick in every runner, and its three-instance claims system shares the work in
// both layouts: three members of one consumer group in the hub, calls spread over three instances
// in the legacy layout.

const execFileP = promisify(execFile);
const TOPOLOGY = 'scenarios/topologies/insurer.yaml';
const SCENARIO = 'scenarios/insurer.yaml';
const hasRabbit = await requirePeer('rabbitmq', () => peerChecks.rabbitmq());
const full = loadTopology(TOPOLOGY);
const multi = full.systems.find((s) => s.instances === 3)!;
const ingress = full.systems.find((s) => s.role === 'ingress')!;
/** Systems within `hops` flows of `from`, following flows forwards (or backwards). */
function near(from: string, hops: number, backwards = false): Set<string> {
  const seen = new Set([from]);
  let edge = [from];
  for (let i = 0; i < hops; i++) {
    edge = full.flows.filter((f) => edge.includes(backwards ? f.to : f.from)).map((f) => (backwards ? f.from : f.to)).filter((x) => !seen.has(x));
    for (const x of edge) seen.add(x);
  }
  return seen;
}
/** The ingress, the three-instance system, and what lies between them within two flows. */
const fromIngress = near(ingress.id, 2);
const toMulti = near(multi.id, 2, true);
const CORE = full.systems.map((s) => s.id).filter((id) => fromIngress.has(id) && toMulti.has(id));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const workDir = (name: string): string => {
  const d = mkdtempSync(join(tmpdir(), `untangle-insurer-${name}-`));
  dirs.push(d);
  return d;
};

/** Records each instance of the three-instance system received (GET /state of each). */
async function receivedPerInstance(ls: Landscape): Promise<number[]> {
  return Promise.all(ls.instancesOf(multi.id).map(async (name) => {
    const state = (await ls.state(name)) as { received: Record<string, { count: number }> };
    return Object.values(state.received).reduce((a, r) => a + r.count, 0);
  }));
}

describe.runIf(hasRabbit)('the insurer landscape', () => {
  const sub = restrictTo(full, CORE);
  const events = ingressEvents(sub, 5, 150);

  it('has a system of three instances that a rest-sync flow calls', () => {
    expect(multi.instances).toBe(3);
    expect(full.flows.some((f) => f.to === multi.id && f.legacy.transport === 'rest-sync')).toBe(true);
    expect(CORE).toContain(multi.id);
  });

  it('legacy: the calls spread over the three instances, nothing lost or duplicated', async () => {
    const ls = await startLandscape({ topologyFile: TOPOLOGY, systems: CORE, layout: 'legacy', workDir: workDir('legacy'), runId: `i${Date.now() % 1_000_000}l`, amqpUrl: RABBITMQ_URL, seed: 5 });
    try {
      expect((await driveEvents(ls.ingressUrl, events, 4)).failures).toEqual({});
      const check = await waitForOutcome(ls, events, 120_000, { seed: 5, pollMs: 500 });
      expect(check.report.totals.lake.lost + (check.report.totals.received?.lost ?? 0), formatVerifyReport(check.report)).toBe(0);
      expect(check.report.totals.received?.duplicated).toBe(0);
      const calls = await Promise.all(ls.instancesOf(multi.id).map(async (name) => ((await ls.state(name)) as { rest: { recordsAccepted: number } }).rest.recordsAccepted));
      console.log(`legacy: REST records accepted per instance of ${multi.id}: ${calls.join(', ')}`);
      for (const n of calls) expect(n).toBeGreaterThan(0);
      for (const n of await receivedPerInstance(ls)) expect(n).toBeGreaterThan(0);
    } finally {
      await ls.stop();
    }
  }, 300_000);

  it('hub: the three instances are the three members of the system\'s group, and share the records', async () => {
    const broker = await startBrokerProcess({ groupInitialRebalanceDelayMs: 0, defaultPartitions: 6 });
    const runId = `i${Date.now() % 1_000_000}h`;
    const ls = await startLandscape({ topologyFile: TOPOLOGY, systems: CORE, layout: 'hub', workDir: workDir('hub'), runId, kafkaBrokers: [broker.address], seed: 5 });
    try {
      expect((await driveEvents(ls.ingressUrl, events, 4)).failures).toEqual({});
      const check = await waitForOutcome(ls, events, 120_000, { seed: 5, pollMs: 500 });
      expect(check.report.ok, formatVerifyReport(check.report)).toBe(true);
      const groupId = hubLayout(sub, { topicPrefix: topicPrefixOf(sub.name, runId) }).systems.find((s) => s.systemId === multi.id)!.groupId;
      const admin = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        const { groups } = await admin.describeGroups([groupId]);
        expect(groups[0].state).toBe('Stable');
        expect(groups[0].members).toHaveLength(3);
      } finally {
        await admin.disconnect();
      }
      const perInstance = await receivedPerInstance(ls);
      console.log(`hub: records received per instance of ${multi.id}: ${perInstance.join(', ')}`);
      for (const n of perInstance) expect(n).toBeGreaterThan(0);
    } finally {
      await ls.stop();
      await broker.stop();
      await broker.cleanup();
    }
  }, 300_000);

  it('runs its scenario --quick in every runner, both layouts', async () => {
    const out = join(workDir('run'), 'run');
    await execFileP(process.execPath, ['bin/untangle.js', 'run', SCENARIO, '--quick', '--out', out], { env: { ...process.env, CI: 'true' }, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 })
      .catch((err: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`untangle run failed: ${err.message}\n--- stdout\n${err.stdout ?? ''}\n--- stderr\n${err.stderr ?? ''}`);
      });
    const checked = validateReport(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')));
    expect(checked.ok ? [] : checked.errors).toEqual([]);
    if (!checked.ok) return;
    const report = checked.report;
    expect(report.notes.filter((n) => /failed/.test(n))).toEqual([]);
    expect(Object.keys(report.runners).sort()).toEqual(['connections', 'failures', 'onboarding', 'throughput']);
    for (const l of report.runners.throughput!.layouts) for (const p of l.runs[0].search.points) expect(p.completionRate, `${l.layout} at ${p.targetPerS}/s`).toBe(1);
    const killed = report.runners.failures!.layouts.flatMap((l) => l.components.map((c) => `${l.layout}:${c.component}`));
    expect(killed).toContain(`hub:${multi.id}`);
    expect(killed).toContain(`legacy:${multi.id}`);
  }, 620_000);
});
