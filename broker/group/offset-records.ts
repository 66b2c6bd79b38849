// On-disk record format of the committed-offsets log.
//
//   file   := MAGIC record*
//   record := length:u32 crc:u32 payload            (crc = CRC-32C of payload, big-endian fields)
//   payload:= 1 groupId:str count:u32 entry*        commit (all entries of one commit, atomically)
//           | 2 groupId:str                         group tombstone
//           | 3 topic:str                           topic tombstone
//           | 4 groupId:str count:u32 partition*    tombstones of some of a group's offsets (OffsetDelete)
//   entry  := topic:str partition:i32 offset:i64 leaderEpoch:i32 metadata:nstr timestampMs:i64
//   partition := topic:str partition:i32
//   str    := byteLength:u32 utf8;  nstr := byteLength:i32 (-1 = null) utf8
//
// A record whose length runs past the end of the file or whose CRC does not match ends the replay:
// it is the torn tail of a write interrupted by a crash.
//
// Type 4 came after 1-3: logs written before it read as they always did, but a broker older than it
// would take a type 4 record for a corrupt tail (so going back to such a broker is not supported).
import { crc32c } from '@node-rs/crc32';
import type { OffsetEntry, TopicPartitionRef } from './offset-store.ts';

export const MAGIC = Buffer.from('UNTOFF01', 'latin1');
const RECORD_HEADER_BYTES = 8;
/** Larger lengths can only come from corruption. */
const MAX_RECORD_BYTES = 1 << 30;

export type OffsetRecord =
  | { type: 'commit'; groupId: string; entries: OffsetEntry[] }
  | { type: 'deleteGroup'; groupId: string }
  | { type: 'deleteTopic'; topic: string }
  | { type: 'deleteOffsets'; groupId: string; partitions: TopicPartitionRef[] };

const TYPE_COMMIT = 1;
const TYPE_DELETE_GROUP = 2;
const TYPE_DELETE_TOPIC = 3;
const TYPE_DELETE_OFFSETS = 4;

class Writer {
  private pos = 0;
  constructor(readonly buf: Buffer) {}
  u8(v: number): void {
    this.pos = this.buf.writeUInt8(v, this.pos);
  }
  u32(v: number): void {
    this.pos = this.buf.writeUInt32BE(v, this.pos);
  }
  i32(v: number): void {
    this.pos = this.buf.writeInt32BE(v, this.pos);
  }
  i64(v: number): void {
    this.pos = this.buf.writeBigInt64BE(BigInt(Math.trunc(v)), this.pos);
  }
  str(v: string): void {
    const n = this.buf.write(v, this.pos + 4, 'utf8');
    this.buf.writeUInt32BE(n, this.pos);
    this.pos += 4 + n;
  }
  nstr(v: string | null): void {
    if (v === null) this.i32(-1);
    else this.str(v);
  }
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError('record payload too short');
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.pos++);
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  i64(): number {
    this.need(8);
    const v = Number(this.buf.readBigInt64BE(this.pos));
    this.pos += 8;
    return v;
  }
  str(): string {
    const n = this.u32();
    this.need(n);
    const v = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  nstr(): string | null {
    const n = this.i32();
    if (n === -1) return null;
    this.pos -= 4;
    return this.str();
  }
}

function strBytes(s: string): number {
  return 4 + Buffer.byteLength(s, 'utf8');
}

function payloadBytes(r: OffsetRecord): number {
  switch (r.type) {
    case 'commit': {
      let n = 1 + strBytes(r.groupId) + 4;
      for (const e of r.entries) n += strBytes(e.topic) + 4 + 8 + 4 + (e.metadata === null ? 4 : strBytes(e.metadata)) + 8;
      return n;
    }
    case 'deleteGroup':
      return 1 + strBytes(r.groupId);
    case 'deleteTopic':
      return 1 + strBytes(r.topic);
    case 'deleteOffsets': {
      let n = 1 + strBytes(r.groupId) + 4;
      for (const p of r.partitions) n += strBytes(p.topic) + 4;
      return n;
    }
  }
}

