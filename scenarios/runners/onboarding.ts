/**
 * The onboarding runner: what it takes to add systems to a running landscape. Each layout starts
 * with the initial systems under a steady load (that load is the history), then the newcomers
 * join while the load goes on:
 *
 * - legacy: the newcomers start with the new topology, then every existing system whose derived
 *   configuration changed (a flow to or from a newcomer: a new peer address, a new queue, a new
 *   batch drop) gets the new topology file and is restarted for real; or, with the peers=reload
 *   practice (the scenario's `practices: { legacy: { peers: reload } }`), is handed the new
 *   topology through its watched peers file and rewires while running, without a restart. A
 *   point-to-point receiver only gets what its senders send from then on: no history.
 * - hub: the newcomers start with new consumer groups that begin at offset 0 and replay the
 *   topics; producers publish every kind they produce whoever subscribes, so no existing system
 *   changes (checked from the topology, not assumed: any that did change would be restarted too).
 *
 * Measured: which systems had to change, which of them were restarted and which rewired without a
 * restart (and the time the restarted ones were down), the new links, the ingress
 * requests that failed during the change and the longest stretch of them, the time until the
 * change was complete, and per newcomer how much of its history it received (the oracle's
 * expected share of the orders accepted before the change, against what it says it received).
 */
import type { Layout, OnboardingResult } from '../../report/model.ts';
import { onboardingPracticesFor, type OnboardingSettings } from '../settings.ts';
import { noteForReport, throwIfAborted, type RunnerContext } from './context.ts';
import { sleep, startRunnerLandscape } from './landscape.ts';
import { SteadyLoad, type RequestRecord } from '../load/steady.ts';
import { ingressEvents } from '../load/ingress-feed.ts';
import { expectedOutcome } from '../../systems/oracle/index.ts';
import type { Landscape } from '../../systems/runtime/landscape.ts';
import { receivedOfSystem } from '../../systems/runtime/run-check.ts';
import { hubLayout, legacyLinks, loadTopology, restrictTo, type Topology } from '../../systems/topology/index.ts';

type OnboardingLayoutResult = OnboardingResult['layouts'][number];

/** Orders generated for the time the change itself may take (the load stops early beyond it). */
const CHANGE_BUDGET_S = 180;
/** Newcomers whose received records have not grown for this long after the load stopped are settled. */
const QUIET_MIN_MS = 3000;

/**
 * What an existing system is configured with, derived from the topology: in the legacy layout
 * every flow it sends or receives (peer, transport, format, schedule, queue); in the hub layout
 * the topics it produces to and subscribes to and its group.
 */
export function derivedConfiguration(t: Topology, layout: Layout, systemId: string): string {
  if (layout === 'legacy') {
    const flows = t.flows.filter((f) => f.from === systemId || f.to === systemId).map((f) => JSON.stringify(f)).sort();
    return JSON.stringify({ system: t.systems.find((s) => s.id === systemId) ?? null, flows });
  }
  const wiring = hubLayout(t).systems.find((s) => s.systemId === systemId);
  return JSON.stringify(wiring ? { produces: [...wiring.produces].sort(), subscribes: [...wiring.subscribes].sort(), groupId: wiring.groupId } : null);
}

/** Systems of `before` whose derived configuration differs in `after` (they need the new configuration). */
export function reconfiguredSystems(before: Topology, after: Topology, layout: Layout): string[] {
  return before.systems.map((s) => s.id).filter((id) => derivedConfiguration(before, layout, id) !== derivedConfiguration(after, layout, id));
}

/** Ids of the links a layout declares: legacy flow ids and lake exports; hub `<system>-hub` and `lake-hub`. */
export function declaredLinkIds(t: Topology, layout: Layout): string[] {
  return layout === 'legacy' ? legacyLinks(t).links.map((l) => l.id) : hubLayout(t).links.map((l) => `${l.from}-${l.to}`);
}

/**
 * The longest stretch of consecutive failed requests, by send time: from the first failed request's
 * send time to the next accepted request's send time (`endMs` when none followed).
 */
export function longestFailedStretchMs(records: readonly RequestRecord[], endMs: number): number {
  const sorted = [...records].sort((a, b) => a.sentAtMs - b.sentAtMs || a.index - b.index);
  let longest = 0;
  let runStart: number | null = null;
  for (const r of sorted) {
    if (!r.accepted) runStart ??= r.sentAtMs;
    else if (runStart !== null) {
      longest = Math.max(longest, r.sentAtMs - runStart);
      runStart = null;
    }
  }
  if (runStart !== null) longest = Math.max(longest, endMs - runStart);
  return longest;
}

