import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onboardingResultSchema } from '../../report/model.ts';
import { declaredLinkIds, longestFailedStretchMs, reconfiguredSystems, runOnboarding } from '../../scenarios/runners/onboarding.ts';
import type { RunnerContext } from '../../scenarios/runners/context.ts';
import type { RequestRecord } from '../../scenarios/load/steady.ts';
import { loadTopology, restrictTo } from '../../systems/topology/index.ts';
import { peerChecks, requirePeer, RABBITMQ_URL } from '../helpers/peers.ts';

// The onboarding runner for real on a reduced shop: A-D running under load, then I (fraud
// detection: orders from A, payments from B) joins. Legacy must reconfigure and restart A and B,
// and I gets nothing of the past; on the hub nothing existing changes and I replays its history.

const TOPOLOGY = 'scenarios/topologies/shop.yaml';
const shop = loadTopology(TOPOLOGY);
const hasRabbit = await requirePeer('rabbitmq', () => peerChecks.rabbitmq());
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
    const r = (index: number, sentAtMs: number, accepted: boolean): RequestRecord => ({ index, orderId: `o${index}`, sentAtMs, endedAtMs: sentAtMs + 5, accepted, outcome: accepted ? '201' : 'connection' });
    expect(longestFailedStretchMs([], 1000)).toBe(0);
    expect(longestFailedStretchMs([r(0, 0, true), r(1, 100, false), r(2, 200, false), r(3, 300, true), r(4, 400, false), r(5, 500, true)], 1000)).toBe(200);
    expect(longestFailedStretchMs([r(1, 100, true), r(0, 0, false), r(2, 900, false)], 1000)).toBe(100);
  });
});

describe.runIf(hasRabbit)('onboarding: A-D plus I as real processes, both layouts', () => {
  it('legacy restarts senders and I gets no history; the hub restarts nothing and I replays it all', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'untangle-onboarding-'));
    const notes: string[] = [];
    const ctx: RunnerContext = {
      topologyFile: TOPOLOGY,
      systems: ['A', 'B', 'C', 'D', 'I'],
      runId: `t${Date.now() % 1_000_000}`,
      workDir,
      seed: 7,
      amqpUrl: RABBITMQ_URL,
      progress: { step: () => undefined, note: (line) => { notes.push(line); console.log(line); } },
    };
    const started = Date.now();
    try {
      const result = await runOnboarding(ctx, { add: ['I'], loadOrdersPerS: 10, beforeS: 3, afterS: 2, settleS: 30 }, ['legacy', 'hub']);
      console.log(`onboarding A-D + I: both layouts in ${Date.now() - started} ms`);
      expect(() => onboardingResultSchema.parse(result)).not.toThrow();
      const [legacy, hub] = result.layouts;
      for (const l of result.layouts) console.log(JSON.stringify(l));
      expect(legacy).toMatchObject({ layout: 'legacy', initialSystems: ['A', 'B', 'C', 'D'], addedSystems: ['I'] });
      expect(hub).toMatchObject({ layout: 'hub', initialSystems: ['A', 'B', 'C', 'D'], addedSystems: ['I'] });

      // Legacy: A (calls I synchronously) and B (publishes payments to I's queue) get the new
      // topology and are restarted for real; the ingress notices; I sees only what comes after.
      expect(legacy.reconfiguredSystems).toEqual(['A', 'B']);
      expect(legacy.restartedSystems).toEqual(['A', 'B']);
      expect(legacy.newLinkIds).toEqual(['a-i-score', 'b-i-payments', 'I-lake-export']);
      expect(legacy.ingressFailed).toBeGreaterThan(0);
      expect(legacy.ingressDowntimeMs).toBeGreaterThan(0);
      const legacyI = legacy.newcomers[0];
      expect(legacyI.historyExpected).toBeGreaterThan(0);
      expect(legacyI).toMatchObject({ system: 'I', historyReceived: 0, receivedHistory: false });
      // ...but it is wired: it received the orders and payments that came after the change.
      const wired = notes.map((n) => /onboarding legacy: .* I 0\/\d+ \((\d+) records received in all\)/.exec(n)).find(Boolean);
      expect(Number(wired?.[1] ?? 0), 'records the legacy newcomer received after the change').toBeGreaterThan(0);

      // Hub: nothing existing changes or restarts, no request fails, I replays its whole history.
      expect(hub.reconfiguredSystems).toEqual([]);
      expect(hub.restartedSystems).toEqual([]);
      expect(hub.newLinkIds).toEqual(['I-hub']);
      expect(hub.ingressFailed).toBe(0);
      const hubI = hub.newcomers[0];
      expect(hubI.historyExpected).toBeGreaterThan(0);
      expect(hubI.historyReceived).toBe(hubI.historyExpected);
      expect(hubI.receivedHistory).toBe(true);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  }, 110_000);
});
