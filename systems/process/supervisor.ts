// Starts, health-checks, stops, kills (-9) and restarts named OS processes. Each child is spawned
// without a shell as the leader of its own process group, so stop/kill reach everything it started.
// stdout/stderr are kept in bounded ring buffers (and optionally appended to a log file); every wait
// has a timeout whose error carries the child's last stderr lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createWriteStream } from 'node:fs';
import { LineSplitter, RingBuffer } from './ring-buffer.ts';
import { signalGroup, trackGroup, untrackGroup } from './reaper.ts';

export interface ProcessSpec {
  command: string;
  args?: string[];
  /** Added on top of this process's environment (only these when inheritEnv is false). */
  env?: Record<string, string | undefined>;
  inheritEnv?: boolean;
  cwd?: string;
  /** Matched against each stdout line; the first match means "started". */
  readyPattern: RegExp;
  /** Default 30 s. */
  readyTimeoutMs?: number;
  /** After the ready line, poll this URL until it answers 200 (HTTP GET). */
  healthUrl?: (readyMatch: RegExpExecArray) => string;
  /** Default: readyTimeoutMs. */
  healthTimeoutMs?: number;
  healthIntervalMs?: number;
  /** Append the child's stdout and stderr to this file as well. */
  logFile?: string;
}

export type ProcessState = 'starting' | 'running' | 'stopped' | 'crashed';

export interface ProcessStatus {
  name: string;
  state: ProcessState;
  /** Null once the process has exited. */
  pid: number | null;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** How many times it was started. */
  starts: number;
  startedAtMs: number | null;
  exitedAtMs: number | null;
  /** The last stop needed SIGKILL because SIGTERM was not enough in time. */
  forcedKill: boolean;
  /** Why the last start failed, if it did. */
  error: string | null;
}

export interface StartedProcess {
  name: string;
  pid: number;
  readyMatch: RegExpExecArray;
  healthUrl: string | null;
}

export interface ExitEvent {
  name: string;
  pid: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  state: ProcessState;
  /** False when nobody asked for it (not stop/kill/a failed start): a real crash. */
  expected: boolean;
}

export interface SupervisorOptions {
  /** Bytes kept per stream (default 64 KiB). */
  ringBytes?: number;
  /** Called on every exit nobody asked for (also emitted as 'unexpected-exit'). */
  onUnexpectedExit?: (event: ExitEvent) => void;
  /** Lines of stderr quoted in errors (default 20). */
  errorStderrLines?: number;
}

type Intent = 'none' | 'stop' | 'kill' | 'abort';

interface Managed {
  spec: ProcessSpec;
  child: ChildProcess | null;
  status: ProcessStatus;
  stdout: RingBuffer;
  stderr: RingBuffer;
  exited: Promise<void>;
  intent: Intent;
}

const KILL_WAIT_MS = 10_000;

/** Events: 'exit' (ExitEvent) for every exit, 'unexpected-exit' (ExitEvent) for crashes. */
export class Supervisor extends EventEmitter {
  private readonly procs = new Map<string, Managed>();
  private readonly ringBytes: number;
  private readonly stderrLines: number;

  constructor(private readonly options: SupervisorOptions = {}) {
    super();
    this.ringBytes = options.ringBytes ?? 64 * 1024;
    this.stderrLines = options.errorStderrLines ?? 20;
    if (options.onUnexpectedExit) this.on('unexpected-exit', options.onUnexpectedExit);
  }

  names(): string[] { return [...this.procs.keys()]; }
  pid(name: string): number | null { return this.get(name).status.pid; }
  status(name: string): ProcessStatus { return { ...this.get(name).status }; }
  stdout(name: string): string { return this.get(name).stdout.text(); }
  stderr(name: string): string { return this.get(name).stderr.text(); }

