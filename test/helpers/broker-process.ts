// Start the real broker as a separate process (`node bin/untangle.js broker ...`), wait for its ready
// line, and stop / kill / restart it. Free of vitest imports so the benchmark can use it too.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(REPO_ROOT, 'bin/untangle.js');
const READY_RE = /^untangle broker ready node=(\d+) listen=(\S+):(\d+) metrics=(\S+) data=(.*)$/;

export interface BrokerProcessOptions {
  /** Existing data dir; a fresh temp dir (removed by cleanup()) when omitted. */
  dataDir?: string;
  port?: number;
  host?: string;
  nodeId?: number;
  defaultPartitions?: number;
  autoCreateTopics?: boolean;
  /** Start a metrics endpoint on a free port (default true). */
  metrics?: boolean;
  groupInitialRebalanceDelayMs?: number;
  segmentBytes?: number;
  maxFrameBytes?: number;
  maxConnections?: number;
  /** Extra raw CLI arguments. */
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

export interface BrokerProcess {
  readonly host: string;
  readonly port: number;
  /** 'host:port' */
  readonly address: string;
  readonly metricsUrl: string | null;
  readonly dataDir: string;
  readonly pid: number;
  readonly running: boolean;
  /** Last ~64 KiB of the broker's stderr (all starts). */
  stderr(): string;
  /** SIGTERM and wait for exit; returns the exit code (null if it died by a signal). */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** Start again on the same data dir and port (stops first if still running). */
  restart(): Promise<void>;
  /** Kill if running and remove the temp data dir if this helper created it. */
  cleanup(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => { for (const c of live) c.kill('SIGKILL'); });

export function makeTempDir(prefix = 'untangle-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export async function startBrokerProcess(opts: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? makeTempDir('untangle-broker-');
  let stderrBuf = '';
  let child: ChildProcess | null = null;
  let exited: Promise<number | null> = Promise.resolve(null);
  let host = opts.host ?? '127.0.0.1';
  let port = opts.port ?? 0;
  let metricsUrl: string | null = null;

  const args = (p: number): string[] => {
    const a = ['broker', '--port', String(p), '--data-dir', dataDir, '--host', host];
    if (opts.nodeId !== undefined) a.push('--node-id', String(opts.nodeId));
    if (opts.defaultPartitions !== undefined) a.push('--default-partitions', String(opts.defaultPartitions));
    if (opts.autoCreateTopics !== undefined) a.push('--auto-create-topics', String(opts.autoCreateTopics));
    // Keep the metrics port stable across restarts only when asked for a fixed broker port; 0 otherwise.
    if (opts.metrics !== false) a.push('--metrics-port', '0');
    if (opts.groupInitialRebalanceDelayMs !== undefined) a.push('--group-initial-rebalance-delay-ms', String(opts.groupInitialRebalanceDelayMs));
    if (opts.segmentBytes !== undefined) a.push('--segment-bytes', String(opts.segmentBytes));
    if (opts.maxFrameBytes !== undefined) a.push('--max-frame-bytes', String(opts.maxFrameBytes));
    if (opts.maxConnections !== undefined) a.push('--max-connections', String(opts.maxConnections));
    return a.concat(opts.extraArgs ?? []);
  };

  const launch = (p: number): Promise<void> => new Promise<void>((resolve, reject) => {
    const c = spawn(process.execPath, [BIN, ...args(p)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    live.add(c);
    let settled = false;
    let stdoutBuf = '';
    const fail = (msg: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      c.kill('SIGKILL');
      reject(new Error(`${msg}\n--- broker stderr (tail) ---\n${stderrBuf.slice(-4000)}\n--- stdout ---\n${stdoutBuf.slice(-1000)}`));
    };
    const timer = setTimeout(() => fail(`broker did not print its ready line within ${opts.readyTimeoutMs ?? 30_000} ms`),
      opts.readyTimeoutMs ?? 30_000);
    exited = new Promise((res) => c.once('exit', (code) => { live.delete(c); res(code); }));
    c.once('exit', (code, sig) => fail(`broker exited before ready (code ${code}, signal ${sig})`));
    c.once('error', (err) => fail(`cannot spawn broker: ${err.message}`));
    c.stderr!.setEncoding('utf8');
    c.stderr!.on('data', (s: string) => { stderrBuf = (stderrBuf + s).slice(-65536); });
    c.stdout!.setEncoding('utf8');
    c.stdout!.on('data', (s: string) => {
      stdoutBuf += s;
      if (settled) return;
      for (const line of stdoutBuf.split('\n')) {
        const m = READY_RE.exec(line.trim());
        if (!m) continue;
        settled = true;
        clearTimeout(timer);
        host = m[2];
        port = Number(m[3]);
        metricsUrl = m[4] === '-' ? null : m[4];
        resolve();
        return;
      }
    });
  });

  await launch(port);

  const waitExit = async (timeoutMs: number): Promise<number | null> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return exited;
    let t: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => { t = setTimeout(() => r('timeout'), timeoutMs); })]);
    clearTimeout(t);
    if (code === 'timeout') {
      c.kill('SIGKILL');
      await exited;
      throw new Error(`broker did not exit within ${timeoutMs} ms of SIGTERM; killed it\n${stderrBuf.slice(-2000)}`);
    }
    return code;
  };
  const isRunning = () => child !== null && child.exitCode === null && child.signalCode === null;

  const bp: BrokerProcess = {
    get host() { return host; },
    get port() { return port; },
    get address() { return `${host}:${port}`; },
    get metricsUrl() { return metricsUrl; },
    get dataDir() { return dataDir; },
    get pid() { return child?.pid ?? -1; },
    get running() { return isRunning(); },
    stderr: () => stderrBuf,
    async stop(timeoutMs = 15_000) {
      if (!isRunning()) return exited;
      child!.kill('SIGTERM');
      return waitExit(timeoutMs);
    },
    async kill() {
      if (!isRunning()) return;
      child!.kill('SIGKILL');
      await exited;
    },
    async restart() {
      if (isRunning()) await bp.stop();
      await launch(port);
    },
    async cleanup() {
      if (isRunning()) { child!.kill('SIGKILL'); await exited; }
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return bp;
}

/** Resident set size of a process in bytes (Linux /proc). */
export function readRssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

export interface MetricSample { name: string; labels: Record<string, string>; value: number }

/** Fetch and parse a Prometheus text endpoint. */
export async function scrapeMetrics(url: string): Promise<MetricSample[]> {
  const text = await (await fetch(url)).text();
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of a metric's samples whose labels include `match`. */
export function metricSum(samples: MetricSample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}
