/**
 * The open-loop generator against a real local HTTP server: it keeps its schedule, a stalled server
 * shows up in the tail latency (taken from each order's intended send time) while the orders due
 * during the stall still go out on time, the in-flight bound turns orders away as 'overload', and
 * the generator is a separate process that ends with close() or with its parent.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LATE_SEND_MS, OPEN_LOOP_ORDERS_MAX, OpenLoopGenerator, type OrderResult, type ScheduledOrder } from '../../scenarios/load/open-loop.ts';
import { waitFor, processAlive } from '../helpers/run.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const PARENT = path.join(here, 'fixtures/open-loop-parent.ts');

interface TestServer { url: string; received: string[]; close(): Promise<void> }

/** A server that reads each order's body and hands it to `answer` (which may hold the response). */
async function serve(answer: (res: http.ServerResponse, body: string) => void): Promise<TestServer> {
  const received: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push(body);
      answer(res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const accept = (res: http.ServerResponse, body: string) => { res.writeHead(202, { 'content-type': 'application/json' }); res.end(body); };

function orders(n: number): ScheduledOrder[] {
  return Array.from({ length: n }, (_, i) => ({ path: '/ingress/order', body: JSON.stringify({ id: `order-${i}`, amount: i }) }));
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const latency = (r: OrderResult) => r.endedMs - r.intendedMs;
const sendLag = (r: OrderResult) => r.sentMs - r.intendedMs;

const alive = processAlive;

let gen: OpenLoopGenerator;
const servers: TestServer[] = [];
beforeAll(async () => { gen = await OpenLoopGenerator.start(); });
afterEach(async () => { await Promise.all(servers.splice(0).map((s) => s.close())); });
afterAll(async () => { await gen?.close(); });

describe('OpenLoopGenerator', () => {
  it('keeps the schedule against a fast server: 300 orders at 200/s in about 1.5 s', async () => {
    const server = await serve(accept);
    servers.push(server);
    const starts: number[] = [];
    const res = await gen.run({ ingressUrl: server.url, orders: orders(300), ratePerS: 200 }, { onStart: (ms) => starts.push(ms) });
    const doneMs = Date.now();

    expect(starts).toEqual([res.startMs]);
    expect(res.results).toHaveLength(300);
    expect(res.results.map((r) => r.outcome)).toEqual(Array(300).fill(202));
    // Every order reached the server with its own body.
    expect(new Set(server.received)).toEqual(new Set(orders(300).map((o) => o.body)));
    res.results.forEach((r, i) => {
      expect(r.i).toBe(i);
      expect(r.intendedMs).toBeCloseTo(res.startMs + i * 5, 6);
      // Never early, and ended after it was sent.
      expect(r.sentMs).toBeGreaterThanOrEqual(r.intendedMs - 0.01);
      expect(r.endedMs).toBeGreaterThanOrEqual(r.sentMs);
    });
    // Bounds a loaded two-core machine keeps (other suites run beside this one); a generator that
    // waited for answers or drifted off its schedule would miss them by far.
    expect(percentile(res.results.map(latency), 50)).toBeLessThan(100);
    expect(percentile(res.results.map(sendLag), 50)).toBeLessThan(25);
    const lastSentS = (res.results[299].sentMs - res.startMs) / 1000;
    expect(lastSentS).toBeGreaterThanOrEqual(1.495);
    expect(lastSentS).toBeLessThan(2.5);
    expect((doneMs - res.startMs) / 1000).toBeLessThan(4);
    expect(res.lateSends).toBe(res.results.filter((r) => sendLag(r) > LATE_SEND_MS).length);
    expect(res.lateSends).toBeLessThanOrEqual(150);
    expect(res.cpuS).toBeGreaterThan(0);
    expect(res.cpuS).toBeLessThan(2.5);
  });

  it('shows a 1 s stall in p99 while the orders due during it still go out on schedule', async () => {
    const held: { res: http.ServerResponse; body: string }[] = [];
    let holdFrom = Infinity;
    let holdUntil = Infinity;
    let heldMax = 0;
    const server = await serve((res, body) => {
      const now = Date.now();
      if (now >= holdFrom && now < holdUntil) {
        held.push({ res, body });
        heldMax = Math.max(heldMax, held.length);
      } else {
        accept(res, body);
      }
    });
    servers.push(server);
    const release = () => {
      holdUntil = -Infinity;
      for (const h of held.splice(0)) accept(h.res, h.body);
    };
    let timer: NodeJS.Timeout | undefined;
    const res = await gen.run({ ingressUrl: server.url, orders: orders(400), ratePerS: 200 }, {
      onStart: (startMs) => {
        holdFrom = startMs + 500;
        holdUntil = startMs + 1500;
        timer = setTimeout(release, holdUntil - Date.now());
      },
    });
    clearTimeout(timer);

    expect(res.results.every((r) => r.outcome === 202)).toBe(true);
    // The orders kept coming during the stall: a closed-loop client would have had at most its
    // connection count waiting here.
    expect(heldMax).toBeGreaterThanOrEqual(150);
    expect(percentile(res.results.map(latency), 99)).toBeGreaterThanOrEqual(800);
    const duringStall = res.results.filter((r) => r.intendedMs >= res.startMs + 550 && r.intendedMs < res.startMs + 1450);
    expect(duringStall.length).toBe(180);
    const onTime = duringStall.filter((r) => sendLag(r) < 100);
    expect(onTime.length).toBeGreaterThanOrEqual(0.8 * duringStall.length);
    // ... and they waited for the release, each latency counted from its own intended time.
    const waited = duringStall.filter((r) => r.endedMs >= res.startMs + 1450);
    expect(waited.length).toBeGreaterThanOrEqual(0.8 * duringStall.length);
  });

  it('turns orders away as overload beyond inFlightMax and reports unanswered ones as timeouts', async () => {
    const hanging = new Set<http.ServerResponse>();
    const server = await serve((res) => { hanging.add(res); res.on('close', () => hanging.delete(res)); });
    servers.push(server);
    const res = await gen.run({ ingressUrl: server.url, orders: orders(120), ratePerS: 100, inFlightMax: 5, timeoutMs: 600 });

    const outcomes = res.results.map((r) => r.outcome);
    const timeouts = res.results.filter((r) => r.outcome === 'timeout');
    const overloads = res.results.filter((r) => r.outcome === 'overload');
    expect(timeouts.length + overloads.length).toBe(120);
    // The first five fill the bound; those due before the first timeout frees a slot (at 600 ms) are
    // turned away; later ones take the freed slots and time out in turn.
    expect(outcomes.slice(0, 5)).toEqual(Array(5).fill('timeout'));
    expect(outcomes.slice(5, 40)).toEqual(Array(35).fill('overload'));
    expect(timeouts.length).toBeGreaterThan(5);
    for (const r of timeouts) {
      expect(r.endedMs - r.sentMs).toBeGreaterThanOrEqual(599);
      expect(r.endedMs - r.sentMs).toBeLessThan(1600);
    }
    for (const r of overloads) expect(r.endedMs).toBe(r.sentMs);
    // Only the orders sent reached the server, and never more than five were in flight at once.
    await waitFor(() => server.received.length === timeouts.length, 2000, 'every sent order to reach the server');
    const edges = timeouts.flatMap((r) => [{ t: r.sentMs, d: 1 }, { t: r.endedMs, d: -1 }]).sort((a, b) => a.t - b.t || a.d - b.d);
    let inFlight = 0;
    let inFlightPeak = 0;
    for (const e of edges) { inFlight += e.d; inFlightPeak = Math.max(inFlightPeak, inFlight); }
    expect(inFlightPeak).toBe(5);
  });

  it('refuses runs of more than 200 000 orders and a second run while one is under way', async () => {
    const server = await serve(accept);
    servers.push(server);
    const one = orders(1)[0];
    await expect(gen.run({ ingressUrl: server.url, orders: Array(OPEN_LOOP_ORDERS_MAX + 1).fill(one), ratePerS: 1000 }))
      .rejects.toThrow(/200001 orders refused: at most 200000/);
    const first = gen.run({ ingressUrl: server.url, orders: orders(20), ratePerS: 100 });
    await expect(gen.run({ ingressUrl: server.url, orders: orders(1), ratePerS: 100 })).rejects.toThrow(/one run at a time/);
    expect((await first).results.every((r) => r.outcome === 202)).toBe(true);
  });

  it('runs as its own process, which close() ends', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'untangle-open-loop-'));
    try {
      const logFile = path.join(dir, 'generator.log');
      const own = await OpenLoopGenerator.start({ logFile });
      expect(own.pid).not.toBe(process.pid);
      expect(() => process.kill(own.pid, 0)).not.toThrow();
      const closedIn = Date.now();
      await own.close();
      // It left on the closed channel, well before close() would have resorted to SIGKILL.
      expect(Date.now() - closedIn).toBeLessThan(4000);
      expect(() => process.kill(own.pid, 0)).toThrow();
      expect(readFileSync(logFile, 'utf8')).toContain(`open-loop generator pid ${own.pid}`);
      await own.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects the run with the child\'s exit when the child dies mid-run', async () => {
    const own = await OpenLoopGenerator.start();
    const server = await serve(accept);
    servers.push(server);
    const run = own.run({ ingressUrl: server.url, orders: orders(400), ratePerS: 200 }, {
      onStart: () => setTimeout(() => process.kill(own.pid, 'SIGKILL'), 300),
    });
    await expect(run).rejects.toThrow(new RegExp(`pid ${own.pid}\\) exited \\(code null, signal SIGKILL\\) during a run`));
    await expect(own.run({ ingressUrl: server.url, orders: orders(1), ratePerS: 1 })).rejects.toThrow(/has exited/);
    await own.close();
  });

  it('does not outlive a parent killed with SIGKILL', async () => {
    const parent = spawn(process.execPath, ['--import', 'tsx', PARENT], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    parent.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    parent.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    try {
      await waitFor(() => /generator pid=\d+/.test(out), 30_000, `the fixture's generator pid (stderr: ${err})`);
      const pid = Number(/generator pid=(\d+)/.exec(out)![1]);
      expect(alive(pid)).toBe(true);
      parent.kill('SIGKILL');
      await waitFor(() => !alive(pid), 10_000, 'the orphaned generator to exit');
    } finally {
      if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
    }
  });
});
