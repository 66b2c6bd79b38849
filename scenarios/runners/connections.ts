/**
 * The connections runner: how integration links and live connections grow with the number of
 * systems. For n = from..to it starts the first n systems of the run in each layout as real OS
 * processes (hub: with our broker as its own process; legacy: with the shared RabbitMQ), puts a
 * light steady load on the ingress so connection pools fill and consumers join, then counts what
 * the topology declares (links, protocols, formats, adapters) and what the OS shows (ESTABLISHED
 * TCP connections between the landscape's processes, from /proc). Only measurements: the report
 * derives its model of larger landscapes from these points (report/projection.ts).
 */
import type { ConnectionsPoint, ConnectionsResult, Layout } from '../../report/model.ts';
import type { ConnectionsSettings } from '../settings.ts';
import { BROKER_PROCESS, noteForReport, RABBITMQ_PROCESS, throwIfAborted, type RunnerContext } from './context.ts';
import { sleep, startRunnerLandscape } from './landscape.ts';
import { SteadyLoad } from '../load/steady.ts';
import { ingressEvents } from '../load/ingress-feed.ts';
import { connectionMatrix, isLoopback, pidsListeningOn, tcpConnections } from '../../systems/process/os-stats.ts';
import { adaptersPerSystem, hubLayout, legacyLinks, loadTopology, protocolsAndFormats, restrictTo, type Topology } from '../../systems/topology/index.ts';
import type { ResolvedHub } from '../../infra/kafka.ts';

// ---- finding the processes on the far side --------------------------------------------------

/** host and port of a URL or host:port, with the scheme's default port. */
export function hostPort(address: string, defaultPort: number): { host: string; port: number } {
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? new URL(address) : new URL(`tcp://${address}`);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || defaultPort) };
}

const LOCAL_HOSTS = new Set(['localhost', '::1', '0.0.0.0', '::']);
const isLocal = (host: string): boolean => LOCAL_HOSTS.has(host) || host.startsWith('127.');

/** A server outside the landscape's supervisor (RabbitMQ, a KAFKA_BROKERS broker): named in the matrix by its PID, or counted from our side. */
export interface ExternalServer {
  name: string;
  host: string;
  port: number;
}

export interface LiveConnections {
  total: number;
  pairs: { client: string; server: string; connections: number }[];
  perProcess: { process: string; connections: number }[];
  /** Why some numbers were taken another way (an unreadable process, a server counted from our side). */
  notes: string[];
}

/**
 * ESTABLISHED TCP connections between the named processes, from /proc. An external server whose
 * listening process is found on this machine joins the matrix under its name; otherwise its
 * connections are counted from our processes' side (their sockets to its port).
 */
export function liveConnections(pids: Record<string, number>, external: readonly ExternalServer[]): LiveConnections {
  const notes: string[] = [];
  const named: Record<string, number | number[]> = { ...pids };
  const fromOurSide: ExternalServer[] = [];
  for (const server of external) {
    const local = isLocal(server.host);
    // The process holding the LISTEN socket of its port (/proc/net/tcp inode -> /proc/PID/fd).
    const found = local ? pidsListeningOn(server.port) : { pids: [], unreadable: 0 };
    if (found.pids.length > 0) named[server.name] = found.pids;
    else {
      fromOurSide.push(server);
      const why = !local ? 'it is not on this machine'
        : found.unreadable > 0 ? `no readable process holds its LISTEN socket (${found.unreadable} processes could not be read)`
          : 'no process in this network namespace listens on its port (a container or a proxy?)';
      notes.push(`${server.name} (${server.host}:${server.port}): ${why}, so its connections were counted from our processes' side (their sockets to port ${server.port})`);
    }
  }
  const matrix = connectionMatrix(named);
  if (matrix.unreadable.length > 0) notes.push(`unreadable processes (their connections are missing): ${matrix.unreadable.join(', ')}`);
  const pairs = matrix.pairs.map((p) => ({ client: p.client, server: p.server, connections: p.connections }));
  const perProcess = new Map<string, number>(Object.keys(named).map((name) => [name, matrix.perProcess[name]?.toKnownProcess ?? 0]));
  for (const server of fromOurSide) {
    perProcess.set(server.name, 0);
    for (const [name, pid] of Object.entries(pids)) {
      let count: number;
      try {
        count = tcpConnections(pid).filter((c) => c.state === 'ESTABLISHED' && c.remotePort === server.port
          && (isLoopback(c.remoteAddress) ? isLocal(server.host) : c.remoteAddress === server.host)).length;
      } catch {
        continue; // already reported as unreadable
      }
      if (count === 0) continue;
      pairs.push({ client: name, server: server.name, connections: count });
      perProcess.set(name, (perProcess.get(name) ?? 0) + count);
      perProcess.set(server.name, (perProcess.get(server.name) ?? 0) + count);
    }
  }
  pairs.sort((a, b) => a.client.localeCompare(b.client) || a.server.localeCompare(b.server));
  return {
    total: pairs.reduce((sum, p) => sum + p.connections, 0),
    pairs,
    perProcess: [...perProcess].map(([process, connections]) => ({ process, connections })),
    notes,
  };
}

