import { createServer } from 'node:net';
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
export const LAKE_SINK = 'lake-sink';

export interface LandscapeOptions {
  topologyFile: string;
  layout: LayoutName;
  /** A fresh folder for this run: inboxes, lake, state, logs. */
  workDir: string;
  /** Run only these systems (flows to others are dropped); default every system of the file. */
  systems?: string[];
  amqpUrl?: string;
  kafkaBrokers?: string[];
  runId: string;
  /** hub: systems whose new consumer group starts at the first offset. */
  fromBeginning?: string[];
  supervisor?: Supervisor;
  readyTimeoutMs?: number;
}

export interface Landscape {
  topology: Topology;
  layout: LayoutName;
  workDir: string;
  lakeDir: string;
  supervisor: Supervisor;
  /** Base URL per running component (systems and, in the hub layout, the lake sink). */
  urls: Record<string, string>;
  ingressUrl: string;
  /** Starts one more system of the topology (the onboarding scenario's late joiners). */
  startSystem(id: string, opts?: { fromBeginning?: boolean }): Promise<void>;
  state(id: string): Promise<unknown>;
  stop(): Promise<void>;
}

/** A port nobody listens on right now (the OS's pick), so peers can be told each other's address up front. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts a whole landscape of one layout as OS processes under a Supervisor: every system of the
 * topology (and the lake sink in the hub layout), each on a port chosen up front so the legacy
 * systems can be told where their peers are.
 */
export async function startLandscape(opts: LandscapeOptions): Promise<Landscape> {
  let topology = loadTopology(opts.topologyFile);
  if (opts.systems) topology = restrictTo(topology, opts.systems);
  mkdirSync(join(opts.workDir, 'logs'), { recursive: true });
  const topologyFile = join(opts.workDir, 'topology.yaml');
  writeFileSync(topologyFile, stringify(topology));
  const supervisor = opts.supervisor ?? new Supervisor();
  const ports: Record<string, number> = {};
  for (const s of topology.systems) ports[s.id] = await freePort();
  const urls: Record<string, string> = {};
  const peers = topology.systems.map((s) => `${s.id}=http://127.0.0.1:${ports[s.id]}`).join(',');
  const common = ['--topology', topologyFile, '--work-dir', opts.workDir, '--run-id', opts.runId];
  const layoutArgs = opts.layout === 'legacy'
    ? ['--peers', peers, ...(opts.amqpUrl ? ['--amqp-url', opts.amqpUrl] : [])]
    : ['--kafka-brokers', (opts.kafkaBrokers ?? []).join(',')];
  if (opts.layout === 'hub' && !opts.kafkaBrokers?.length) throw new Error('the hub layout needs kafkaBrokers');

  const start = async (name: string, args: string[]): Promise<void> => {
    const started = await supervisor.start(name, {
      command: process.execPath,
      args: [CLI, ...args],
      readyPattern: READY,
      readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
      healthUrl: (m) => `${m[3]}${PATHS.health}`,
      logFile: join(opts.workDir, 'logs', `${name}.log`),
    });
    urls[name] = started.readyMatch[3];
  };
  const startSystem = async (id: string, o: { fromBeginning?: boolean } = {}): Promise<void> => {
    const fromBeginning = o.fromBeginning || opts.fromBeginning?.includes(id);
    await start(id, ['system', '--id', id, '--layout', opts.layout, '--port', String(ports[id]), ...common, ...layoutArgs, ...(fromBeginning ? ['--from-beginning'] : [])]);
  };

  try {
    const initial = topology.systems.filter((s) => !opts.systems || opts.systems.includes(s.id));
    await Promise.all(initial.map((s) => startSystem(s.id)));
    if (opts.layout === 'hub') await start(LAKE_SINK, ['lake-sink', '--port', '0', ...common, ...layoutArgs]);
  } catch (err) {
    await supervisor.stopAll();
    throw err;
  }
  const ingress = topology.systems.find((s) => s.role === 'ingress');
  if (!ingress) throw new Error(`topology ${topology.name} has no ingress system`);

  return {
    topology,
    layout: opts.layout,
    workDir: opts.workDir,
    lakeDir: join(opts.workDir, 'lake'),
    supervisor,
    urls,
    ingressUrl: `http://127.0.0.1:${ports[ingress.id]}`,
    startSystem,
    async state(id: string) {
      const res = await fetch(`${urls[id]}${PATHS.state}`);
      if (!res.ok) throw new Error(`${id}: GET /state answered ${res.status}`);
      return res.json();
    },
    async stop() {
      await supervisor.stopAll({ timeoutMs: 15_000 });
      if (opts.layout === 'legacy' && opts.amqpUrl) {
        for (const flow of topology.flows.filter((f) => f.legacy.transport === 'amqp')) {
          await deleteFlowQueues(opts.amqpUrl, amqpNames(flow.id, queuePrefixOf(opts.runId))).catch(() => undefined);
        }
      }
    },
  };
}
