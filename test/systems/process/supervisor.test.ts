import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Supervisor, type ExitEvent, type ProcessSpec } from '../../../systems/process/supervisor.ts';
import { processAlive } from '../../helpers/run.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'fixtures/http-child.mjs');
const PARENT = path.join(here, 'fixtures/parent.ts');
const tmp = mkdtempSync(path.join(tmpdir(), 'untangle-supervisor-'));

function spec(env: Record<string, string> = {}, extra: Partial<ProcessSpec> = {}): ProcessSpec {
  return {
    command: process.execPath,
    args: [CHILD],
    env,
    readyPattern: /^fixture ready port=(\d+) pid=(\d+)$/,
    readyTimeoutMs: 15_000,
    healthUrl: (m) => `http://127.0.0.1:${m[1]}/health`,
    ...extra,
  };
}

const alive = processAlive;

let sup = new Supervisor();
afterEach(async () => {
  await sup.stopAll({ timeoutMs: 2000 });
  sup = new Supervisor();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('Supervisor', () => {
  it('starts a child, waits for its ready line and a healthy /health, then stops it with SIGTERM', async () => {
    const started = await sup.start('web', spec({ HEALTH_DELAY_MS: '600' }, { logFile: path.join(tmp, 'web.log') }));
    expect(started.pid).toBeGreaterThan(0);
    expect(started.healthUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/health$/);
    // start() only resolves once /health says 200, which the fixture delays by 600 ms.
    expect((await fetch(started.healthUrl!)).status).toBe(200);
    expect(sup.status('web')).toMatchObject({ state: 'running', pid: started.pid, starts: 1 });
    expect(sup.pid('web')).toBe(started.pid);

    const status = await sup.stop('web', { timeoutMs: 5000 });
    expect(status).toMatchObject({ state: 'stopped', pid: null, exitCode: 0, forcedKill: false });
    expect(alive(started.pid)).toBe(false);
    expect(sup.stderr('web')).toContain('fixture: listening');
    expect(readFileSync(path.join(tmp, 'web.log'), 'utf8')).toMatch(/start #1 pid \d+[\s\S]*fixture ready port=/);
  });

  it('kill() is a real kill -9: state crashed, signal SIGKILL, and an expected exit event', async () => {
    const events: ExitEvent[] = [];
    const unexpected: ExitEvent[] = [];
    sup.on('exit', (e: ExitEvent) => events.push(e));
    sup.on('unexpected-exit', (e: ExitEvent) => unexpected.push(e));
    const { pid } = await sup.start('web', spec());
    const status = await sup.kill('web');
    expect(status).toMatchObject({ state: 'crashed', signal: 'SIGKILL', exitCode: null, pid: null });
    expect(alive(pid)).toBe(false);
    expect(events).toEqual([expect.objectContaining({ name: 'web', pid, signal: 'SIGKILL', expected: true })]);
    expect(unexpected).toEqual([]);
  });

  it('reports an exit nobody asked for through onUnexpectedExit and the unexpected-exit event', async () => {
    const seen: ExitEvent[] = [];
    sup = new Supervisor({ onUnexpectedExit: (e) => seen.push(e) });
    const started = await sup.start('web', spec());
    await fetch(`http://127.0.0.1:${started.readyMatch[1]}/exit?code=7`).then((r) => r.text());
    expect(await sup.waitForExit('web', 5000)).toBe(true);
    expect(sup.status('web')).toMatchObject({ state: 'crashed', exitCode: 7, signal: null });
    expect(seen).toEqual([expect.objectContaining({ name: 'web', exitCode: 7, expected: false, state: 'crashed' })]);
  });

  it('restarts with the same spec: a new pid, running again; also after a crash', async () => {
    const first = await sup.start('web', spec());
    const second = await sup.restart('web');
    expect(second.pid).not.toBe(first.pid);
    expect(alive(first.pid)).toBe(false);
    expect(sup.status('web')).toMatchObject({ state: 'running', starts: 2 });
    await sup.kill('web');
    const third = await sup.restart('web');
    expect(sup.status('web')).toMatchObject({ state: 'running', pid: third.pid, starts: 3 });
    expect((await fetch(third.healthUrl!)).status).toBe(200);
  });

  it('refuses to start a name that is already running', async () => {
    await sup.start('web', spec());
    await expect(sup.start('web', spec())).rejects.toThrow(/already running/);
  });

  it('a ready timeout kills the child and the error quotes its last stderr lines', async () => {
    const err = await sup.start('stuck', spec({ FIXTURE_MODE: 'no-ready' }, { readyTimeoutMs: 800 })).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/did not print a line matching .* within 800 ms/);
    expect((err as Error).message).toContain('stuck waiting for a database that never comes');
    expect(sup.status('stuck')).toMatchObject({ state: 'stopped', pid: null });
    expect(sup.status('stuck').error).toMatch(/within 800 ms/);
  });

  it('a child that dies before ready fails start() with its exit code and stderr', async () => {
    const err = await sup.start('bad', spec({ FIXTURE_MODE: 'crash' })).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/exited before it was ready \(code 3/);
    expect((err as Error).message).toContain('fatal: config file missing');
    expect(sup.status('bad')).toMatchObject({ state: 'crashed', exitCode: 3 });
  });

  it('a health check that never passes times out with the last answer and stderr', async () => {
    const err = await sup.start('sick', spec({ HEALTH_DELAY_MS: '60000' }, { healthTimeoutMs: 700 })).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/health check http:\/\/127\.0\.0\.1:\d+\/health did not answer 200 within 700 ms \(last: HTTP 503\)/);
    expect((err as Error).message).toContain('fixture: listening');
  });

  it('a spawn failure is a clear error', async () => {
    const err = await sup.start('nope', { ...spec(), command: '/nonexistent/binary' }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/cannot spawn "nope" \(\/nonexistent\/binary\): .*ENOENT/);
  });

  it('stop() escalates to SIGKILL when SIGTERM is ignored', async () => {
    const { pid } = await sup.start('stubborn', spec({ IGNORE_SIGTERM: '1' }));
    const status = await sup.stop('stubborn', { timeoutMs: 500 });
    expect(status).toMatchObject({ state: 'stopped', signal: 'SIGKILL', forcedKill: true });
    expect(alive(pid)).toBe(false);
    expect(sup.stderr('stubborn')).toContain('ignoring SIGTERM');
  });

  it('keeps only the last 64 KiB of stdout, and still finds a ready line after 200 KB of output', async () => {
    await sup.start('chatty', spec({ SPAM_BYTES: String(200_000) }));
    const out = sup.stdout('chatty');
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(64 * 1024);
    expect(out).toMatch(/fixture ready port=\d+ pid=\d+\n$/);
  });

  it('unknown names are a clear error', () => {
    expect(() => sup.status('ghost')).toThrow(/unknown process "ghost"/);
  });
});

describe('no child outlives its parent', () => {
  for (const how of ['exit', 'throw', 'SIGTERM'] as const) {
    it(`parent ends by ${how}: the supervised child is gone too`, async () => {
      const parent = spawn(process.execPath, ['--import', 'tsx', PARENT, how === 'SIGTERM' ? 'wait' : how], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let errText = '';
      parent.stderr.on('data', (b: Buffer) => { errText += b.toString(); });
      const childPid = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`parent printed no child pid; stderr: ${errText}`)), 30_000);
        parent.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          const m = /child pid=(\d+)/.exec(out);
          if (m) { clearTimeout(timer); resolve(Number(m[1])); }
        });
      });
      if (how === 'SIGTERM') parent.kill('SIGTERM');
      const exit = await new Promise<{ code: number | null; signal: string | null }>((r) => parent.once('exit', (code, signal) => r({ code, signal })));
      if (how === 'SIGTERM') expect(exit.signal).toBe('SIGTERM');
      if (how === 'throw') expect(errText).toContain('parent blew up');
      const deadline = Date.now() + 5000;
      while (alive(childPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(alive(childPid)).toBe(false);
    });
  }
});
