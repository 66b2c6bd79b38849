/**
 * TEST FIXTURE: a complete, realistic Report (all four runners, both layouts; hub-cluster on request) for the report tests.
 * The numbers are made up to look like a run of the shop topology A–I; product code never uses this.
 */
import { createHash } from 'node:crypto';
import { headlineRows } from '../../report/headline.ts';
import { REPORT_SCHEMA_VERSION, type ConnectionsPoint, type FailureMeasurement, type FailuresLayoutName, type FailuresResult, type Layout, type OnboardingResult, type Report, type ReportLink,
  type ReportPractices } from '../../report/model.ts';
import { throughput } from './fixture-throughput.ts';

const SYSTEMS: readonly { id: string; name: string; role: string; kind: string; lakeFormat: string }[] = [
  { id: 'A', name: 'storefront', role: 'ingress', kind: 'order', lakeFormat: 'json' },
  { id: 'B', name: 'payments', role: 'service', kind: 'payment', lakeFormat: 'json' },
  { id: 'C', name: 'inventory', role: 'service', kind: 'reservation', lakeFormat: 'csv' },
  { id: 'D', name: 'shipping', role: 'service', kind: 'shipment', lakeFormat: 'xml' },
  { id: 'E', name: 'crm', role: 'service', kind: 'customer', lakeFormat: 'csv' },
  { id: 'F', name: 'billing', role: 'service', kind: 'invoice', lakeFormat: 'csv' },
  { id: 'G', name: 'analytics', role: 'service', kind: 'insight', lakeFormat: 'json' },
  { id: 'H', name: 'notifications', role: 'service', kind: 'notification', lakeFormat: 'json' },
  { id: 'I', name: 'fraud-detection', role: 'service', kind: 'risk-score', lakeFormat: 'xml' },
];

/** [id, from, to, transport, format, data kind], as in scenarios/topologies/shop.yaml. */
const FLOWS: readonly (readonly [string, string, string, string, string, string])[] = [
  ['a-b-payment', 'A', 'B', 'rest-sync', 'json', 'order'],
  ['a-c-stock', 'A', 'C', 'rest-sync', 'json', 'order'],
  ['a-e-orders', 'A', 'E', 'batch', 'csv', 'order'],
  ['a-g-orders', 'A', 'G', 'batch', 'csv', 'order'],
  ['a-h-webhook', 'A', 'H', 'rest-sync', 'json', 'order'],
  ['a-i-score', 'A', 'I', 'rest-sync', 'json', 'order'],
  ['b-f-payments', 'B', 'F', 'rest-poll', 'json', 'payment'],
  ['b-h-payments', 'B', 'H', 'amqp', 'json', 'payment'],
  ['b-i-payments', 'B', 'I', 'amqp', 'json', 'payment'],
  ['c-d-pick', 'C', 'D', 'amqp', 'xml', 'reservation'],
  ['c-g-stock', 'C', 'G', 'rest-poll', 'json', 'reservation'],
  ['d-c-shipped', 'D', 'C', 'amqp', 'xml', 'shipment'],
  ['d-h-shipment', 'D', 'H', 'amqp', 'xml', 'shipment'],
  ['e-g-customers', 'E', 'G', 'batch', 'csv', 'customer'],
  ['f-e-invoices', 'F', 'E', 'batch', 'csv', 'invoice'],
];

const PROTOCOL: Record<string, string> = { 'rest-sync': 'http', 'rest-poll': 'http', amqp: 'amqp', batch: 'file' };

interface FixtureLink extends ReportLink { transport: string }

function legacyLinksOf(ids: readonly string[]): FixtureLink[] {
  const flows = FLOWS.filter(([, from, to]) => ids.includes(from) && ids.includes(to))
    .map(([id, from, to, transport, format, kind]) => ({ id, from, to, protocol: PROTOCOL[transport], format, data: [kind], transport }));
  const exports = SYSTEMS.filter((s) => ids.includes(s.id))
    .map((s) => ({ id: `${s.id}-lake-export`, from: s.id, to: 'lake', protocol: 'file', format: s.lakeFormat, data: [s.kind], transport: 'batch' }));
  return [...flows, ...exports];
}

