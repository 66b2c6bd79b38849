import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  flowBackAtMs, ingressBackAtMs, killToServiceMs, longestIngressOutageMs, normalDelayBounds, orderPaths, outcomeTimeline, type OrderPath,
} from '../../scenarios/runners/failures/recovery.ts';
import { attributeLoss, classifyLoss, OUTSIDE, type LossPaths } from '../../scenarios/runners/failures/loss.ts';
import { familyOf } from '../../scenarios/runners/failures.ts';
import type { RequestRecord } from '../../scenarios/load/steady.ts';
import { DEFAULT_FAILURES_PRACTICES, failuresSettingsSchema, practicesFor } from '../../scenarios/settings.ts';
import { loadScenario } from '../../scenarios/scenario.ts';
import { AS_GROWN, BEST_PRACTICE } from '../../systems/runtime/practices.ts';
import { recordKey, type Discrepancies, type ExpectedOutcome, type VerifyReport } from '../../systems/oracle/index.ts';

// The failures runner's figures on made-up inputs: kill → service and the longest ingress outage
// from request records (by the time each answer came, 100 ms steps), the loss causes, and the
// practices each layout runs with.

/** One order every 100 ms from 0 to 20 s; `outcome(sentAtMs)` says whether it was accepted and when its answer came. */
function load(outcome: (sentAtMs: number) => { accepted: boolean; afterMs: number }): RequestRecord[] {
  return Array.from({ length: 200 }, (_, i) => {
    const sentAtMs = i * 100;
    const o = outcome(sentAtMs);
    return { index: i, kind: 'order', id: `o${i}`, sentAtMs, endedAtMs: sentAtMs + o.afterMs, accepted: o.accepted, outcome: o.accepted ? '202' : '503' };
  });
}

/** Refused (answered at once) from 10 s to 13 s, accepted in 20 ms otherwise. */
const outage = load((t) => (t >= 10_000 && t < 13_000 ? { accepted: false, afterMs: 50 } : { accepted: true, afterMs: 20 }));

/** Each order reaches D 200 ms after it was sent, except those sent from 10 s to 14 s, which wait for D until 14.5 s. */
function paths(requests: readonly RequestRecord[]): OrderPath[] {
  return requests.map((r) => ({
    sentAtMs: r.sentAtMs, accepted: r.accepted,
    receptions: [{ system: 'D', atMs: r.sentAtMs >= 10_000 && r.sentAtMs < 14_000 ? 14_500 : r.sentAtMs + 200 }],
  }));
}

describe('kill → service', () => {
  const bounds = normalDelayBounds(paths(outage), 0, 10_000);

  it('takes each system\'s normal delay from the warm-up: its 95th percentile plus 10 % and 100 ms', () => {
    expect(bounds.get('D')).toBeCloseTo(200 * 1.1 + 100);
  });

  it('finds the ingress back at the first accepted answer from which 90 % of the warm-up rate is accepted over 2 s', () => {
    expect(ingressBackAtMs(outage, 10_050, 20_000, 10)).toBe(13_020);
    // Half the orders refused after the outage: never back at 90 %.
    const half = load((t) => ({ accepted: t < 10_000 || (t >= 13_000 && t % 200 === 0), afterMs: 20 }));
    expect(ingressBackAtMs(half, 10_050, 20_000, 10)).toBeNull();
  });

  it('finds the flow back at the send time of the first order that reached every system within its normal delay', () => {
    // 13.0 s to 13.9 s reach D only at 14.5 s, too late; 14.0 s arrives 200 ms after it was sent.
    expect(flowBackAtMs(paths(outage), 10_050, 20_000, bounds)).toBe(14_000);
    // A system never reached, or one without a normal delay, decides accordingly.
    const lost = paths(outage).map((p) => ({ ...p, receptions: [...p.receptions, { system: 'E', atMs: null }] }));
    expect(flowBackAtMs(lost, 10_050, 20_000, new Map([...bounds, ['E', 500]]))).toBeNull();
    expect(flowBackAtMs(lost, 10_050, 20_000, bounds)).toBe(14_000);
  });

  it('is the later of the two, from the kill, rounded up to 100 ms; null when the service was not back within the observation', () => {
    const base = { requests: outage, baselineAcceptedPerS: 10, orders: paths(outage), bounds };
    expect(killToServiceMs({ ...base, killAtMs: 10_050, endMs: 20_000 })).toEqual({ ms: 4000, ingressBackAtMs: 13_020, flowBackAtMs: 14_000 });
    expect(killToServiceMs({ ...base, killAtMs: 10_050, endMs: 13_500 }).ms).toBeNull();
    // A failover: the service is back after 1.5 s, long before the component (kill → ready 5 s and more).
    const failover = load((t) => (t >= 10_000 && t < 11_500 ? { accepted: false, afterMs: 50 } : { accepted: true, afterMs: 20 }));
    const fast = failover.map((r) => ({ sentAtMs: r.sentAtMs, accepted: r.accepted, receptions: [{ system: 'D', atMs: r.sentAtMs + 200 }] }));
    expect(killToServiceMs({ requests: failover, baselineAcceptedPerS: 10, orders: fast, bounds, killAtMs: 10_000, endMs: 20_000 }).ms).toBe(1600);
  });
});

