/**
 * Runs one scenario: the runners it names, for the layouts it names, one after the other on this
 * machine, then writes results/<run-id>/report.{json,md,html}. Runners measure; this file only
 * orders them, gathers what the report must state (machine, versions, settings, seed) and hands
 * everything to report/.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { hubLayout, LAKE, legacyLinks, loadTopology, protocolOf, restrictTo, type Topology } from '../systems/topology/index.ts';
import { resolveRabbitMq, redactAmqpUrl } from '../infra/rabbitmq.ts';
import { headlineRows } from '../report/headline.ts';
import { REPORT_SCHEMA_VERSION, type Report } from '../report/model.ts';
import { writeReport } from '../report/write.ts';
import { machineInfo, ownVersion, rabbitMqVersion, versionsInfo } from './environment.ts';
import { runConnections } from './runners/connections.ts';
import { runFailures } from './runners/failures.ts';
import { CLUSTER_NODES } from './runners/failures/infra.ts';
import { RABBIT_CLUSTER_NODES } from '../infra/rabbitmq-cluster.ts';
import { AS_GROWN, formatPractices } from '../systems/runtime/practices.ts';
import { runOnboarding } from './runners/onboarding.ts';
import { runThroughput, scheduledHopS } from './runners/throughput.ts';
import type { RunnerContext } from './runners/context.ts';
import type { RunProgress } from './progress.ts';
import { failuresLayouts, RUNNER_ORDER, type Scenario } from './scenario.ts';
import { estimateSeconds } from './estimate.ts';
import { fileSha256, readRunFile, sourceInfo, type RunFile } from './provenance.ts';

export interface RunOptions {
  /** The folder for report files and the run log (created; must not hold another run's report). */
  outDir: string;
  runId: string;
  progress: RunProgress;
  signal?: AbortSignal;
  /** Keep the landscapes' scratch folders (logs, lake, inboxes) after the run; default false. */
  keepWork?: boolean;
}

export interface RunOutcome {
  report: Report;
  files: { md: string; html: string; json: string };
  /** Runners that failed (their error is also a note in the report). */
  failed: string[];
}