function hubLinksOf(ids: readonly string[]): ReportLink[] {
  const systems = SYSTEMS.filter((s) => ids.includes(s.id));
  return [
    ...systems.map((s) => ({ id: `${s.id}-hub`, from: s.id, to: 'hub', protocol: 'kafka', format: 'json', data: [s.kind] })),
    { id: 'lake-sink-hub', from: 'lake', to: 'hub', protocol: 'kafka', format: 'json', data: systems.map((s) => s.kind) },
  ];
}

const uniqueSorted = (xs: readonly string[]): string[] => [...new Set(xs)].sort();

function connectionsPoint(layout: Layout, n: number): ConnectionsPoint {
  const ids = SYSTEMS.slice(0, n).map((s) => s.id);
  if (layout === 'hub') {
    const links = hubLinksOf(ids);
    const processes = [...ids, 'lake-sink'];
    return {
      layout, n, systems: ids, declaredLinks: links.length,
      // A producer and a consumer connection per process, plus the lake sink's one consumer.
      liveTcpTotal: ids.length * 2 + 1,
      liveTcpPairs: processes.map((p) => ({ client: p, server: 'broker', connections: p === 'lake-sink' ? 1 : 2 })),
      liveTcpPerProcess: [...processes.map((p) => ({ process: p, connections: p === 'lake-sink' ? 1 : 2 })), { process: 'broker', connections: ids.length * 2 + 1 }],
      protocols: ['kafka'], formats: ['json'], adaptersTotal: ids.length,
      adapters: ids.map((id) => ({ system: id, adapters: 1, speaks: ['kafka/json'] })),
      ordersSent: 600, ordersAccepted: 600,
    };
  }
  const links = legacyLinksOf(ids);
  const rest = links.filter((l) => l.transport === 'rest-sync' || l.transport === 'rest-poll');
  const amqpUsers = uniqueSorted(links.filter((l) => l.transport === 'amqp').flatMap((l) => [l.from, l.to]));
  const adapters = ids.map((id) => {
    const speaks = uniqueSorted(links.filter((l) => l.from === id || l.to === id).map((l) => `${l.transport}/${l.format}`));
    return { system: id, adapters: speaks.length, speaks };
  });
  return {
    layout, n, systems: ids, declaredLinks: links.length,
    liveTcpTotal: rest.length * 2 + amqpUsers.length,
    liveTcpPairs: [
      ...rest.map((l) => ({ client: l.transport === 'rest-poll' ? l.to : l.from, server: l.transport === 'rest-poll' ? l.from : l.to, connections: 2 })),
      ...amqpUsers.map((id) => ({ client: id, server: 'rabbitmq', connections: 1 })),
    ],
    liveTcpPerProcess: ids.map((id) => ({ process: id, connections: rest.filter((l) => l.from === id || l.to === id).length * 2 + (amqpUsers.includes(id) ? 1 : 0) })),
    protocols: uniqueSorted(links.map((l) => l.protocol)),
    formats: uniqueSorted(links.map((l) => l.format)),
    adaptersTotal: adapters.reduce((a, s) => a + s.adapters, 0),
    adapters,
    ordersSent: 600, ordersAccepted: n >= 6 ? 598 : 600,
  };
}

type Causes = NonNullable<FailureMeasurement['lostByCause']>;
const NO_CAUSES: Causes = { bufferAtKill: 0, inFlightCall: 0, rabbitmq: 0, broker: 0, lakeSink: 0, unexplained: 0 };
/** Where a fault's losses went missing unless told: RabbitMQ, the broker, the lake sink, a system's buffer. */
const DEFAULT_CAUSE: Record<FailureMeasurement['kind'], keyof Causes> = { system: 'bufferAtKill', rabbitmq: 'rabbitmq', broker: 'broker', 'quorum-leader': 'broker', 'lake-sink': 'lakeSink' };