export async function runOnboarding(ctx: RunnerContext, settings: OnboardingSettings, layouts: readonly Layout[]): Promise<OnboardingResult> {
  const full = loadTopology(ctx.topologyFile);
  // Explicit `initial` systems may be any of the topology (a quick run can add a system from
  // outside its reduced landscape); otherwise the run's systems are the universe.
  const inRun = new Set(settings.initial ? full.systems.map((s) => s.id) : ctx.systems);
  // By default the landscape's late joiners are added.
  const toAdd = settings.add ?? full.systems.filter((s) => s.joinsLate).map((s) => s.id);
  const add = toAdd.filter((id) => inRun.has(id));
  const notInRun = toAdd.filter((id) => !inRun.has(id));
  if (notInRun.length > 0) noteForReport(ctx, `onboarding: ${notInRun.join(', ')} not among the run's systems (${ctx.systems.join(', ')}), so not added`);
  if (add.length === 0) throw new Error(`onboarding: none of the systems to add (${toAdd.join(', ') || 'none joins late'}) is among the run's systems (${ctx.systems.join(', ')})`);
  const requested = settings.initial ?? ctx.systems.filter((id) => !add.includes(id));
  const initial = requested.filter((id) => inRun.has(id) && !add.includes(id));
  const dropped = requested.filter((id) => !initial.includes(id));
  if (dropped.length > 0) ctx.progress.note(`onboarding: initial system(s) ${dropped.join(', ')} left out (not in the run, or also to be added)`);
  const ingress = full.systems.find((s) => s.role === 'ingress')?.id;
  if (!ingress || !initial.includes(ingress)) throw new Error(`onboarding: the initial systems (${initial.join(', ')}) must include the ingress ${ingress ?? '(none in the topology)'}`);

  const inFileOrder = (ids: Iterable<string>): string[] => {
    const set = new Set(ids);
    return full.systems.filter((s) => set.has(s.id)).map((s) => s.id);
  };
  const before = restrictTo(full, inFileOrder(initial));
  const after = restrictTo(full, inFileOrder([...initial, ...add]));
  const out: OnboardingLayoutResult[] = [];
  for (const layout of layouts) {
    throwIfAborted(ctx);
    out.push(await onboardLayout(ctx, settings, layout, { before, after, initial: inFileOrder(initial), add: inFileOrder(add), ingress }));
  }
  return { layouts: out };
}

interface Plan {
  before: Topology;
  after: Topology;
  initial: string[];
  add: string[];
  ingress: string;
}

async function onboardLayout(ctx: RunnerContext, settings: OnboardingSettings, layout: Layout, plan: Plan): Promise<OnboardingLayoutResult> {
  const { before, after, initial, add } = plan;
  const practices = onboardingPracticesFor(settings, layout);
  const reconfigured = reconfiguredSystems(before, after, layout);
  const beforeLinks = new Set(declaredLinkIds(before, layout));
  const newLinkIds = declaredLinkIds(after, layout).filter((id) => !beforeLinks.has(id));
  ctx.progress.step(`onboarding: ${layout}, ${initial.join(',')} + ${add.join(',')}`, 4 + 0.9 * (initial.length + add.length) + settings.beforeS + settings.afterS + 10);

  const rl = await startRunnerLandscape(ctx, { layout, name: `onb-${layout}`, systems: initial, universe: [...initial, ...add], practices });
  const ls = rl.landscape;
  try {
    const orders = ingressEvents(after, ctx.seed, Math.ceil(settings.loadOrdersPerS * (settings.beforeS + settings.afterS + CHANGE_BUDGET_S)));
    const load = new SteadyLoad({ ingressUrl: ls.ingressUrl, events: orders, ratePerS: settings.loadOrdersPerS });
    load.start();
    let changeStartMs = 0;
    let change: Awaited<ReturnType<Landscape['addSystems']>>;
    try {
      await sleep(settings.beforeS * 1000, ctx.signal);
      throwIfAborted(ctx);
      changeStartMs = Date.now();
      // Newcomers first, then the restarts (with peers=reload: the new peers file, followed in
      // place): a sender told about a receiver that is not up yet would fail its calls to it,
      // which no careful operator would do on purpose.
      change = await ls.addSystems(add, { restart: reconfigured, fromBeginning: layout === 'hub' });
      await sleep(settings.afterS * 1000, ctx.signal);
    } finally {
      await load.stop();
    }
    const loadStoppedAtMs = Date.now();
    if (load.sent >= orders.length) noteForReport(ctx, `onboarding ${layout}: the load ran out of its ${orders.length} orders before the end (the change took more than ${CHANGE_BUDGET_S} s)`);

    // The systems actually restarted: existing ones the supervisor started more than once.
    const restartedSystems = initial.filter((id) => ls.instancesOf(id).some((name) => ls.supervisor.status(name).starts > 1));
    // Those that followed the new configuration while running (peers=reload), and were not restarted.
    const reloadedSystems = initial.filter((id) => id in change.reconfigured && !restartedSystems.includes(id));
    const restartDowntimeMs = Object.values(change.restarts).reduce((sum, r) => sum + Math.max(0, r.healthyAtMs - r.stoppedAtMs), 0);
    const duringChange = load.between(changeStartMs, Number.POSITIVE_INFINITY);
    const ingressFailed = duringChange.filter((r) => !r.accepted).length;
    const ingressDowntimeMs = longestFailedStretchMs(duringChange, loadStoppedAtMs);

    const history = load.acceptedEvents(0, changeStartMs);
    const expected = expectedOutcome(after, { ingress: history, seed: ctx.seed }, { layout });
    const newcomers = await settleNewcomers(ctx, ls, layout, settings, plan, expected.received, loadStoppedAtMs);

    const result: OnboardingLayoutResult = {
      layout,
      initialSystems: initial,
      addedSystems: add,
      reconfiguredSystems: reconfigured,
      restartedSystems,
      reloadedSystems,
      restartDowntimeMs,
      practices: { ...practices },
      newLinks: newLinkIds.length,
      newLinkIds,
      ingressDowntimeMs,
      ingressFailed,
      ingressSent: duringChange.length,
      // The change is complete when every newcomer is up and every sender that had to learn about it is back.
      onboardingMs: change.doneAtMs - changeStartMs,
      newcomers: newcomers.map(({ receivedInAll: _all, ...n }) => n),
    };
    ctx.progress.note(`onboarding ${layout}: added ${add.join(', ')} in ${result.onboardingMs} ms; reconfigured [${reconfigured.join(', ')}]: `
      + `restarted [${restartedSystems.join(', ')}] (down ${restartDowntimeMs} ms in all), rewired without a restart [${reloadedSystems.join(', ')}]; `
      + `${newLinkIds.length} new links; ingress ${ingressFailed}/${duringChange.length} failed from the change on, longest outage ${ingressDowntimeMs} ms; `
      + `history ${newcomers.map((n) => `${n.system} ${n.historyReceived}/${n.historyExpected} (${n.receivedInAll} records received in all)`).join(', ')} `
      + `from the ${history.length} orders accepted before the change`);
    return result;
  } finally {
    await rl.stop();
  }
}

