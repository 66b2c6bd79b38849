// Acceptance: kcat 1.7.1 (librdkafka 2.0.2) against the real broker process.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeTempDir, startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.ts';
import { peerChecks, requirePeer } from '../helpers/peers.ts';
import { runBackground, runCommand, waitFor, type Background } from '../helpers/run.ts';
import { WireConnection, decodeRecordBatches } from '../helpers/kafka-wire.ts';
import { createTopic, fetchOnce } from '../helpers/kafka-api.ts';

const hasKcat = await requirePeer('kcat', peerChecks.kcat);
const N = 100_000;
// Keep librdkafka snappy: small linger for producers, short fetch waits for consumers.
const QP = ['-X', 'queue.buffering.max.ms=5', '-X', 'socket.nagle.disable=true'];
const QC = ['-X', 'fetch.wait.max.ms=100', '-X', 'socket.nagle.disable=true'];

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe.runIf(hasKcat)('kcat 1.7.1 against the broker process', () => {
  let broker: BrokerProcess;
  let tmp: string;

  beforeAll(async () => {
    broker = await startBrokerProcess({ groupInitialRebalanceDelayMs: 500, defaultPartitions: 1 });
    tmp = makeTempDir('untangle-kcat-');
  });
  afterAll(async () => { await broker?.cleanup(); });

  async function makeTopic(name: string, partitions: number): Promise<void> {
    const c = await WireConnection.connect(broker.host, broker.port);
    try { expect(await createTopic(c, name, partitions), `CreateTopics v3 ${name}`).toBe(0); } finally { c.close(); }
  }

  /** Lines "key:value" with random base64 values of varied length (no ':' inside values). */
  function writeLines(file: string, n: number, prefix: string): string {
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      lines.push(`${prefix}${i}:${randomBytes(8 + (i * 7919) % 150).toString('base64')}`);
    }
    const text = lines.join('\n') + '\n';
    writeFileSync(file, text);
    return text;
  }

  test('kcat -L lists the broker and its topics', async () => {
    await makeTopic('kcat-listed', 3);
    const res = await runCommand('kcat', ['-L', '-J', '-b', broker.address], { timeoutMs: 30_000 });
    expect(res.code, res.stderr).toBe(0);
    const md = JSON.parse(res.stdout.toString()) as { brokers: { id: number; name: string }[]; topics: { topic: string; partitions: unknown[] }[] };
    expect(md.brokers).toEqual([{ id: 1, name: broker.address }]);
    const t = md.topics.find((x) => x.topic === 'kcat-listed');
    expect(t?.partitions.length).toBe(3);
  });

  test('100k messages: kcat -P -l from a file, kcat -C -e reads them back byte-exact', async () => {
    const topic = 'kcat-roundtrip';
    await makeTopic(topic, 1);
    const file = path.join(tmp, 'in.txt');
    const text = writeLines(file, N, 'key');
    const t0 = Date.now();
    const p = await runCommand('kcat', ['-P', '-b', broker.address, '-t', topic, '-K:', ...QP, '-l', file], { timeoutMs: 90_000 });
    expect(p.code, `kcat -P failed:\n${p.stderr}\n--- broker ---\n${broker.stderr().slice(-2000)}`).toBe(0);
    const t1 = Date.now();
    const c = await runCommand('kcat', ['-C', '-b', broker.address, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k:%s\n', ...QC],
      { timeoutMs: 30_000 });
    expect(c.code, c.stderr).toBe(0);
    console.log(`kcat: produced ${N} in ${t1 - t0} ms, consumed in ${Date.now() - t1} ms`);
    expect(c.stdout.length).toBe(Buffer.byteLength(text));
    expect(sha(c.stdout)).toBe(sha(text));
  });

  test('zstd-compressed produce across 3 partitions round-trips (as a multiset of lines)', async () => {
    const topic = 'kcat-zstd';
    await makeTopic(topic, 3);
    const file = path.join(tmp, 'zstd.txt');
    const text = writeLines(file, 20_000, 'z');
    const p = await runCommand('kcat', ['-P', '-b', broker.address, '-t', topic, '-K:', '-z', 'zstd', ...QP, '-l', file], { timeoutMs: 60_000 });
    expect(p.code, p.stderr).toBe(0);
    const c = await runCommand('kcat', ['-C', '-b', broker.address, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k:%s\n', ...QC],
      { timeoutMs: 30_000 });
    expect(c.code, c.stderr).toBe(0);
    const sorted = (s: string) => s.split('\n').filter(Boolean).sort().join('\n');
    expect(sha(sorted(c.stdout.toString()))).toBe(sha(sorted(text)));
    // librdkafka really sent zstd (attributes codec 4) and the broker stored it as sent.
    const conn = await WireConnection.connect(broker.host, broker.port);
    try {
      const batches = decodeRecordBatches((await fetchOnce(conn, topic, 0, 0n)).records);
      expect(batches.length).toBeGreaterThan(0);
      // librdkafka sends a batch uncompressed when zstd would not make it smaller (a batch of one
      // short record, which a busy machine's timing can produce), so codec 0 is allowed beside 4.
      expect(batches.every((b) => [0, 4].includes(b.attributes & 7) && b.crcValid)).toBe(true);
      expect(batches.some((b) => (b.attributes & 7) === 4)).toBe(true);
    } finally { conn.close(); }
  });

  test('two kcat -G consumers in one group share the partitions: both get some, union = all, no duplicates', async () => {
    const topic = 'kcat-group';
    const groupId = 'kcat-g1';
    const PARTS = 4;
    const M = 20_000;
    await makeTopic(topic, PARTS);
    // -u: unbuffered stdout, or kcat holds the lines in its stdio buffer while it runs.
    const args = ['-b', broker.address, '-G', groupId, '-u', '-f', '%p %s\n', '-X', 'auto.offset.reset=earliest',
      '-X', 'heartbeat.interval.ms=500', '-X', 'session.timeout.ms=6000', ...QC, topic];
    const members: Background[] = [runBackground('kcat', args), runBackground('kcat', args)];
    try {
      // kcat reports "% Group ... rebalanced (...): assigned: t [0], t [2]" on stderr; keep each member's latest.
      const assigned = (m: Background): number[] => {
        const lines = m.stderr().split('\n').filter((l) => /rebalanced/.test(l));
        const lastLine = lines[lines.length - 1] ?? '';
        if (!/assigned/.test(lastLine)) return [];
        return [...lastLine.matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]));
      };
      const complete = () => {
        const a = members.map(assigned);
        const all = a.flat().sort();
        return a.every((x) => x.length > 0) && all.length === PARTS && new Set(all).size === PARTS;
      };
      let since = 0;
      await waitFor(() => {
        if (!complete()) { since = 0; return false; }
        since ||= Date.now();
        return Date.now() - since > 1500;
      }, 60_000, `both kcat members to be assigned (stderr: ${members.map((m) => m.stderr().slice(-500)).join(' | ')})`);

      const file = path.join(tmp, 'group.txt');
      // Keyed, so librdkafka's partitioner spreads them (null keys would stick to one partition per linger window).
      writeFileSync(file, Array.from({ length: M }, (_, i) => `k${i}:m${i}`).join('\n') + '\n');
      const p = await runCommand('kcat', ['-P', '-b', broker.address, '-t', topic, '-K:', ...QP, '-l', file], { timeoutMs: 60_000 });
      expect(p.code, p.stderr).toBe(0);

      const lines = (m: Background) => m.stdout().toString().split('\n').filter(Boolean);
      await waitFor(() => members.reduce((a, m) => a + lines(m).length, 0) >= M, 30_000,
        `${M} messages across both members (have ${members.map((m) => lines(m).length)})`);
      const got = members.map(lines);
      const finalAssign = members.map(assigned);
      for (const m of members) await m.stop();
      expect(got[0].length, 'member 0 got some').toBeGreaterThan(0);
      expect(got[1].length, 'member 1 got some').toBeGreaterThan(0);
      got.forEach((ls, i) => {
        const parts = new Set(ls.map((l) => Number(l.split(' ')[0])));
        for (const part of parts) expect(finalAssign[i], `member ${i} only reads its own partitions`).toContain(part);
      });
      const values = got.flat().map((l) => l.split(' ')[1]);
      expect(values.length, 'no duplicates').toBe(M);
      expect(new Set(values).size).toBe(M);
    } finally {
      for (const m of members) await m.stop('SIGKILL');
    }
  });
});