/** One framed record: length, CRC-32C and payload. */
export function encodeRecord(r: OffsetRecord): Buffer {
  const size = payloadBytes(r);
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + size);
  const w = new Writer(buf.subarray(RECORD_HEADER_BYTES));
  switch (r.type) {
    case 'commit':
      w.u8(TYPE_COMMIT);
      w.str(r.groupId);
      w.u32(r.entries.length);
      for (const e of r.entries) {
        w.str(e.topic);
        w.i32(e.partition);
        w.i64(e.offset);
        w.i32(e.leaderEpoch);
        w.nstr(e.metadata);
        w.i64(e.commitTimestampMs);
      }
      break;
    case 'deleteGroup':
      w.u8(TYPE_DELETE_GROUP);
      w.str(r.groupId);
      break;
    case 'deleteTopic':
      w.u8(TYPE_DELETE_TOPIC);
      w.str(r.topic);
      break;
    case 'deleteOffsets':
      w.u8(TYPE_DELETE_OFFSETS);
      w.str(r.groupId);
      w.u32(r.partitions.length);
      for (const p of r.partitions) {
        w.str(p.topic);
        w.i32(p.partition);
      }
      break;
  }
  buf.writeUInt32BE(size, 0);
  buf.writeUInt32BE(crc32c(buf.subarray(RECORD_HEADER_BYTES)), 4);
  return buf;
}

function decodePayload(payload: Buffer): OffsetRecord {
  const r = new Reader(payload);
  const type = r.u8();
  let rec: OffsetRecord;
  if (type === TYPE_COMMIT) {
    const groupId = r.str();
    const count = r.u32();
    const entries: OffsetEntry[] = [];
    for (let i = 0; i < count; i++) {
      entries.push({
        topic: r.str(),
        partition: r.i32(),
        offset: r.i64(),
        leaderEpoch: r.i32(),
        metadata: r.nstr(),
        commitTimestampMs: r.i64(),
      });
    }
    rec = { type: 'commit', groupId, entries };
  } else if (type === TYPE_DELETE_GROUP) {
    rec = { type: 'deleteGroup', groupId: r.str() };
  } else if (type === TYPE_DELETE_TOPIC) {
    rec = { type: 'deleteTopic', topic: r.str() };
  } else if (type === TYPE_DELETE_OFFSETS) {
    const groupId = r.str();
    const count = r.u32();
    const partitions: TopicPartitionRef[] = [];
    // Each takes at least 8 bytes: a count past what is left is corruption, refused before the loop.
    if (count > (payload.length - r.pos) / 8) throw new RangeError('offset deletion count exceeds the record');
    for (let i = 0; i < count; i++) partitions.push({ topic: r.str(), partition: r.i32() });
    rec = { type: 'deleteOffsets', groupId, partitions };
  } else {
    throw new RangeError(`unknown offset record type ${type}`);
  }
  if (r.pos !== payload.length) throw new RangeError('trailing bytes in offset record');
  return rec;
}

export interface DecodeResult {
  records: OffsetRecord[];
  /** Offset just past the last intact record: everything after it is a torn or corrupt tail. */
  validEnd: number;
}

/** Decodes records from `start` until the end of `buf` or the first torn/corrupt record. */
export function decodeRecords(buf: Buffer, start: number): DecodeResult {
  const records: OffsetRecord[] = [];
  let pos = start;
  while (pos + RECORD_HEADER_BYTES <= buf.length) {
    const length = buf.readUInt32BE(pos);
    const crc = buf.readUInt32BE(pos + 4);
    const end = pos + RECORD_HEADER_BYTES + length;
    if (length > MAX_RECORD_BYTES || end > buf.length) break;
    const payload = buf.subarray(pos + RECORD_HEADER_BYTES, end);
    if (crc32c(payload) !== crc) break;
    try {
      records.push(decodePayload(payload));
    } catch {
      break;
    }
    pos = end;
  }
  return { records, validEnd: pos };
}
