// A small, independent Kafka wire codec for acceptance tests and the benchmark.
// It deliberately does NOT reuse the broker's generated codec, so a bug shared by the broker's
// encoder and decoder cannot hide itself. Only the request/response versions the tests need are here.
import net from 'node:net';
import zlib from 'node:zlib';
import { crc32c } from '@node-rs/crc32';

export class Writer {
  private buf = Buffer.allocUnsafe(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  int8(v: number): this { this.ensure(1); this.buf.writeInt8(v, this.len); this.len += 1; return this; }
  bool(v: boolean): this { return this.int8(v ? 1 : 0); }
  int16(v: number): this { this.ensure(2); this.buf.writeInt16BE(v, this.len); this.len += 2; return this; }
  int32(v: number): this { this.ensure(4); this.buf.writeInt32BE(v, this.len); this.len += 4; return this; }
  uint32(v: number): this { this.ensure(4); this.buf.writeUInt32BE(v >>> 0, this.len); this.len += 4; return this; }
  int64(v: bigint | number): this { this.ensure(8); this.buf.writeBigInt64BE(BigInt(v), this.len); this.len += 8; return this; }
  raw(b: Uint8Array): this { this.ensure(b.length); this.buf.set(b, this.len); this.len += b.length; return this; }
  /** Classic STRING / NULLABLE_STRING (int16 length, -1 = null). */
  string(s: string | null): this {
    if (s === null) return this.int16(-1);
    const b = Buffer.from(s, 'utf8');
    return this.int16(b.length).raw(b);
  }
  /** Classic BYTES / NULLABLE_BYTES / RECORDS (int32 length, -1 = null). */
  bytes(b: Uint8Array | null): this {
    if (b === null) return this.int32(-1);
    return this.int32(b.length).raw(b);
  }
  /** Classic ARRAY (int32 count, -1 = null). */
  array<T>(items: readonly T[] | null, each: (w: this, item: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const it of items) each(this, it);
    return this;
  }
  uvarint(v: number): this {
    let n = v >>> 0;
    while (n >= 0x80) { this.int8u((n & 0x7f) | 0x80); n >>>= 7; }
    return this.int8u(n);
  }
  /** Zig-zag signed varint (record fields). */
  varint(v: number): this { return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0); }
  /** Zig-zag signed varlong for values that may exceed 32 bits (timestamp deltas). */
  varlong(v: bigint | number): this {
    let z = BigInt.asUintN(64, (BigInt(v) << 1n) ^ (BigInt(v) >> 63n));
    while (z >= 0x80n) { this.int8u(Number(z & 0x7fn) | 0x80); z >>= 7n; }
    return this.int8u(Number(z));
  }
  compactString(s: string | null): this {
    if (s === null) return this.uvarint(0);
    const b = Buffer.from(s, 'utf8');
    return this.uvarint(b.length + 1).raw(b);
  }
  compactArray<T>(items: readonly T[] | null, each: (w: this, item: T) => void): this {
    if (items === null) return this.uvarint(0);
    this.uvarint(items.length + 1);
    for (const it of items) each(this, it);
    return this;
  }
  /** An empty tagged-field buffer. */
  tags(): this { return this.uvarint(0); }
  private int8u(v: number): this { this.ensure(1); this.buf[this.len++] = v; return this; }
  get length(): number { return this.len; }
  toBuffer(): Buffer { return Buffer.from(this.buf.subarray(0, this.len)); }
}

