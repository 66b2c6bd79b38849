// A private RabbitMQ node for scenarios that kill -9 RabbitMQ: its own OS process under a
// Supervisor (`rabbitmq-server` found on PATH), its own ports, node name and directories, so the
// machine's shared RabbitMQ (127.0.0.1:5672, which other tests use) is never touched.
//
// - Everything lives in one fresh directory: rabbitmq.conf (`listeners.tcp.default` on our port,
//   `loopback_users = none`, since the machine's /etc/rabbitmq/rabbitmq.conf would otherwise put a
//   second listener on 5672), an empty rabbitmq-env.conf (the machine's one names the node
//   rabbit@localhost), the mnesia and log bases, the enabled-plugins and feature-flags files, the
//   pid file and HOME (so the Erlang cookie is the node's own).
// - Debian's /usr/sbin/rabbitmq-server is a wrapper that, run as root, starts the real script
//   through `su -c`, and su puts it in a new session: kill -9 on our process group would then miss
//   beam.smp. So the wrapper is skipped (the real script next to it is run), and as root the
//   privileges are dropped to the `rabbitmq` user with `setpriv`, which execs in place. The real
//   script runs beam.smp as its child in the same process group, so the Supervisor's kill -9 of the
//   group is a real crash of the broker. (Erlang's port helpers, erl_child_setup and its children,
//   run in sessions of their own but exit as soon as beam.smp is gone.)
// - Ready = the "Starting broker... completed" line on stdout, then an AMQP handshake on the port.
// - restart() reuses the same directories: durable queues and confirmed persistent messages
//   survive. RabbitMQ writes new queue metadata to disk lazily, though: a queue declared well
//   under a second before a kill -9 was gone after it in a trial here, one declared 3 s before
//   survived.
// - stop() stops it gracefully (SIGKILL after a timeout), kills -9 anything left that carries this
//   node's name, and removes the directory. If this process dies first, the Supervisor's reaper
//   kills the process group.
// - For a cluster (infra/rabbitmq-cluster.ts): nodes given one `erlangCookie` (written to
//   $HOME/.erlang.cookie, read by the node and by its CLI tools alike), extra rabbitmq.conf lines,
//   and ctl(), which runs rabbitmqctl / rabbitmq-queues / rabbitmq-diagnostics against the node with
//   the node's own environment and user (the CLI tools must read the same cookie).
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, chownSync, constants, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Supervisor } from '../systems/process/supervisor.ts';
import { freePort } from '../broker/cluster/free-ports.ts';
import { checkAmqp } from './rabbitmq.ts';
import type { Env, Log } from './docker.ts';

/** The line RabbitMQ prints on stdout once the broker has booted. */
export const RABBITMQ_READY = /Starting broker\.\.\. completed/;

export interface RabbitNodeOptions {
  /** Supervise the node with this Supervisor (default: a new one). */
  supervisor?: Supervisor;
  /** The node's name in the supervisor (default 'rabbitmq'). */
  processName?: string;
  /**
   * Where the node's fresh directory is made (default the OS temp dir). Running as root it must be
   * traversable by the `rabbitmq` user.
   */
  parentDir?: string;
  /** The rabbitmq-server to run (default: found on PATH). */
  serverPath?: string;
  /** Boot timeout, ready line and AMQP handshake together (default 90 s). */
  readyTimeoutMs?: number;
  /** Environment to search PATH in (default process.env). */
  env?: Env;
  log?: Log;
  /** The Erlang cookie (nodes of one cluster share one); default: one the node makes itself. */
  erlangCookie?: string;
  /** Lines added to the node's rabbitmq.conf. */
  extraConfig?: readonly string[];
}

/** RabbitMQ's CLI tools that ctl() runs. */
export type RabbitCli = 'rabbitmqctl' | 'rabbitmq-queues' | 'rabbitmq-diagnostics';

