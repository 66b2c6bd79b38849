// Broker benchmark: our broker (kafkajs and kcat clients) vs RabbitMQ (amqplib), plus the machine's loopback
// TCP ceiling, in one run; then the cost of replication (acks=all on one broker, and RF1 vs RF3 on a 3-node
// cluster). `npm run bench:broker [-- --quick] [-- --no-rabbit] [-- --only single|cluster]`.
// Writes results/bench/broker-latest.json (broker-<part>-latest.json with --only).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, makeTempDir, startBrokerProcess, type BrokerProcess } from '../test/helpers/broker-process.ts';
import { WireConnection } from '../test/helpers/kafka-wire.ts';
import { createTopic, listOffset } from '../test/helpers/kafka-api.ts';
import { loopbackCeiling, type CeilingResult } from './lib/ceiling.ts';
import { machineInfo, type MachineInfo } from './lib/machine.ts';
import { kafkajsLatency, kafkajsThroughput } from './lib/kafkajs-runner.ts';
import { kcatConsume, kcatLatency, kcatProduce, writeMessageFile } from './lib/kcat-runner.ts';
import { rabbitLatency, rabbitThroughput } from './lib/rabbit-runner.ts';
import { printReplication, runReplication, type ReplicationResult } from './lib/replication.ts';
import { fmt, table } from './lib/stats.ts';
import { MB, type BenchSettings, type LatencyResult, type RunResult, type ThroughputResult } from './lib/types.ts';

const argv = new Set(process.argv.slice(2));
const quick = argv.has('--quick');
// --only single: the original comparison (ceiling, our broker, RabbitMQ); --only cluster: the replication part.
const PARTS = ['single', 'cluster'] as const;
const onlyArg = process.argv.slice(2).map((a, i, all) => (a === '--only' ? all[i + 1] : a.startsWith('--only=') ? a.slice(7) : undefined)).find((v) => v !== undefined);
const parts = new Set(onlyArg === undefined ? PARTS : onlyArg.split(','));
for (const p of parts) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`--only takes ${PARTS.join(', ')} (comma-separated), got "${p}"`);
const settings: BenchSettings = quick
  ? { quick, minSeconds: 1.5, e2eRate: 500, e2eSeconds: 2 }
  : { quick, minSeconds: 10, e2eRate: 1000, e2eSeconds: 8 };
const SIZES = [100, 1024];
const PARTITIONS = 4;
const RABBIT_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
// kcat reads a pre-written file, so its count is fixed up front (re-run bigger if it finished under minSeconds).
const kcatMessages = (size: number) => (quick ? (size <= 128 ? 400_000 : 100_000) : (size <= 128 ? 10_000_000 : 2_500_000));

const log = (msg: string) => console.error(`[bench] ${msg}`);
const runs: RunResult[] = [];

function record(system: RunResult['system'], client: RunResult['client'], size: number, t: ThroughputResult, e2e: LatencyResult | null): void {
  const r: RunResult = {
    system, client, messageBytes: size, messages: t.messages,
    produceMsgsPerSec: t.messages / t.produceSeconds,
    consumeMsgsPerSec: t.messages / t.consumeSeconds,
    produceMBPerSec: (t.messages * size) / MB / t.produceSeconds,
    e2eP50Ms: e2e?.p50 ?? null, e2eP99Ms: e2e?.p99 ?? null,
    produceSeconds: t.produceSeconds, consumeSeconds: t.consumeSeconds, notes: t.notes,
  };
  if (t.produceSeconds < settings.minSeconds * 0.9) r.notes.push(`produce phase shorter than ${settings.minSeconds} s`);
  runs.push(r);
  log(`${system}/${client} ${size} B: ${fmt(r.produceMsgsPerSec)} msg/s in, ${fmt(r.consumeMsgsPerSec)} msg/s out, ` +
    `${fmt(r.produceMBPerSec, 1)} MB/s, e2e p50 ${fmt(r.e2eP50Ms, 2)} ms p99 ${fmt(r.e2eP99Ms, 2)} ms`);
}

async function newTopic(broker: BrokerProcess, name: string): Promise<string> {
  const c = await WireConnection.connect(broker.host, broker.port);
  try {
    const code = await createTopic(c, name, PARTITIONS);
    if (code !== 0) throw new Error(`CreateTopics ${name} failed with error ${code}`);
  } finally { c.close(); }
  return name;
}