export class Reader {
  constructor(public readonly buf: Buffer, public pos = 0) {}
  get remaining(): number { return this.buf.length - this.pos; }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError(`read past end: need ${n} at ${this.pos}/${this.buf.length}`);
  }
  int8(): number { this.need(1); return this.buf.readInt8(this.pos++); }
  bool(): boolean { return this.int8() !== 0; }
  int16(): number { this.need(2); const v = this.buf.readInt16BE(this.pos); this.pos += 2; return v; }
  int32(): number { this.need(4); const v = this.buf.readInt32BE(this.pos); this.pos += 4; return v; }
  uint32(): number { this.need(4); const v = this.buf.readUInt32BE(this.pos); this.pos += 4; return v; }
  int64(): bigint { this.need(8); const v = this.buf.readBigInt64BE(this.pos); this.pos += 8; return v; }
  raw(n: number): Buffer { this.need(n); const b = this.buf.subarray(this.pos, this.pos + n); this.pos += n; return b; }
  string(): string | null { const n = this.int16(); return n < 0 ? null : this.raw(n).toString('utf8'); }
  bytes(): Buffer | null { const n = this.int32(); return n < 0 ? null : this.raw(n); }
  array<T>(each: (r: Reader) => T): T[] | null {
    const n = this.int32();
    if (n < 0) return null;
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }
  uvarint(): number {
    let v = 0; let shift = 0;
    for (;;) {
      this.need(1);
      const b = this.buf[this.pos++];
      v |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v >>> 0;
      shift += 7;
      if (shift > 28) throw new RangeError('varint too long');
    }
  }
  varint(): number { const z = this.uvarint(); return (z >>> 1) ^ -(z & 1); }
  varlong(): bigint {
    let z = 0n; let shift = 0n;
    for (;;) {
      this.need(1);
      const b = BigInt(this.buf[this.pos++]);
      z |= (b & 0x7fn) << shift;
      if ((b & 0x80n) === 0n) break;
      shift += 7n;
      if (shift > 63n) throw new RangeError('varlong too long');
    }
    return (z >> 1n) ^ -(z & 1n);
  }
  compactString(): string | null { const n = this.uvarint(); return n === 0 ? null : this.raw(n - 1).toString('utf8'); }
  compactArray<T>(each: (r: Reader) => T): T[] | null {
    const n = this.uvarint();
    if (n === 0) return null;
    const out: T[] = [];
    for (let i = 0; i < n - 1; i++) out.push(each(this));
    return out;
  }
  skipTags(): void {
    const n = this.uvarint();
    for (let i = 0; i < n; i++) { this.uvarint(); this.raw(this.uvarint()); }
  }
}

// ---------------------------------------------------------------- framing

/** Frame a request: int32 size + header v1 (or v2 when flexibleHeader) + body. */
export function encodeRequestFrame(apiKey: number, apiVersion: number, correlationId: number, body: Uint8Array,
  opts: { clientId?: string | null; flexibleHeader?: boolean } = {}): Buffer {
  const w = new Writer().int32(0).int16(apiKey).int16(apiVersion).int32(correlationId)
    .string(opts.clientId === undefined ? 'untangle-test' : opts.clientId);
  if (opts.flexibleHeader) w.tags();
  w.raw(body);
  const frame = w.toBuffer();
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/** Splits a byte stream into size-prefixed frames (the size prefix is stripped). */
export class FrameSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= 4) {
      let head = this.pending[0];
      if (head.length < 4) { head = Buffer.concat(this.pending); this.pending = [head]; }
      const size = head.readInt32BE(0);
      if (size < 0) throw new Error(`negative response frame size ${size}`);
      if (this.pendingBytes < 4 + size) return;
      const all = this.pending.length === 1 ? head : Buffer.concat(this.pending);
      const frame = all.subarray(4, 4 + size);
      const rest = all.subarray(4 + size);
      this.pending = rest.length ? [rest] : [];
      this.pendingBytes = rest.length;
      onFrame(frame);
    }
  }
}

interface Pending { resolve: (r: Reader) => void; reject: (e: Error) => void; flexible: boolean; timer: NodeJS.Timeout }

/** One pipelined connection; responses are matched by correlation id. */
export class WireConnection {
  private nextCorrelationId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly splitter = new FrameSplitter();
  private closedError: Error | null = null;

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      try {
        this.splitter.push(chunk, (frame) => this.onFrame(frame));
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
    const fail = (err: Error) => {
      this.closedError ??= err;
      for (const [, p] of this.pending) { clearTimeout(p.timer); p.reject(err); }
      this.pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed by peer')));
  }

  static connect(host: string, port: number): Promise<WireConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port }, () => { s.off('error', reject); resolve(new WireConnection(s)); });
      s.once('error', reject);
    });
  }

  get closed(): boolean { return this.closedError !== null; }

  private onFrame(frame: Buffer): void {
    const r = new Reader(frame);
    const id = r.int32();
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (p.flexible) r.skipTags();
    p.resolve(r);
  }

  /** Send a request and resolve with a reader positioned at the response body. */
  request(apiKey: number, apiVersion: number, body: Uint8Array,
    opts: { flexible?: boolean; timeoutMs?: number } = {}): Promise<Reader> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextCorrelationId++;
    const frame = encodeRequestFrame(apiKey, apiVersion, id, body, { flexibleHeader: opts.flexible });
    return new Promise<Reader>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`timeout waiting for response to apiKey=${apiKey} v${apiVersion}`));
      }, opts.timeoutMs ?? 15_000);
      // ApiVersions responses never carry a header tag buffer, even when flexible.
      this.pending.set(id, { resolve, reject, timer, flexible: !!opts.flexible && apiKey !== 18 });
      this.socket.write(frame);
    });
  }

  /** Write bytes without expecting a response (acks=0 or deliberately broken frames). */
  writeRaw(bytes: Uint8Array): void { this.socket.write(bytes); }

  close(): void { this.socket.destroy(); }
}

