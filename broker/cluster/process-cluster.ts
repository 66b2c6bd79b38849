// A local cluster of real OS processes, one `untangle broker --roles ...` per node: what
// `untangle cluster` runs, and what the failover tests and the hub-cluster scenario kill -9 and
// restart. Each node keeps its ports and data directory across restarts. The nodes share a cluster
// secret (secret.ts) kept in dataDir/cluster-secret, generated on first use, unless extraArgs name one.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdirSync } from 'node:fs';
import { generateClusterSecret, readClusterSecretFile, writeClusterSecretFile } from './secret.ts';
import { checkClusterShape, defaultControllerCount } from './node.ts';
import { freePorts } from './free-ports.ts';
import type { QuorumVoter } from './controller/index.ts';

const UNTANGLE_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'untangle.js');
const READY_TIMEOUT_MS = 60_000;
/** Log lines kept per node for error messages. */
const KEPT_LOG_LINES = 200;

export interface ProcessClusterOptions {
  nodes: number;
  controllers?: number;
  dataDir: string;
  host?: string;
  /** First Kafka port; brokers use basePort..basePort+nodes-1 and controllers the ports after. 0 = free ports. */
  basePort?: number;
  /** Extra `untangle broker` arguments for every node (e.g. ['--broker-session-timeout-ms', '3000']). */
  extraArgs?: string[];
  /** Each node's stderr lines, prefixed by the caller as it likes. */
  onLog?: (nodeId: number, line: string) => void;
}

export interface ClusterNodeSpec {
  nodeId: number;
  roles: string;
  port: number;
  controllerPort: number | null;
  dataDir: string;
  args: string[];
}

/** The command line of every node (`node bin/untangle.js broker ...`). */
export async function planProcessCluster(options: ProcessClusterOptions): Promise<{ nodes: ClusterNodeSpec[]; voters: QuorumVoter[]; command: string; clusterSecret: Buffer }> {
  const host = options.host ?? '127.0.0.1';
  const controllers = options.controllers ?? defaultControllerCount(options.nodes);
  checkClusterShape(options.nodes, controllers);
  const ports = options.basePort ? Array.from({ length: options.nodes + controllers }, (_, i) => options.basePort! + i) : await freePorts(options.nodes + controllers, host);
  const voters: QuorumVoter[] = Array.from({ length: controllers }, (_, i) => ({ id: i + 1, host, port: ports[options.nodes + i] }));
  const quorum = voters.map((v) => `${v.id}@${v.host}:${v.port}`).join(',');
  const extra = options.extraArgs ?? [];
  const given = extra.indexOf('--cluster-secret-file');
  let secretFile: string;
  if (given >= 0 && extra[given + 1] !== undefined) {
    secretFile = extra[given + 1];
  } else {
    secretFile = join(options.dataDir, 'cluster-secret');
    mkdirSync(options.dataDir, { recursive: true });
    if (!existsSync(secretFile)) writeClusterSecretFile(secretFile, generateClusterSecret());
  }
  const clusterSecret = readClusterSecretFile(secretFile);
  const secretArgs = given >= 0 ? [] : ['--cluster-secret-file', secretFile];
  const nodes = Array.from({ length: options.nodes }, (_, i): ClusterNodeSpec => {
    const nodeId = i + 1;
    const roles = nodeId <= controllers ? 'broker,controller' : 'broker';
    const dataDir = join(options.dataDir, `node-${nodeId}`);
    const args = [UNTANGLE_BIN, 'broker', '--node-id', String(nodeId), '--host', host, '--port', String(ports[i]), '--data-dir', dataDir, '--roles', roles, '--controller-quorum', quorum, ...secretArgs, ...extra];
    return { nodeId, roles, port: ports[i], controllerPort: nodeId <= controllers ? ports[options.nodes + i] : null, dataDir, args };
  });
  return { nodes, voters, command: process.execPath, clusterSecret };
}

export class ClusterProcess {
  child: ChildProcess | null = null;
  private lines: string[] = [];

  constructor(
    readonly spec: ClusterNodeSpec,
    private readonly onLog: (nodeId: number, line: string) => void,
  ) {}

  get nodeId(): number {
    return this.spec.nodeId;
  }

  get address(): string {
    return `127.0.0.1:${this.spec.port}`;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  recentLog(): string {
    return this.lines.join('\n');
  }

  /** Spawns the node; `waitReady` waits for its ready line (a broker waits for a controller majority to register). */
  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    const child = spawn(process.execPath, this.spec.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (line: string): void => {
      this.lines.push(line);
      if (this.lines.length > KEPT_LOG_LINES) this.lines.shift();
      this.onLog(this.spec.nodeId, line);
    };
    let stderrRest = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = stderrRest + chunk.toString('utf8');
      const parts = text.split('\n');
      stderrRest = parts.pop() ?? '';
      for (const line of parts) keep(line);
    });
    return new Promise<void>((resolve, reject) => {
      let stdoutRest = '';
      const timer = setTimeout(() => reject(new Error(`node ${this.spec.nodeId} was not ready within ${READY_TIMEOUT_MS} ms:\n${this.recentLog()}`)), READY_TIMEOUT_MS);
      child.stdout!.on('data', (chunk: Buffer) => {
        stdoutRest += chunk.toString('utf8');
        if (stdoutRest.includes('untangle broker ready')) {
          clearTimeout(timer);
          resolve();
        }
        if (stdoutRest.length > 64 * 1024) stdoutRest = stdoutRest.slice(-1024);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`node ${this.spec.nodeId} exited (${signal ?? code}) before it was ready:\n${this.recentLog()}`));
      });
    });
  }

  /** Sends a signal (SIGKILL for a crash) and waits for the process to end. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }
}

export interface ProcessCluster {
  nodes: ClusterProcess[];
  voters: QuorumVoter[];
  /** The secret the nodes share, for clients of the controller quorum (ControllerClient). */
  clusterSecret: Buffer;
  bootstrap: string[];
  node(id: number): ClusterProcess;
  close(): Promise<void>;
}

/** Starts every node and resolves once all are ready. */
export async function startProcessCluster(options: ProcessClusterOptions): Promise<ProcessCluster> {
  const plan = await planProcessCluster(options);
  const onLog = options.onLog ?? (() => undefined);
  const nodes = plan.nodes.map((spec) => new ClusterProcess(spec, onLog));
  const cluster: ProcessCluster = {
    nodes,
    voters: plan.voters,
    clusterSecret: plan.clusterSecret,
    bootstrap: nodes.map((n) => n.address),
    node(id) {
      const n = nodes.find((x) => x.nodeId === id);
      if (!n) throw new Error(`no node ${id} in this cluster`);
      return n;
    },
    async close() {
      await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
    },
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
  } catch (err) {
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    throw err;
  }
  return cluster;
}
