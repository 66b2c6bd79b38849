// The legacy-ha layout's RabbitMQ: a cluster of private local nodes (infra/rabbitmq-node.ts, each its
// own OS process, ports, node name and directory), so a scenario kills -9 and restarts any node of
// it like any other process, and the machine's shared RabbitMQ is never touched.
//
// - Start: every node boots at once with one Erlang cookie (a fresh random one, in each node's
//   $HOME/.erlang.cookie, which its CLI tools read too), then the others join the first, one after
//   the other (`rabbitmqctl stop_app`, `join_cluster`, `start_app`): two joiners starting their
//   apps at once can fail in mnesia (a badmatch in rabbit:start was seen in a reference run).
//   Booting in parallel and joining afterwards is faster than booting one after the other, and
//   classic peer discovery at boot can form separate clusters when the nodes boot together. A
//   cluster that still fails to form is stopped and formed once more from fresh nodes.
// - Every node has `queue_leader_locator = balanced` (new quorum queues get their leaders spread over
//   the nodes, not all on the node the declaring client is connected to) and
//   `cluster_partition_handling = pause_minority` (the recommended setting for three nodes or more).
// - A node restarted after kill -9 keeps its directory: it rejoins the cluster by itself, and its
//   quorum queue members catch up from the leaders.
// - Questions about queues go to any live node through rabbitmqctl (list_queues with the quorum
//   columns type, leader, members, online; about 0.4 s a call here): which node leads most of the
//   run's quorum queues, and whether the cluster is whole again (every node running, every quorum
//   queue with a leader and every member online). Leaders do not move back to a restarted node by
//   themselves in RabbitMQ 3.10; rebalance() asks for it (`rabbitmq-queues rebalance quorum`).
import { mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Supervisor } from '../systems/process/supervisor.ts';
import { startRabbitNode, type RabbitNode } from './rabbitmq-node.ts';
import type { Log } from './docker.ts';

export const RABBIT_CLUSTER_NODES = 3;
/** Settings of every node of the cluster (see the top of this file). */
const CLUSTER_CONFIG = ['queue_leader_locator = balanced', 'cluster_partition_handling = pause_minority'];
/** One CLI call at most (a node that was just killed can make the CLI wait for it). */
const CTL_TIMEOUT_MS = 15_000;

export interface StartRabbitClusterOptions {
  /** Node N lives in a fresh directory under dir (made if missing). As root, dir must be traversable by the rabbitmq user; otherwise the OS temp dir is used. */
  dir: string;
  nodes?: number;
  /** Supervise the nodes with this Supervisor (default: a new one); they are named rabbitmq-1, rabbitmq-2, ... */
  supervisor?: Supervisor;
  /** Boot timeout of one node (default 90 s). */
  readyTimeoutMs?: number;
  log?: Log;
}

/** A quorum queue as the cluster describes it; node names as RabbitMQ has them (untangle-xxxx@localhost). */
export interface QuorumQueueState {
  name: string;
  leader: string | null;
  members: string[];
  online: string[];
}

export interface RabbitCluster {
  /** The nodes, node 1 first; each one's processName is rabbitmq-<n>. */
  readonly nodes: readonly RabbitNode[];
  /** The nodes' names in the report: rabbitmq-1, rabbitmq-2, ... */
  readonly names: readonly string[];
  /** Every node's amqp:// URL, node 1 first. */
  readonly urls: readonly string[];
  /** The URLs comma-separated: what `--amqp-url` and SystemRuntimeOptions.amqpUrl take. */
  readonly amqpUrl: string;
  /** kill -9 of node `index` (0-based); resolves once it has exited. */
  kill(index: number): Promise<void>;
  /** Starts node `index` again with its directory; resolves once it takes AMQP connections (it rejoins by itself). */
  restart(index: number): Promise<void>;
  /** Stops every node and removes their directories. Idempotent. */
  stop(): Promise<void>;
  /** The nodes (rabbitmq-<n>) the cluster counts as running, asked of the first live node that answers within timeoutMs each. */
  running(timeoutMs?: number): Promise<string[]>;
  /** The quorum queues whose names start with prefix, from the first live node that answers. */
  quorumQueues(prefix: string): Promise<QuorumQueueState[]>;
  /** The node leading most of the quorum queues named prefix* (ties: the lower index); null when none has a leader. */
  leaderOfMost(prefix: string): Promise<{ index: number; name: string; leads: number; of: number } | null>;
  /** What keeps the cluster from being whole ('' when it is): a node not running in it, a quorum queue (prefix*) without a leader or with a member offline. */
  problem(prefix: string): Promise<string>;
  /** Polls problem() until it is '' (ok) or timeoutMs has passed or signal aborted. */
  waitWhole(prefix: string, timeoutMs: number, signal?: AbortSignal): Promise<{ ok: boolean; waitedMs: number; problem: string }>;
  /** Spreads quorum queue leaders over the nodes again (`rabbitmq-queues rebalance quorum`). */
  rebalance(prefix: string): Promise<void>;
}

