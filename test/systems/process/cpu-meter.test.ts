// The CPU meter (systems/process/cpu-meter.ts): nested sections are exclusive, a section that
// throws still counts, the parts never add up to more than the process used; and in real system
// processes, in both layouts, GET /cpu shows at least the declared cost of the orders sent as
// declaredWork, every other part at work where it should be, and never more than the total.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CPU_PARTS, cpuSnapshot, measureCpu, type CpuPart, type CpuSnapshot } from '../../../systems/process/cpu-meter.ts';
import { PATHS } from '../../../systems/runtime/options.ts';
import { loadTopology } from '../../../systems/topology/index.ts';
import { ingressEvents } from '../../../scenarios/load/ingress-feed.ts';
import { REPO_ROOT } from '../../helpers/broker-process.ts';
import { startTestBroker, type TestBroker } from '../hub/helpers.ts';

/** Busy until the process has used `us` more CPU: a section of a known CPU cost, however loaded the machine. */
function spinCpu(us: number): void {
  const start = process.cpuUsage();
  let x = 0;
  for (;;) {
    for (let i = 0; i < 1_000; i++) x = (x * 31 + i) | 0;
    const d = process.cpuUsage(start);
    if (d.user + d.system >= us) break;
  }
  if (x === 0.5) throw new Error('unreachable');
}

function delta(before: CpuSnapshot, after: CpuSnapshot): { totalUs: number; partsUs: Record<CpuPart, number> } {
  const partsUs = Object.fromEntries(CPU_PARTS.map((p) => [p, after.partsUs[p] - before.partsUs[p]])) as Record<CpuPart, number>;
  return { totalUs: after.totalUs - before.totalUs, partsUs };
}

const sum = (parts: Record<CpuPart, number>): number => CPU_PARTS.reduce((n, p) => n + parts[p], 0);

describe('measureCpu', () => {
  it('counts a nested section in its own part only, and the outer one without it', () => {
    const before = cpuSnapshot();
    const out = measureCpu('rules', () => {
      spinCpu(20_000);
      const inner = measureCpu('declaredWork', () => {
        spinCpu(60_000);
        return 7;
      });
      spinCpu(10_000);
      return inner + 1;
    });
    const d = delta(before, cpuSnapshot());
    expect(out).toBe(8);
    expect(d.partsUs.declaredWork).toBeGreaterThanOrEqual(60_000);
    expect(d.partsUs.declaredWork).toBeLessThan(60_000 + 15_000);
    // Its own 30 ms, not the inner 60 ms on top.
    expect(d.partsUs.rules).toBeGreaterThanOrEqual(30_000);
    expect(d.partsUs.rules).toBeLessThan(30_000 + 15_000);
    expect(d.partsUs.serialization).toBe(0);
    expect(d.partsUs.lakeExport).toBe(0);
    expect(d.totalUs).toBeGreaterThanOrEqual(sum(d.partsUs));
  });

  it('counts a section that throws, and its parent goes on measuring correctly', () => {
    const before = cpuSnapshot();
    measureCpu('lakeExport', () => {
      spinCpu(10_000);
      expect(() => measureCpu('serialization', () => {
        spinCpu(25_000);
        throw new Error('bad record');
      })).toThrow('bad record');
      spinCpu(10_000);
    });
    const d = delta(before, cpuSnapshot());
    expect(d.partsUs.serialization).toBeGreaterThanOrEqual(25_000);
    expect(d.partsUs.lakeExport).toBeGreaterThanOrEqual(20_000);
    expect(d.partsUs.lakeExport).toBeLessThan(20_000 + 15_000);
    // Nothing is left open: a later top-level section is nobody's child.
    const again = cpuSnapshot();
    measureCpu('rules', () => spinCpu(5_000));
    expect(delta(again, cpuSnapshot()).partsUs.rules).toBeGreaterThanOrEqual(5_000);
  });

  it('never counts more in the parts than the process used, over many small nested sections', () => {
    const before = cpuSnapshot();
    for (let i = 0; i < 2_000; i++) {
      measureCpu(CPU_PARTS[i % 4], () => {
        JSON.stringify({ i, a: [1, 2, 3] });
        measureCpu(CPU_PARTS[(i + 1) % 4], () => measureCpu(CPU_PARTS[(i + 2) % 4], () => JSON.parse('{"x":[1,2,3]}') as unknown));
      });
    }
    const d = delta(before, cpuSnapshot());
    expect(sum(d.partsUs)).toBeGreaterThan(0);
    expect(d.totalUs).toBeGreaterThanOrEqual(sum(d.partsUs));
  });

  it('refuses an asynchronous section', async () => {
    let settled: Promise<number> | undefined;
    expect(() => measureCpu('rules', () => (settled = Promise.resolve(1)))).toThrow(TypeError);
    expect(await settled).toBe(1);
  });
});

