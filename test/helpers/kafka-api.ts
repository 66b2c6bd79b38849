// Typed request/response helpers on top of kafka-wire.ts, at the versions real clients send
// (see CLIENTS.md: Produce v7, Fetch v11, ListOffsets v2, Metadata v4, InitProducerId v1, CreateTopics v3).
import { Writer, type Reader, type WireConnection, decodeRecordBatches, type DecodedBatch, type DecodedRecord } from './kafka-wire.ts';

export const ApiKey = {
  Produce: 0, Fetch: 1, ListOffsets: 2, Metadata: 3, OffsetCommit: 8, OffsetFetch: 9, FindCoordinator: 10,
  JoinGroup: 11, Heartbeat: 12, LeaveGroup: 13, SyncGroup: 14, ApiVersions: 18, CreateTopics: 19, InitProducerId: 22,
} as const;

export interface ApiRange { apiKey: number; minVersion: number; maxVersion: number }

export async function apiVersions(c: WireConnection): Promise<{ errorCode: number; apis: ApiRange[] }> {
  const r = await c.request(ApiKey.ApiVersions, 0, Buffer.alloc(0));
  const errorCode = r.int16();
  const apis = r.array((x) => ({ apiKey: x.int16(), minVersion: x.int16(), maxVersion: x.int16() })) ?? [];
  return { errorCode, apis };
}

export interface MetadataV4 {
  brokers: { nodeId: number; host: string; port: number }[];
  controllerId: number;
  topics: { errorCode: number; name: string; partitions: { errorCode: number; partition: number; leader: number }[] }[];
}

export async function metadata(c: WireConnection, topics: string[] | null, allowAutoTopicCreation = false): Promise<MetadataV4> {
  const body = new Writer().array(topics, (w, t) => w.string(t)).bool(allowAutoTopicCreation).toBuffer();
  const r = await c.request(ApiKey.Metadata, 4, body);
  r.int32();
  const brokers = r.array((x) => { const b = { nodeId: x.int32(), host: x.string() ?? '', port: x.int32() }; x.string(); return b; }) ?? [];
  r.string();
  const controllerId = r.int32();
  const ts = r.array((x) => {
    const errorCode = x.int16(); const name = x.string() ?? ''; x.bool();
    const partitions = x.array((p) => {
      const e = p.int16(); const partition = p.int32(); const leader = p.int32();
      p.array((q) => q.int32()); p.array((q) => q.int32()); // replicas, isr (offline replicas is v5+)
      return { errorCode: e, partition, leader };
    }) ?? [];
    return { errorCode, name, partitions };
  }) ?? [];
  return { brokers, controllerId, topics: ts };
}

export async function createTopic(c: WireConnection, name: string, numPartitions: number): Promise<number> {
  const body = new Writer()
    .array([name], (w, t) => w.string(t).int32(numPartitions).int16(1).int32(0).int32(0))
    .int32(10_000).bool(false).toBuffer();
  const r = await c.request(ApiKey.CreateTopics, 3, body);
  r.int32();
  const res = r.array((x) => ({ name: x.string(), errorCode: x.int16(), message: x.string() })) ?? [];
  return res[0]?.errorCode ?? -1;
}

export async function initProducerId(c: WireConnection): Promise<{ errorCode: number; producerId: bigint; producerEpoch: number }> {
  const body = new Writer().string(null).int32(60_000).toBuffer();
  const r = await c.request(ApiKey.InitProducerId, 1, body);
  r.int32();
  return { errorCode: r.int16(), producerId: r.int64(), producerEpoch: r.int16() };
}

export interface ProducePartitionResult { errorCode: number; baseOffset: bigint; logStartOffset: bigint }

export function encodeProduceV7(topic: string, partition: number, records: Uint8Array, acks = -1, timeoutMs = 10_000): Buffer {
  return new Writer().string(null).int16(acks).int32(timeoutMs)
    .array([topic], (w, t) => w.string(t).array([partition], (pw, p) => pw.int32(p).bytes(records)))
    .toBuffer();
}

export function decodeProduceV7(r: Reader): ProducePartitionResult {
  const topics = r.array((x) => {
    x.string();
    return x.array((p) => {
      p.int32();
      const errorCode = p.int16(); const baseOffset = p.int64(); p.int64(); const logStartOffset = p.int64();
      return { errorCode, baseOffset, logStartOffset };
    }) ?? [];
  }) ?? [];
  const first = topics[0]?.[0];
  if (!first) throw new Error('produce response has no partition result');
  return first;
}

