/**
 * How long a scenario should take on a 2-core machine, from its settings: what the progress display
 * counts down from. An estimate for the display only (never reported as a measurement); the
 * constants are the landscape start-up and settle times seen on such a machine.
 */
import type { Scenario } from './scenario.ts';

/** Starting one landscape: fixed part plus per system process (tsx start-up on 2 shared cores). */
const START_FIXED_S = 4;
const START_PER_SYSTEM_S = 0.9;
const STOP_S = 2;

function landscapeS(systems: number): number {
  return START_FIXED_S + START_PER_SYSTEM_S * systems + STOP_S;
}

export function estimateSeconds(s: Scenario): number {
  const systems = s.systems?.length ?? 9;
  const layouts = s.layouts.length;
  let total = 3;
  const c = s.runners.connections;
  if (c) {
    for (let n = c.from; n <= Math.min(c.to, systems); n++) total += layouts * (landscapeS(n) + c.steadyS + 1);
  }
  const t = s.runners.throughput;
  if (t) total += layouts * (landscapeS(systems) + t.connections.length * (t.stepS + 6));
  const f = s.runners.failures;
  if (f) {
    const components = f.components === 'all' ? systems + 1.5 : f.components.length;
    total += layouts * (landscapeS(systems) + f.warmupS + components * (f.downS + f.observeS + 3) + 10);
  }
  const o = s.runners.onboarding;
  if (o) total += layouts * (landscapeS(systems) + o.beforeS + o.afterS + 12);
  return Math.round(total);
}