describe('longest ingress outage', () => {
  it('is the longest gap between consecutive accepted answers, from the last one before the kill', () => {
    // Last accepted answer 9,920 ms, next 13,020 ms.
    expect(longestIngressOutageMs(outage, 10_050, 20_000)).toBe(3100);
  });

  it('ends an outage still open at the end of the observation, and starts at the kill when nothing was accepted in the second before it', () => {
    expect(longestIngressOutageMs(outage, 10_050, 12_000)).toBe(12_000 - 9920);
    const early = load((t) => (t >= 8000 && t < 13_000 ? { accepted: false, afterMs: 50 } : { accepted: true, afterMs: 20 }));
    expect(longestIngressOutageMs(early, 10_050, 20_000)).toBe(13_020 - 10_050);
  });

  it('counts answers by the time they came: a slow acceptance after the kill ends the gap when it came', () => {
    const slow = load((t) => (t === 9900 ? { accepted: true, afterMs: 2500 } : t >= 10_000 && t < 13_000 ? { accepted: false, afterMs: 5000 } : { accepted: true, afterMs: 20 }));
    // Accepted answers at 9,820 ms (the one sent at 9.8 s), 12,400 ms (sent at 9.9 s), 13,020 ms.
    expect(longestIngressOutageMs(slow, 10_050, 20_000)).toBe(12_400 - 9820);
  });
});

describe('the fault timeline', () => {
  it('counts each answer in the bucket of the time it came, not when its request was sent', () => {
    const requests: RequestRecord[] = [
      { index: 0, kind: 'order', id: 'a', sentAtMs: 9000, endedAtMs: 12_400, accepted: false, outcome: 'timeout' },
      { index: 1, kind: 'order', id: 'b', sentAtMs: 9500, endedAtMs: 9520, accepted: true, outcome: '202' },
      { index: 2, kind: 'order', id: 'c', sentAtMs: 10_100, endedAtMs: 10_200, accepted: true, outcome: '202' },
    ];
    expect(outcomeTimeline(requests, 8000, 14_000, 10_000, 1000)).toEqual([
      { tS: -2, accepted: 0, failed: 0 }, { tS: -1, accepted: 1, failed: 0 }, { tS: 0, accepted: 1, failed: 0 },
      { tS: 1, accepted: 0, failed: 0 }, { tS: 2, accepted: 0, failed: 1 }, { tS: 3, accepted: 0, failed: 0 },
    ]);
  });
});

describe('order paths', () => {
  it('gives every order its expected receptions with their arrival (null when it never came)', () => {
    const key = (kind: string, id: string): string => recordKey(kind, id);
    const expected = {
      received: new Map([['D', new Map([['payment', new Set(['p1', 'p2'])]])]]),
      rootOf: new Map([[key('payment', 'p1'), 'ingress:order/o1'], [key('payment', 'p2'), 'ingress:order/o2']]),
    };
    const requests: RequestRecord[] = [
      { index: 0, kind: 'order', id: 'o1', sentAtMs: 100, endedAtMs: 120, accepted: true, outcome: '202' },
      { index: 1, kind: 'order', id: 'o2', sentAtMs: 200, endedAtMs: 220, accepted: true, outcome: '202' },
      { index: 2, kind: 'order', id: 'o3', sentAtMs: 300, endedAtMs: 320, accepted: false, outcome: '503' },
    ];
    expect(orderPaths(requests, expected, new Map([['D', new Map([[key('payment', 'p1'), 1234]])]]))).toEqual([
      { sentAtMs: 100, accepted: true, receptions: [{ system: 'D', atMs: 1234 }] },
      { sentAtMs: 200, accepted: true, receptions: [{ system: 'D', atMs: null }] },
      { sentAtMs: 300, accepted: false, receptions: [] },
    ]);
  });
});