export async function produce(c: WireConnection, topic: string, partition: number, batch: Uint8Array, acks = -1): Promise<ProducePartitionResult> {
  const r = await c.request(ApiKey.Produce, 7, encodeProduceV7(topic, partition, batch, acks));
  return decodeProduceV7(r);
}

export interface FetchPartitionResult { errorCode: number; highWatermark: bigint; lastStableOffset: bigint; logStartOffset: bigint; records: Buffer }

export async function fetchOnce(c: WireConnection, topic: string, partition: number, offset: bigint,
  opts: { maxWaitMs?: number; maxBytes?: number } = {}): Promise<FetchPartitionResult> {
  const maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
  const body = new Writer()
    .int32(-1).int32(opts.maxWaitMs ?? 50).int32(1).int32(maxBytes).int8(0).int32(0).int32(-1)
    .array([topic], (w, t) => w.string(t).array([partition], (pw, p) => pw.int32(p).int32(-1).int64(offset).int64(-1).int32(maxBytes)))
    .array([], () => undefined)
    .string('')
    .toBuffer();
  const r = await c.request(ApiKey.Fetch, 11, body, { timeoutMs: 30_000 });
  r.int32();
  const topErr = r.int16(); r.int32();
  const topics = r.array((x) => {
    x.string();
    return x.array((p) => {
      p.int32();
      const errorCode = p.int16(); const highWatermark = p.int64(); const lastStableOffset = p.int64(); const logStartOffset = p.int64();
      p.array((a) => { a.int64(); a.int64(); });
      p.int32();
      const records = p.bytes() ?? Buffer.alloc(0);
      return { errorCode, highWatermark, lastStableOffset, logStartOffset, records: Buffer.from(records) };
    }) ?? [];
  }) ?? [];
  const first = topics[0]?.[0];
  if (!first) throw new Error(`fetch response has no partition result (top-level error ${topErr})`);
  return first;
}

export async function listOffset(c: WireConnection, topic: string, partition: number, timestamp: -1n | -2n): Promise<{ errorCode: number; offset: bigint }> {
  const body = new Writer().int32(-1).int8(0)
    .array([topic], (w, t) => w.string(t).array([partition], (pw, p) => pw.int32(p).int64(timestamp)))
    .toBuffer();
  const r = await c.request(ApiKey.ListOffsets, 2, body);
  r.int32();
  const topics = r.array((x) => { x.string(); return x.array((p) => { p.int32(); return { errorCode: p.int16(), ts: p.int64(), offset: p.int64() }; }) ?? []; }) ?? [];
  const first = topics[0]?.[0];
  if (!first) throw new Error('listOffsets response has no partition result');
  return { errorCode: first.errorCode, offset: first.offset };
}

/** Read a partition from `from` up to its high watermark (at call time) with raw Fetch v11. */
export async function fetchAll(c: WireConnection, topic: string, partition: number, from = 0n):
Promise<{ batches: DecodedBatch[]; records: DecodedRecord[]; highWatermark: bigint; logStartOffset: bigint }> {
  const batches: DecodedBatch[] = [];
  const records: DecodedRecord[] = [];
  let offset = from;
  let hw = -1n; let logStartOffset: bigint;
  let stalls = 0;
  for (;;) {
    const res = await fetchOnce(c, topic, partition, offset, { maxWaitMs: 0 });
    if (res.errorCode !== 0) throw new Error(`fetch ${topic}-${partition}@${offset} error ${res.errorCode}`);
    if (hw < 0n) hw = res.highWatermark;
    logStartOffset = res.logStartOffset;
    if (offset >= hw) break;
    const got = decodeRecordBatches(res.records);
    let progressed = false;
    for (const b of got) {
      const last = b.baseOffset + BigInt(b.lastOffsetDelta);
      if (last < offset) continue;
      batches.push(b);
      for (const rec of b.records ?? []) if (rec.offset >= offset) records.push(rec);
      offset = last + 1n;
      progressed = true;
    }
    if (!progressed && ++stalls > 20) throw new Error(`fetch made no progress at ${topic}-${partition}@${offset} (hw ${hw})`);
  }
  return { batches, records, highWatermark: hw, logStartOffset };
}