// The processes of a landscape as a runner starts them (the `system` and `lake-sink` commands): web
// (2 ms per order) hands orders to stock (3 ms per order), which makes a reservation of each. In
// the legacy layout web calls stock over REST with XML and stock exports its reservations to the
// lake every 200 ms; in the hub layout both go through the broker and the lake sink writes the lake.
const TOPOLOGY_FILE = path.join(REPO_ROOT, 'test/systems/process/fixtures/cpu-landscape.yaml');
const BIN = path.join(REPO_ROOT, 'bin/untangle.js');
const READY_RE = /^untangle system ready id=(\S+) layout=(\S+) url=(\S+) pid=(\d+)$/m;
const ORDERS = 100;
const WEB_COST_US = 2_000;
const STOCK_COST_US = 3_000;
/**
 * The declared cost is a busy loop until the process's CPU time has grown by it (burnCpu), so a
 * descheduled process still spends it all; the measured part may fall a little short of it only
 * where the meter's start sample lands after the loop's own first reading.
 */
const DECLARED_SHARE_MIN = 0.95;

type Delta = ReturnType<typeof delta>;

const children: ChildProcess[] = [];
const workDirs: string[] = [];
let broker: TestBroker | undefined;
afterAll(async () => {
  await Promise.all(children.map((c) => new Promise<void>((r) => {
    if (c.exitCode !== null || c.signalCode !== null) return r();
    c.once('exit', () => r());
    c.kill('SIGTERM');
  })));
  await broker?.close();
  for (const d of workDirs) rmSync(d, { recursive: true, force: true });
});

function newWorkDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'untangle-cpu-'));
  workDirs.push(d);
  return d;
}