async function totalEndOffset(broker: BrokerProcess, topic: string): Promise<number> {
  const c = await WireConnection.connect(broker.host, broker.port);
  try {
    let sum = 0;
    for (let p = 0; p < PARTITIONS; p++) sum += Number((await listOffset(c, topic, p, -1n)).offset);
    return sum;
  } finally { c.close(); }
}

async function kcatRun(broker: BrokerProcess, tmp: string, size: number): Promise<void> {
  let n = kcatMessages(size);
  for (let attempt = 0; ; attempt++) {
    const file = path.join(tmp, `kcat-${size}.txt`);
    await writeMessageFile(file, n, size);
    const topic = await newTopic(broker, `bench-kcat-${size}-${attempt}`);
    const produceSeconds = await kcatProduce(broker.address, topic, file);
    const stored = await totalEndOffset(broker, topic);
    if (stored !== n) throw new Error(`kcat produced ${n} but the broker holds ${stored}`);
    if (produceSeconds < settings.minSeconds * 0.9 && attempt === 0 && !quick) {
      n = Math.ceil((n * settings.minSeconds * 1.2) / produceSeconds);
      log(`kcat ${size} B finished in ${produceSeconds.toFixed(1)} s; re-running with ${n} messages`);
      continue;
    }
    const consumeSeconds = await kcatConsume(broker.address, topic, n, size);
    rmSync(file, { force: true });
    const e2e = await kcatLatency(broker.address, await newTopic(broker, `bench-kcat-e2e-${size}`), size, settings);
    record('untangle', 'kcat', size, { messages: n, produceSeconds, consumeSeconds, notes: ['-P -l file (acks=-1, linger 10 ms), -C -e -o beginning'] }, e2e);
    return;
  }
}

const errors: string[] = [];

