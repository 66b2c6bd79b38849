// Partition log throughput: appends ~300 MB of 1 MiB batches (and ~100 MB of 16 KiB batches), then reads it all back
// the way Fetch does, and prints MB/s. Run: npx tsx bench/log-append.ts [--dir /path] [--mb 300]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { DEFAULT_LOG_CONFIG, PartitionLog } from '../broker/log/partition-log.ts';
import { validateProducedBatch } from '../broker/log/record-batch.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/** One uncompressed v2 batch of `count` records with `valueBytes`-byte values (single-byte varints where possible). */
function makeBatch(targetBytes: number, valueBytes: number): Buffer {
  const varint = (v: number): number[] => {
    let n = v >= 0 ? v * 2 : -v * 2 - 1;
    const out: number[] = [];
    do {
      out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n = Math.floor(n / 128);
    } while (n > 0);
    return out;
  };
  const records: Buffer[] = [];
  let size = 61;
  for (let i = 0; size < targetBytes - 200; i++) {
    const body = Buffer.concat([
      Buffer.from([0, ...varint(0), ...varint(i), ...varint(-1), ...varint(valueBytes)]),
      Buffer.alloc(valueBytes, 0x61 + (i % 26)),
      Buffer.from(varint(0)),
    ]);
    const rec = Buffer.concat([Buffer.from(varint(body.length)), body]);
    records.push(rec);
    size += rec.length;
  }
  const buf = Buffer.alloc(size);
  buf.writeInt32BE(size - 12, 8);
  buf.writeInt8(2, 16);
  buf.writeInt32BE(records.length - 1, 23);
  const now = BigInt(Date.now());
  buf.writeBigInt64BE(now, 27);
  buf.writeBigInt64BE(now, 35);
  buf.writeBigInt64BE(-1n, 43);
  buf.writeInt16BE(-1, 51);
  buf.writeInt32BE(-1, 53);
  buf.writeInt32BE(records.length, 57);
  Buffer.concat(records).copy(buf, 61);
  buf.writeUInt32BE(crc32c(buf.subarray(21)), 17);
  return buf;
}

const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;
const mbps = (bytes: number, s: number): string => `${(bytes / 1e6 / s).toFixed(0)} MB/s`;

async function run(label: string, root: string, batchBytes: number, totalMb: number): Promise<void> {
  const dir = path.join(root, label);
  const config = { ...DEFAULT_LOG_CONFIG, segmentBytes: 128 * 1024 * 1024 };
  const log = await PartitionLog.open(dir, config);
  const template = makeBatch(batchBytes, 100);
  const records = template.readInt32BE(57);
  const count = Math.ceil((totalMb * 1e6) / template.length);
  // Fresh copies, as each would arrive in its own request frame (copying is not timed).
  const batches = Array.from({ length: Math.min(count, 64) }, () => Buffer.from(template));

  let validateNs = 0n;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const b = batches[i % batches.length];
    const v0 = process.hrtime.bigint();
    validateProducedBatch(b, Math.max(config.maxBatchBytes, b.length));
    validateNs += process.hrtime.bigint() - v0;
    log.append(b, 0);
  }
  const appendS = seconds(t0);
  const bytes = log.sizeBytes;
  const validateS = Number(validateNs) / 1e9;

  const c0 = process.hrtime.bigint();
  await log.close();
  const closeS = seconds(c0);

  const reopened0 = process.hrtime.bigint();
  const again = await PartitionLog.open(dir, config);
  const openS = seconds(reopened0);
  const r0 = process.hrtime.bigint();
  let offset = 0;
  let readBytes = 0;
  let fetches = 0;
  while (offset < again.logEndOffset) {
    const r = again.read(offset, 1024 * 1024, true);
    const last = r.chunks[r.chunks.length - 1];
    let p = 0;
    let next = offset;
    while (p < last.length) {
      next = Number(last.readBigInt64BE(p)) + last.readInt32BE(p + 23) + 1;
      p += last.readInt32BE(p + 8) + 12;
    }
    offset = next;
    readBytes += r.bytes;
    fetches++;
  }
  const readS = seconds(r0);
  await again.close();

  console.log(`\n${label}: ${count} batches of ${template.length} bytes (${records} records of 100 B), ${(bytes / 1e6).toFixed(0)} MB`);
  console.log(`  validate+append  ${mbps(bytes, appendS)}  (${((count * records) / appendS / 1e6).toFixed(2)} M records/s, ${(count / appendS).toFixed(0)} batches/s)`);
  console.log(`    of which CRC validation ${mbps(bytes, validateS)} alone, ${((validateS / appendS) * 100).toFixed(0)}% of the time`);
  console.log(`  close (fsync + checkpoint) ${(closeS * 1000).toFixed(0)} ms, clean reopen ${(openS * 1000).toFixed(1)} ms`);
  console.log(`  read (1 MiB fetches) ${mbps(readBytes, readS)}  (${fetches} fetches, ${(fetches / readS).toFixed(0)}/s)`);
}

const root = fs.mkdtempSync(path.join(arg('dir', os.tmpdir()), 'untangle-log-bench-'));
const totalMb = Number(arg('mb', '300'));
try {
  console.log(`log bench in ${root} (node ${process.version}, ${os.cpus().length} cpus)`);
  await run('1MiB-batches', root, 1024 * 1024, totalMb);
  await run('16KiB-batches', root, 16 * 1024, totalMb / 3);
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
