/**
 * How long a scenario should take on a 2-core machine, from its settings: what the progress display
 * counts down from. An estimate for the display only (never reported as a measurement); the
 * constants are the start-up, settle and restart times seen on such a machine.
 */
import { failuresLayouts, type Scenario } from './scenario.ts';
import { SYSTEM_ID } from './settings.ts';

/** Starting and stopping one landscape: fixed part plus per system process (tsx start-up on 2 shared cores). */
function startS(processes: number): number {
  return 1 + 0.45 * processes;
}

/** A hub consumer that is killed rejoins its group at once (it removes its dead predecessor), then its group rebalances. */
const HUB_REJOIN_S = 2;
/** hub-cluster: its brokers, and starting them (a quorum to elect, the run's topics to create). */
const CLUSTER_BROKERS = 3;
const CLUSTER_START_S = 6;
/** legacy-ha: its RabbitMQ nodes, and starting and joining them into one cluster. */
const RABBIT_NODES = 3;
const RABBIT_CLUSTER_START_S = 25;
/** legacy-ha: a restarted RabbitMQ node booting and its quorum queues catching up. */
const RABBIT_NODE_BACK_S = 10;
/** Waiting for the oracle: the legacy layout's export schedules make it the slow one. */
const SETTLE_S = { legacy: 20, hub: 5 };

/**
 * `landscape`: the run's systems and their processes (a system of 3 instances is 3), and the
 * legacy layout's slowest scheduled hop to a system (s); without it the scenario's `systems`, else 9,
 * one process each, and 5 s.
 */
export function estimateSeconds(s: Scenario, landscape?: { systems: number; processes: number; legacyHopS?: number }): number {
  const systems = landscape?.systems ?? s.systems?.length ?? 9;
  const processes = landscape?.processes ?? systems;
  const landscapeS = (n: number): number => startS(Math.round((n * processes) / systems));
  const layouts = s.layouts.length;
  let total = 3;
  const c = s.runners.connections;
  if (c) {
    // Both layouts are measured at once, each a little slower for sharing the machine.
    for (let n = c.from; n <= Math.min(c.to, systems); n++) total += (layouts > 1 ? 1.5 : 1) * landscapeS(n) + c.steadyS;
  }
  const t = s.runners.throughput;
  if (t) {
    const hop = { legacy: landscape?.legacyHopS ?? 5, hub: 0 };
    // A point at about twice the cost rate: its ramp, its window, settling in the systems (the lake is checked once per search) and the samples.
    const pointS = (layout: 'legacy' | 'hub', rate: number): number =>
      t.rampS + Math.max(t.minWindowS, t.minOrdersPerPoint / rate, t.hopsPerWindow * hop[layout]) + hop[layout] + 4;
    const repeats = s.repeat;
    for (const layout of s.layouts) {
      const typical = pointS(layout, 2 * t.costRatePerS);
      const perRun = landscapeS(systems) + 5 + t.idleS + 1 + (t.costRampS ?? (layout === 'legacy' ? 12 : t.rampS)) + pointS(layout, t.costRatePerS) - t.rampS;
      // Run 1 brackets and bisects (about 7 points); later runs start at its result (about 3).
      total += repeats * perRun + Math.min(t.maxPoints - 1, 6) * typical + (repeats - 1) * Math.min(t.maxPoints - 1, t.repeatPoints) * typical;
      if (t.scaleOutInstances > 1) total += landscapeS(systems + t.scaleOutInstances - 1) + 5 + Math.min(t.maxPoints, t.repeatPoints) * typical;
    }
  }
  const f = s.runners.failures;
  if (f) {
    const infraDownS = f.infraDownS ?? f.downS;
    // systems: how many of the components are systems (kept down downS), the rest are the integration's (infraDownS).
    const perLayout = (extra: number, components: number, settleS: number, systemsAmong = components): number =>
      landscapeS(systems) + f.warmupS + systemsAmong * f.downS + (components - systemsAmong) * infraDownS + components * (f.observeS + extra) + settleS;
    const listed = f.components === 'all' ? null : f.components.length;
    const listedSystems = f.components === 'all' ? systems : f.components.filter((n) => SYSTEM_ID.test(n)).length;
    const measured = failuresLayouts(s);
    if (measured.includes('legacy')) total += perLayout(3, listed ?? systems + 1, SETTLE_S.legacy, listedSystems) + (listed === null || f.components.includes('rabbitmq') ? 6 : 0);
    if (measured.includes('hub')) total += perLayout(HUB_REJOIN_S, listed ?? systems + 2, SETTLE_S.hub, listedSystems);
    // 'broker' names every broker of the cluster; the wait for replicas back in sync follows each fault.
    // Both HA layouts kill every system, every node, the quorum leader (and hub-cluster the lake sink).
    const clusterListed = listed === null ? null : listed + (f.components.includes('broker') ? CLUSTER_BROKERS - 1 : 0);
    if (measured.includes('hub-cluster')) total += CLUSTER_START_S + perLayout(HUB_REJOIN_S + 2, clusterListed ?? systems + CLUSTER_BROKERS + 2, SETTLE_S.hub, listedSystems);
    const rabbitListed = listed === null ? null : listed + (f.components.includes('rabbitmq') ? RABBIT_NODES - 1 : 0);
    if (measured.includes('legacy-ha')) {
      const named = f.components === 'all' ? null : f.components;
      const nodeFaults = named === null
        ? RABBIT_NODES + 1
        : (named.includes('rabbitmq') ? RABBIT_NODES : named.filter((n) => /^rabbitmq-\d+$/.test(n)).length) + (named.includes('quorum-leader') ? 1 : 0);
      total += RABBIT_CLUSTER_START_S + perLayout(3, rabbitListed ?? systems + RABBIT_NODES + 1, SETTLE_S.legacy, listedSystems) + nodeFaults * RABBIT_NODE_BACK_S;
    }
  }
  const o = s.runners.onboarding;
  if (o) total += layouts * (landscapeS(systems) + o.beforeS + o.afterS + 12);
  return Math.round(total);
}