export interface RabbitNode {
  /** amqp://guest:guest@127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly distPort: number;
  /** untangle-<random>@localhost */
  readonly nodeName: string;
  /** The node's directory (config, mnesia, logs); removed by stop(). */
  readonly dir: string;
  readonly processName: string;
  readonly supervisor: Supervisor;
  /** The pid of the process the Supervisor started (the leader of the node's process group). */
  pid(): number | null;
  /** kill -9 of the node's process group (beam.smp included); resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts it again with the same directories; resolves once it takes AMQP connections. */
  restart(): Promise<void>;
  /** Stops it, makes sure no process of it is left, and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /** Pids of live OS processes that belong to this node (its name is in their environment). */
  processes(): number[];
  /** Runs a RabbitMQ CLI tool against this node (`-n <nodeName>` first); resolves with its stdout, rejects with its stderr. */
  ctl(tool: RabbitCli, args: readonly string[], timeoutMs?: number): Promise<string>;
  /** Started and not killed or stopped since (the Supervisor's view; the node may still be booting). */
  alive(): boolean;
}

/** The rabbitmq-server on PATH, or null. */
export function findRabbitmqServer(env: Env = process.env): string | null {
  return findOnPath('rabbitmq-server', env);
}

/** The script that really starts the server: Debian's su-wrapper replaced by the script it runs. */
export function serverScript(found: string): string {
  const real = realpathSync(found);
  if (path.basename(real) === 'rabbitmq-script-wrapper') {
    const inner = path.join(path.dirname(real), 'rabbitmq-server');
    try {
      accessSync(inner, constants.X_OK);
      return inner;
    } catch {
      throw new Error(`${found} is Debian's rabbitmq-script-wrapper, but ${inner} (the script it runs) is missing`);
    }
  }
  return real;
}

interface Account { uid: number; gid: number }

