import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { runFailures } from '../../scenarios/runners/failures.ts';
import { planComponents } from '../../scenarios/runners/failures/components.ts';
import { concludeLocation, groupReadings, type Locator, type LocatorSample } from '../../scenarios/runners/failures/locate.ts';
import { attributeLoss, OUTSIDE } from '../../scenarios/runners/failures/loss.ts';
import { errorTotal, judgeProcess, receivedTotal, type StateMonitor, type StateSample } from '../../scenarios/runners/failures/observe.ts';
import { stillStoppedHalfway } from '../../scenarios/runners/failures/figures.ts';
import type { RequestRecord, SteadyLoad } from '../../scenarios/load/steady.ts';
import type { RunnerContext } from '../../scenarios/runners/context.ts';
import { failuresSettingsSchema } from '../../scenarios/settings.ts';
import { failuresResultSchema, type FailureMeasurement, type FailuresResult } from '../../report/model.ts';
import { findRabbitmqServer, startRabbitNode, type RabbitNode } from '../../infra/rabbitmq-node.ts';
import { expectedOutcome, ingressRootKey, verify } from '../../systems/oracle/index.ts';
import { ingressEvents } from '../../scenarios/load/ingress-feed.ts';
import { loadTopology, restrictTo } from '../../systems/topology/index.ts';
import { requirePeer, RABBITMQ_URL } from '../helpers/peers.ts';

// The failures runner for real on systems A-D of the shop (A calls B and C over REST; C and D talk
// over RabbitMQ in the legacy layout), in both layouts, with short durations; a private RabbitMQ
// node (never the shared one) for the legacy layout; and the rules the figures follow, on made-up
// inputs.

const TOPOLOGY = 'scenarios/topologies/shop.yaml';
const SYSTEMS = ['A', 'B', 'C', 'D'];
const SHORT = { loadOrdersPerS: 10, warmupS: 3, downS: 3, observeS: 4, settleS: 15 };

const hasRabbitServer = await requirePeer('rabbitmq-server', () => {
  if (!findRabbitmqServer()) throw new Error('rabbitmq-server is not on PATH (Debian package rabbitmq-server)');
});

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function context(label: string): RunnerContext {
  const workDir = mkdtempSync(join(tmpdir(), `untangle-failures-${label}-`));
  dirs.push(workDir);
  return {
    topologyFile: TOPOLOGY,
    systems: SYSTEMS,
    runId: `t${Date.now() % 1_000_000}${label[0]}`,
    workDir,
    seed: 42,
    amqpUrl: RABBITMQ_URL,
    progress: {
      step: (line) => console.log(`[step] ${line}`),
      note: (line) => console.log(`[note] ${line}`),
    },
  };
}

function show(result: FailuresResult): void {
  for (const l of result.layouts) {
    console.log(`${l.layout}: baseline ${l.baselineOrdersPerS.toFixed(2)} orders/s; skipped ${JSON.stringify(l.skipped)}; summary ${JSON.stringify(l.summary)}`);
    console.table(l.components.map((c) => ({
      component: c.component, kind: c.kind, downMs: c.downMs, sent: c.ingressSent, failed: c.ingressFailed,
      errorRate: Number(c.ingressErrorRate.toFixed(2)), accepted: c.ordersAccepted, expected: c.recordsExpected,
      lost: c.recordsLost, dup: c.recordsDuplicated, ordersLost: c.ordersLost, blast: c.blastRadius.join(','),
      readyMs: c.downMs, serviceMs: c.killToServiceMs, outageMs: c.ingressOutageMs, locatable: c.locatable, spof: c.singlePointOfFailure,
    })));
    for (const c of l.components) {
      console.log(`  ${c.component} located by: ${c.locatedBy}\n  ${c.component} lost by cause: ${JSON.stringify(c.lostByCause)}`
        + `\n  ${c.component} timeline: ${(c.outcomeTimeline?.points ?? []).map((b) => `${b.accepted}/${b.failed}`).join(' ')}`);
    }
  }
}

function component(result: FailuresResult, name: string): FailureMeasurement {
  const c = result.layouts[0].components.find((x) => x.component === name);
  expect(c, `component ${name} measured`).toBeDefined();
  return c!;
}