/**
 * Waits (at most settleS after the load stopped) until every newcomer has its whole history, or
 * what the newcomers received has stopped growing for a quiet period longer than the slowest
 * schedule of the flows into them; then counts each newcomer's history.
 */
async function settleNewcomers(ctx: RunnerContext, ls: Landscape, layout: Layout, settings: OnboardingSettings, plan: Plan,
  expectedReceived: Map<string, Map<string, Set<string>>>, loadStoppedAtMs: number): Promise<(OnboardingLayoutResult['newcomers'][number] & { receivedInAll: number })[]> {
  const slowestScheduleMs = Math.max(0, ...plan.after.flows.filter((f) => plan.add.includes(f.to) && layout === 'legacy').map((f) => f.legacy.scheduleMs ?? 0));
  const quietMs = Math.max(QUIET_MIN_MS, 2 * slowestScheduleMs + 1000);
  const deadline = loadStoppedAtMs + settings.settleS * 1000;
  let lastTotal = -1;
  let lastGrowthMs = loadStoppedAtMs;
  const unreachable = new Set<string>();
  while (true) {
    const counts = await Promise.all(plan.add.map(async (id) => {
      const received = await receivedOfSystem(ls, id).catch(() => null);
      if (!received) unreachable.add(id);
      else unreachable.delete(id);
      const want = expectedReceived.get(id) ?? new Map<string, Set<string>>();
      let historyExpected = 0;
      let historyReceived = 0;
      for (const [kind, ids] of want) {
        historyExpected += ids.size;
        const got = new Set(received?.[kind]?.ids ?? []);
        for (const id of ids) if (got.has(id)) historyReceived++;
      }
      const receivedInAll = Object.values(received ?? {}).reduce((sum, r) => sum + r.count, 0);
      return { system: id, historyReceived, historyExpected, receivedHistory: historyReceived > 0 && historyReceived === historyExpected, receivedInAll };
    }));
    const now = Date.now();
    const total = counts.reduce((sum, c) => sum + c.receivedInAll, 0);
    if (total !== lastTotal) {
      lastTotal = total;
      lastGrowthMs = now;
    }
    const complete = counts.every((c) => c.historyReceived === c.historyExpected);
    if (complete || now - lastGrowthMs >= quietMs || now >= deadline || ctx.signal?.aborted) {
      if (unreachable.size > 0) noteForReport(ctx, `onboarding ${layout}: GET /state of ${[...unreachable].join(', ')} failed; counted as nothing received`);
      if (!complete) ctx.progress.note(`onboarding ${layout}: settled after ${now - loadStoppedAtMs} ms (${now >= deadline ? 'settleS reached' : `nothing new for ${quietMs} ms`})`);
      return counts;
    }
    await sleep(500, ctx.signal);
  }
}
