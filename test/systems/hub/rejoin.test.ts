// Acceptance: a hub process killed with -9 and restarted at once is consuming again soon, not after
// the dead incarnation's consumer-group session (10 s) ran out. Real processes: our broker
// (bin/untangle.js broker), the `system` command for the two instances of a two-system landscape's
// receiver, and the `lake-sink` command; orders are published all along. Cases: the only member of
// a group comes back (the group would otherwise wait for its dead self), one of two members comes
// back while the other keeps consuming, and the lake sink comes back. Each prints kill -> ready,
// ready -> consuming and kill -> consuming.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLevel } from 'kafkajs';
import { createKafka, HubPublisher, systemHubWiring } from '../../../systems/hub/index.ts';
import { topicPrefixOf } from '../../../systems/runtime/options.ts';
import { hubLayout, loadTopology } from '../../../systems/topology/index.ts';
import { REPO_ROOT, startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.ts';

const TOPOLOGY_FILE = path.join(REPO_ROOT, 'test/systems/hub/fixtures/rejoin.yaml');
const TOPOLOGY = loadTopology(TOPOLOGY_FILE);
const RUN_ID = 'rejoin';
const BIN = path.join(REPO_ROOT, 'bin/untangle.js');
const READY_RE = /^untangle system ready id=(\S+) layout=hub url=(\S+) pid=(\d+)$/m;
/** The acceptance bound: consuming again within 3 s of the ready line. */
const READY_TO_CONSUMING_MS = 3_000;
/**
 * Kill to consuming, generously: a process start on a busy 2-core machine takes 1-3 s, and a
 * restart that waited out the dead member's 10 s session could not be consuming before ~9 s.
 */
const KILL_TO_CONSUMING_MS = 7_500;

/** One process of the landscape: a system instance or the lake sink. */
interface HubProcess {
  name: string;
  child: ChildProcess;
  url: string;
  readyAtMs: number;
  stderr(): string;
  exited: Promise<void>;
  /** Records it has dealt with since it started: 0 until it consumes. */
  progress(): Promise<number>;
}

/** How to start one process, and how to read its progress from its /state. */
interface ProcessKind {
  label: string;
  args(): string[];
  progress(state: unknown): number;
}

const stockInstance = (instance: number): ProcessKind => ({
  label: `stock.${instance}`,
  args: () => ['system', '--topology', TOPOLOGY_FILE, '--id', 'stock', '--instance', String(instance), '--layout', 'hub',
    '--work-dir', workDir, '--kafka-brokers', broker.address, '--run-id', RUN_ID],
  progress: (state) => (state as { wiring: { subscriber: { consumed: number } | null } | null }).wiring?.subscriber?.consumed ?? 0,
});

const lakeSink: ProcessKind = {
  label: 'lake-sink',
  args: () => ['lake-sink', '--topology', TOPOLOGY_FILE, '--work-dir', workDir, '--kafka-brokers', broker.address, '--run-id', RUN_ID],
  // Written, or skipped as already in the lake: either way consumed (it writes every flush, 1 s).
  progress: (state) => {
    const sink = (state as { sink: { written: number; skippedAlreadyInLake: number } }).sink;
    return sink.written + sink.skippedAlreadyInLake;
  },
};

let broker: BrokerProcess;
let workDir: string;
const live = new Set<HubProcess>();
let publishing = true;
let publishLoop: Promise<void> = Promise.resolve();
let publisher: HubPublisher;

async function startProcess(kind: ProcessKind): Promise<HubProcess> {
  const env = { ...process.env, UNTANGLE_KAFKA_LOG_LEVEL: process.env.UNTANGLE_KAFKA_LOG_LEVEL ?? 'info' };
  const child = spawn(process.execPath, [BIN, ...kind.args()], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => { err = (err + s).slice(-65536); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ready = await new Promise<{ url: string; name: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind.label} not ready within 30 s\n${err.slice(-3000)}`)), 30_000);
    child.once('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`${kind.label} exited before ready (${code ?? sig})\n${err.slice(-3000)}`)); });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (s: string) => {
      out += s;
      const m = READY_RE.exec(out);
      if (m) { clearTimeout(timer); resolve({ name: m[1], url: m[2] }); }
    });
  });
  const p: HubProcess = {
    name: ready.name, child, url: ready.url, readyAtMs: Date.now(), stderr: () => err, exited,
    progress: async () => kind.progress(await (await fetch(`${ready.url}/state`)).json()),
  };
  live.add(p);
  void exited.then(() => live.delete(p));
  return p;
}

async function untilConsuming(p: HubProcess, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await p.progress()) > 0) return Date.now();
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${p.name} consumed nothing within ${timeoutMs} ms\n${p.stderr().slice(-4000)}`);
}

/** kill -9, restart at once, and measure; prints the figures with a clear label. */
async function killAndRestart(p: HubProcess, kind: ProcessKind, label: string): Promise<{ killToReadyMs: number; readyToConsumingMs: number; killToConsumingMs: number }> {
  const killedAtMs = Date.now();
  p.child.kill('SIGKILL');
  await p.exited;
  const again = await startProcess(kind);
  const consumingAtMs = await untilConsuming(again, 30_000);
  const figures = { killToReadyMs: again.readyAtMs - killedAtMs, readyToConsumingMs: consumingAtMs - again.readyAtMs, killToConsumingMs: consumingAtMs - killedAtMs };
  const left = /removed the previous incarnation's member \S+ \((\d+) ms\)/.exec(again.stderr());
  const joined = /Consumer has joined the group.*?"duration":(\d+)/.exec(again.stderr());
  const detail = [left ? `removing the dead member ${left[1]} ms` : 'the dead member was not removed', joined ? `join + sync ${joined[1]} ms` : ''].filter(Boolean).join(', ');
  console.log(`hub rejoin after kill -9 (${label}): kill -> ready ${figures.killToReadyMs} ms, ready -> consuming ${figures.readyToConsumingMs} ms, `
    + `kill -> consuming ${figures.killToConsumingMs} ms (${detail})`);
  return figures;
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'untangle-rejoin-'));
  // As the runners start it (scenarios/runners/context.ts): no initial rebalance delay.
  broker = await startBrokerProcess({ groupInitialRebalanceDelayMs: 0, defaultPartitions: 3 });
  const layout = hubLayout(TOPOLOGY, { topicPrefix: topicPrefixOf(TOPOLOGY.name, RUN_ID) });
  const kafka = createKafka({ brokers: [broker.address], clientId: 'rejoin-test', logLevel: logLevel.NOTHING, logger: () => undefined });
  publisher = new HubPublisher({ kafka, systemId: 'web', topics: systemHubWiring(layout, 'web').produces, logger: () => undefined });
  await publisher.connect();
  let n = 0;
  publishLoop = (async () => {
    while (publishing) {
      n++;
      await publisher.publish('order', { orderId: `o-${String(n).padStart(6, '0')}`, totalCents: 100 + (n % 900) });
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
});

afterAll(async () => {
  publishing = false;
  await publishLoop.catch(() => undefined);
  await publisher?.close().catch(() => undefined);
  for (const p of [...live]) { p.child.kill('SIGKILL'); await p.exited; }
  await broker?.cleanup();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('a hub process killed with -9 and restarted', () => {
  async function expectBackSoon(kind: ProcessKind, label: string): Promise<void> {
    const p = await startProcess(kind);
    await untilConsuming(p, 30_000);
    const f = await killAndRestart(p, kind, label);
    expect(f.readyToConsumingMs, 'consuming again within 3 s of ready').toBeLessThan(READY_TO_CONSUMING_MS);
    expect(f.killToConsumingMs, 'not waiting out the dead member\'s 10 s session').toBeLessThan(KILL_TO_CONSUMING_MS);
  }

  it('consumes again at once when it was the only member of its group', async () => {
    await expectBackSoon(stockInstance(1), 'stock.1, the only member of its group');
  });

  // stock.1, restarted above, keeps consuming in the same group meanwhile.
  it('consumes again at once when one of two members comes back', async () => {
    await expectBackSoon(stockInstance(2), 'stock.2, one of two members');
  });

  it('the lake sink consumes again at once too', async () => {
    await expectBackSoon(lakeSink, 'the lake sink');
  });
});
