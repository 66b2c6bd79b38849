// Acceptance: python3-confluent-kafka 1.7.0 (librdkafka 2.0.2) against the real broker process.
// The scripts in ./python print one JSON object each; the assertions are here.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.ts';
import { PYTHON, peerChecks, requirePeer } from '../helpers/peers.ts';
import { runCommand } from '../helpers/run.ts';
import { WireConnection, decodeRecordBatches } from '../helpers/kafka-wire.ts';
import { createTopic, fetchOnce } from '../helpers/kafka-api.ts';

const hasPython = await requirePeer('python3-confluent-kafka', peerChecks.confluentKafka);
const SCRIPTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'python');

describe.runIf(hasPython)('python confluent-kafka 1.7.0 against the broker process', () => {
  let broker: BrokerProcess;
  beforeAll(async () => { broker = await startBrokerProcess({ groupInitialRebalanceDelayMs: 300, defaultPartitions: 1 }); });
  afterAll(async () => { await broker?.cleanup(); });

  async function py<T>(script: string, ...args: (string | number)[]): Promise<T> {
    const res = await runCommand(PYTHON, [path.join(SCRIPTS, script), broker.address, ...args.map(String)], { timeoutMs: 120_000 });
    const out = res.stdout.toString().trim().split('\n').pop() ?? '';
    if (res.code !== 0 || !out.startsWith('{')) {
      throw new Error(`${script} exited ${res.code}\nstdout: ${out.slice(-2000)}\nstderr: ${res.stderr.slice(-3000)}\n--- broker ---\n${broker.stderr().slice(-2000)}`);
    }
    return JSON.parse(out) as T;
  }

  async function makeTopic(name: string, partitions: number): Promise<void> {
    const c = await WireConnection.connect(broker.host, broker.port);
    try { expect(await createTopic(c, name, partitions)).toBe(0); } finally { c.close(); }
  }

  test('AdminClient creates, lists and deletes topics', async () => {
    const r = await py<{
      create: Record<string, string>; create_again: string; listed: Record<string, number>;
      brokers: string[]; controller_id: number; delete: Record<string, string>; after_delete: string[];
    }>('admin.py', 'pyadm');
    expect(r.create).toEqual({ 'pyadm-a': 'ok', 'pyadm-b': 'ok' });
    expect(r.create_again).toBe('TOPIC_ALREADY_EXISTS');
    expect(r.listed).toEqual({ 'pyadm-a': 3, 'pyadm-b': 1 });
    expect(r.brokers).toEqual([broker.address]);
    expect(r.controller_id).toBe(1);
    expect(r.delete).toEqual({ 'pyadm-b': 'ok' });
    expect(r.after_delete).toEqual(['pyadm-a']);
  });

  test('idempotent producer (enable.idempotence) delivers every message exactly once', async () => {
    await makeTopic('py-idem', 3);
    const r = await py<{ acked: number; unflushed: number; errors: string[]; received: number; unique: number; partitions: number }>(
      'idempotent.py', 'py-idem', 20_000);
    expect(r).toEqual({ acked: 20_000, unflushed: 0, errors: [], received: 20_000, unique: 20_000, partitions: 3 });
  });

  test('group consumer with manual synchronous commits resumes after a restart', async () => {
    const topic = 'py-group';
    const N = 3000;
    await makeTopic(topic, 3);
    expect(await py<{ unflushed: number }>('group.py', 'produce', topic, N)).toEqual({ unflushed: 0 });
    type Run = { values: number[]; commits: number; errors: string[]; committed: Record<string, number> };
    const first = await py<Run>('group.py', 'consume', topic, 'py-g', 1200);
    expect(first.errors).toEqual([]);
    expect(first.commits).toBeGreaterThan(0);
    expect(first.values.length).toBeGreaterThanOrEqual(1200);
    const second = await py<Run>('group.py', 'consume', topic, 'py-g', N);
    expect(second.errors).toEqual([]);
    const all = [...first.values, ...second.values];
    expect(new Set(first.values).size).toBe(first.values.length);
    const overlap = second.values.filter((v) => new Set(first.values).has(v));
    expect(overlap.slice(0, 10), 'the restarted consumer must not re-read committed messages').toEqual([]);
    expect(all.length).toBe(N);
    expect(new Set(all).size).toBe(N);
    // After the second run everything is committed.
    expect(Object.values(second.committed).reduce((a, b) => a + b, 0)).toBe(N);
  });

  test('gzip, snappy, lz4 and zstd round-trip random binary payloads byte-exact', async () => {
    const codecs = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
    for (const codec of Object.keys(codecs)) await makeTopic(`pyz-${codec}`, 1);
    type R = { sent: number; received: number; unflushed: number; errors: string[]; values_sha: string; received_values_sha: string; keys_sha: string; received_keys_sha: string; bytes: number };
    const r = await py<Record<string, R>>('compression.py', 'pyz', 5000);
    const c = await WireConnection.connect(broker.host, broker.port);
    try {
      for (const [codec, id] of Object.entries(codecs)) {
        const x = r[codec];
        expect({ codec, sent: x.sent, received: x.received, errors: x.errors, unflushed: x.unflushed })
          .toEqual({ codec, sent: 5000, received: 5000, errors: [], unflushed: 0 });
        expect(x.received_values_sha, `${codec} values`).toBe(x.values_sha);
        expect(x.received_keys_sha, `${codec} keys`).toBe(x.keys_sha);
        // The broker stored the client's compressed batches as they were.
        const f = await fetchOnce(c, `pyz-${codec}`, 0, 0n, { maxBytes: 64 * 1024 * 1024 });
        const batches = decodeRecordBatches(f.records);
        expect(batches.length).toBeGreaterThan(0);
        expect(batches.some((b) => (b.attributes & 7) === id), `${codec}: some stored batch uses codec ${id}`).toBe(true);
        expect(batches.every((b) => b.crcValid), `${codec}: stored CRCs valid`).toBe(true);
      }
    } finally {
      c.close();
    }
  });
});