describe.runIf(hasRabbitServer)('private RabbitMQ node (infra/rabbitmq-node.ts)', () => {
  let node: RabbitNode | undefined;
  afterAll(async () => {
    await node?.stop();
  });

  it('keeps a durable queue and a persistent message across kill -9, and leaves nothing behind on stop', async () => {
    node = await startRabbitNode({ log: (l) => console.log(l) });
    expect(node.url).toMatch(/^amqp:\/\/guest:guest@127\.0\.0\.1:\d+$/);
    expect(node.port).not.toBe(5672);
    expect(node.processes().length).toBeGreaterThan(0);
    const conn = await amqp.connect(node.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('survivor', { durable: true });
    ch.sendToQueue('survivor', Buffer.from('still here'), { persistent: true });
    await ch.waitForConfirms();
    await conn.close();
    // RabbitMQ writes new queue metadata to disk lazily (a queue declared just before a kill -9 can vanish);
    // the message itself is on disk once confirmed.
    await new Promise((r) => setTimeout(r, 3000));

    const beamBefore = node.processes();
    await node.kill();
    // The group is gone at once; Erlang's port helpers (their own sessions) follow within moments.
    for (let i = 0; i < 50 && node.processes().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(node.processes(), `processes of the node left after kill -9 (before: ${beamBefore.join(', ')})`).toEqual([]);
    await expect(amqp.connect(node.url)).rejects.toThrow();

    await node.restart();
    const conn2 = await amqp.connect(node.url);
    const ch2 = await conn2.createChannel();
    expect((await ch2.checkQueue('survivor')).messageCount).toBe(1);
    const msg = await ch2.get('survivor', { noAck: true });
    expect(msg && msg.content.toString()).toBe('still here');
    await conn2.close();

    const dir = node.dir;
    await node.stop();
    expect(node.processes()).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }, 90_000);
});

describe.runIf(hasRabbitServer)('failures runner, legacy layout (A-D, private RabbitMQ)', () => {
  it('finds B (synchronous REST dependency of the ingress) a single point of failure, and RabbitMQ located by itself', async () => {
    const settings = failuresSettingsSchema.parse({ ...SHORT, components: ['B', 'D', 'rabbitmq', 'lake-sink'] });
    const result = await runFailures(context('legacy'), settings, ['legacy']);
    show(result);
    expect(failuresResultSchema.parse(result)).toEqual(result);
    const layout = result.layouts[0];
    expect(layout.layout).toBe('legacy');
    expect(layout.baselineOrdersPerS).toBeGreaterThan(8);
    expect(layout.skipped).toEqual([expect.objectContaining({ component: 'lake-sink' })]);

    const b = component(result, 'B');
    expect(b.kind).toBe('system');
    expect(b.downMs).toBeGreaterThanOrEqual(3000);
    expect(b.ingressSent).toBeGreaterThan(20);
    expect(b.ingressErrorRate).toBeGreaterThan(0.5);
    expect(b.singlePointOfFailure).toBe(true);
    expect(b.blastRadius).toContain('A');
    // B takes its orders over REST only: RabbitMQ's queues cannot point at it.
    expect(b.locatable).toBe(false);
    // Answers by the time they came, 500 ms buckets from 2 s before the kill to the end of the observation.
    expect(b.outcomeTimeline!.points.length).toBeGreaterThanOrEqual(14);
    // A waits for B: the ingress is out from the kill until B is back, and the service is not back before B is.
    expect(b.ingressOutageMs!).toBeGreaterThanOrEqual(2500);
    expect(b.killToServiceMs).not.toBeUndefined();
    if (b.killToServiceMs !== null) expect(b.killToServiceMs!).toBeGreaterThanOrEqual(2500);
    expect(layout.practices).toEqual({ outbox: 'memory', peers: 'fixed', formats: 'declared', delivery: 'at-least-once' });
    // As grown, each system holds its lake export in memory until the next schedule: a kill loses it,
    // and the loss is charged to that buffer. A kill that lands just after a scheduled export finds
    // the buffer empty (the kill's phase against the schedule is not chosen), so one of the two may
    // lose nothing; both losing nothing means the buffer is not charged.
    const lostAsGrown = ['B', 'D'].map((name) => {
      const k = component(result, name);
      if (k.recordsLost > 0) expect(k.lostByCause!.bufferAtKill, `${name}: lost with its buffer (${JSON.stringify(k.lostByCause)})`).toBeGreaterThan(0);
      expect(Object.values(k.lostByCause!).reduce((a, x) => a + x, 0), `${name}: causes add up`).toBe(k.recordsLost);
      return k.recordsLost;
    });
    expect(Math.max(...lostAsGrown), `B and D: records lost as grown (${lostAsGrown.join(', ')})`).toBeGreaterThan(0);

    const r = component(result, 'rabbitmq');
    expect(r.kind).toBe('rabbitmq');
    expect(r.downMs).toBeGreaterThanOrEqual(3000);
    expect(r.locatable).toBe(true);
    expect(r.locatedBy).toMatch(/unreachable.*⇒ rabbitmq/);
    expect(r.blastRadius.length).toBeGreaterThan(0);
    expect(layout.summary.singlePointsOfFailure).toContain('B');
  }, 150_000);
});

describe('failures runner, hub layout (A-D, our broker as a process)', () => {
  it('loses nothing when consumers are killed, counts what at-least-once delivers twice, and the broker metrics name C and the broker', async () => {
    const settings = failuresSettingsSchema.parse({ ...SHORT, components: ['C', 'D', 'broker', 'rabbitmq'] });
    const result = await runFailures(context('hub'), settings, ['hub']);
    show(result);
    expect(failuresResultSchema.parse(result)).toEqual(result);
    const layout = result.layouts[0];
    expect(layout.layout).toBe('hub');
    expect(layout.skipped).toEqual([expect.objectContaining({ component: 'rabbitmq' })]);

    const c = component(result, 'C');
    expect(c.kind).toBe('system');
    expect(c.ordersAccepted).toBeGreaterThan(20);
    expect(c.recordsExpected).toBeGreaterThan(c.ordersAccepted);
    expect(c.recordsLost).toBe(0);
    expect(c.ordersLost).toBe(0);
    // The hub decouples A from C: orders keep being accepted.
    expect(c.ingressErrorRate).toBeLessThan(0.5);
    expect(c.singlePointOfFailure).toBe(false);
    expect(c.locatable).toBe(true);
    expect(c.locatedBy).toMatch(/⇒ C/);

    // As grown (at-least-once), a consumer killed between handling records and committing their
    // offsets (every second) is given them again, and applies them again: duplicates, counted.
    expect(layout.practices?.delivery).toBe('at-least-once');
    const duplicated = layout.components.reduce((a, k) => a + k.recordsDuplicated, 0);
    expect(duplicated, 'records applied twice under at-least-once').toBeGreaterThan(0);
    expect(layout.summary.totalRecordsDuplicated).toBe(duplicated);

    const broker = component(result, 'broker');
    expect(broker.kind).toBe('broker');
    expect(broker.locatable).toBe(true);
    expect(broker.locatedBy).toMatch(/unreachable.*⇒ broker/);
  }, 150_000);
});

describe('failures rules', () => {
  const sample = (atMs: number, received: number, errors = 0, pid = 1, ok = true): StateSample => ({ atMs, ok, pid, received, errors });

  it('plans every component for "all" and skips names that are not in the layout, with the reason', () => {
    expect(planComponents('all', { layout: 'hub', systems: ['A', 'B'], rabbitmqUnavailable: null, brokerUnavailable: null }).planned.map((c) => `${c.name}:${c.kind}`))
      .toEqual(['A:system', 'B:system', 'broker:broker', 'lake-sink:lake-sink']);
    const legacy = planComponents(['B', 'rabbitmq', 'broker', 'X'], { layout: 'legacy', systems: ['A', 'B'], rabbitmqUnavailable: 'rabbitmq-server is not on PATH', brokerUnavailable: null });
    expect(legacy.planned.map((c) => c.name)).toEqual(['B']);
    expect(legacy.skipped.map((s) => s.component)).toEqual(['rabbitmq', 'broker', 'X']);
    expect(legacy.skipped[0].reason).toContain('not on PATH');
  });

  it('reads counters from GET /state', () => {
    expect(receivedTotal({ received: { order: { count: 3, ids: [] }, shipment: { count: 2, ids: [] } } })).toBe(5);
    expect(receivedTotal({ sink: { written: 7, skippedAlreadyInLake: 1, rejected: 0 } })).toBe(8);
    expect(errorTotal({
      wiring: { rest: { clients: { x: { calls: 9, failures: 2, retries: 1, latency: { failures: 100 } } } }, totals: { restFailures: 50 } },
      rest: { requests: 10, serverErrors: 3 },
    })).toBe(6);
  });

  it('judges blast radius by errors, stalls, restarts and failed ingress requests', () => {
    const base = { baselinePerS: 10, isIngress: false, ingressFailed: 0 };
    expect(judgeProcess({ ...base, pre: sample(0, 100), post: sample(4000, 140) }).affected).toBe(false);
    expect(judgeProcess({ ...base, pre: sample(0, 100), post: sample(4000, 110) }).why[0]).toMatch(/stalled/);
    expect(judgeProcess({ ...base, pre: sample(0, 100), post: sample(4000, 140, 2) }).why[0]).toMatch(/errors \+2/);
    expect(judgeProcess({ ...base, pre: sample(0, 100), post: sample(4000, 5, 0, 2) }).why[0]).toMatch(/restarted/);
    expect(judgeProcess({ ...base, baselinePerS: 0.1, pre: sample(0, 1), post: sample(4000, 1) }).affected).toBe(false);
    expect(judgeProcess({ ...base, isIngress: true, ingressFailed: 3, pre: sample(0, 100), post: sample(4000, 140) }).affected).toBe(true);
  });

  it('calls a fault a stop only if the service was still stopped in the second half of the down time', () => {
    // Killed at 0, back at 4000 ms; one order a 100 ms; C and D normally receive 10 records/s.
    const requests = (acceptedFromMs: number, acceptedUntilMs = Number.POSITIVE_INFINITY): RequestRecord[] => Array.from({ length: 40 }, (_, i) => {
      const at = i * 100;
      const accepted = at >= acceptedFromMs && at < acceptedUntilMs;
      return { index: i, kind: 'order', id: `o${i}`, sentAtMs: at, endedAtMs: at + 5, accepted, outcome: accepted ? '201' : 'timeout' };
    });
    const load = (rs: RequestRecord[]) => ({ between: (from: number, to: number) => rs.filter((r) => r.sentAtMs >= from && r.sentAtMs < to) }) as unknown as SteadyLoad;
    const monitor = (counts: Record<string, number[]>) => ({
      samplesOf: (name: string) => (counts[name] ?? []).map((received, i) => sample(i * 1000, received)),
    }) as unknown as StateMonitor;
    const pre = new Map([['A', sample(0, 0)], ['B', sample(0, 0)], ['C', sample(0, 0)], ['D', sample(0, 0)]]);
    const fault = { killAtMs: 0, restartAtMs: 4000, pre };
    const inputs = (rs: RequestRecord[], counts: Record<string, number[]>) => ({ load: load(rs), monitor: monitor(counts), baselines: new Map([['A', 10], ['C', 10], ['D', 10], ['B', 0]]), ingressId: 'A' });

    // A failover: nothing for 2.5 s, then the ingress takes orders again and C and D catch up.
    expect(stillStoppedHalfway(fault, 'B', inputs(requests(2500), { C: [0, 0, 0, 20, 40], D: [0, 0, 0, 15, 40] })).stopped).toBe(false);
    // Orders are taken, but nothing moves downstream until the component is back.
    expect(stillStoppedHalfway(fault, 'B', inputs(requests(0), { C: [0, 0, 0, 0, 0], D: [0, 1, 1, 1, 2] }))).toMatchObject({ stopped: true, why: expect.stringMatching(/nothing moved downstream/) });
    // Downstream moves, but the ingress refuses orders all along.
    expect(stillStoppedHalfway(fault, 'B', inputs(requests(0, 1000), { C: [0, 10, 20, 30, 40], D: [0, 10, 20, 30, 40] }))).toMatchObject({ stopped: true, why: expect.stringMatching(/ingress refused/) });
    // One downstream component still moving is enough: not everything stopped.
    expect(stillStoppedHalfway(fault, 'B', inputs(requests(0), { C: [0, 0, 0, 0, 0], D: [0, 10, 20, 30, 40] })).stopped).toBe(false);
  });

  it('names the component whose lag or depth grows, and the place itself when it is unreachable', () => {
    const text = (lag0: number, lag1: number, hw0: number, hw1: number): string => [
      `untangle_broker_high_watermark{topic="t",partition="0",node="1"} ${hw0}`,
      `untangle_broker_high_watermark{topic="t",partition="1",node="1"} ${hw1}`,
      `untangle_broker_consumer_lag{group="dead",topic="t",partition="0",node="1"} ${lag0}`,
      `untangle_broker_consumer_lag{group="dead",topic="t",partition="1",node="1"} ${lag1}`,
      `untangle_broker_consumer_lag{group="live",topic="t",partition="0",node="1"} 1`,
    ].join('\n');
    expect(groupReadings(text(4, 3, 10, 20)).get('dead')).toEqual({ value: 7, inflow: 30, parts: 't/0,t/1' });
    const hub: Locator = { place: 'metrics', owners: new Map([['dead', 'C'], ['live', 'D']]), itself: 'broker', measure: 'consumer lag', sample: async () => { throw new Error('unused'); } };
    const scrape = (atMs: number, t: string): LocatorSample => ({ atMs, reachable: true, values: groupReadings(t) });
    // 'dead' grows with its partitions (30 records arrived, lag +30); 'live' keeps up.
    expect(concludeLocation(hub, [scrape(0, text(4, 3, 10, 20)), scrape(3000, text(19, 18, 25, 35))], 5).named).toEqual(['C']);
    // A sawtooth lag that grows less than the records that arrived: a live consumer, nobody named.
    expect(concludeLocation(hub, [scrape(0, text(1, 1, 10, 20)), scrape(3000, text(9, 9, 40, 50))], 5).named).toEqual([]);

    const queues: Locator = { place: 'here', owners: new Map([['q1', 'D'], ['q2', 'C']]), itself: 'rabbitmq', measure: 'queue depth', sample: async () => { throw new Error('unused'); } };
    const at = (atMs: number, q1: number, q2: number, c1 = 0): LocatorSample => ({ atMs, reachable: true, values: new Map([['q1', { value: q1, consumers: c1 }], ['q2', { value: q2, consumers: 1 }]]) });
    expect(concludeLocation(queues, [at(0, 0, 5), at(1000, 10, 2), at(2000, 20, 9)], 5).named).toEqual(['D']);
    expect(concludeLocation(queues, [at(0, 0, 5, 1), at(1000, 10, 2, 1), at(2000, 20, 9, 1)], 5).named).toEqual([]);
    const down: LocatorSample = { atMs: 0, reachable: false, problem: 'ECONNREFUSED', values: new Map() };
    expect(concludeLocation(queues, [down, down, at(2000, 0, 0)], 5)).toMatchObject({ named: ['rabbitmq'] });
  });

  it('charges lost and duplicated records to the window their order was sent in', () => {
    const ab = restrictTo(loadTopology(TOPOLOGY), ['A', 'B']);
    const events = ingressEvents(ab, 7, 4);
    const orders = events.map((e) => e.record as { orderId: string });
    const expected = expectedOutcome(ab, { ingress: events });
    const lake = expected.records.filter((r) => r.kind !== 'order' || r.id !== orders[1].orderId);
    const received = new Map([['B', new Map([['order', [orders[0].orderId, orders[1].orderId, orders[2].orderId, orders[2].orderId, orders[3].orderId]]])]]);
    const report = verify(expected, { lake, received });
    const sent = orders.map((o, i) => ({ root: ingressRootKey('order', o.orderId), sentAtMs: i * 1000 }));
    const paths = { family: 'legacy' as const, flows: ab.flows.map((f) => ({ id: f.id, from: f.from, to: f.to, data: f.data, transport: f.legacy.transport })), producers: new Map([['order', ['A']]]) };
    const losses = attributeLoss(report, expected, sent, [{ component: 'B', kind: 'system', fromMs: 1000, toMs: 3000 }], paths);
    expect(losses.get('B')).toMatchObject({ ordersAccepted: 2, recordsLost: 1, ordersLost: 1, recordsDuplicated: 1 });
    expect(losses.get(OUTSIDE)).toMatchObject({ ordersAccepted: 2, recordsLost: 0, recordsDuplicated: 0 });
  });
});