/** Starts one process of the landscape; resolves with its URL once it printed its ready line. */
async function startProcess(label: string, args: string[]): Promise<string> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err = (err + s).slice(-8_000); });
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} not ready within 30 s\n${err}`)), 30_000);
    child.once('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`${label} exited before ready (${code ?? sig})\n${err}`)); });
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = READY_RE.exec(out);
      if (m) { clearTimeout(timer); resolve(m[3]); }
    });
  });
}

const getJson = async <T>(url: string): Promise<T> => (await (await fetch(url)).json()) as T;

async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Posts ORDERS orders to web's ingress, ten to a request. */
async function sendOrders(webUrl: string): Promise<void> {
  const events = ingressEvents(loadTopology(TOPOLOGY_FILE), 7, ORDERS);
  for (let i = 0; i < events.length; i += 10) {
    const res = await fetch(webUrl + PATHS.ingress('order'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events.slice(i, i + 10).map((e) => e.record)) });
    expect(res.status, await res.text()).toBe(201);
  }
}

/** /cpu of each URL before and after `work`, as deltas; the per-order figures are printed. */
async function cpuOver(label: string, urls: Record<string, string>, work: () => Promise<void>): Promise<Record<string, Delta>> {
  const before = Object.fromEntries(await Promise.all(Object.entries(urls).map(async ([k, u]) => [k, await getJson<CpuSnapshot>(u + PATHS.cpu)] as const)));
  await work();
  const out: Record<string, Delta> = {};
  for (const [k, u] of Object.entries(urls)) {
    const after = await getJson<CpuSnapshot>(u + PATHS.cpu);
    expect(after.pid).toBe(before[k].pid);
    expect(after.pid).not.toBe(process.pid);
    out[k] = delta(before[k], after);
    console.log(`${label} ${k}, CPU per order (µs): ${JSON.stringify(perOrder(out[k]))}`);
  }
  return out;
}

/** The declared cost shows as declaredWork, and nothing else does; validation and codecs were at work. */
function expectSystem(d: Delta, costUs: number): void {
  expect(d.partsUs.declaredWork).toBeGreaterThanOrEqual(DECLARED_SHARE_MIN * ORDERS * costUs);
  // A busy loop uses no more CPU than its wall time: more would be other work counted as declared.
  expect(d.partsUs.declaredWork).toBeLessThan(1.5 * ORDERS * costUs);
  expect(d.partsUs.rules).toBeGreaterThan(0);
  expect(d.partsUs.serialization).toBeGreaterThan(0);
  expect(d.totalUs).toBeGreaterThanOrEqual(sum(d.partsUs));
}

describe('GET /cpu of real system processes', () => {
  it("legacy: the declared cost of every order is declaredWork; stock's lake export is lakeExport", async () => {
    const workDir = newWorkDir();
    const system = (id: string, peers: string[] = []): Promise<string> => startProcess(id, ['system', '--topology', TOPOLOGY_FILE, '--id', id, '--layout', 'legacy', '--work-dir', workDir, ...(peers.length > 0 ? ['--peers', peers.join(',')] : [])]);
    const stockUrl = await system('stock');
    const webUrl = await system('web', [`stock=${stockUrl}`]);
    const d = await cpuOver('legacy', { web: webUrl, stock: stockUrl }, async () => {
      await sendOrders(webUrl);
      await until(`stock exports ${ORDERS} reservations to the lake`, async () =>
        (await getJson<{ wiring: { lakeExport: { exported: number } } }>(stockUrl + PATHS.state)).wiring.lakeExport.exported >= ORDERS);
    });
    expectSystem(d.web, WEB_COST_US);
    expectSystem(d.stock, STOCK_COST_US);
    expect(d.web.partsUs.lakeExport).toBe(0);
    expect(d.stock.partsUs.lakeExport).toBeGreaterThan(0);
  });

  it("hub: the same split in the systems, and the lake sink's parsing, validation and writing", async () => {
    broker = await startTestBroker();
    const workDir = newWorkDir();
    const hub = ['--topology', TOPOLOGY_FILE, '--work-dir', workDir, '--kafka-brokers', broker.broker.address, '--run-id', 'cpu'];
    const [webUrl, stockUrl, sinkUrl] = await Promise.all([
      startProcess('web', ['system', '--id', 'web', '--layout', 'hub', ...hub]),
      startProcess('stock', ['system', '--id', 'stock', '--layout', 'hub', '--from-beginning', ...hub]),
      startProcess('lake-sink', ['lake-sink', ...hub]),
    ]);
    const d = await cpuOver('hub', { web: webUrl, stock: stockUrl, sink: sinkUrl }, async () => {
      await sendOrders(webUrl);
      await until(`the lake sink writes ${ORDERS} orders and ${ORDERS} reservations`, async () =>
        (await getJson<{ sink: { written: number } }>(sinkUrl + PATHS.state)).sink.written >= 2 * ORDERS);
    });
    expectSystem(d.web, WEB_COST_US);
    expectSystem(d.stock, STOCK_COST_US);
    for (const k of ['web', 'stock', 'sink']) expect(d[k].partsUs.lakeExport).toBe(0);
    expect(d.sink.partsUs.declaredWork).toBe(0);
    expect(d.sink.partsUs.rules).toBeGreaterThan(0);
    expect(d.sink.partsUs.serialization).toBeGreaterThan(0);
    expect(d.sink.totalUs).toBeGreaterThanOrEqual(sum(d.sink.partsUs));
  });
});

function perOrder(d: Delta): Record<string, number> {
  const parts = Object.fromEntries(CPU_PARTS.map((p) => [p, Math.round(d.partsUs[p] / ORDERS)]));
  return { totalUs: Math.round(d.totalUs / ORDERS), ...parts, restUs: Math.round((d.totalUs - sum(d.partsUs)) / ORDERS) };
}
