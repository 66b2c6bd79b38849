import { freePorts } from '../../broker/cluster/free-ports.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { Supervisor } from '../process/supervisor.ts';
import { loadTopology, restrictTo, type Topology } from '../topology/index.ts';
import { amqpNames, deleteFlowQueues } from '../legacy/amqp.ts';
import { queuePrefixOf, PATHS, type LayoutName } from './options.ts';

const CLI = fileURLToPath(new URL('../../bin/untangle.js', import.meta.url));
const READY = /untangle system ready id=(\S+) layout=(\S+) url=(\S+) pid=(\d+)/;
/** How many times a landscape start is tried when a chosen port was taken before its system bound it. */
const START_ATTEMPTS = 3;
export const LAKE_SINK = 'lake-sink';

export interface LandscapeOptions {
  topologyFile: string;
  layout: LayoutName;
  /** A fresh folder for this run: inboxes, lake, state, logs. */
  workDir: string;
  /** Run only these systems (flows to others are dropped); default every system of the file. */
  systems?: string[];
  /**
   * Systems the landscape may grow to later with addSystems() (the onboarding scenario); default
   * `systems`. Their ports are chosen up front, so every system started is told every peer's
   * address from the beginning, and in the hub layout the lake sink subscribes to the topics of
   * all of them (as a sink configured with a topic pattern picks up new topics): adding a system
   * then changes nothing already running unless the new flows demand it.
   */
  universe?: string[];
  amqpUrl?: string;
  kafkaBrokers?: string[];
  runId: string;
  /** hub: systems whose new consumer group starts at the first offset. */
  fromBeginning?: string[];
  supervisor?: Supervisor;
  readyTimeoutMs?: number;
}

export interface AddSystemsOptions {
  /**
   * Running systems to restart with the new topology file (their flows changed). They are
   * restarted after the newcomers are up, all at once: SIGTERM (a clean stop), then a new process.
   */
  restart?: string[];
  /** hub: the newcomers' new consumer groups start at the first offset (they replay the topics). */
  fromBeginning?: boolean;
}

export interface AddSystemsResult {
  /** The landscape's topology from now on. */
  topology: Topology;
  topologyFile: string;
  startedAtMs: number;
  /** When each newcomer answered its health check. */
  newcomersHealthyAtMs: Record<string, number>;
  /** Per restarted system: when its old process had exited and when the new one was healthy. */
  restarts: Record<string, { stoppedAtMs: number; healthyAtMs: number }>;
  /** Every newcomer and every restarted system healthy. */
  doneAtMs: number;
}

