/**
 * A whole landscape of one layout as OS processes: every instance of every system (and the hub's
 * lake sink), each on a port chosen up front so every legacy system is told where each peer
 * instance is, started, grown (onboarding), restarted and stopped together under one Supervisor.
 * Processes are named as the topology names instances: `B` for a system with one, `B.1`, `B.2`...
 * With the `peers=reload` practice the legacy systems follow `<workDir>/peers.json` (peers-file.ts):
 * growing the landscape then rewires the running systems instead of restarting them.
 */
import { freePorts } from '../../broker/cluster/free-ports.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supervisor } from '../process/supervisor.ts';
import { instanceNames, loadTopology, restrictTo, serializeTopology, systemOfInstance, withJsonFormats, type SystemSpec, type Topology } from '../topology/index.ts';
import { amqpNames, deleteFlowQueues } from '../legacy/amqp.ts';
import { AS_GROWN, formatPractices, queuePrefixOf, PATHS, type LayoutName, type Practices } from './options.ts';
import { writePeersFile } from './peers-file.ts';

const CLI = fileURLToPath(new URL('../../bin/untangle.js', import.meta.url));
const READY = /untangle system ready id=(\S+) layout=(\S+) url=(\S+) pid=(\d+)/;
/** How many times a landscape start is tried when a chosen port was taken before its system bound it. */
const START_ATTEMPTS = 3;
export const LAKE_SINK = 'lake-sink';
/** peers=reload: the longest wait for the running systems to follow a new peers file. */
const RECONFIGURE_TIMEOUT_MS = 30_000;

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
  /** legacy: the RabbitMQ URL, or a cluster's nodes comma-separated (passed on as --amqp-url; the run's queues are deleted at stop through any node that answers). */
  amqpUrl?: string;
  kafkaBrokers?: string[];
  runId: string;
  /** The run's seed, handed to every system (scheduled sources make their records from it). Default 0. */
  seed?: number;
  /** The integration practices every system runs with (systems/runtime/practices.ts); default AS_GROWN. */
  practices?: Practices;
  /** hub: systems whose new consumer group starts at the first offset. */
  fromBeginning?: string[];
  supervisor?: Supervisor;
  readyTimeoutMs?: number;
}

