/**
 * The failures section: a summary per layout side by side (legacy, hub, and hub-cluster when the run
 * measured it), then per layout what each failed component cost and how far it reached.
 */
import { left, list, paragraph, right, table, type Block, type Section } from './document-model.ts';
import { formatList, formatNumber, formatPercent, MISSING, yesNo } from './format.ts';
import { integrationSinglePointsOfFailure } from './headline.ts';
import type { ClusterSetup, FailureMeasurement, FailuresLayoutName, FailuresResult } from './model.ts';

type FailuresLayout = FailuresResult['layouts'][number];

const ms = (v: number | null | undefined): string => (v === null || v === undefined ? MISSING : `${formatNumber(v)} ms`);
const counted = (names: readonly string[]): string => `${names.length}: ${formatList(names)}`;

/** How the hub-cluster layout was set up, in a sentence. */
export function clusterSetupText(c: ClusterSetup): string {
  return `hub-cluster is the hub on ${c.brokers} brokers, ${c.controllers} of them also controller quorum voters; the run's topics had replication factor `
    + `${c.replicationFactor} and min.insync.replicas ${c.minInsyncReplicas}, and the producers used acks=${c.acks === -1 ? 'all (-1)' : c.acks}. `
    + (c.brokerSessionTimeoutMs !== undefined ? `The controller fenced a broker ${formatNumber(c.brokerSessionTimeoutMs)} ms after its last heartbeat and moved its partitions' leadership. ` : '')
    + (c.leaderRebalanceIntervalMs ? `Every ${formatNumber(c.leaderRebalanceIntervalMs)} ms it moved leadership back to each partition's preferred replica once that replica was in sync again. ` : '')
    + `A broker was killed only once every replica was back in sync after the one before${c.leaderRebalanceIntervalMs ? ' and every partition led by its preferred replica' : ''}; "quorum-leader (broker-N)" is whichever node led the `
    + 'controller quorum when its turn came (a broker that happened to lead it when killed is named in the notes).';
}

function summaryTable(f: FailuresResult): Block {
  const layouts: FailuresLayoutName[] = ['legacy', 'hub', ...(f.layouts.some((l) => l.layout === 'hub-cluster') ? ['hub-cluster' as const] : [])];
  const byLayout = layouts.map((layout) => f.layouts.find((l) => l.layout === layout));
  const cell = (get: (l: FailuresLayout) => string): string[] => byLayout.map((l) => (l ? get(l) : MISSING));
  return table({
    id: 'failures-summary', caption: 'Summary', columns: [left('measure'), ...layouts.map((l) => right(l))],
    rows: [
      ['baseline orders/s', ...cell((l) => formatNumber(l.baselineOrdersPerS))],
      ['components failed', ...cell((l) => formatNumber(l.components.length))],
      ['single points of failure', ...cell((l) => counted(l.summary.singlePointsOfFailure))],
      ['single points of failure in the integration (not the systems)', ...cell((l) => counted(integrationSinglePointsOfFailure(l)))],
      ['mean blast radius (systems)', ...cell((l) => formatNumber(l.summary.meanBlastRadius))],
      ['records lost', ...cell((l) => formatNumber(l.summary.totalRecordsLost))],
      ['orders lost', ...cell((l) => formatNumber(l.summary.totalOrdersLost))],
      ['mean recovery time', ...cell((l) => ms(l.summary.meanRecoveryMs))],
    ],
  });
}

/** Per layout: the cost of each fault; the ingress gap and replica columns only when measured. */
function costTable(l: FailuresLayout): Block {
  const gap = l.components.some((c) => c.ingressGapMs !== undefined);
  const inSync = l.components.some((c) => c.replicasInSyncMs !== undefined);
  const leadersBack = l.components.some((c) => c.leadersBackMs !== undefined);
  const row = (c: FailureMeasurement): string[] => [
    c.component, c.kind, ms(c.downMs), `${formatNumber(c.ingressFailed)} / ${formatNumber(c.ingressSent)}`, formatPercent(c.ingressErrorRate),
    ...(gap ? [ms(c.ingressGapMs)] : []),
    `${formatNumber(c.recordsLost)} / ${formatNumber(c.recordsExpected)}`, formatNumber(c.recordsDuplicated), formatNumber(c.ordersLost),
    c.recoveryMs === null ? 'not within the window' : ms(c.recoveryMs),
    ...(inSync ? [c.replicasInSyncMs === null ? 'not within the wait' : ms(c.replicasInSyncMs)] : []),
    ...(leadersBack ? [c.leadersBackMs === null ? 'not within the wait' : ms(c.leadersBackMs)] : []),
  ];
  return table({
    id: `failures-${l.layout}`, caption: `${l.layout}: what each failed component cost`,
    columns: [left('component'), left('kind'), right('down'), right('ingress failed / sent'), right('error rate'), ...(gap ? [right('longest ingress gap')] : []),
      right('records lost / expected'), right('duplicated'), right('orders lost'), right('recovery'), ...(inSync ? [right('replicas in sync after')] : []),
      ...(leadersBack ? [right('leaders back after')] : [])],
    rows: l.components.map(row),
  });
}

export function failuresSection(f: FailuresResult): Section {
  const cluster = f.layouts.find((l) => l.layout === 'hub-cluster');
  const blocks: Block[] = [
    paragraph(`${f.infraDownMs === undefined ? `Each component was killed (kill -9) for ${formatNumber(f.downMs)} ms`
      : `Each system was killed (kill -9) for ${formatNumber(f.downMs)} ms, and each of the integration's own components (RabbitMQ, a broker, the quorum `
        + `leader, the lake sink) for ${formatNumber(f.infraDownMs)} ms,`} while ${formatNumber(f.loadOrdersPerS)} orders/s were posted to the ingress, `
      + 'then restarted; the oracle counted what was lost once the landscape settled. A component is a single point of failure when its failure lost '
      + 'records, or still stopped the service in the second half of the time it was kept down: the ingress refused more than half of the orders, or nothing moved '
      + 'downstream. Where the service worked again before the component was back, the integration failed over without it.'),
    ...(cluster?.cluster ? [paragraph(clusterSetupText(cluster.cluster))] : []),
    { kind: 'figures', group: 'failures' },
    summaryTable(f),
  ];
  for (const l of f.layouts) {
    blocks.push(costTable(l));
    blocks.push(table({
      id: `failures-reach-${l.layout}`, caption: `${l.layout}: how far each failure reached, and whether one place showed it`,
      columns: [left('component'), left('single point of failure'), left('service resumed while down'), left('blast radius'), left('located by one place'), left('what that place showed')],
      rows: l.components.map((c) => [c.component, yesNo(c.singlePointOfFailure), c.resumedWhileDown === undefined ? MISSING : yesNo(c.resumedWhileDown),
        formatList(c.blastRadius), yesNo(c.locatable), c.locatedBy]),
    }));
    if (l.skipped.length > 0) {
      blocks.push(paragraph(`${l.layout}: components not failed in this run:`));
      blocks.push(list(l.skipped.map((s) => `${s.component}: ${s.reason}`)));
    }
  }
  return { id: 'failures', title: 'Failures', blocks };
}