describe('loss causes', () => {
  // A calls B over REST; B publishes payments to D over AMQP; D drops shipments for E in batch files.
  const flows = [
    { id: 'a-b', from: 'A', to: 'B', data: 'order', transport: 'rest-sync' as const },
    { id: 'b-d', from: 'B', to: 'D', data: 'payment', transport: 'amqp' as const },
    { id: 'd-e', from: 'D', to: 'E', data: 'shipment', transport: 'batch' as const },
  ];
  const legacy: LossPaths = { family: 'legacy', flows, producers: new Map([['order', ['A']], ['payment', ['B']], ['shipment', ['D']]]) };
  const hub: LossPaths = { ...legacy, family: 'hub' };
  const b = { component: 'B', kind: 'system' };
  const at = (receiver: string, flow: string) => ({ lake: false as const, receiver, flows: [flow] });

  it('names the cause next to the killed component, and leaves the rest of the path to the order', () => {
    expect(classifyLoss(b, at('B', 'a-b'), legacy)).toBe('inFlightCall');
    expect(classifyLoss(b, at('D', 'b-d'), legacy)).toBe('bufferAtKill');
    expect(classifyLoss(b, { lake: true, kind: 'payment' }, legacy)).toBe('bufferAtKill');
    expect(classifyLoss(b, at('E', 'd-e'), legacy)).toBeNull();
    expect(classifyLoss(b, { lake: true, kind: 'shipment' }, legacy)).toBeNull();
    expect(classifyLoss({ component: 'A', kind: 'system' }, at('B', 'a-b'), legacy)).toBe('inFlightCall');
    expect(classifyLoss({ component: 'E', kind: 'system' }, at('E', 'd-e'), legacy)).toBe('bufferAtKill');
    // The hub: what B had not published yet was in its memory; what it was handling, in flight.
    expect(classifyLoss(b, at('D', 'b-d'), hub)).toBe('bufferAtKill');
    expect(classifyLoss({ component: 'D', kind: 'system' }, at('D', 'b-d'), hub)).toBe('inFlightCall');
  });

  it('puts everything lost while RabbitMQ, the broker or the lake sink was down on it; the quorum leader by layout', () => {
    expect(classifyLoss({ component: 'rabbitmq', kind: 'rabbitmq' }, at('E', 'd-e'), legacy)).toBe('rabbitmq');
    expect(classifyLoss({ component: 'broker-2', kind: 'broker' }, { lake: true, kind: 'order' }, hub)).toBe('broker');
    expect(classifyLoss({ component: 'quorum-leader (rabbitmq-1)', kind: 'quorum-leader' }, at('D', 'b-d'), legacy)).toBe('rabbitmq');
    expect(classifyLoss({ component: 'quorum-leader (broker-1)', kind: 'quorum-leader' }, at('D', 'b-d'), hub)).toBe('broker');
    expect(classifyLoss({ component: 'lake-sink', kind: 'lake-sink' }, { lake: true, kind: 'order' }, hub)).toBe('lakeSink');
    expect(classifyLoss({ component: 'lake-sink', kind: 'lake-sink' }, at('D', 'b-d'), hub)).toBe('unexplained');
  });

  it('charges every lost record to its window and cause; a loss further along takes its order\'s cause', () => {
    const ids = [1, 2, 3, 4, 5];
    const root = (n: number): string => `ingress:order/o${n}`;
    const byKind = new Map(['order', 'payment', 'shipment'].map((kind) => [kind, new Map(ids.map((n) => [`${kind[0]}${n}`, {}]))]));
    const rootOf = new Map(['order', 'payment', 'shipment'].flatMap((kind) => ids.map((n) => [recordKey(kind, `${kind[0]}${n}`), root(n)] as const)));
    const received = new Map([['B', 'order'], ['D', 'payment'], ['E', 'shipment']].map(([system, kind]) => [system, new Map([[kind, new Set(ids.map((n) => `${kind[0]}${n}`))]])]));
    const expected = { byKind, rootOf, received } as unknown as ExpectedOutcome;
    const d = (lost: string[]): Discrepancies => ({ expected: 5, present: 5 - lost.length, lost, duplicated: [], unexpected: [], mismatched: [] });
    const report = {
      ok: false,
      kinds: [{ kind: 'payment', ...d(['p1', 'p2']) }, { kind: 'shipment', ...d(['s1', 's4']) }],
      receivers: [
        { system: 'B', inputKind: 'order', flows: ['a-b'], ...d(['o1']) },
        { system: 'D', inputKind: 'payment', flows: ['b-d'], ...d(['p1', 'p3']) },
        { system: 'E', inputKind: 'shipment', flows: ['d-e'], ...d(['s1', 's5']), duplicated: [{ id: 's2', count: 2 }] },
      ],
      totals: {},
    } as unknown as VerifyReport;
    // o1, o2, o5 in B's window; o3 in RabbitMQ's; o4 before either.
    const sent = [[1, 1000], [2, 1100], [3, 5000], [4, 100], [5, 1200]].map(([n, sentAtMs]) => ({ root: root(n), sentAtMs }));
    const windows = [{ component: 'B', kind: 'system', fromMs: 1000, toMs: 4000 }, { component: 'rabbitmq', kind: 'rabbitmq', fromMs: 4500, toMs: 8000 }];
    const losses = attributeLoss(report, expected, sent, windows, legacy);
    // o1: at B in the call (in flight), its payment at D and in the lake from B's memory (buffer), its shipment at E and in
    // the lake never made (the order's in-flight call); o2: its payment's lake export (buffer); o5: at E, nothing next to B.
    expect(losses.get('B')).toMatchObject({
      ordersAccepted: 3, recordsLost: 7, ordersLost: 3, recordsDuplicated: 1,
      lostByCause: { inFlightCall: 3, bufferAtKill: 3, unexplained: 1, rabbitmq: 0, broker: 0, lakeSink: 0 },
    });
    expect(losses.get('rabbitmq')).toMatchObject({ ordersAccepted: 1, recordsLost: 1, lostByCause: { rabbitmq: 1 } });
    expect(losses.get(OUTSIDE)).toMatchObject({ ordersAccepted: 1, recordsLost: 1, lostByCause: { unexplained: 1 } });
  });
});