export interface AddSystemsOptions {
  /**
   * Running systems to restart with the new topology file (their flows changed). They are
   * restarted after the newcomers are up, all at once: SIGTERM (a clean stop), then a new process.
   * Legacy with peers=reload: they are not restarted; the new peers file is written after the
   * newcomers are up and these systems are waited for until they follow it (`reconfigured`).
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
  /**
   * Legacy with peers=reload: per system of `restart`, when all its instances followed the new peers
   * file (the last one's rewiring, by its own /state), without a restart.
   */
  reconfigured: Record<string, { atMs: number }>;
  /** Every newcomer and every restarted system healthy (with peers=reload: every system to reconfigure rewired). */
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
  /**
   * Base URL per running process, by process name: each system instance (`B`, or `B.1`, `B.2`...)
   * and, in the hub layout, the lake sink.
   */
  urls: Record<string, string>;
  ingressUrl: string;
  /** The process names of a system's instances (`B`, or `B.1`, `B.2`...), running or not. */
  instancesOf(systemId: string): string[];
  /**
   * Starts every instance of one more system (the onboarding scenario's late joiners), or of one
   * that was stopped: addSystems([id]) when it is new to the topology.
   */
  startSystem(id: string, opts?: { fromBeginning?: boolean }): Promise<void>;
  /**
   * Grows the landscape: writes the topology of the running systems plus `ids` to a new file,
   * starts the newcomers with it, then restarts `opts.restart` with it.
   */
  addSystems(ids: readonly string[], opts?: AddSystemsOptions): Promise<AddSystemsResult>;
  /**
   * Stops a system cleanly, every instance at once, and starts them again with the current topology
   * file; resolves when all are healthy. Given an instance name (`B.2`), only that instance.
   */
  restartSystem(idOrInstance: string): Promise<{ stoppedAtMs: number; healthyAtMs: number }>;
  /** Live processes by name (system instances, the lake sink, and whatever else runs under the supervisor). */
  pids(): Record<string, number>;
  /** GET /state of one process, by process name (`B`, `B.2`, the lake sink). */
  state(name: string): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Starts a whole landscape of one layout as OS processes under a Supervisor: every instance of
 * every system of the topology (and the lake sink in the hub layout), each on a port chosen up
 * front so the legacy systems can be told where every instance of their peers is.
 */
export async function startLandscape(opts: LandscapeOptions): Promise<Landscape> {
  const practices = opts.practices ?? AS_GROWN;
  // formats=json: every system is started with (and reloads) a topology whose legacy links and lake exports are JSON.
  const asDeclared = loadTopology(opts.topologyFile);
  const full = practices.formats === 'json' ? withJsonFormats(asDeclared) : asDeclared;
  const inFileOrder = (ids: Iterable<string>): string[] => {
    const set = new Set(ids);
    return full.systems.filter((s) => set.has(s.id)).map((s) => s.id);
  };
  let topology = opts.systems ? restrictTo(full, opts.systems) : full;
  const universeIds = inFileOrder([...(opts.universe ?? opts.systems ?? full.systems.map((s) => s.id)), ...topology.systems.map((s) => s.id)]);
  const universe = universeIds.length === full.systems.length ? full : restrictTo(full, universeIds);
  mkdirSync(join(opts.workDir, 'logs'), { recursive: true });
  let topologyFile = join(opts.workDir, 'topology.yaml');
  writeFileSync(topologyFile, serializeTopology(topology));
  let generation = 1;
  /** Every AMQP flow any topology of this landscape had, for the clean-up. */
  const amqpFlows = new Set<string>();
  const rememberFlows = (t: Topology): void => {
    for (const f of t.flows) if (f.legacy.transport === 'amqp') amqpFlows.add(f.id);
  };
  rememberFlows(topology);
  const supervisor = opts.supervisor ?? new Supervisor();
  /** The system of the file (every instance count is the file's). */
  const specOf = (id: string): SystemSpec => {
    const spec = full.systems.find((s) => s.id === id);
    if (!spec) throw new Error(`system ${id} is not in ${opts.topologyFile} (systems: ${full.systems.map((s) => s.id).join(', ')})`);
    return spec;
  };
  /** Port per process name: every instance of every system the landscape may grow to. */
  const ports: Record<string, number> = {};
  const pickPorts = async (): Promise<void> => {
    const names = universe.systems.flatMap((s) => instanceNames(s));
    const picked = await freePorts(names.length);
    names.forEach((name, i) => { ports[name] = picked[i]; });
  };
  await pickPorts();
  const urls: Record<string, string> = {};
  /** Process names of the system instances started (and not stopped for good). */
  const started = new Set<string>();
  const common = (file: string): string[] => ['--topology', file, '--work-dir', opts.workDir, '--run-id', opts.runId, '--practices', formatPractices(practices)];
  // A function, not a constant: a start that lost a port race picks new ports for everyone.
  const peersOf = (): Record<string, string[]> => Object.fromEntries(universe.systems
    .map((s) => [s.id, instanceNames(s).map((name) => `http://127.0.0.1:${ports[name]}`)]));
  const peersArg = (): string => Object.entries(peersOf()).map(([id, urls]) => `${id}=${urls.join('|')}`).join(',');
  /** Legacy with peers=reload: the systems follow this file, written atomically with each change. */
  const reload = opts.layout === 'legacy' && practices.peers === 'reload';
  const peersFile = join(opts.workDir, 'peers.json');
  let peersGeneration = 0;
  const writePeers = async (): Promise<number> => {
    await writePeersFile(peersFile, { generation: ++peersGeneration, topology: resolve(topologyFile), peers: peersOf() });
    return peersGeneration;
  };
  const layoutArgs = (): string[] => opts.layout === 'legacy'
    ? ['--peers', peersArg(), ...(opts.amqpUrl ? ['--amqp-url', opts.amqpUrl] : []), ...(reload ? ['--peers-file', peersFile] : [])]
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
  /** Starts instances (process names) of system `id`, all at once; rejects with the first failure once all settled. */
  const launchInstances = async (id: string, names: readonly string[], fromBeginning: boolean): Promise<void> => {
    const spec = topology.systems.find((s) => s.id === id);
    if (!spec) throw new Error(`system ${id} is not in the landscape's topology (${topology.systems.map((s) => s.id).join(', ')})`);
    const all = instanceNames(spec);
    const launched = await Promise.allSettled(names.map(async (name) => {
      const instance = all.indexOf(name) + 1;
      if (instance < 1) throw new Error(`${name} is not an instance of system ${id} (${all.join(', ')})`);
      await start(name, ['system', '--id', id, '--instance', String(instance), '--layout', opts.layout, '--port', String(ports[name]),
        ...common(topologyFile), '--seed', String(opts.seed ?? 0), ...layoutArgs(), ...(fromBeginning ? ['--from-beginning'] : [])]);
      started.add(name);
    }));
    const failed = launched.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  const launch = (id: string, fromBeginning: boolean): Promise<void> => launchInstances(id, instanceNames(specOf(id)), fromBeginning);

  const restartSystem = async (idOrInstance: string): Promise<{ stoppedAtMs: number; healthyAtMs: number }> => {
    const id = systemOfInstance(idOrInstance);
    const all = instanceNames(specOf(id));
    const names = idOrInstance === id ? all : all.filter((n) => n === idOrInstance);
    if (names.length === 0) throw new Error(`${idOrInstance} is not an instance of system ${id} (${all.join(', ')})`);
    const notStarted = names.filter((n) => !started.has(n));
    if (notStarted.length > 0) throw new Error(`${notStarted.join(', ')} ${notStarted.length === 1 ? 'was' : 'were'} never started, so cannot be restarted`);
    await Promise.all(names.map((n) => supervisor.stop(n, { timeoutMs: 15_000 })));
    const stoppedAtMs = Date.now();
    // A restarted consumer group resumes at its committed offsets, so no --from-beginning here.
    await launchInstances(id, names, false);
    return { stoppedAtMs, healthyAtMs: Date.now() };
  };
  /**
   * peers=reload: waits until every started instance of each system reports (GET /state) that it
   * follows peers file `generation`; per system, when its last instance rewired (or, when its
   * wiring did not change, when it was seen following).
   */
  const waitReconfigured = async (ids: readonly string[], generation: number, sinceMs: number): Promise<Record<string, { atMs: number }>> => {
    const deadline = Date.now() + RECONFIGURE_TIMEOUT_MS;
    const out: Record<string, { atMs: number }> = {};
    await Promise.all(ids.map(async (id) => {
      let atMs = 0;
      for (const name of instanceNames(specOf(id)).filter((n) => started.has(n))) {
        for (;;) {
          const r = await fetch(`${urls[name]}${PATHS.state}`).then((res) => res.json() as Promise<{ wiring?: { reload?: { generation: number | null; lastReconfiguredAtMs: number | null } } }>, () => null);
          const followed = r?.wiring?.reload;
          if (followed && followed.generation !== null && followed.generation >= generation) {
            const rewiredAtMs = followed.lastReconfiguredAtMs;
            atMs = Math.max(atMs, rewiredAtMs !== null && rewiredAtMs >= sinceMs ? rewiredAtMs : Date.now());
            break;
          }
          if (Date.now() > deadline) throw new Error(`${name} did not follow peers file generation ${generation} within ${RECONFIGURE_TIMEOUT_MS} ms (it follows ${followed?.generation ?? 'none'}; see ${join(opts.workDir, 'logs', `${name}.log`)})`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      out[id] = { atMs };
    }));
    return out;
  };
  /** A system counts as running when any of its instances was started. */
  const isStarted = (id: string): boolean => instanceNames(specOf(id)).some((n) => started.has(n));

  const addSystems = async (ids: readonly string[], o: AddSystemsOptions = {}): Promise<AddSystemsResult> => {
    const startedAtMs = Date.now();
    const outside = ids.filter((id) => !universeIds.includes(id));
    if (outside.length > 0) throw new Error(`cannot add ${outside.join(', ')}: not among the systems this landscape may grow to (${universeIds.join(', ')}); pass them in 'universe'`);
    const already = ids.filter((id) => isStarted(id));
    if (already.length > 0) throw new Error(`cannot add ${already.join(', ')}: already running`);
    const unknownRestart = (o.restart ?? []).filter((id) => !universeIds.includes(id) || !isStarted(id));
    if (unknownRestart.length > 0) throw new Error(`cannot restart ${unknownRestart.join(', ')}: not running in this landscape`);
    topology = restrictTo(full, inFileOrder([...topology.systems.map((s) => s.id), ...ids]));
    rememberFlows(topology);
    topologyFile = join(opts.workDir, `topology-${++generation}.yaml`);
    writeFileSync(topologyFile, serializeTopology(topology));
    const newcomersHealthyAtMs: Record<string, number> = {};
    await Promise.all(ids.map(async (id) => {
      await launch(id, o.fromBeginning ?? false);
      newcomersHealthyAtMs[id] = Date.now();
    }));
    const restarts: Record<string, { stoppedAtMs: number; healthyAtMs: number }> = {};
    let reconfigured: Record<string, { atMs: number }> = {};
    if (reload) {
      const writtenAtMs = Date.now();
      reconfigured = await waitReconfigured(o.restart ?? [], await writePeers(), writtenAtMs);
    } else {
      await Promise.all((o.restart ?? []).map(async (id) => { restarts[id] = await restartSystem(id); }));
    }
    return { topology, topologyFile, startedAtMs, newcomersHealthyAtMs, restarts, reconfigured, doneAtMs: Date.now() };
  };

  const startAll = async (): Promise<void> => {
    if (reload) await writePeers();
    // Every launch settles before a failure is acted on: a retry must not start a system whose
    // first start is still under way.
    // The systems that start with the landscape start their new consumer groups at the first
    // offset (auto.offset.reset=earliest): their topics are new and empty, so nothing is replayed,
    // and a member killed before its group committed on some partition re-reads that partition
    // after its restart instead of skipping what arrived while it was down (Kafka's default,
    // latest, loses those records).
    const launched = await Promise.allSettled(topology.systems.map((s) => launch(s.id, true)));
    const failed = launched.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (opts.layout === 'hub') {
      let sinkTopologyFile = topologyFile;
      if (universe.systems.length > topology.systems.length) {
        sinkTopologyFile = join(opts.workDir, 'topology-lake-sink.yaml');
        writeFileSync(sinkTopologyFile, serializeTopology(universe));
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
    // The ingress has one instance (validation refuses more), so its process name is its id.
    ingressUrl: `http://127.0.0.1:${ports[instanceNames(ingress)[0]]}`,
    instancesOf: (systemId: string) => instanceNames(specOf(systemId)),
    async startSystem(id: string, o: { fromBeginning?: boolean } = {}) {
      const fromBeginning = o.fromBeginning || (opts.fromBeginning?.includes(id) ?? false);
      if (!topology.systems.some((s) => s.id === id)) {
        await addSystems([id], { fromBeginning });
        return;
      }
      const running = new Set(supervisor.names().filter((n) => supervisor.pid(n) !== null));
      const missing = instanceNames(specOf(id)).filter((n) => !running.has(n));
      if (missing.length === 0) throw new Error(`system ${id} is already running`);
      await launchInstances(id, missing, fromBeginning);
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
    async state(name: string) {
      const url = urls[name];
      if (!url) {
        const several = full.systems.find((s) => s.id === name && s.instances > 1);
        throw new Error(several
          ? `system ${name} runs as ${instanceNames(several).join(', ')}: ask one of them`
          : `no process ${name} in this landscape (${Object.keys(urls).join(', ')})`);
      }
      const res = await fetch(`${url}${PATHS.state}`);
      if (!res.ok) throw new Error(`${name}: GET /state answered ${res.status}`);
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
