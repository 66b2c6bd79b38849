// Run an external command (kcat, python) with a timeout and collect its output as bytes.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface RunResult { code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string }

export function runCommand(cmd: string, args: string[], opts: { input?: Buffer | string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} timed out after ${opts.timeoutMs ?? 60_000} ms\n${err.slice(-3000)}`));
    }, opts.timeoutMs ?? 60_000);
    c.stdout.on('data', (b: Buffer) => out.push(b));
    c.stderr.setEncoding('utf8');
    c.stderr.on('data', (s: string) => { err = (err + s).slice(-65536); });
    c.on('error', (e) => { clearTimeout(timer); reject(e); });
    c.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout: Buffer.concat(out), stderr: err }); });
    c.stdin.on('error', () => undefined);
    c.stdin.end(opts.input ?? '');
  });
}

/** A long-running child whose stdout/stderr are accumulated; stop() sends SIGTERM and awaits exit. */
export interface Background { child: ChildProcess; stdout(): Buffer; stderr(): string; stop(signal?: NodeJS.Signals): Promise<number | null> }

export function runBackground(cmd: string, args: string[]): Background {
  const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  c.stdout!.on('data', (b: Buffer) => out.push(b));
  c.stderr!.setEncoding('utf8');
  c.stderr!.on('data', (s: string) => { err = (err + s).slice(-262144); });
  const exited = new Promise<number | null>((res) => c.once('close', (code) => res(code)));
  return {
    child: c,
    stdout: () => Buffer.concat(out),
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (c.exitCode === null && c.signalCode === null) c.kill(signal);
      const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** True while the process exists and is not a zombie (an orphan's reaper may be slow to reap it). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
