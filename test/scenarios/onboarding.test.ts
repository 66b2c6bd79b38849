import { describe, expect, it } from 'vitest';
import { declaredLinkIds, longestFailedStretchMs, reconfiguredSystems } from '../../scenarios/runners/onboarding.ts';
import type { RequestRecord } from '../../scenarios/load/steady.ts';
import { readFileSync } from 'node:fs';
import { loadTopology, parseTopology, restrictTo } from '../../systems/topology/index.ts';
import { expectedOutcome } from '../../systems/oracle/index.ts';
import { ingressEvents } from '../../scenarios/load/ingress-feed.ts';
import { onboardingPracticesFor, onboardingSettingsSchema } from '../../scenarios/settings.ts';
import { AS_GROWN, BEST_PRACTICE } from '../../systems/runtime/practices.ts';
import { onboardingSection } from '../../report/document-runners.ts';
import { onboardingResultSchema, type OnboardingResult } from '../../report/model.ts';

// The onboarding runner's rules, from the topology. The runner itself runs for real in
// test/scenarios/compare-quick.test.ts (A-D under load, then I joins: legacy must reconfigure and
// restart A and B and I gets nothing of the past; on the hub nothing existing changes and I
// replays its history).

const TOPOLOGY = 'scenarios/topologies/shop.yaml';
const shop = loadTopology(TOPOLOGY);
const sub = (ids: string[]) => restrictTo(shop, ids);

describe('onboarding: what has to change, from the topology', () => {
  it('legacy reconfigures the senders to a newcomer; the hub changes no producer', () => {
    const ad = sub(['A', 'B', 'C', 'D']);
    const adi = sub(['A', 'B', 'C', 'D', 'I']);
    expect(reconfiguredSystems(ad, adi, 'legacy')).toEqual(['A', 'B']);
    expect(reconfiguredSystems(ad, adi, 'hub')).toEqual([]);
    expect(reconfiguredSystems(ad, sub(['A', 'B', 'C', 'D', 'H']), 'legacy')).toEqual(['A', 'B', 'D']);
    const af = sub(['A', 'B', 'C', 'D', 'E', 'F']);
    expect(reconfiguredSystems(af, shop, 'legacy')).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect(reconfiguredSystems(af, shop, 'hub')).toEqual([]);
    expect(declaredLinkIds(adi, 'legacy').filter((id) => !declaredLinkIds(ad, 'legacy').includes(id))).toEqual(['a-i-score', 'b-i-payments', 'I-lake-export']);
    expect(declaredLinkIds(adi, 'hub').filter((id) => !declaredLinkIds(ad, 'hub').includes(id))).toEqual(['I-hub']);
  });

  it('the hub too must reconfigure an existing consumer of a newcomer\'s data', () => {
    // E takes F's invoices (f-e-invoices): adding F changes E's subscriptions in both layouts.
    const ae = sub(['A', 'B', 'C', 'D', 'E']);
    const af = sub(['A', 'B', 'C', 'D', 'E', 'F']);
    expect(reconfiguredSystems(ae, af, 'hub')).toEqual(['E']);
    expect(reconfiguredSystems(ae, af, 'legacy')).toEqual(['B', 'E']);
  });

  it('measures the longest stretch of failed requests by send time', () => {
    const r = (index: number, sentAtMs: number, accepted: boolean): RequestRecord => ({ index, kind: 'order', id: `o${index}`, sentAtMs, endedAtMs: sentAtMs + 5, accepted, outcome: accepted ? '201' : 'connection' });
    expect(longestFailedStretchMs([], 1000)).toBe(0);
    expect(longestFailedStretchMs([r(0, 0, true), r(1, 100, false), r(2, 200, false), r(3, 300, true), r(4, 400, false), r(5, 500, true)], 1000)).toBe(200);
    expect(longestFailedStretchMs([r(1, 100, true), r(0, 0, false), r(2, 900, false)], 1000)).toBe(100);
  });

  it('a what-if from YAML alone: a loyalty system J added to the shop, its rule, its flow (docs/topology.md)', () => {
    const text = readFileSync(TOPOLOGY, 'utf8')
      .replace('\nsystems:\n', `  - id: loyalty-points
    key: customerId
    identity: [orderId]
    fields: { orderId: string, customerId: string, tier: { enum: [silver, gold] }, points: int }

systems:
`)
      .replace('\n# from: the sender', `
  - id: J
    name: loyalty
    joinsLate: true
    costPerMessageUs: 150
    lakeExport: { format: json, scheduleMs: 5000 }
    on:
      order:
        emit:
          - kind: loyalty-points
            when: chance(60, 'member/' + customerId)
            fields:
              tier: "\${totalCents >= vipTotalCents ? 'gold' : 'silver'}"
              points: "\${totalCents / 100 * (tier == 'gold' ? 2 : 1)}"

# from: the sender`)
      .replace('\ndefaults:', `  - id: a-j-orders
    from: A
    to: J
    data: order
    legacy: { transport: batch, format: csv, scheduleMs: 2000 }

defaults:`);
    const withJ = parseTopology(text, 'my-shop.yaml');
    expect(withJ.systems.at(-1)).toMatchObject({ id: 'J', joinsLate: true, produces: ['loyalty-points'] });
    const before = restrictTo(withJ, ['A', 'B', 'C', 'D', 'E', 'F']);
    const after = restrictTo(withJ, ['A', 'B', 'C', 'D', 'E', 'F', 'J']);
    expect(reconfiguredSystems(before, after, 'legacy')).toEqual(['A']);
    expect(reconfiguredSystems(before, after, 'hub')).toEqual([]);
    const events = ingressEvents(after, 42, 500);
    const points = [...expectedOutcome(after, { ingress: events }).byKind.get('loyalty-points')!.values()];
    expect(points.length).toBeGreaterThan(250);
    expect(points.length).toBeLessThan(350);
    for (const p of points) expect(p.body.points).toBe(Math.trunc(Number(events.find((e) => e.id === p.id)!.record.totalCents) / 100) * (p.body.tier === 'gold' ? 2 : 1));
  });
});