function failure(component: string, kind: FailureMeasurement['kind'], f: {
  errorRate: number; recordsLost: number; ordersLost: number; blast: string[]; serviceMs: number | null; spof: boolean; locatable: boolean; locatedBy: string;
  causes?: Partial<Causes>;
}): FailureMeasurement {
  const sent = 250;
  const failed = Math.round(sent * f.errorRate);
  const downMs = 5000;
  const observedMs = 13_000;
  // Ingress answers by the time they came, 500 ms buckets from 2 s before the kill: 25 a bucket, fewer accepted while down.
  const points = Array.from({ length: 30 }, (_, i) => {
    const tS = -2 + i * 0.5;
    const failedNow = tS >= 0 && tS < downMs / 1000 ? Math.round(25 * f.errorRate) : 0;
    return { tS, accepted: 25 - failedNow, failed: failedNow };
  });
  return {
    component, kind, downMs, restartMs: kind === 'rabbitmq' ? 4200 : 900, killToServiceMs: f.serviceMs, observedMs,
    ingressOutageMs: f.errorRate >= 1 ? f.serviceMs ?? observedMs : f.errorRate > 0.3 ? 1500 : 60,
    ingressSent: sent, ingressFailed: failed, ingressErrorRate: failed / sent,
    ordersAccepted: 1000 - failed, recordsExpected: (1000 - failed) * 7, recordsLost: f.recordsLost, recordsDuplicated: kind === 'broker' ? 0 : 3,
    ordersLost: f.ordersLost, lostByCause: { ...NO_CAUSES, ...(f.causes ?? (f.recordsLost > 0 ? { [DEFAULT_CAUSE[kind]]: f.recordsLost } : {})) },
    blastRadius: f.blast, locatable: f.locatable, locatedBy: f.locatedBy,
    // A single point of failure here stopped the service while it was down, unless it only lost records.
    resumedWhileDown: !f.spof || f.recordsLost > 0,
    singlePointOfFailure: f.spof, outcomeTimeline: { bucketMs: 500, points },
  };
}

const AS_GROWN: ReportPractices = { outbox: 'memory', peers: 'fixed', formats: 'declared', delivery: 'at-least-once' };
const PRACTICES: Record<FailuresLayoutName, ReportPractices> = {
  legacy: AS_GROWN, 'legacy-ha': { outbox: 'durable', peers: 'reload', formats: 'json', delivery: 'idempotent' },
  hub: { ...AS_GROWN, delivery: 'idempotent' }, 'hub-cluster': { ...AS_GROWN, delivery: 'idempotent' },
};

function failuresLayout(layout: FailuresLayoutName, components: FailureMeasurement[], skipped: { component: string; reason: string }[]): FailuresResult['layouts'][number] {
  const back = components.map((c) => c.killToServiceMs).filter((r): r is number => r !== null && r !== undefined);
  return {
    layout, practices: PRACTICES[layout], baselineOrdersPerS: 50, components, skipped,
    summary: {
      components: components.map((c) => c.component),
      singlePointsOfFailure: components.filter((c) => c.singlePointOfFailure).map((c) => c.component),
      meanBlastRadius: components.reduce((a, c) => a + c.blastRadius.length, 0) / components.length,
      totalRecordsLost: components.reduce((a, c) => a + c.recordsLost, 0),
      totalRecordsDuplicated: components.reduce((a, c) => a + c.recordsDuplicated, 0),
      totalOrdersLost: components.reduce((a, c) => a + c.ordersLost, 0),
      meanKillToServiceMs: back.length === 0 ? null : back.reduce((a, b) => a + b, 0) / back.length,
      longestIngressOutageMs: Math.max(0, ...components.map((c) => c.ingressOutageMs ?? 0)),
    },
  };
}