export interface Landscape {
  /** The topology of the running systems (it grows with addSystems). */
  readonly topology: Topology;
  /** The topology file the systems started last were given. */
  readonly topologyFile: string;
  layout: LayoutName;
  workDir: string;
  lakeDir: string;
  supervisor: Supervisor;
  /** Base URL per running component (systems and, in the hub layout, the lake sink). */
  urls: Record<string, string>;
  ingressUrl: string;
  /** Starts one more system (the onboarding scenario's late joiners): addSystems([id]) when it is new to the topology. */
  startSystem(id: string, opts?: { fromBeginning?: boolean }): Promise<void>;
  /**
   * Grows the landscape: writes the topology of the running systems plus `ids` to a new file,
   * starts the newcomers with it, then restarts `opts.restart` with it.
   */
  addSystems(ids: readonly string[], opts?: AddSystemsOptions): Promise<AddSystemsResult>;
  /** Stops one system cleanly and starts it again with the current topology file; resolves when it is healthy. */
  restartSystem(id: string): Promise<{ stoppedAtMs: number; healthyAtMs: number }>;
  /** Live processes by name (systems, the lake sink, and whatever else runs under the supervisor). */
  pids(): Record<string, number>;
  state(id: string): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Starts a whole landscape of one layout as OS processes under a Supervisor: every system of the
 * topology (and the lake sink in the hub layout), each on a port chosen up front so the legacy
 * systems can be told where their peers are.
 */
export async function startLandscape(opts: LandscapeOptions): Promise<Landscape> {
  const full = loadTopology(opts.topologyFile);
  const inFileOrder = (ids: Iterable<string>): string[] => {
    const set = new Set(ids);
    return full.systems.filter((s) => set.has(s.id)).map((s) => s.id);
  };
  let topology = opts.systems ? restrictTo(full, opts.systems) : full;
  const universeIds = inFileOrder([...(opts.universe ?? opts.systems ?? full.systems.map((s) => s.id)), ...topology.systems.map((s) => s.id)]);
  const universe = universeIds.length === full.systems.length ? full : restrictTo(full, universeIds);
  mkdirSync(join(opts.workDir, 'logs'), { recursive: true });
  let topologyFile = join(opts.workDir, 'topology.yaml');
  writeFileSync(topologyFile, stringify(topology));
  let generation = 1;
  /** Every AMQP flow any topology of this landscape had, for the clean-up. */
  const amqpFlows = new Set<string>();
  const rememberFlows = (t: Topology): void => {
    for (const f of t.flows) if (f.legacy.transport === 'amqp') amqpFlows.add(f.id);
  };
  rememberFlows(topology);
  const supervisor = opts.supervisor ?? new Supervisor();
  const ports: Record<string, number> = {};
  const pickPorts = async (): Promise<void> => {
    const picked = await freePorts(universe.systems.length);
    universe.systems.forEach((s, i) => { ports[s.id] = picked[i]; });
  };
  await pickPorts();
  const urls: Record<string, string> = {};
  const started = new Set<string>();
  const common = (file: string): string[] => ['--topology', file, '--work-dir', opts.workDir, '--run-id', opts.runId];
  // A function, not a constant: a start that lost a port race picks new ports for everyone.
  const layoutArgs = (): string[] => opts.layout === 'legacy'
    ? ['--peers', universe.systems.map((s) => `${s.id}=http://127.0.0.1:${ports[s.id]}`).join(','), ...(opts.amqpUrl ? ['--amqp-url', opts.amqpUrl] : [])]
    : ['--kafka-brokers', (opts.kafkaBrokers ?? []).join(',')];
  if (opts.layout === 'hub' && !opts.kafkaBrokers?.length) throw new Error('the hub layout needs kafkaBrokers');

  const start = async (name: string, args: string[]): Promise<void> => {
    const s = await supervisor.start(name, {
      command: process.execPath,
      args: [CLI, ...args],
      readyPattern: READY,
      readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
      healthUrl: (m) => `${m[3]}${PATHS.health}`,
      logFile: join(opts.workDir, 'logs', `${name}.log`),
    });
    urls[name] = s.readyMatch[3];
  };
  const launch = async (id: string, fromBeginning: boolean): Promise<void> => {
    if (!topology.systems.some((s) => s.id === id)) throw new Error(`system ${id} is not in the landscape's topology (${topology.systems.map((s) => s.id).join(', ')})`);
    await start(id, ['system', '--id', id, '--layout', opts.layout, '--port', String(ports[id]), ...common(topologyFile), ...layoutArgs(), ...(fromBeginning ? ['--from-beginning'] : [])]);
    started.add(id);
  };

  const restartSystem = async (id: string): Promise<{ stoppedAtMs: number; healthyAtMs: number }> => {
    if (!started.has(id)) throw new Error(`system ${id} was never started, so it cannot be restarted`);
    await supervisor.stop(id, { timeoutMs: 15_000 });
    const stoppedAtMs = Date.now();
    // A restarted consumer group resumes at its committed offsets, so no --from-beginning here.
    await launch(id, false);
    return { stoppedAtMs, healthyAtMs: Date.now() };
  };

  const addSystems = async (ids: readonly string[], o: AddSystemsOptions = {}): Promise<AddSystemsResult> => {
    const startedAtMs = Date.now();
    const outside = ids.filter((id) => !(id in ports));
    if (outside.length > 0) throw new Error(`cannot add ${outside.join(', ')}: not among the systems this landscape may grow to (${universeIds.join(', ')}); pass them in 'universe'`);
    const already = ids.filter((id) => started.has(id));
    if (already.length > 0) throw new Error(`cannot add ${already.join(', ')}: already running`);
    const unknownRestart = (o.restart ?? []).filter((id) => !started.has(id));
    if (unknownRestart.length > 0) throw new Error(`cannot restart ${unknownRestart.join(', ')}: not running in this landscape`);
    topology = restrictTo(full, inFileOrder([...topology.systems.map((s) => s.id), ...ids]));
    rememberFlows(topology);
    topologyFile = join(opts.workDir, `topology-${++generation}.yaml`);
    writeFileSync(topologyFile, stringify(topology));
    const newcomersHealthyAtMs: Record<string, number> = {};
    await Promise.all(ids.map(async (id) => {
      await launch(id, o.fromBeginning ?? false);
      newcomersHealthyAtMs[id] = Date.now();
    }));
    const restarts: Record<string, { stoppedAtMs: number; healthyAtMs: number }> = {};
    await Promise.all((o.restart ?? []).map(async (id) => { restarts[id] = await restartSystem(id); }));
    return { topology, topologyFile, startedAtMs, newcomersHealthyAtMs, restarts, doneAtMs: Date.now() };
  };

  const startAll = async (): Promise<void> => {
    // Every launch settles before a failure is acted on: a retry must not start a system whose
    // first start is still under way.
    const launched = await Promise.allSettled(topology.systems.map((s) => launch(s.id, opts.fromBeginning?.includes(s.id) ?? false)));
    const failed = launched.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (opts.layout === 'hub') {
      let sinkTopologyFile = topologyFile;
      if (universe.systems.length > topology.systems.length) {
        sinkTopologyFile = join(opts.workDir, 'topology-lake-sink.yaml');
        writeFileSync(sinkTopologyFile, stringify(universe));
      }
      await start(LAKE_SINK, ['lake-sink', '--port', '0', ...common(sinkTopologyFile), ...layoutArgs()]);
    }
  };
  for (let attempt = 1; ; attempt++) {
    try {
      await startAll();
      break;
    } catch (err) {
      // Ports are chosen where outgoing connections never land (see free-ports.ts), but another
      // process on the machine may still bind one first. Then every system starts again on new
      // ports, since the legacy systems were told each other's addresses.
      const portTaken = /EADDRINUSE/.test(String((err as Error).message));
      if (!portTaken || attempt >= START_ATTEMPTS) {
        await supervisor.stopAll();
        throw err;
      }
      await Promise.all(supervisor.names().filter((n) => started.has(n) || n === LAKE_SINK).map((n) => supervisor.stop(n)));
      started.clear();
      await pickPorts();
    }
  }
  const ingress = topology.systems.find((s) => s.role === 'ingress');
  if (!ingress) throw new Error(`topology ${topology.name} has no ingress system`);

  return {
    get topology() { return topology; },
    get topologyFile() { return topologyFile; },
    layout: opts.layout,
    workDir: opts.workDir,
    lakeDir: join(opts.workDir, 'lake'),
    supervisor,
    urls,
    ingressUrl: `http://127.0.0.1:${ports[ingress.id]}`,
    async startSystem(id: string, o: { fromBeginning?: boolean } = {}) {
      const fromBeginning = o.fromBeginning || (opts.fromBeginning?.includes(id) ?? false);
      if (topology.systems.some((s) => s.id === id)) await launch(id, fromBeginning);
      else await addSystems([id], { fromBeginning });
    },
    addSystems,
    restartSystem,
    pids() {
      const out: Record<string, number> = {};
      for (const name of supervisor.names()) {
        const pid = supervisor.pid(name);
        if (pid !== null) out[name] = pid;
      }
      return out;
    },
    async state(id: string) {
      const res = await fetch(`${urls[id]}${PATHS.state}`);
      if (!res.ok) throw new Error(`${id}: GET /state answered ${res.status}`);
      return res.json();
    },
    async stop() {
      // What the landscape started first, then anything else under its supervisor (a broker
      // started there by the caller): clients leave their groups cleanly while the broker is up.
      const own = [...started, ...(opts.layout === 'hub' ? [LAKE_SINK] : [])].filter((name) => supervisor.names().includes(name));
      const results = await Promise.allSettled(own.map((name) => supervisor.stop(name, { timeoutMs: 15_000 })));
      const rest = await supervisor.stopAll({ timeoutMs: 15_000 }).then(() => null, (err: Error) => err.message);
      if (opts.layout === 'legacy' && opts.amqpUrl) {
        for (const flowId of amqpFlows) {
          await deleteFlowQueues(opts.amqpUrl, amqpNames(flowId, queuePrefixOf(opts.runId))).catch(() => undefined);
        }
      }
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message ?? r.reason)] : []));
      if (rest) failed.push(rest);
      if (failed.length > 0) throw new Error(`stopping the landscape: ${failed.join('\n')}`);
    },
  };
}