// ---- what the topology declares ---------------------------------------------------------------

/** Links, protocols, formats and adapters of one layout of `t` (report shape). */
export function declaredCounts(t: Topology, layout: Layout): Pick<ConnectionsPoint, 'declaredLinks' | 'protocols' | 'formats' | 'adaptersTotal' | 'adapters'> {
  const declaredLinks = layout === 'legacy' ? legacyLinks(t).links.length : hubLayout(t).links.length;
  const pf = protocolsAndFormats(t, layout);
  const adapters = adaptersPerSystem(t, layout).map((a) => ({ system: a.systemId, adapters: a.adapters, speaks: a.speaks.map((s) => `${s.transport}/${s.format}`) }));
  return {
    declaredLinks,
    protocols: [...pf.protocols],
    formats: [...pf.formats],
    adaptersTotal: adapters.reduce((sum, a) => sum + a.adapters, 0),
    adapters,
  };
}

/** The servers outside the landscape's supervisor that its processes talk to. */
function externalServers(ctx: RunnerContext, layout: Layout, hub: ResolvedHub | null, pids: Record<string, number>): ExternalServer[] {
  if (layout === 'legacy') {
    const { host, port } = hostPort(ctx.amqpUrl, 5672);
    return [{ name: RABBITMQ_PROCESS, host, port }];
  }
  if (!hub || pids[BROKER_PROCESS] !== undefined) return [];
  // KAFKA_BROKERS: not our process, but maybe one on this machine.
  return hub.brokers.map((b, i) => ({ name: hub.brokers.length === 1 ? BROKER_PROCESS : `${BROKER_PROCESS}-${i + 1}`, ...hostPort(b, 9092) }));
}

// ---- the runner -----------------------------------------------------------------------------

export async function runConnections(ctx: RunnerContext, settings: ConnectionsSettings, layouts: readonly Layout[]): Promise<ConnectionsResult> {
  const full = loadTopology(ctx.topologyFile);
  const to = Math.min(settings.to, ctx.systems.length);
  if (settings.from > to) {
    ctx.progress.note(`connections: from ${settings.from} is more than the ${ctx.systems.length} systems of the run; nothing measured`);
  } else if (settings.to > ctx.systems.length) {
    noteForReport(ctx, `connections: the run has ${ctx.systems.length} systems, so the sweep stops at n=${to} instead of ${settings.to}`);
  }
  const ingress = full.systems.find((s) => s.role === 'ingress')?.id;
  const points: ConnectionsPoint[] = [];
  for (let n = settings.from; n <= to; n++) {
    const systems = ctx.systems.slice(0, n);
    if (!ingress || !systems.includes(ingress)) throw new Error(`connections: the first ${n} systems (${systems.join(', ')}) do not include the ingress ${ingress ?? '(none in the topology)'}, so no load can be put on them`);
    const t = restrictTo(full, systems);
    throwIfAborted(ctx);
    // Both layouts at once: what is counted here is structure (links, sockets), not speed, and the
    // two landscapes share nothing (their own run ids, queues and topics; RabbitMQ's sockets are
    // counted to the legacy processes only).
    ctx.progress.step(`connections: ${layouts.join(' and ')}, n=${n} (${systems.join(',')})`, 2 + 0.9 * n + settings.steadyS + 1);
    points.push(...await Promise.all(layouts.map((layout) => measurePoint(ctx, settings, layout, n, systems, t))));
  }
  return { points };
}

async function measurePoint(ctx: RunnerContext, settings: ConnectionsSettings, layout: Layout, n: number, systems: string[], t: Topology): Promise<ConnectionsPoint> {
  const rl = await startRunnerLandscape(ctx, { layout, name: `conn-${layout}-n${n}`, systems });
  try {
    const count = Math.ceil(settings.loadOrdersPerS * (settings.steadyS + 2)) + 1;
    const load = new SteadyLoad({ ingressUrl: rl.landscape.ingressUrl, events: ingressEvents(t, ctx.seed, count), ratePerS: settings.loadOrdersPerS });
    load.start();
    let live: LiveConnections;
    try {
      await sleep(settings.steadyS * 1000, ctx.signal);
      throwIfAborted(ctx);
      // Sampled while the load still runs: pools and consumers as they are in use.
      const pids = rl.landscape.pids();
      live = liveConnections(pids, externalServers(ctx, layout, rl.hub, pids));
    } finally {
      await load.stop();
    }
    const requests = load.requests();
    const accepted = requests.filter((r) => r.accepted).length;
    for (const note of live.notes) noteForReport(ctx, `connections ${layout} n=${n}: ${note}`);
    ctx.progress.note(`connections ${layout} n=${n}: landscape up in ${rl.startupMs} ms; ${live.total} live TCP connections; ${accepted}/${requests.length} orders accepted`);
    return {
      layout,
      n,
      systems,
      ...declaredCounts(t, layout),
      liveTcpTotal: live.total,
      liveTcpPairs: live.pairs,
      liveTcpPerProcess: live.perProcess,
      ordersSent: requests.length,
      ordersAccepted: accepted,
    };
  } finally {
    await rl.stop();
  }
}