describe('onboarding: practices and what the report counts', () => {
  it('takes each layout\'s practices from the scenario, as grown otherwise', () => {
    const settings = onboardingSettingsSchema.parse({ practices: { legacy: { peers: 'reload' } } });
    expect(onboardingPracticesFor(settings, 'legacy')).toEqual({ ...AS_GROWN, peers: 'reload' });
    expect(onboardingPracticesFor(settings, 'hub')).toEqual(AS_GROWN);
    expect(onboardingPracticesFor(onboardingSettingsSchema.parse({}), 'legacy')).toEqual(AS_GROWN);
    expect(onboardingPracticesFor(onboardingSettingsSchema.parse({ practices: { legacy: 'best-practice' } }), 'legacy')).toEqual(BEST_PRACTICE);
    expect(() => onboardingSettingsSchema.parse({ practices: { legacy: { peers: 'hot' } } })).toThrow();
    expect(() => onboardingSettingsSchema.parse({ practices: { 'hub-cluster': 'as-grown' } })).toThrow();
  });

  it('counts rewiring without a restart apart from restarts; a report without the new fields still reads', () => {
    const layout = (over: Partial<OnboardingResult['layouts'][number]>): OnboardingResult['layouts'][number] => ({
      layout: 'legacy', initialSystems: ['A', 'B', 'C', 'D'], addedSystems: ['I'], reconfiguredSystems: ['A', 'B'], restartedSystems: [],
      newLinks: 3, newLinkIds: ['a-i-score', 'b-i-payments', 'I-lake-export'], ingressDowntimeMs: 0, ingressFailed: 0, ingressSent: 100, onboardingMs: 900,
      newcomers: [{ system: 'I', historyReceived: 0, historyExpected: 40, receivedHistory: false }], ...over,
    });
    const reload = layout({ reloadedSystems: ['A', 'B'], restartDowntimeMs: 0, practices: { ...AS_GROWN, peers: 'reload' } });
    const old = layout({ layout: 'hub', restartedSystems: ['A', 'B'] });
    const result = onboardingResultSchema.parse({ layouts: [reload, old] });
    const table = onboardingSection(result).blocks.find((b) => b.kind === 'table');
    const rows = table?.kind === 'table' ? table.table.rows : [];
    const row = (measure: string): string[] => rows.find((r) => r[0] === measure)!.slice(1);
    expect(row('existing systems reconfigured')).toEqual(['2: A, B', '2: A, B']);
    expect(row('of them, rewired without a restart (peer reload)')).toEqual(['2: A, B', '–']);
    expect(row('existing systems restarted')).toEqual(['0: none', '2: A, B']);
    expect(row('restart downtime (summed over the restarted systems)')).toEqual(['0 ms', '–']);
    expect(row('integration practices')).toEqual(['outbox=memory, peers=reload, formats=declared, delivery=at-least-once', '–']);
  });
});