  /** Spawns the process, waits for its ready line, then for its health URL. Throws (and kills it) on failure. */
  async start(name: string, spec: ProcessSpec): Promise<StartedProcess> {
    const old = this.procs.get(name);
    if (old && isLive(old)) throw new Error(`process "${name}" is already ${old.status.state} (pid ${old.status.pid})`);
    const m: Managed = old ?? {
      spec, child: null, stdout: new RingBuffer(this.ringBytes), stderr: new RingBuffer(this.ringBytes),
      exited: Promise.resolve(), intent: 'none',
      status: { name, state: 'stopped', pid: null, exitCode: null, signal: null, starts: 0, startedAtMs: null, exitedAtMs: null, forcedKill: false, error: null },
    };
    m.spec = spec;
    m.intent = 'none';
    this.procs.set(name, m);
    const readyTimeoutMs = spec.readyTimeoutMs ?? 30_000;
    const child = spawn(spec.command, spec.args ?? [], {
      cwd: spec.cwd,
      env: spec.inheritEnv === false ? { ...spec.env } : { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      shell: false,
    });
    m.child = child;
    Object.assign(m.status, { state: 'starting', pid: child.pid ?? null, exitCode: null, signal: null, starts: m.status.starts + 1, startedAtMs: Date.now(), exitedAtMs: null, forcedKill: false, error: null });
    const log = spec.logFile ? createWriteStream(spec.logFile, { flags: 'a' }) : null;
    log?.write(`--- ${name} start #${m.status.starts} pid ${child.pid ?? '?'} at ${new Date().toISOString()} ---\n`);
    let onReadyLine: ((line: string) => void) | null = null;
    const lines = new LineSplitter((line) => onReadyLine?.(line));
    child.stdout!.on('data', (b: Buffer) => { m.stdout.write(b); log?.write(b); lines.push(b); });
    child.stderr!.on('data', (b: Buffer) => { m.stderr.write(b); log?.write(b); });
    child.once('close', () => { lines.flush(); log?.end(); });
    m.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => { this.onExit(name, m, child, code, signal); resolve(); });
    });
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    if (child.pid !== undefined) trackGroup(child.pid);

    const fail = async (why: string): Promise<never> => {
      const exitedOnItsOwn = child.exitCode !== null || child.signalCode !== null;
      if (!exitedOnItsOwn && child.pid !== undefined) {
        m.intent = 'abort';
        signalGroup(child.pid, 'SIGKILL');
        await withTimeout(m.exited, KILL_WAIT_MS);
      }
      m.status.error = why;
      if (m.status.state === 'starting') Object.assign(m.status, { state: 'crashed', pid: null, exitedAtMs: Date.now() });
      throw new Error(`${why}${this.stderrSuffix(m)}`);
    };

    const ready = await new Promise<RegExpExecArray | string>((resolve) => {
      const timer = setTimeout(() => resolve(`process "${name}" did not print a line matching ${spec.readyPattern} within ${readyTimeoutMs} ms`), readyTimeoutMs);
      const done = (v: RegExpExecArray | string) => { clearTimeout(timer); onReadyLine = null; resolve(v); };
      onReadyLine = (line) => { const match = spec.readyPattern.exec(line); if (match) done(match); };
      void spawnError.then((err) => done(`cannot spawn "${name}" (${spec.command}): ${err.message}`));
      void m.exited.then(() => done(`process "${name}" exited before it was ready (code ${child.exitCode}, signal ${child.signalCode})`));
    });
    if (typeof ready === 'string') return fail(ready);

    let healthUrl: string | null = null;
    if (spec.healthUrl) {
      healthUrl = spec.healthUrl(ready);
      const problem = await this.waitHealthy(m, child, healthUrl, spec.healthTimeoutMs ?? readyTimeoutMs, spec.healthIntervalMs ?? 100);
      if (problem) return fail(`process "${name}": ${problem}`);
    }
    m.status.state = 'running';
    return { name, pid: child.pid!, readyMatch: ready, healthUrl };
  }

  /** SIGTERM, then SIGKILL after timeoutMs (default 10 s). Resolves once the process has exited. */
  async stop(name: string, opts: { timeoutMs?: number } = {}): Promise<ProcessStatus> {
    const m = this.get(name);
    if (!isLive(m)) return this.status(name);
    const pid = m.child!.pid!;
    m.intent = 'stop';
    signalGroup(pid, 'SIGTERM');
    if (!(await withTimeout(m.exited, opts.timeoutMs ?? 10_000))) {
      m.status.forcedKill = true;
      signalGroup(pid, 'SIGKILL');
      if (!(await withTimeout(m.exited, KILL_WAIT_MS))) {
        throw new Error(`process "${name}" (pid ${pid}) did not exit even after SIGKILL${this.stderrSuffix(m)}`);
      }
    }
    return this.status(name);
  }

  /** Sends SIGKILL (a real crash, as kill -9) or another signal, and waits for the exit. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<ProcessStatus> {
    const m = this.get(name);
    if (!isLive(m)) return this.status(name);
    const pid = m.child!.pid!;
    m.intent = 'kill';
    signalGroup(pid, signal);
    if (!(await withTimeout(m.exited, KILL_WAIT_MS))) {
      throw new Error(`process "${name}" (pid ${pid}) did not exit within ${KILL_WAIT_MS} ms of ${signal}${this.stderrSuffix(m)}`);
    }
    return this.status(name);
  }

  /** Stops it if it is still alive, then starts it again with the same spec. */
  async restart(name: string, opts: { stopTimeoutMs?: number } = {}): Promise<StartedProcess> {
    const m = this.get(name);
    if (isLive(m)) await this.stop(name, { timeoutMs: opts.stopTimeoutMs });
    return this.start(name, m.spec);
  }

  /** Resolves true once the process has exited, false after timeoutMs. */
  async waitForExit(name: string, timeoutMs: number): Promise<boolean> {
    const m = this.get(name);
    return isLive(m) ? withTimeout(m.exited, timeoutMs) : true;
  }

  /** Stops every live process in parallel; errors are collected and thrown together. */
  async stopAll(opts: { timeoutMs?: number } = {}): Promise<void> {
    const results = await Promise.allSettled(this.names().map((n) => this.stop(n, opts)));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message ?? r.reason)] : []));
    if (errors.length > 0) throw new Error(`stopAll: ${errors.join('\n')}`);
  }

  /** The last `lines` lines of a process's stderr. */
  stderrTail(name: string, lines = this.stderrLines): string {
    return this.get(name).stderr.tailLines(lines);
  }

  private onExit(name: string, m: Managed, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const pid = child.pid!;
    untrackGroup(pid);
    signalGroup(pid, 'SIGKILL'); // anything the child left behind in its group
    if (m.child !== child) return;
    const expected = m.intent !== 'none';
    const state: ProcessState = m.intent === 'stop' || m.intent === 'abort' ? 'stopped' : 'crashed';
    Object.assign(m.status, { state, pid: null, exitCode: code, signal, exitedAtMs: Date.now() });
    const event: ExitEvent = { name, pid, exitCode: code, signal, state, expected };
    this.emit('exit', event);
    if (!expected) this.emit('unexpected-exit', event);
  }

  private async waitHealthy(m: Managed, child: ChildProcess, url: string, timeoutMs: number, intervalMs: number): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) return `exited while waiting for ${url} to be healthy (code ${child.exitCode}, signal ${child.signalCode})`;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(Math.max(100, Math.min(2000, deadline - Date.now()))) });
        await res.arrayBuffer();
        if (res.status === 200) return null;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      }
      await Promise.race([sleep(intervalMs), m.exited]);
    }
    return `health check ${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`;
  }

  private stderrSuffix(m: Managed): string {
    const tail = m.stderr.tailLines(this.stderrLines);
    return tail ? `\n--- last stderr lines of "${m.status.name}" ---\n${tail}` : `\n(no stderr output from "${m.status.name}")`;
  }

  private get(name: string): Managed {
    const m = this.procs.get(name);
    if (!m) throw new Error(`unknown process "${name}" (known: ${this.names().join(', ') || 'none'})`);
    return m;
  }
}

function isLive(m: Managed): boolean {
  return m.child !== null && m.child.exitCode === null && m.child.signalCode === null && m.child.pid !== undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True if `p` settled within `ms`. */
async function withTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([p.then(() => true), new Promise<boolean>((r) => { timer = setTimeout(() => r(false), ms); })]);
  clearTimeout(timer);
  return result;
}
