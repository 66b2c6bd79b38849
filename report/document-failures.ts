/**
 * The failures section: which integration practices each layout ran with, the two comparisons
 * (legacy against hub, legacy-ha against hub-cluster), each over the components both its layouts
 * tested, which component was tested where, then per layout what each failed component cost, what
 * it lost (and why) and how far it reached. The glossary (glossary.ts) defines every figure.
 */
import { left, list, paragraph, right, table, type Block, type Section } from './document-model.ts';
import { formatList, formatNumber, formatPercent, MISSING, yesNo } from './format.ts';
import { comparedText, comparePairs, coverage, FAILURES_LAYOUTS, roleOf, rolesOf, type PairComparison, type SideFigures } from './failures-compare.ts';
import type { ClusterSetup, FailureMeasurement, FailuresResult, LossCauses, ReportPractices } from './model.ts';

type FailuresLayout = FailuresResult['layouts'][number];

export const NOT_MEASURED = 'not measured';

const ms = (v: number | null | undefined): string => (v === null || v === undefined ? MISSING : `${formatNumber(v)} ms`);
const counted = (names: readonly string[]): string => `${names.length}: ${formatList(names)}`;

/** The loss causes as the report names them. */
export const CAUSE_LABELS: Readonly<Record<keyof LossCauses, string>> = {
  bufferAtKill: 'buffer lost at kill', inFlightCall: 'in-flight call', rabbitmq: 'RabbitMQ', broker: 'broker', lakeSink: 'lake sink', unexplained: 'unexplained',
};