describe('the practices each failures layout runs with', () => {
  const dirs: string[] = [];
  afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

  it('defaults, pair by pair: legacy and hub as grown, legacy-ha at its best, hub-cluster with idempotent delivery', () => {
    expect(DEFAULT_FAILURES_PRACTICES).toEqual({
      legacy: AS_GROWN, 'legacy-ha': BEST_PRACTICE, hub: AS_GROWN, 'hub-cluster': { ...AS_GROWN, delivery: 'idempotent' },
    });
    const none = failuresSettingsSchema.parse({});
    for (const layout of ['legacy', 'legacy-ha', 'hub', 'hub-cluster'] as const) expect(practicesFor(none, layout)).toEqual(DEFAULT_FAILURES_PRACTICES[layout]);
    expect(familyOf('legacy-ha')).toBe('legacy');
    expect(familyOf('hub-cluster')).toBe('hub');
  });

  it('takes a preset or single options over the layout\'s default, and refuses what is not an option', () => {
    const s = failuresSettingsSchema.parse({ practices: { legacy: { outbox: 'durable' }, hub: 'as-grown', 'legacy-ha': { delivery: 'at-least-once' } } });
    expect(practicesFor(s, 'legacy')).toEqual({ ...AS_GROWN, outbox: 'durable' });
    expect(practicesFor(s, 'hub')).toEqual(AS_GROWN);
    expect(practicesFor(s, 'legacy-ha')).toEqual({ ...BEST_PRACTICE, delivery: 'at-least-once' });
    expect(practicesFor(s, 'hub-cluster')).toEqual({ ...AS_GROWN, delivery: 'idempotent' });
    expect(failuresSettingsSchema.safeParse({ practices: { legacy: { outbox: 'disk' } } }).success).toBe(false);
    expect(failuresSettingsSchema.safeParse({ practices: { mesh: 'as-grown' } }).success).toBe(false);
    expect(failuresSettingsSchema.safeParse({ practices: { legacy: { speed: 'fast' } } }).success).toBe(false);
  });

  it('reads them from a scenario file, with all four layouts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'untangle-practices-'));
    dirs.push(dir);
    const file = join(dir, 'practices.yaml');
    writeFileSync(file, [
      'name: practices',
      `topology: ${JSON.stringify(resolve('scenarios/topologies/shop.yaml'))}`,
      'runners:',
      '  failures:',
      '    layouts: [legacy, legacy-ha, hub, hub-cluster]',
      '    practices: { legacy: best-practice, hub: { delivery: at-least-once } }',
      '',
    ].join('\n'));
    const f = loadScenario(file).runners.failures!;
    expect(f.layouts).toEqual(['legacy', 'legacy-ha', 'hub', 'hub-cluster']);
    expect(practicesFor(f, 'legacy')).toEqual(BEST_PRACTICE);
    expect(practicesFor(f, 'hub')).toEqual(AS_GROWN);

    // Practices for a layout the runner does not measure would do nothing: the file says so, at that line.
    const unused = join(dir, 'unused.yaml');
    writeFileSync(unused, [
      'name: unused',
      `topology: ${JSON.stringify(resolve('scenarios/topologies/shop.yaml'))}`,
      'runners:',
      '  failures:',
      '    practices:',
      '      legacy-ha: best-practice',
      '',
    ].join('\n'));
    expect(() => loadScenario(unused)).toThrow(/unused\.yaml:6:\d+.*practices for legacy-ha, which the failures runner does not measure \(layouts: legacy, hub\)/);
  });
});