function rabbitmqAccount(): Account | null {
  try {
    const uid = Number(execFileSync('id', ['-u', 'rabbitmq'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'rabbitmq'], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
  } catch {
    return null;
  }
}

function findOnPath(name: string, env: Env): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function chownTree(p: string, a: Account): void {
  chownSync(p, a.uid, a.gid);
  for (const entry of readdirSync(p, { withFileTypes: true })) {
    const child = path.join(p, entry.name);
    if (entry.isDirectory()) chownTree(child, a);
    else chownSync(child, a.uid, a.gid);
  }
}

/** Live pids whose environment holds RABBITMQ_NODENAME=<nodeName> (Linux /proc). */
export function processesOfNode(nodeName: string): number[] {
  const needle = `RABBITMQ_NODENAME=${nodeName}\0`;
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const environ = readFileSync(`/proc/${e}/environ`, 'latin1');
      if (`${environ}\0`.includes(needle)) out.push(Number(e));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

async function waitForAmqp(url: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await checkAmqp(url, Math.max(500, Math.min(3000, deadline - Date.now())));
      return;
    } catch (err) {
      if (!alive()) throw new Error(`the RabbitMQ node exited before it took AMQP connections: ${(err as Error).message}`, { cause: err });
      if (Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Starts a private RabbitMQ node (see the top of this file); throws if it cannot. */
export async function startRabbitNode(opts: RabbitNodeOptions = {}): Promise<RabbitNode> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const found = opts.serverPath ?? findRabbitmqServer(env);
  if (!found) throw new Error('rabbitmq-server is not on PATH (install the rabbitmq-server package)');
  const script = serverScript(found);
  const supervisor = opts.supervisor ?? new Supervisor();
  const processName = opts.processName ?? 'rabbitmq';
  const readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
  const [port, distPort] = [await freePort(), await freePort()];
  const id = randomBytes(4).toString('hex');
  const nodeName = `untangle-${id}@localhost`;
  const dir = mkdtempSync(path.join(opts.parentDir ?? tmpdir(), `untangle-rabbitmq-${id}-`));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });

  try {
    const file = (name: string): string => path.join(dir, name);
    writeFileSync(file('rabbitmq.conf'), [`listeners.tcp.default = 127.0.0.1:${port}`, 'loopback_users = none', ...(opts.extraConfig ?? []), ''].join('\n'));
    if (opts.erlangCookie !== undefined) writeFileSync(file('.erlang.cookie'), opts.erlangCookie, { mode: 0o400 });
    writeFileSync(file('rabbitmq-env.conf'), '# a private untangle node: everything is set through the environment\n');
    writeFileSync(file('enabled_plugins'), '[].\n');
    mkdirSync(file('mnesia'));
    mkdirSync(file('log'));

    // As root: the node and its CLI tools run as the rabbitmq user (see the top of this file).
    let asUser: string[] = [];
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (isRoot) {
      const account = rabbitmqAccount();
      const setpriv = findOnPath('setpriv', env);
      if (account && setpriv) {
        chownTree(dir, account);
        asUser = [setpriv, `--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups'];
      }
      // Without a rabbitmq user or setpriv the node runs as root, which RabbitMQ also accepts.
    }
    const [command, ...args] = [...asUser, script];
    const baseEnv = {
      PATH: env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      HOME: dir,
      RABBITMQ_CONF_ENV_FILE: file('rabbitmq-env.conf'),
      ERL_EPMD_ADDRESS: '127.0.0.1',
    };

    const started = await supervisor.start(processName, {
      command,
      args,
      cwd: dir,
      inheritEnv: false,
      env: {
        ...baseEnv,
        RABBITMQ_NODENAME: nodeName,
        RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
        RABBITMQ_NODE_PORT: String(port),
        RABBITMQ_DIST_PORT: String(distPort),
        RABBITMQ_CONFIG_FILE: file('rabbitmq.conf'),
        RABBITMQ_MNESIA_BASE: file('mnesia'),
        RABBITMQ_LOG_BASE: file('log'),
        RABBITMQ_ENABLED_PLUGINS_FILE: file('enabled_plugins'),
        RABBITMQ_FEATURE_FLAGS_FILE: file('feature_flags'),
        RABBITMQ_PID_FILE: file('rabbitmq.pid'),
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      },
      readyPattern: RABBITMQ_READY,
      readyTimeoutMs,
      logFile: file('server.out'),
    });
    const url = `amqp://guest:guest@127.0.0.1:${port}`;
    const alive = (): boolean => supervisor.status(processName).state === 'running' || supervisor.status(processName).state === 'starting';
    await waitForAmqp(url, readyTimeoutMs, alive);
    log(`rabbitmq: private node ${nodeName} pid ${started.pid} at 127.0.0.1:${port} (dir ${dir})`);

    let stopped = false;
    const reapLeftovers = (): void => {
      for (const pid of processesOfNode(nodeName)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    };
    const ctl = (tool: RabbitCli, ctlArgs: readonly string[], timeoutMs = 30_000): Promise<string> => {
      const [cmd, ...pre] = [...asUser, path.join(path.dirname(script), tool)];
      return new Promise((resolve, reject) => {
        execFile(cmd, [...pre, '-n', nodeName, ...ctlArgs], { cwd: dir, env: baseEnv, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
          if (err) reject(new Error(`${tool} ${ctlArgs.join(' ')} on ${nodeName}: ${(stderr.trim() || stdout.trim() || err.message).split('\n').slice(0, 5).join(' / ')}`, { cause: err }));
          else resolve(stdout);
        });
      });
    };
    return {
      url, port, distPort, nodeName, dir, processName, supervisor, ctl,
      alive,
      pid: () => supervisor.pid(processName),
      processes: () => processesOfNode(nodeName),
      async kill() {
        await supervisor.kill(processName, 'SIGKILL');
      },
      async restart() {
        const t0 = Date.now();
        await supervisor.restart(processName, { stopTimeoutMs: 15_000 });
        await waitForAmqp(url, readyTimeoutMs, alive);
        log(`rabbitmq: private node ${nodeName} restarted in ${Date.now() - t0} ms`);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          await supervisor.stop(processName, { timeoutMs: 15_000 });
        } finally {
          reapLeftovers();
          // Processes killed just now may take a moment to disappear from /proc.
          for (let i = 0; i < 50 && processesOfNode(nodeName).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
          removeDir();
        }
      },
    };
  } catch (err) {
    if (supervisor.names().includes(processName)) await supervisor.stop(processName, { timeoutMs: 5_000 }).catch(() => undefined);
    for (const pid of processesOfNode(nodeName)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    removeDir();
    throw err;
  }
}