// ---------------------------------------------------------------- record batches (magic 2)

export interface RecordInput { key: Uint8Array | string | null; value: Uint8Array | string | null; timestampDelta?: number }
export interface BatchOptions {
  producerId?: bigint; producerEpoch?: number; baseSequence?: number;
  baseTimestamp?: bigint; attributes?: number; baseOffset?: bigint;
}

const toBuf = (v: Uint8Array | string): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v));

export function encodeRecords(records: readonly RecordInput[]): Buffer {
  const w = new Writer();
  records.forEach((rec, i) => {
    const r = new Writer().int8(0).varlong(rec.timestampDelta ?? 0).varint(i);
    if (rec.key === null) r.varint(-1); else { const k = toBuf(rec.key); r.varint(k.length).raw(k); }
    if (rec.value === null) r.varint(-1); else { const v = toBuf(rec.value); r.varint(v.length).raw(v); }
    r.varint(0); // headers
    const body = r.toBuffer();
    w.varint(body.length).raw(body);
  });
  return w.toBuffer();
}

/** Build a complete magic-2 record batch with a correct CRC-32C (uncompressed unless attributes says otherwise). */
export function encodeRecordBatch(records: readonly RecordInput[], o: BatchOptions = {}): Buffer {
  const baseTimestamp = o.baseTimestamp ?? BigInt(Date.now());
  const maxDelta = records.reduce((m, r) => Math.max(m, r.timestampDelta ?? 0), 0);
  let payload = encodeRecords(records);
  const attributes = o.attributes ?? 0;
  if ((attributes & 7) === 1) payload = zlib.gzipSync(payload);
  const w = new Writer()
    .int64(o.baseOffset ?? 0n).int32(0).int32(0).int8(2).uint32(0)
    .int16(attributes).int32(records.length - 1).int64(baseTimestamp).int64(baseTimestamp + BigInt(maxDelta))
    .int64(o.producerId ?? -1n).int16(o.producerEpoch ?? -1).int32(o.baseSequence ?? -1)
    .int32(records.length).raw(payload);
  const batch = w.toBuffer();
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeUInt32BE(crc32c(batch.subarray(21)) >>> 0, 17);
  return batch;
}

export interface DecodedRecord { offset: bigint; timestamp: bigint; key: Buffer | null; value: Buffer | null }
export interface DecodedBatch {
  baseOffset: bigint; lastOffsetDelta: number; attributes: number; producerId: bigint; producerEpoch: number;
  baseSequence: number; crcValid: boolean; byteLength: number; records: DecodedRecord[] | null;
}

/** Decode back-to-back batches; a trailing partial batch is ignored. Records of codecs other than none/gzip are left null. */
export function decodeRecordBatches(buf: Buffer): DecodedBatch[] {
  const out: DecodedBatch[] = [];
  let pos = 0;
  while (pos + 12 <= buf.length) {
    const batchLength = buf.readInt32BE(pos + 8);
    if (batchLength < 49 || pos + 12 + batchLength > buf.length) break;
    const b = buf.subarray(pos, pos + 12 + batchLength);
    const r = new Reader(b);
    const baseOffset = r.int64(); r.int32(); r.int32();
    const magic = r.int8();
    if (magic !== 2) throw new Error(`unexpected magic ${magic} at ${pos}`);
    const crc = r.uint32();
    const attributes = r.int16(); const lastOffsetDelta = r.int32();
    const baseTimestamp = r.int64(); r.int64();
    const producerId = r.int64(); const producerEpoch = r.int16(); const baseSequence = r.int32();
    const count = r.int32();
    const crcValid = (crc32c(b.subarray(21)) >>> 0) === crc;
    let records: DecodedRecord[] | null = null;
    const codec = attributes & 7;
    if (codec === 0 || codec === 1) {
      const data = codec === 0 ? b.subarray(61) : zlib.gunzipSync(b.subarray(61));
      const rr = new Reader(data);
      records = [];
      for (let i = 0; i < count; i++) {
        const len = rr.varint(); const end = rr.pos + len;
        rr.int8();
        const tsDelta = rr.varlong(); const offDelta = rr.varint();
        const kl = rr.varint(); const key = kl < 0 ? null : Buffer.from(rr.raw(kl));
        const vl = rr.varint(); const value = vl < 0 ? null : Buffer.from(rr.raw(vl));
        rr.pos = end;
        records.push({ offset: baseOffset + BigInt(offDelta), timestamp: baseTimestamp + tsDelta, key, value });
      }
    }
    out.push({ baseOffset, lastOffsetDelta, attributes, producerId, producerEpoch, baseSequence, crcValid, byteLength: b.length, records });
    pos += 12 + batchLength;
  }
  return out;
}