function failures(): FailuresResult {
  const queue = 'RabbitMQ queue stats: consumer count 0 on its queues';
  const lag = 'broker metrics: consumer lag growing for its group';
  return {
    downMs: 5000, loadOrdersPerS: 50,
    layouts: [
      failuresLayout('legacy', [
        failure('A', 'system', { errorRate: 1, recordsLost: 0, ordersLost: 0, blast: [], serviceMs: 6800, spof: true, locatable: false, locatedBy: 'ingress down; nothing else shows it' }),
        failure('B', 'system', { errorRate: 1, recordsLost: 0, ordersLost: 0, blast: ['A', 'F'], serviceMs: 7400, spof: true, locatable: false, locatedBy: 'A calls B synchronously: A fails, F polls fail' }),
        failure('C', 'system', { errorRate: 0.4, recordsLost: 12, ordersLost: 4, blast: ['A', 'D', 'G'], serviceMs: 8100, spof: true, locatable: true, locatedBy: queue,
          causes: { bufferAtKill: 8, inFlightCall: 4 } }),
        failure('D', 'system', { errorRate: 0, recordsLost: 0, ordersLost: 0, blast: ['C', 'H'], serviceMs: 5900, spof: false, locatable: true, locatedBy: queue }),
        failure('E', 'system', { errorRate: 0, recordsLost: 35, ordersLost: 0, blast: ['F', 'G'], serviceMs: 10_200, spof: true, locatable: false, locatedBy: 'batch drops pile up in its inbox; no queue to show it' }),
        failure('rabbitmq', 'rabbitmq', { errorRate: 0.02, recordsLost: 140, ordersLost: 0, blast: ['B', 'C', 'D', 'H', 'I'], serviceMs: null, spof: true, locatable: true, locatedBy: 'the management API stopped answering' }),
      ], [{ component: 'F', reason: 'the scenario limits failures to A-E and the shared infrastructure' }]),
      failuresLayout('hub', [
        failure('A', 'system', { errorRate: 1, recordsLost: 0, ordersLost: 0, blast: [], serviceMs: 6500, spof: true, locatable: true, locatedBy: lag }),
        failure('B', 'system', { errorRate: 0, recordsLost: 0, ordersLost: 0, blast: [], serviceMs: 5700, spof: false, locatable: true, locatedBy: lag }),
        failure('C', 'system', { errorRate: 0, recordsLost: 0, ordersLost: 0, blast: [], serviceMs: 5650, spof: false, locatable: true, locatedBy: lag }),
        failure('D', 'system', { errorRate: 0, recordsLost: 0, ordersLost: 0, blast: [], serviceMs: 5600, spof: false, locatable: true, locatedBy: lag }),
        failure('E', 'system', { errorRate: 0, recordsLost: 0, ordersLost: 0, blast: [], serviceMs: 5800, spof: false, locatable: true, locatedBy: lag }),
        failure('broker', 'broker', { errorRate: 1, recordsLost: 0, ordersLost: 0, blast: ['A', 'B', 'C', 'D', 'E'], serviceMs: 7600, spof: true, locatable: true, locatedBy: 'the broker itself is down' }),
        failure('lake-sink', 'lake-sink', { errorRate: 0, recordsLost: 0, ordersLost: 0, blast: [], serviceMs: 100, spof: false, locatable: true, locatedBy: lag }),
      ], []),
    ],
  };
}

/**
 * The HA layouts of the failures runner: legacy-ha (three RabbitMQ nodes, the quorum leader, and
 * system A) and hub-cluster (three brokers and the quorum leader, nothing lost).
 */
function haLayouts(): FailuresResult['layouts'] {
  const located = (n: string): string => `the cluster: ${n} not reached by the active controller from 0.1 s ⇒ ${n}`;
  const node = (name: string, kind: FailureMeasurement['kind'], serviceMs: number, gapMs: number, lost = 0): FailureMeasurement => ({
    ...failure(name, kind, { errorRate: 0.02, recordsLost: lost, ordersLost: lost > 0 ? 1 : 0, blast: ['A'], serviceMs, spof: lost > 0, locatable: true, locatedBy: located(name.replace(/^quorum-leader \((.*)\)$/, '$1')) }),
    ingressOutageMs: gapMs,
  });
  const cluster = (c: FailureMeasurement): FailureMeasurement => ({ ...c, replicasInSyncMs: 1400, leadersBackMs: 2100 });
  return [
    failuresLayout('legacy-ha', [
      failure('A', 'system', { errorRate: 1, recordsLost: 0, ordersLost: 0, blast: [], serviceMs: 6600, spof: true, locatable: false, locatedBy: 'ingress down; nothing else shows it' }),
      node('rabbitmq-1', 'rabbitmq', 2600, 2400), node('rabbitmq-2', 'rabbitmq', 2700, 2500, 6), node('rabbitmq-3', 'rabbitmq', 2500, 2300),
      node('quorum-leader (rabbitmq-1)', 'quorum-leader', 3900, 3600),
    ], []),
    {
      ...failuresLayout('hub-cluster', [
        cluster(node('broker-1', 'broker', 3200, 3100)), cluster(node('broker-2', 'broker', 3400, 3300)), cluster(node('broker-3', 'broker', 4700, 4600)),
        cluster(node('quorum-leader (broker-2)', 'quorum-leader', 4300, 4200)),
      ], []),
      cluster: { brokers: 3, controllers: 3, replicationFactor: 3, minInsyncReplicas: 2, acks: -1, brokerSessionTimeoutMs: 2000, leaderRebalanceIntervalMs: 1000 },
    },
  ];
}