/** A run id: UTC time and the scenario name, e.g. 20261125-114302-compare-quick. */
export function newRunId(scenario: Scenario, now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${scenario.name}${scenario.quick ? '-quick' : ''}`;
}

function topologySummary(t: Topology, file: string): Report['topology'] {
  return {
    name: t.name,
    file,
    systems: t.systems.map((s) => ({ id: s.id, name: s.name, role: s.role })),
    legacyLinks: legacyLinks(t).links.map((l) => ({ id: l.id, from: l.from, to: l.to, protocol: l.transport, format: l.format, data: [...l.data] })),
    hubLinks: hubLinks(t),
  };
}

/**
 * A note for each of the run's files that changed while it ran: the runners read the topology again
 * for every landscape they start, so the report's hash would not stand for all of the run.
 */
function changedFileNotes(files: readonly RunFile[]): string[] {
  return files.filter((f) => f.sha256 !== undefined && fileSha256(f.file) !== f.sha256)
    .map((f) => `the ${f.what} file ${f.file} changed (or went) during the run: its sha256 and text in this report are of its bytes when the run started`);
}

/** One link per system (and the lake sink) to the hub, carrying the kinds it writes and reads, and which way they go. */
function hubLinks(t: Topology): Report['topology']['hubLinks'] {
  const hub = hubLayout(t);
  const kindOf = new Map(hub.topics.map((tp) => [tp.name, tp.dataKind]));
  const kinds = (topics: readonly string[]): string[] => [...new Set(topics.map((tp) => kindOf.get(tp) ?? tp))].sort();
  return hub.links.map((l) => {
    const wiring = hub.systems.find((s) => s.systemId === l.from);
    const data = wiring ? kinds([...wiring.produces, ...wiring.subscribes]) : kinds(hub.lakeSink.subscribes);
    // The data's way: a system publishes to the hub, consumes from it, or both; the lake sink only consumes.
    const direction = !wiring ? 'to-from' : wiring.produces.length > 0 && wiring.subscribes.length > 0 ? 'both' : wiring.produces.length > 0 ? 'from-to' : 'to-from';
    return { id: `${l.from === LAKE ? 'lake-sink' : l.from}-hub`, from: l.from, to: l.to, protocol: protocolOf('kafka'), format: l.format, data, direction };
  });
}

export async function runScenario(scenario: Scenario, opts: RunOptions): Promise<RunOutcome> {
  const startedAt = new Date();
  // The commit and the state of the tree, read before this run creates anything.
  const source = sourceInfo();
  mkdirSync(opts.outDir, { recursive: true });
  const workDir = path.join(opts.outDir, 'work');
  mkdirSync(workDir, { recursive: true });
  const { progress } = opts;
  let topology = loadTopology(scenario.topologyFile);
  // The files as the run read them, each read once: their hashes let `untangle diff` tell two runs' files
  // apart, their texts let a reader see and rerun exactly what ran.
  const [scenarioFile, topologyFile] = [readRunFile('scenario', scenario.file), readRunFile('topology', scenario.topologyFile)];
  const hashed = [scenarioFile, topologyFile];
  if (scenario.systems) topology = restrictTo(topology, scenario.systems);
  progress.setTotalEstimate(estimateSeconds(scenario, { systems: topology.systems.length, processes: topology.systems.reduce((a, s) => a + s.instances, 0), legacyHopS: scheduledHopS(topology, 'legacy') }));
  const systems = topology.systems.map((s) => s.id);
  const notes: string[] = hashed.flatMap((f) => (f.note === undefined ? [] : [f.note]));
  const measuredFailures = failuresLayouts(scenario);
  const usesLegacy = scenario.layouts.includes('legacy') || (scenario.runners.failures !== undefined && measuredFailures.includes('legacy'));
  const usesCluster = scenario.runners.failures !== undefined && measuredFailures.includes('hub-cluster');
  const usesRabbitCluster = scenario.runners.failures !== undefined && measuredFailures.includes('legacy-ha');
  const usesHub = RUNNER_ORDER.some((n) => scenario.runners[n] !== undefined && (n === 'failures' ? measuredFailures : scenario.layouts).includes('hub'));

  progress.step('finding RabbitMQ', 2);
  const rabbit = usesLegacy ? await resolveRabbitMq({ log: (l) => progress.note(l) }) : null;
  const rabbitVersion = rabbit ? await rabbitMqVersion(rabbit.url) : null;
  const hubName = process.env.KAFKA_BROKERS?.trim()
    ? `Kafka cluster at KAFKA_BROKERS=${process.env.KAFKA_BROKERS.trim()}`
    : `untangle broker ${ownVersion()} (one node, own process)`;
  const hubs = [
    ...(usesHub ? [hubName] : []),
    ...(usesCluster ? [`hub-cluster (failures only): untangle broker ${ownVersion()}, ${CLUSTER_NODES} nodes, each its own process`] : []),
  ];
  if (rabbit) notes.push(`RabbitMQ for the legacy layout: ${redactAmqpUrl(rabbit.url)} (${rabbit.source}).`);
  if (scenario.runners.throughput) {
    const once = RUNNER_ORDER.filter((n) => n !== 'throughput' && scenario.runners[n] !== undefined);
    notes.push(scenario.repeat > 1
      ? `Repeats: the throughput and cost measurements ran ${scenario.repeat} times (medians with 95 % intervals in the headline)` +
        `${once.length > 0 ? `; ${once.join(', ')} ran once (their counts come from the topology or one trial per fault, within the time budget), so their rows have no interval` : ''}.`
      : 'Repeats: every measurement ran once, so no figure has an interval; `untangle run --repeat N` runs the throughput and cost measurements N times.');
  }
  if (usesRabbitCluster) notes.push(`RabbitMQ for legacy-ha (failures only): ${RABBIT_CLUSTER_NODES} local nodes of the machine's rabbitmq-server started for the run, one cluster, quorum queues.`);

  const runners: Report['runners'] = {};
  const failed: string[] = [];
  try {
    for (const name of RUNNER_ORDER) {
      const settings = scenario.runners[name];
      if (!settings) continue;
      if (opts.signal?.aborted) throw new Error('run interrupted');
      const ctx: RunnerContext = {
        topologyFile: scenario.topologyFile,
        systems,
        // Short, unique per run: it names this run's queues and topics on shared servers.
        runId: `u${startedAt.getTime().toString(36)}`,
        workDir: path.join(workDir, name),
        seed: scenario.seed,
        amqpUrl: rabbit?.url ?? '',
        progress,
        signal: opts.signal,
        reportNote: (line) => notes.push(line),
      };
      mkdirSync(ctx.workDir, { recursive: true });
      try {
        if (name === 'connections' || name === 'throughput') {
          // These two run every layout with the systems as the landscape grew; the failures and onboarding
          // sections list the practices of each of their layouts.
          notes.push(`${name}: every layout ran with the as-grown integration practices (${formatPractices(AS_GROWN).replaceAll(',', ', ')}).`);
        }
        if (name === 'connections') runners.connections = await runConnections(ctx, scenario.runners.connections!, scenario.layouts);
        if (name === 'throughput') runners.throughput = await runThroughput(ctx, scenario.runners.throughput!, scenario.layouts, scenario.repeat);
        if (name === 'failures') runners.failures = await runFailures(ctx, scenario.runners.failures!, measuredFailures);
        if (name === 'onboarding') runners.onboarding = await runOnboarding(ctx, scenario.runners.onboarding!, scenario.layouts);
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        const message = `runner ${name} failed: ${(err as Error).message}`;
        failed.push(name);
        notes.push(message);
        progress.note(message);
      }
    }
  } finally {
    await rabbit?.stop();
    if (!opts.keepWork) rmSync(workDir, { recursive: true, force: true });
  }

  notes.push(...changedFileNotes(hashed));
  const finishedAt = new Date();
  const report: Report = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    runId: opts.runId,
    scenario: {
      name: scenario.name,
      file: path.relative(process.cwd(), scenario.file) || scenario.file,
      ...(scenarioFile.sha256 ? { sha256: scenarioFile.sha256 } : {}),
      ...(scenarioFile.text !== undefined ? { text: scenarioFile.text } : {}),
      quick: scenario.quick,
      settings: { layouts: scenario.layouts, systems, seed: scenario.seed, repeat: scenario.repeat, runners: scenario.runners, ...(scenario.prices ? { prices: scenario.prices } : {}) },
    },
    seed: scenario.seed,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationS: Math.round((finishedAt.getTime() - startedAt.getTime()) / 100) / 10,
    machine: machineInfo(),
    versions: versionsInfo({ rabbitmq: rabbitVersion, hub: hubs.length > 0 ? hubs.join('; ') : 'none used' }),
    source,
    topology: {
      ...topologySummary(topology, path.relative(process.cwd(), scenario.topologyFile) || scenario.topologyFile),
      ...(topologyFile.sha256 ? { sha256: topologyFile.sha256 } : {}),
      ...(topologyFile.text !== undefined ? { text: topologyFile.text } : {}),
    },
    runners,
    headline: headlineRows(runners),
    notes,
  };
  progress.step('writing the report', 3);
  const files = await writeReport(opts.outDir, report);
  progress.done();
  return { report, files, failed };
}