/** The original comparison: loopback ceiling, our broker with kcat and kafkajs, RabbitMQ; prints its table. */
async function singleNode(machine: MachineInfo): Promise<{ ceiling: CeilingResult & { runsMBPerSec: number[] }; ratios: Record<string, number | boolean | null> }> {
  log('loopback TCP ceiling (1 MiB writes)...');
  // Measured at the start and again at the end (shared vCPUs drift); the better one is the ceiling.
  const ceilingRuns: CeilingResult[] = [await loopbackCeiling(quick ? 1 : 3)];
  log(`ceiling: ${fmt(ceilingRuns[0].MBPerSec)} MB/s`);

  const tmp = makeTempDir('untangle-bench-');
  const broker = await startBrokerProcess({
    dataDir: path.join(tmp, 'data'), metrics: false, groupInitialRebalanceDelayMs: 0, defaultPartitions: PARTITIONS,
  });
  log(`broker pid ${broker.pid} at ${broker.address}`);
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try { await fn(); } catch (e) {
      const msg = `${what}: ${(e as Error).message.split('\n').slice(0, 6).join(' | ')}`;
      errors.push(msg);
      log(`FAILED ${msg}`);
    }
  };
  try {
    for (const size of SIZES) {
      await attempt(`kcat ${size} B`, () => kcatRun(broker, tmp, size));
      await attempt(`kafkajs ${size} B`, async () => {
        const t = await kafkajsThroughput(broker.address, await newTopic(broker, `bench-kjs-${size}`), size, settings);
        const e2e = await kafkajsLatency(broker.address, await newTopic(broker, `bench-kjs-e2e-${size}`), size, settings);
        record('untangle', 'kafkajs', size, t, e2e);
      });
    }
  } finally {
    const code = await broker.stop().catch(() => null);
    if (code !== 0) errors.push(`broker exit code ${code} on SIGTERM; stderr tail: ${broker.stderr().slice(-500)}`);
    rmSync(tmp, { recursive: true, force: true });
  }
  if (!argv.has('--no-rabbit')) {
    for (const size of SIZES) {
      await attempt(`rabbitmq ${size} B`, async () => {
        const t = await rabbitThroughput(RABBIT_URL, size, settings);
        record('rabbitmq', 'amqplib', size, t, await rabbitLatency(RABBIT_URL, size, settings));
      });
    }
  }

  ceilingRuns.push(await loopbackCeiling(quick ? 1 : 3));
  log(`ceiling again: ${fmt(ceilingRuns[1].MBPerSec)} MB/s`);
  const best = ceilingRuns.reduce((a, b) => (b.MBPerSec > a.MBPerSec ? b : a));
  const ceiling = { ...best, runsMBPerSec: ceilingRuns.map((c) => c.MBPerSec) };

  const find = (client: RunResult['client'], size: number) => runs.find((r) => r.client === client && r.messageBytes === size);
  const ratios: Record<string, number | boolean | null> = {};
  for (const size of SIZES) {
    const k = find('kafkajs', size); const r = find('amqplib', size);
    ratios[`kafkajsVsRabbit_${size}B_produce`] = k && r ? k.produceMsgsPerSec / r.produceMsgsPerSec : null;
    ratios[`kafkajsVsRabbit_${size}B_consume`] = k && r ? k.consumeMsgsPerSec / r.consumeMsgsPerSec : null;
  }
  const kcat100 = find('kcat', 100);
  const kcat1k = find('kcat', 1024);
  ratios.kcat1KiBProduceVsLoopbackCeiling = kcat1k ? kcat1k.produceMBPerSec / ceiling.MBPerSec : null;
  ratios.target_kcat100BProduceAtLeast500k = kcat100 ? kcat100.produceMsgsPerSec >= 500_000 : false;
  ratios.target_kafkajsAtLeast3xRabbit = SIZES.every((s) => {
    const p = ratios[`kafkajsVsRabbit_${s}B_produce`]; const c = ratios[`kafkajsVsRabbit_${s}B_consume`];
    return typeof p === 'number' && typeof c === 'number' && p >= 3 && c >= 3;
  });

  const rows = runs.map((r) => [r.system, r.client, String(r.messageBytes), fmt(r.messages), fmt(r.produceMsgsPerSec), fmt(r.consumeMsgsPerSec),
    fmt(r.produceMBPerSec, 1), fmt(r.e2eP50Ms, 2), fmt(r.e2eP99Ms, 2)]);
  console.log(`\nBroker benchmark${quick ? ' (--quick: smoke run, numbers not meaningful)' : ''} on ${machine.cpuModel} x${machine.cores}\n`);
  console.log(table(['system', 'client', 'bytes', 'messages', 'produce msg/s', 'consume msg/s', 'produce MB/s', 'e2e p50 ms', 'e2e p99 ms'], rows));
  console.log(`\nloopback TCP ceiling (1 MiB writes): ${fmt(ceiling.MBPerSec)} MB/s (runs: ${ceiling.runsMBPerSec.map((m) => fmt(m)).join(', ')})`);
  for (const [k, v] of Object.entries(ratios)) console.log(`${k}: ${typeof v === 'number' ? v.toFixed(3) : String(v)}`);
  for (const e of errors) console.log(`ERROR ${e}`);
  return { ceiling, ratios };
}

async function main(): Promise<void> {
  const machine = machineInfo();
  log(`machine: ${machine.cpuModel} x${machine.cores}, ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${machine.os}, node ${machine.node}`);
  const single = parts.has('single') ? await singleNode(machine) : null;
  let replication: ReplicationResult | null = null;
  if (parts.has('cluster')) {
    const tmp = makeTempDir('untangle-bench-repl-');
    try {
      replication = await runReplication({ tmp, sizes: SIZES, quick, log });
    } finally { rmSync(tmp, { recursive: true, force: true }); }
    errors.push(...replication.errors);
    if (!single) console.log(`\nBroker benchmark${quick ? ' (--quick: smoke run, numbers not meaningful)' : ''} on ${machine.cpuModel} x${machine.cores}`);
    printReplication(replication);
  }

  const outDir = path.join(REPO_ROOT, 'results/bench');
  mkdirSync(outDir, { recursive: true });
  const name = `broker${parts.size < PARTS.length ? `-${[...parts].join('-')}` : ''}-${quick ? 'quick' : 'latest'}.json`;
  const out = path.join(outDir, name);
  writeFileSync(out, JSON.stringify({ machine, settings, parts: [...parts], runs, ...single, replication, errors }, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(REPO_ROOT, out)}`);
  if (errors.length) process.exitCode = 1;
}

await main();