/** "12 buffer lost at kill, 3 in-flight call"; "none"; "not measured" for a report made before causes were. */
export function formatCauses(c: LossCauses | null | undefined): string {
  if (c === null || c === undefined) return NOT_MEASURED;
  const parts = (Object.keys(CAUSE_LABELS) as (keyof LossCauses)[]).filter((k) => c[k] > 0).map((k) => `${formatNumber(c[k])} ${CAUSE_LABELS[k]}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** kill → service of one fault: "not within 12,300 ms" when the service was not back by the end of its observation. */
function serviceText(c: FailureMeasurement): string {
  if (c.killToServiceMs === undefined) return NOT_MEASURED;
  if (c.killToServiceMs === null) return c.observedMs === undefined ? 'not within the observation' : `not within ${ms(c.observedMs)}`;
  return ms(c.killToServiceMs);
}

/** The best practice of each option (systems/runtime/practices.ts; a test keeps the two equal). */
export const BEST_PRACTICES: ReportPractices = { outbox: 'durable', peers: 'reload', formats: 'json', delivery: 'idempotent' };

function practicesTable(f: FailuresResult): Block {
  const options = Object.keys(BEST_PRACTICES) as (keyof ReportPractices)[];
  return table({
    id: 'failures-practices', caption: 'Integration practices each layout ran with',
    columns: [left('layout'), ...options.map((o) => left(o))],
    rows: FAILURES_LAYOUTS.flatMap((layout) => f.layouts.filter((l) => l.layout === layout)).map((l) => [l.layout, ...options.map((o) => (l.practices === undefined ? 'not recorded'
      : `${l.practices[o]}${l.practices[o] === BEST_PRACTICES[o] ? ' (best practice)' : ''}`))]),
  });
}

/** How the hub-cluster layout was set up, in a sentence. */
export function clusterSetupText(c: ClusterSetup): string {
  return `hub-cluster is the hub on ${c.brokers} brokers, ${c.controllers} of them also controller quorum voters; the run's topics had replication factor `
    + `${c.replicationFactor} and min.insync.replicas ${c.minInsyncReplicas}, and the producers used acks=${c.acks === -1 ? 'all (-1)' : c.acks}. `
    + (c.brokerSessionTimeoutMs !== undefined ? `The controller fenced a broker ${formatNumber(c.brokerSessionTimeoutMs)} ms after its last heartbeat and moved its partitions' leadership. ` : '')
    + (c.leaderRebalanceIntervalMs ? `Every ${formatNumber(c.leaderRebalanceIntervalMs)} ms it moved leadership back to each partition's preferred replica once that replica was in sync again. ` : '')
    + `A broker was killed only once every replica was back in sync after the one before${c.leaderRebalanceIntervalMs ? ' and every partition led by its preferred replica' : ''}; "quorum-leader (broker-N)" is whichever node led the `
    + 'controller quorum when its turn came (a broker that happened to lead it when killed is named in the notes).';
}

/** What a pair was compared over, in a sentence. */
export function pairScopeText(c: PairComparison): string {
  const { left: l, right: r } = c.pair;
  const both = `${l} against ${r} (${c.pair.label})`;
  if (!c.left.measured && !c.right.measured) return `${both}: neither was measured in this run.`;
  if (!c.left.measured || !c.right.measured) {
    const [measured, missing] = c.left.measured ? [l, r] : [r, l];
    return `${both}: ${missing} was not measured in this run, so ${measured} is shown over every component it failed: ${comparedText(c)}.`;
  }
  const leftOut = c.leftOut.length === 0 ? ''
    : ` Not compared: ${c.leftOut.map((x) => `${x.role} (failed in ${x.in} only; ${x.other} in ${x.in === l ? r : l})`).join(', ')}.`;
  if (c.roles.length === 0) return `${both}: the two layouts failed no component in common, so they are not compared.${leftOut}`;
  return `${both}: compared over the components both failed: ${comparedText(c)}.${leftOut}`;
}

function pairTable(c: PairComparison, index: number): Block {
  const sides = [c.left, c.right];
  const cell = (get: (s: SideFigures) => string): string[] => sides.map((s) => (s.measured ? get(s) : NOT_MEASURED));
  const orMissing = <T>(v: T | null, f: (v: T) => string): string => (v === null ? MISSING : f(v));
  return table({
    id: `failures-pair-${index + 1}`, caption: `${c.pair.left} against ${c.pair.right}, over the same components`,
    columns: [left('measure'), right(c.pair.left), right(c.pair.right)],
    rows: [
      ['components compared', ...cell((s) => counted(s.components.map((x) => x.component)))],
      ['single points of failure', ...cell((s) => orMissing(s.singlePointsOfFailure, counted))],
      ['single points of failure in the integration (not the systems)', ...cell((s) => orMissing(s.integrationSinglePointsOfFailure, counted))],
      ['mean blast radius (systems)', ...cell((s) => formatNumber(s.meanBlastRadius))],
      ['records lost', ...cell((s) => formatNumber(s.recordsLost))],
      ['records lost by cause', ...cell((s) => (s.components.length === 0 ? MISSING : formatCauses(s.lostByCause)))],
      ['records duplicated', ...cell((s) => formatNumber(s.recordsDuplicated))],
      ['orders lost', ...cell((s) => formatNumber(s.ordersLost))],
      ['mean time from kill to ready', ...cell((s) => ms(s.meanKillToReadyMs))],
      ['mean time from kill to service', ...cell((s) => (s.meanKillToServiceMs === null && s.components.length > 0 ? NOT_MEASURED : ms(s.meanKillToServiceMs)))],
      ['service not back within the observation', ...cell((s) => counted(s.serviceNotBack))],
      ['longest ingress outage', ...cell((s) => (s.longestIngressOutageMs === null && s.components.length > 0 ? NOT_MEASURED : ms(s.longestIngressOutageMs)))],
      ['mean ingress error rate while down', ...cell((s) => formatPercent(s.meanIngressErrorRate))],
    ],
  });
}

/** Per role and layout: tested (and whether a single point of failure), not tested, not applicable. */
function coverageTable(f: FailuresResult): Block {
  const layouts = FAILURES_LAYOUTS.filter((layout) => f.layouts.some((l) => l.layout === layout));
  const cell = (role: string, layout: (typeof layouts)[number]): string => {
    const state = coverage(f, role, layout);
    if (state !== 'tested') return state;
    const cs = f.layouts.find((l) => l.layout === layout)!.components.filter((c) => roleOf(c) === role);
    const spof = cs.filter((c) => c.singlePointOfFailure).length;
    const names = cs.map((c) => c.component).join(', ');
    return cs.length === 1 ? `${names}: ${spof === 1 ? 'single point of failure' : 'not a single point of failure'}` : `${names}: ${spof} of ${cs.length} single points of failure`;
  };
  return table({
    id: 'failures-coverage', caption: 'Which component was failed in which layout (by role: RabbitMQ, a broker and each node of a cluster are a messaging node)',
    columns: [left('component'), ...layouts.map((l) => left(l))],
    rows: rolesOf(f).map((role) => [role, ...layouts.map((l) => cell(role, l))]),
  });
}

/** Per layout: the time each fault cost; the replica columns only when measured, the earlier measures only in reports that have them. */
function costTable(l: FailuresLayout): Block {
  const has = (k: keyof FailureMeasurement): boolean => l.components.some((c) => c[k] !== undefined);
  const [inSync, leadersBack, oldGap, oldRecovery] = [has('replicasInSyncMs'), has('leadersBackMs'), has('ingressGapMs'), has('recoveryMs')];
  const orWait = (v: number | null | undefined): string => (v === null ? 'not within the wait' : ms(v));
  return table({
    id: `failures-${l.layout}`, caption: `${l.layout}: what each failed component cost`,
    columns: [left('component'), left('kind'), right('kill → ready'), right('kill → service'), right('longest ingress outage'), right('ingress failed / sent while down'),
      right('error rate'), ...(inSync ? [right('replicas in sync after ready')] : []), ...(leadersBack ? [right('leaders back after ready')] : []),
      ...(oldGap ? [right('longest ingress gap while down (earlier measure)')] : []), ...(oldRecovery ? [right('recovery after ready (earlier measure)')] : [])],
    rows: l.components.map((c) => [
      c.component, c.kind, ms(c.downMs), serviceText(c), c.ingressOutageMs === undefined ? NOT_MEASURED : ms(c.ingressOutageMs),
      `${formatNumber(c.ingressFailed)} / ${formatNumber(c.ingressSent)}`, formatPercent(c.ingressErrorRate),
      ...(inSync ? [orWait(c.replicasInSyncMs)] : []), ...(leadersBack ? [orWait(c.leadersBackMs)] : []),
      ...(oldGap ? [ms(c.ingressGapMs)] : []), ...(oldRecovery ? [c.recoveryMs === null ? 'not within the window' : ms(c.recoveryMs)] : []),
    ]),
  });
}

function lossTable(l: FailuresLayout): Block {
  return table({
    id: `failures-loss-${l.layout}`, caption: `${l.layout}: records each failure lost (and where) and duplicated`,
    columns: [left('component'), right('records lost / expected'), left('lost by cause'), right('duplicated'), right('orders lost')],
    rows: l.components.map((c) => [c.component, `${formatNumber(c.recordsLost)} / ${formatNumber(c.recordsExpected)}`, formatCauses(c.lostByCause),
      formatNumber(c.recordsDuplicated), formatNumber(c.ordersLost)]),
  });
}

function reachTable(l: FailuresLayout): Block {
  return table({
    id: `failures-reach-${l.layout}`, caption: `${l.layout}: how far each failure reached, and whether one place showed it`,
    columns: [left('component'), left('single point of failure'), left('service resumed while down'), left('blast radius'), left('located by one place'), left('what that place showed')],
    rows: l.components.map((c) => [c.component, yesNo(c.singlePointOfFailure), c.resumedWhileDown === undefined ? NOT_MEASURED : yesNo(c.resumedWhileDown),
      formatList(c.blastRadius), yesNo(c.locatable), c.locatedBy]),
  });
}

export function failuresSection(f: FailuresResult): Section {
  const cluster = f.layouts.find((l) => l.layout === 'hub-cluster');
  const pairs = comparePairs(f);
  const blocks: Block[] = [
    paragraph(`${f.infraDownMs === undefined ? `Each component was killed (kill -9) for ${formatNumber(f.downMs)} ms`
      : `Each system was killed (kill -9) for ${formatNumber(f.downMs)} ms, and each of the integration's own components (RabbitMQ, a broker, the quorum `
        + `leader, the lake sink) for ${formatNumber(f.infraDownMs)} ms,`} while ${formatNumber(f.loadOrdersPerS)} orders/s were posted to the ingress, `
      + 'then restarted; the oracle counted what was lost and duplicated once the landscape settled, and each lost record was put down to where it went '
      + 'missing. Layouts are compared like with like, legacy against hub and legacy-ha against hub-cluster, each pair over the components both of its '
      + 'layouts failed; a component failed in one layout only is "not tested" in the other, never a 0. The glossary defines every figure.'),
    practicesTable(f),
    paragraph('outbox, peers and formats change how the legacy systems are wired; delivery applies to every layout.'),
    ...(cluster?.cluster ? [paragraph(clusterSetupText(cluster.cluster))] : []),
    { kind: 'figures', group: 'failures' },
    ...pairs.flatMap((c, i) => [paragraph(pairScopeText(c)), ...(c.roles.length > 0 ? [pairTable(c, i)] : [])]),
    coverageTable(f),
  ];
  for (const l of f.layouts) {
    blocks.push(costTable(l), lossTable(l), reachTable(l));
    if (l.skipped.length > 0) {
      blocks.push(paragraph(`${l.layout}: components not failed in this run:`));
      blocks.push(list(l.skipped.map((s) => `${s.component}: ${s.reason}`)));
    }
  }
  return { id: 'failures', title: 'Failures', blocks };
}
