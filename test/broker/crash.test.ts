// Acceptance: durability across SIGKILL, and recovery from a torn (truncated) newest segment.
import { cpSync, readdirSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { makeTempDir, startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.ts';
import { makeKafka } from '../helpers/kafkajs.ts';
import { WireConnection, encodeRecordBatch, decodeRecordBatches } from '../helpers/kafka-wire.ts';
import { createTopic, fetchAll, listOffset, produce } from '../helpers/kafka-api.ts';
import { sleep, waitFor } from '../helpers/run.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => { for (const f of cleanups.reverse()) await f(); });

async function withConn<T>(b: BrokerProcess, fn: (c: WireConnection) => Promise<T>): Promise<T> {
  const c = await WireConnection.connect(b.host, b.port);
  try { return await fn(c); } finally { c.close(); }
}

describe('crash safety', () => {
  test('SIGKILL while an idempotent acks=-1 producer runs: every acknowledged message survives exactly once', async () => {
    const broker = await startBrokerProcess({ defaultPartitions: 1 });
    cleanups.push(() => broker.cleanup());
    const topic = 'crash-seq';
    const PARTS = 3;
    await withConn(broker, async (c) => expect(await createTopic(c, topic, PARTS)).toBe(0));

    const acked = new Set<string>();
    const killPointsMs = [300, 1000, 2000];
    for (const [run, killAfter] of killPointsMs.entries()) {
      // Few retries so the in-flight request fails fast once the broker is gone.
      const kafka = makeKafka(broker.address, `crash-${run}`, 1);
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 1, initialRetryTime: 50 } });
      await producer.connect();
      let stop = false;
      let sentBatches = 0;
      const loop = (async () => {
        for (let seq = 0; !stop; seq += 200) {
          const messages = Array.from({ length: 200 }, (_, i) => ({ key: `k${(seq + i) % 17}`, value: `${run}:${seq + i}` }));
          try {
            await producer.send({ topic, acks: -1, messages });
          } catch {
            return; // the broker died under us; this batch is "unacknowledged"
          }
          for (const m of messages) acked.add(m.value);
          sentBatches++;
        }
      })();
      // The kill points count from the first acknowledgement: on a loaded machine connecting and the first
      // InitProducerId alone can take longer than the earliest of them.
      await waitFor(() => sentBatches > 0, 30_000, `run ${run}: a first batch acknowledged`);
      await sleep(killAfter);
      await broker.kill();
      stop = true;
      await loop;
      await producer.disconnect().catch(() => undefined);

      await broker.restart();
      const counts = new Map<string, number>();
      await withConn(broker, async (c) => {
        for (let p = 0; p < PARTS; p++) {
          const { records, highWatermark } = await fetchAll(c, topic, p);
          expect(BigInt(records.length), `partition ${p}: records = high watermark`).toBe(highWatermark);
          for (const r of records) { const v = r.value!.toString(); counts.set(v, (counts.get(v) ?? 0) + 1); }
        }
      });
      const missing = [...acked].filter((v) => !counts.has(v));
      const dups = [...counts].filter(([, n]) => n > 1);
      console.log(`kill after ${killAfter} ms: acked ${acked.size} total, stored ${counts.size}, missing ${missing.length}, dups ${dups.length}`);
      expect(missing.slice(0, 10), 'acknowledged messages lost').toEqual([]);
      expect(dups.slice(0, 10), 'duplicated messages').toEqual([]);
    }
    expect(await broker.stop()).toBe(0);
  });

  test('a torn newest segment: the broker serves every message wholly before the tear and the HW matches', async () => {
    const topic = 'torn';
    const SEGMENT_BYTES = 256 * 1024;
    const broker = await startBrokerProcess({ defaultPartitions: 1, segmentBytes: SEGMENT_BYTES, metrics: false });
    cleanups.push(() => broker.cleanup());
    // Written through the wire so we know every record; varied batch sizes give varied tear points.
    const written: string[] = [];
    await withConn(broker, async (c) => {
      expect(await createTopic(c, topic, 1)).toBe(0);
      for (let b = 0; b < 300; b++) {
        const n = 1 + (b * 37) % 25;
        const recs = Array.from({ length: n }, (_, i) => ({ key: `b${b}`, value: `${written.length + i}:${'x'.repeat((b * 13 + i) % 200)}` }));
        const res = await produce(c, topic, 0, encodeRecordBatch(recs));
        expect(res).toMatchObject({ errorCode: 0, baseOffset: BigInt(written.length) });
        written.push(...recs.map((r) => r.value));
      }
    });
    expect(await broker.stop()).toBe(0);

    const partDir = path.join(broker.dataDir, `${topic}-0`);
    const segments = readdirSync(partDir).filter((f) => /^\d{20}\.log$/.test(f)).sort();
    expect(segments.length, `segments in ${partDir}: ${readdirSync(partDir).join(', ')}`).toBeGreaterThan(0);
    if (segments.length < 2) console.warn(`--segment-bytes ${SEGMENT_BYTES} did not roll segments: only ${segments.join(', ')}`);
    const newest = segments[segments.length - 1];
    const newestBase = Number(newest.slice(0, 20));
    const size = statSync(path.join(partDir, newest)).size;
    // Batch boundaries inside the newest segment (the file is expected to hold plain magic-2 batches).
    const batches = decodeRecordBatches(readFileSync(path.join(partDir, newest)));
    const parsedBytes = batches.reduce((a, b) => a + b.byteLength, 0);
    expect(parsedBytes, 'newest segment should be a sequence of record batches').toBe(size);
    expect(Number(batches[0].baseOffset)).toBe(newestBase);
    const ends: { end: number; nextOffset: number }[] = [];
    let pos = 0;
    for (const b of batches) { pos += b.byteLength; ends.push({ end: pos, nextOffset: Number(b.baseOffset) + b.lastOffsetDelta + 1 }); }
    const expectedHw = (tear: number) => ends.filter((e) => e.end <= tear).pop()?.nextOffset ?? newestBase;

    const rnd = (n: number) => Math.floor(Math.random() * n);
    const b1 = ends[Math.min(1, ends.length - 1)].end;
    const tears = [...new Set([0, 7, b1, b1 + 1, b1 + 30, size - 1, rnd(size), rnd(size), rnd(size)])].filter((t) => t >= 0 && t < size);
    for (const tear of tears) {
      const copy = makeTempDir('untangle-torn-');
      cleanups.push(() => rmSync(copy, { recursive: true, force: true }));
      cpSync(broker.dataDir, copy, { recursive: true });
      truncateSync(path.join(copy, `${topic}-0`, newest), tear);
      const b = await startBrokerProcess({ dataDir: copy, metrics: false }).catch((e: Error) => {
        throw new Error(`broker did not start after tearing ${newest} at byte ${tear} of ${size}: ${e.message}`);
      });
      try {
        const hw = expectedHw(tear);
        await withConn(b, async (c) => {
          const all = await fetchAll(c, topic, 0);
          expect({ tear, hw: all.highWatermark }).toEqual({ tear, hw: BigInt(hw) });
          expect((await listOffset(c, topic, 0, -1n)).offset).toBe(BigInt(hw));
          expect(all.records.map((r) => r.value!.toString())).toEqual(written.slice(0, hw));
          // The log accepts appends right after the tear point.
          const again = await produce(c, topic, 0, encodeRecordBatch([{ key: null, value: 'after-tear' }]));
          expect(again).toMatchObject({ errorCode: 0, baseOffset: BigInt(hw) });
        });
        expect(await b.stop()).toBe(0);
      } finally {
        await b.cleanup();
      }
    }
  });
});