/** The sample report with the failures runner's HA layouts added, legacy-ha and hub-cluster (the headline recomputed). */
export function sampleReportWithCluster(): Report {
  const r = sampleReport();
  r.runners.failures!.layouts.push(...haLayouts());
  r.headline = headlineRows(r.runners);
  return r;
}

/** The sample report as a run made before the loss causes, kill → service and the HA pairs (results/reference then): the figures it lacks removed. */
export function earlierStyleReport(): Report {
  const r = sampleReportWithCluster();
  const f = r.runners.failures!;
  f.layouts = f.layouts.filter((l) => l.layout !== 'legacy-ha');
  for (const l of f.layouts) {
    delete l.practices;
    delete l.summary.components;
    delete l.summary.totalRecordsDuplicated;
    delete l.summary.meanKillToServiceMs;
    delete l.summary.longestIngressOutageMs;
    l.summary.meanRecoveryMs = 1200;
    for (const c of l.components) {
      for (const k of ['restartMs', 'killToServiceMs', 'observedMs', 'ingressOutageMs', 'lostByCause', 'outcomeTimeline'] as const) delete c[k];
      c.recoveryMs = 1200;
      c.ingressTimeline = [{ tS: 0, accepted: 40, failed: 10 }, { tS: 1, accepted: 50, failed: 0 }];
    }
  }
  // Its headline as such a run wrote it: legacy, hub and hub-cluster values, no legacy-ha, no second ratio.
  r.headline = headlineRows(r.runners).map(({ 'legacy-ha': _ha, clusterRatio: _ratio, ...h }) => h);
  return r;
}

function onboarding(): OnboardingResult {
  const initial = ['A', 'B', 'C', 'D', 'E', 'F'];
  const added = ['G', 'H', 'I'];
  const legacyNew = legacyLinksOf(SYSTEMS.map((s) => s.id)).filter((l) => added.includes(l.from) || added.includes(l.to)).map((l) => l.id);
  return {
    layouts: [
      {
        layout: 'legacy', initialSystems: initial, addedSystems: added, reconfiguredSystems: ['A', 'B', 'C', 'D', 'E'], restartedSystems: ['A', 'B', 'D'],
        reloadedSystems: ['C', 'E'], restartDowntimeMs: 12_400,
        newLinks: legacyNew.length, newLinkIds: legacyNew, ingressDowntimeMs: 4200, ingressFailed: 211, ingressSent: 3000, onboardingMs: 38_500,
        newcomers: added.map((system) => ({ system, historyReceived: 0, historyExpected: 1480, receivedHistory: false })),
      },
      {
        layout: 'hub', initialSystems: initial, addedSystems: added, reconfiguredSystems: [], restartedSystems: [],
        reloadedSystems: [], restartDowntimeMs: 0,
        newLinks: 3, newLinkIds: added.map((s) => `${s}-hub`), ingressDowntimeMs: 0, ingressFailed: 0, ingressSent: 3000, onboardingMs: 6_200,
        newcomers: added.map((system) => ({ system, historyReceived: 1480, historyExpected: 1480, receivedHistory: true })),
      },
    ],
  };
}