/** As root, whether the rabbitmq user can reach into dir (every ancestor executable by others). */
function traversableByOthers(dir: string): boolean {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    if (path.dirname(d) === d) return true;
  }
}

const few = (names: string[]): string => `${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}`;

/** list_queues' JSON: node lists may come as arrays, or as '' for a classic queue. */
function nodeList(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : typeof v === 'string' && v !== '' ? [v] : [];
}

/** Attempts at forming the cluster from fresh nodes before giving up. */
const FORM_ATTEMPTS = 2;

/** Starts the cluster (see the top of this file); on failure stops what it started, tries once more from fresh nodes, then throws. */
export async function startRabbitCluster(o: StartRabbitClusterOptions): Promise<RabbitCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRabbitClusterOnce(o);
    } catch (err) {
      if (attempt >= FORM_ATTEMPTS) throw err;
      (o.log ?? (() => undefined))(`rabbitmq cluster: attempt ${attempt} of ${FORM_ATTEMPTS} failed (${(err as Error).message}); forming it again from fresh nodes`);
    }
  }
}

async function startRabbitClusterOnce(o: StartRabbitClusterOptions): Promise<RabbitCluster> {
  const log = o.log ?? (() => undefined);
  const count = o.nodes ?? RABBIT_CLUSTER_NODES;
  const supervisor = o.supervisor ?? new Supervisor();
  mkdirSync(o.dir, { recursive: true });
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const parentDir = !isRoot || traversableByOthers(o.dir) ? o.dir : tmpdir();
  if (parentDir !== o.dir) log(`rabbitmq cluster: ${o.dir} is not traversable by the rabbitmq user, so the nodes live in ${parentDir}`);
  const erlangCookie = randomBytes(20).toString('hex').toUpperCase();
  const t0 = Date.now();

  const started = await Promise.allSettled(Array.from({ length: count }, (_, i) => startRabbitNode({
    supervisor, processName: `rabbitmq-${i + 1}`, parentDir, erlangCookie, extraConfig: CLUSTER_CONFIG, readyTimeoutMs: o.readyTimeoutMs, log,
  })));
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stopAll = (): Promise<unknown> => Promise.allSettled(nodes.map((n) => n.stop()));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stopAll();
    throw new Error(`a RabbitMQ node of the cluster did not start: ${(failed.reason as Error).message}`, { cause: failed.reason });
  }
  const bootedMs = Date.now() - t0;
  const [first, ...joiners] = nodes;
  try {
    for (const n of joiners) {
      await n.ctl('rabbitmqctl', ['stop_app'], CTL_TIMEOUT_MS);
      await n.ctl('rabbitmqctl', ['join_cluster', first.nodeName], 60_000);
      await n.ctl('rabbitmqctl', ['start_app'], 60_000);
    }
    const status = JSON.parse(await first.ctl('rabbitmqctl', ['cluster_status', '--formatter', 'json'], CTL_TIMEOUT_MS)) as { running_nodes?: string[] };
    const missing = nodes.filter((n) => !(status.running_nodes ?? []).includes(n.nodeName));
    if (missing.length > 0) throw new Error(`after joining, ${missing.map((n) => n.nodeName).join(', ')} not running in the cluster of ${first.nodeName}`);
  } catch (err) {
    await stopAll();
    throw new Error(`the RabbitMQ nodes did not form a cluster: ${(err as Error).message}`, { cause: err });
  }
  log(`rabbitmq cluster: ${count} nodes booted in ${bootedMs} ms, clustered in ${Date.now() - t0} ms (${nodes.map((n) => `${n.processName}=${n.nodeName} :${n.port}`).join(', ')})`);

  const names = nodes.map((n) => n.processName);
  const indexOf = new Map(nodes.map((n, i) => [n.nodeName, i]));
  const nameOf = (nodeName: string): string => names[indexOf.get(nodeName) ?? -1] ?? nodeName;
  const node = (index: number): RabbitNode => {
    const n = nodes[index];
    if (!n) throw new RangeError(`the cluster has nodes 0 to ${nodes.length - 1}, not ${index}`);
    return n;
  };

  /** Runs a CLI command on the first live node that answers. */
  const ask = async (tool: 'rabbitmqctl' | 'rabbitmq-queues', args: string[], timeoutMs = CTL_TIMEOUT_MS): Promise<{ out: string; via: RabbitNode }> => {
    const errors: string[] = [];
    for (const n of nodes) {
      if (!n.alive()) continue;
      try {
        return { out: await n.ctl(tool, args, timeoutMs), via: n };
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    throw new Error(errors.length > 0 ? errors.join('; ') : 'no node of the cluster is running');
  };

  const quorumQueues = async (prefix: string): Promise<QuorumQueueState[]> => {
    const { out } = await ask('rabbitmqctl', ['list_queues', 'name', 'type', 'leader', 'members', 'online', '--formatter', 'json', '--quiet']);
    const rows = JSON.parse(out.trim() || '[]') as Record<string, unknown>[];
    return rows
      .filter((r) => String(r.type) === 'quorum' && String(r.name).startsWith(prefix))
      .map((r) => ({ name: String(r.name), leader: nodeList(r.leader)[0] ?? null, members: nodeList(r.members), online: nodeList(r.online) }));
  };

  const running = async (timeoutMs = CTL_TIMEOUT_MS): Promise<string[]> => {
    const { out } = await ask('rabbitmqctl', ['cluster_status', '--formatter', 'json'], timeoutMs);
    const up = (JSON.parse(out) as { running_nodes?: string[] }).running_nodes ?? [];
    return nodes.filter((n) => up.includes(n.nodeName)).map((n) => n.processName);
  };

  const problem = async (prefix: string): Promise<string> => {
    const down = nodes.filter((n) => !n.alive()).map((n) => n.processName);
    if (down.length > 0) return `not running: ${down.join(', ')}`;
    let up: string[];
    try {
      up = await running();
    } catch (err) {
      return `cluster status unavailable: ${(err as Error).message}`;
    }
    const absent = names.filter((n) => !up.includes(n));
    if (absent.length > 0) return `not running in the cluster: ${absent.join(', ')}`;
    let queues: QuorumQueueState[];
    try {
      queues = await quorumQueues(prefix);
    } catch (err) {
      return `queues unavailable: ${(err as Error).message}`;
    }
    const leaderless = queues.filter((q) => q.leader === null).map((q) => q.name);
    if (leaderless.length > 0) return `${leaderless.length} of ${queues.length} quorum queues without a leader (${few(leaderless)})`;
    const partial = queues.filter((q) => q.members.length < nodes.length || q.members.some((m) => !q.online.includes(m)));
    if (partial.length > 0) {
      return `${partial.length} of ${queues.length} quorum queues with members offline (${few(partial.map((q) => `${q.name}: ${q.online.length}/${q.members.length} online`))})`;
    }
    return '';
  };

  let stopped = false;
  return {
    nodes, names,
    urls: nodes.map((n) => n.url),
    amqpUrl: nodes.map((n) => n.url).join(','),
    kill: (index) => node(index).kill(),
    restart: (index) => node(index).restart(),
    async stop() {
      if (stopped) return;
      stopped = true;
      const results = await Promise.allSettled(nodes.map((n) => n.stop()));
      const errors = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
      if (errors.length > 0) throw new Error(`stopping the RabbitMQ cluster: ${errors.join('; ')}`);
    },
    running,
    quorumQueues,
    async leaderOfMost(prefix) {
      const queues = (await quorumQueues(prefix)).filter((q) => q.leader !== null);
      if (queues.length === 0) return null;
      const leads = nodes.map((n) => queues.filter((q) => q.leader === n.nodeName).length);
      const index = leads.indexOf(Math.max(...leads));
      if (leads[index] === 0) throw new Error(`the run's quorum queues are led by nodes outside this cluster (${few(queues.map((q) => nameOf(q.leader!)))})`);
      return { index, name: names[index], leads: leads[index], of: queues.length };
    },
    problem,
    async waitWhole(prefix, timeoutMs, signal) {
      const start = Date.now();
      let last = 'not asked yet';
      while (!signal?.aborted) {
        last = await problem(prefix);
        if (last === '') return { ok: true, waitedMs: Date.now() - start, problem: '' };
        if (Date.now() - start >= timeoutMs) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      return { ok: false, waitedMs: Date.now() - start, problem: signal?.aborted ? `aborted (${last})` : last };
    },
    async rebalance(prefix) {
      // The pattern is a regular expression over queue names; the run's prefix is plain text.
      await ask('rabbitmq-queues', ['rebalance', 'quorum', '--queue-pattern', `^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`]);
    },
  };
}
