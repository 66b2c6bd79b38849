// What the read checks cost (docs/broker.md, "Corruption"): fetch throughput of a partition log read back the way
// Fetch reads it (1 MiB fetches, front to back), with the CRC-32C of every returned batch checked on every read
// ('every-read') and once per byte range per process ('first-read', the broker's default: the first pass checks, the
// later ones find the range verified). Rounds alternate the policies so machine noise hits both alike; prints each
// round and the median and range per policy. Run: npx tsx bench/fetch-checks.ts [--mb 128] [--rounds 5] [--batch-kib 16]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { DEFAULT_LOG_CONFIG, PartitionLog } from '../broker/log/partition-log.ts';
import * as logRead from '../broker/log/log-read.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/** One uncompressed v2 batch of about `bytes` bytes (records of 100-byte values), CRC set. */
function makeBatch(bytes: number): Buffer {
  const record = Buffer.concat([Buffer.from([0xd0, 0x01, 0, 0, 0, 1, 0xc8, 0x01]), Buffer.alloc(100, 0x61), Buffer.from([0])]);
  const count = Math.max(1, Math.floor((bytes - 61) / record.length));
  const buf = Buffer.alloc(61 + count * record.length);
  for (let i = 0; i < count; i++) record.copy(buf, 61 + i * record.length);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt8(2, 16);
  buf.writeInt32BE(count - 1, 23);
  buf.writeBigInt64BE(BigInt(Date.now()), 27);
  buf.writeBigInt64BE(BigInt(Date.now()), 35);
  buf.writeBigInt64BE(-1n, 43);
  buf.writeInt16BE(-1, 51);
  buf.writeInt32BE(-1, 53);
  buf.writeInt32BE(count, 57);
  buf.writeUInt32BE(crc32c(buf.subarray(21)), 17);
  return buf;
}

/** Reads the whole log in 1 MiB fetches; returns MB/s. */
function readAll(log: PartitionLog): number {
  const t0 = process.hrtime.bigint();
  let offset = 0;
  let bytes = 0;
  while (offset < log.logEndOffset) {
    const r = log.read(offset, 1024 * 1024, true);
    const last = r.chunks[r.chunks.length - 1];
    for (let p = 0; p < last.length; p += last.readInt32BE(p + 8) + 12) offset = Number(last.readBigInt64BE(p)) + last.readInt32BE(p + 23) + 1;
    bytes += r.bytes;
  }
  return bytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'untangle-fetch-checks-'));
const totalMb = Number(arg('mb', '128'));
const rounds = Number(arg('rounds', '5'));
const batchBytes = Number(arg('batch-kib', '16')) * 1024;
// The code before the read checks has no policy to set: the bench then measures it as it is ("none").
const setPolicy = (logRead as { setReadCrcPolicy?: (p: 'first-read' | 'every-read') => unknown }).setReadCrcPolicy;
try {
  const config = { ...DEFAULT_LOG_CONFIG, segmentBytes: 64 * 1024 * 1024 };
  const writer = await PartitionLog.open(path.join(root, 'p-0'), config);
  const template = makeBatch(batchBytes);
  for (let n = 0; n * template.length < totalMb * 1e6; n++) writer.append(Buffer.from(template), 0);
  await writer.close();
  const policies = setPolicy ? (['every-read', 'first-read'] as const) : (['none'] as const);
  const results = new Map<string, number[]>();
  console.log(`fetch-checks: ${totalMb} MB of ${template.length}-byte batches, 1 MiB fetches, node ${process.version}, ${os.cpus().length} cpus, load ${os.loadavg()[0].toFixed(1)}`);
  for (let r = 0; r < rounds; r++) {
    for (const policy of policies) {
      if (policy !== 'none') setPolicy!(policy);
      // a fresh open per round: 'first-read' starts with nothing verified, so its first pass pays the CRCs
      const log = await PartitionLog.open(path.join(root, 'p-0'), config);
      const cold = readAll(log);
      const warm = readAll(log);
      await log.close();
      for (const [k, v] of [[`${policy} first pass`, cold], [`${policy} second pass`, warm]] as const) results.set(k, [...(results.get(k) ?? []), v]);
      console.log(`  round ${r + 1} ${policy.padEnd(10)} first pass ${cold.toFixed(0)} MB/s, second pass ${warm.toFixed(0)} MB/s`);
    }
  }
  for (const [k, v] of results) console.log(`${k.padEnd(24)} median ${median(v).toFixed(0)} MB/s (min ${Math.min(...v).toFixed(0)}, max ${Math.max(...v).toFixed(0)}, n=${v.length})`);
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