/** The topology file's text as the sample run read it: a short shop landscape in the shape of scenarios/topologies/shop.yaml. */
function topologyText(): string {
  const systems = SYSTEMS.map((s) => `  - id: ${s.id}\n    name: ${s.name}\n    role: ${s.role}\n    emits: ${s.kind}\n    lake: { format: ${s.lakeFormat} }\n`);
  const flows = FLOWS.map(([id, from, to, transport, format, kind]) => `  - { id: ${id}, from: ${from}, to: ${to}, data: ${kind}, legacy: { transport: ${transport}, format: ${format} } }\n`);
  return `# The online shop: systems A–I and the lake.\nname: shop\nsystems:\n${systems.join('')}flows:\n${flows.join('')}`;
}

const SCENARIO_TEXT = '# The whole comparison of the shop.\nname: shop\ntopology: topologies/shop.yaml\nseed: 42\nlayouts: [legacy, hub]\n'
  + 'runners:\n  connections: { n: [3, 4, 5, 6, 7, 8, 9], sampleS: 10, loadOrdersPerS: 60 }\n  failures: { downMs: 5000, loadOrdersPerS: 50 }\n'
  + '  throughput: { startRatePerS: 50, costRatePerS: 40 }\n  onboarding: { add: [G, H, I] }\n';

const sha256Of = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** A fresh, complete, valid Report; every call returns a new object the test may mutate. */
export function sampleReport(): Report {
  const ids = SYSTEMS.map((s) => s.id);
  const ns = [3, 4, 5, 6, 7, 8, 9];
  const runners: Report['runners'] = {
    connections: {
      points: (['legacy', 'hub'] as const).flatMap((layout) => ns.map((n) => connectionsPoint(layout, n))),
      model: ns.map((n) => ({ n, pointToPoint: (n * (n - 1)) / 2, hub: n })),
    },
    failures: failures(),
    throughput: throughput(),
    onboarding: onboarding(),
  };
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    runId: '2025-06-01T10-00-00Z-shop',
    scenario: {
      name: 'shop',
      file: 'scenarios/shop.yaml',
      sha256: sha256Of(SCENARIO_TEXT),
      text: SCENARIO_TEXT,
      quick: false,
      settings: {
        topology: 'scenarios/topologies/shop.yaml', systems: ids, connections: { n: ns, sampleS: 10, loadOrdersPerS: 60 },
        failures: { downMs: 5000, loadOrdersPerS: 50 }, throughput: { startRatePerS: 50, precision: 0.1, maxPoints: 7, ingressP99BoundMs: 500, backlogGrowthBoundMs: 500, costRatePerS: 40, idleS: 10, scaleOutInstances: 3 }, onboarding: { add: ['G', 'H', 'I'] },
      },
    },
    seed: 42,
    startedAt: '2025-06-01T10:00:00.000Z',
    finishedAt: '2025-06-01T10:41:12.500Z',
    durationS: 2472.5,
    machine: {
      hostname: 'bench-01', cpuModel: 'AMD EPYC 7B13', cores: 2, memoryBytes: 8 * 1024 ** 3,
      os: 'Debian GNU/Linux 12 (bookworm), Linux 6.1.0-28-cloud-amd64', arch: 'x64',
    },
    versions: {
      untangle: '0.1.0', node: 'v20.19.2', kafkajs: '2.2.4', amqplib: '0.10.8', rabbitmq: '3.10.8', hub: 'untangle broker 0.1.0 (own process)',
    },
    source: { commit: '0123456789abcdef0123456789abcdef01234567', dirty: true },
    topology: {
      name: 'shop', file: 'scenarios/topologies/shop.yaml', sha256: sha256Of(topologyText()), text: topologyText(),
      systems: SYSTEMS.map((s) => ({ id: s.id, name: s.name, role: s.role })),
      legacyLinks: legacyLinksOf(ids).map(({ transport: _t, ...l }) => l),
      hubLinks: hubLinksOf(ids),
    },
    runners,
    headline: headlineRows(runners),
    notes: ['failures: F was not failed (the scenario limits failures to A-E and the shared infrastructure)'],
  };
}
