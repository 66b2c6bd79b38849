// Growable, chunked writer of Kafka wire primitives. Records are appended by reference.

const TWO_POW_32 = 0x1_0000_0000;
const INT64_MAX_AS_NUMBER = 2 ** 63;
const MAX_UNSIGNED_VARINT = 0xffff_ffff;
/** A slab grown past this multiple of the initial capacity is dropped once its message is handed out. */
const MAX_RETAINED_SLAB_FACTOR = 64;

function checkRange(value: number, min: number, max: number, type: string): void {
  // Written so that NaN and undefined (a missing field) fail too.
  if (!(value >= min && value <= max)) throw new RangeError(`${type} value out of range: ${String(value)}`);
}

/**
 * Growable output buffer that can also hold buffers by reference (records).
 *
 * Bytes are written into a scratch slab. writeRecordsRef closes the current slab segment and appends
 * the caller's buffers to the chunk list as they are. toChunks()/toBuffer() hand the message out and
 * start the next message after it in the same slab; handed-out bytes are never overwritten, so one
 * Writer can be reused for many messages.
 */
export class Writer {
  private slab: Buffer;
  private pos = 0;
  /** First slab byte of the current message not yet moved into `chunks`. */
  private segmentStart = 0;
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private openTaggedFields = 0;

  constructor(private readonly initialCapacityBytes = 256) {
    this.slab = Buffer.allocUnsafe(initialCapacityBytes);
  }

  /** Bytes written so far for the current message, including referenced chunks. */
  get length(): number {
    return this.chunkBytes + this.pos - this.segmentStart;
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes > this.slab.length) this.grow(bytes);
  }

  private grow(bytes: number): void {
    const used = this.pos - this.segmentStart;
    const capacity = Math.max(this.initialCapacityBytes, 2 * (used + bytes));
    const next = Buffer.allocUnsafe(capacity);
    this.slab.copy(next, 0, this.segmentStart, this.pos);
    this.slab = next;
    this.segmentStart = 0;
    this.pos = used;
  }

  writeInt8(value: number): void {
    checkRange(value, -0x80, 0x7f, 'int8');
    this.ensure(1);
    this.slab[this.pos++] = value;
  }

  writeBool(value: boolean): void {
    this.ensure(1);
    this.slab[this.pos++] = value ? 1 : 0;
  }

  writeInt16(value: number): void {
    checkRange(value, -0x8000, 0x7fff, 'int16');
    this.put16(value);
  }

  writeUInt16(value: number): void {
    checkRange(value, 0, 0xffff, 'uint16');
    this.put16(value);
  }

  writeInt32(value: number): void {
    checkRange(value, -0x8000_0000, 0x7fff_ffff, 'int32');
    this.put32(value);
  }

  writeUInt32(value: number): void {
    checkRange(value, 0, 0xffff_ffff, 'uint32');
    this.put32(value);
  }

  private put16(value: number): void {
    this.ensure(2);
    const slab = this.slab;
    const p = this.pos;
    slab[p] = value >>> 8;
    slab[p + 1] = value;
    this.pos = p + 2;
  }

  private put32(value: number): void {
    this.ensure(4);
    const slab = this.slab;
    const p = this.pos;
    slab[p] = value >>> 24;
    slab[p + 1] = value >>> 16;
    slab[p + 2] = value >>> 8;
    slab[p + 3] = value;
    this.pos = p + 4;
  }

  /** int64 from a JS number: truncated toward zero, clamped to the int64 range; NaN is an error. */
  writeInt64(value: number): void {
    if (Number.isNaN(value) || typeof value !== 'number') throw new RangeError(`int64 value is not a number: ${String(value)}`);
    let high: number;
    let low: number;
    if (value >= INT64_MAX_AS_NUMBER) {
      high = 0x7fff_ffff;
      low = 0xffff_ffff;
    } else if (value < -INT64_MAX_AS_NUMBER) {
      high = -0x8000_0000;
      low = 0;
    } else {
      const integer = Math.trunc(value);
      high = Math.floor(integer / TWO_POW_32);
      low = integer - high * TWO_POW_32;
    }
    this.put32(high);
    this.put32(low);
  }

  writeFloat64(value: number): void {
    this.ensure(8);
    this.pos = this.slab.writeDoubleBE(value, this.pos);
  }

  writeUuid(uuid: Buffer): void {
    if (uuid.length !== 16) throw new Error(`uuid must be 16 bytes, got ${uuid.length}`);
    this.writeRaw(uuid);
  }

  writeUnsignedVarint(value: number): void {
    if (!(value >= 0 && value <= MAX_UNSIGNED_VARINT)) throw new RangeError(`unsigned varint out of range: ${value}`);
    this.ensure(5);
    const slab = this.slab;
    let rest = value;
    while (rest >= 0x80) {
      slab[this.pos++] = (rest & 0x7f) | 0x80;
      rest = Math.floor(rest / 128);
    }
    slab[this.pos++] = rest;
  }

  /** Zigzag-encoded signed 32-bit varint. */
  writeVarint(value: number): void {
    this.writeUnsignedVarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  /** Copies bytes into the output. */
  writeRaw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.slab.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /**
   * Writes UTF-8 after a length prefix of `prefixBytes` (2: int16; 1: one-byte uvarint of length+1),
   * with one native call: reserve the worst case, write, then fill in the prefix.
   */
  private writeUtf8Prefixed(value: string, prefixBytes: 1 | 2): boolean {
    if (value.length > 0x7fff) throw new RangeError(`string of ${value.length} characters exceeds the int16 length limit`);
    const maxBytes = value.length * 3;
    if (prefixBytes === 1 && maxBytes + 1 >= 0x80) return false;
    this.ensure(prefixBytes + maxBytes);
    const start = this.pos + prefixBytes;
    const byteLength = this.slab.write(value, start, 'utf8');
    if (byteLength > 0x7fff) throw new RangeError(`string of ${byteLength} bytes exceeds the int16 length limit`);
    if (prefixBytes === 2) {
      this.slab[this.pos] = byteLength >>> 8;
      this.slab[this.pos + 1] = byteLength;
    } else {
      this.slab[this.pos] = byteLength + 1;
    }
    this.pos = start + byteLength;
    return true;
  }

  writeString(value: string): void {
    this.writeUtf8Prefixed(value, 2);
  }

  writeNullableString(value: string | null): void {
    if (value === null) this.writeInt16(-1);
    else this.writeString(value);
  }

  writeCompactString(value: string): void {
    if (this.writeUtf8Prefixed(value, 1)) return;
    const byteLength = Buffer.byteLength(value, 'utf8');
    if (byteLength > 0x7fff) throw new RangeError(`string of ${byteLength} bytes exceeds the int16 length limit`);
    this.writeUnsignedVarint(byteLength + 1);
    this.ensure(byteLength);
    this.pos += this.slab.write(value, this.pos, byteLength, 'utf8');
  }

  writeCompactNullableString(value: string | null): void {
    if (value === null) this.writeUnsignedVarint(0);
    else this.writeCompactString(value);
  }

  writeBytes(value: Uint8Array): void {
    this.writeInt32(value.length);
    this.writeRaw(value);
  }

  writeNullableBytes(value: Uint8Array | null): void {
    if (value === null) this.writeInt32(-1);
    else this.writeBytes(value);
  }

  writeCompactBytes(value: Uint8Array): void {
    this.writeUnsignedVarint(value.length + 1);
    this.writeRaw(value);
  }

  writeCompactNullableBytes(value: Uint8Array | null): void {
    if (value === null) this.writeUnsignedVarint(0);
    else this.writeCompactBytes(value);
  }

  /** int32 element count; -1 writes a null array. */
  writeArrayLength(count: number): void {
    this.writeInt32(count);
  }

  /** uvarint (count + 1); -1 writes a null array. */
  writeCompactArrayLength(count: number): void {
    this.writeUnsignedVarint(count + 1);
  }

  /** An empty tag buffer (a single 0x00). */
  writeEmptyTaggedFields(): void {
    this.ensure(1);
    this.slab[this.pos++] = 0;
  }

  /**
   * Starts one tagged field: writes the tag and reserves one byte for the size.
   * Returns a mark for endTaggedField. Records may not be written inside a tagged field.
   */
  beginTaggedField(tag: number): number {
    this.writeUnsignedVarint(tag);
    this.ensure(1);
    const mark = this.pos - this.segmentStart;
    this.pos++;
    this.openTaggedFields++;
    return mark;
  }

  /** Writes the size of the tagged field begun at `mark`, moving the value if the size needs >1 byte. */
  endTaggedField(mark: number): void {
    this.openTaggedFields--;
    const sizeAt = this.segmentStart + mark;
    const valueStart = sizeAt + 1;
    const sizeBytes = this.pos - valueStart;
    if (sizeBytes < 0x80) {
      this.slab[sizeAt] = sizeBytes;
      return;
    }
    let varintBytes = 1;
    for (let rest = sizeBytes; rest >= 0x80; rest = Math.floor(rest / 128)) varintBytes++;
    const extra = varintBytes - 1;
    this.ensure(extra); // may move the slab; recompute positions from the mark
    const start = this.segmentStart + mark + 1;
    this.slab.copyWithin(start + extra, start, this.pos);
    this.pos += extra;
    const end = this.pos;
    this.pos = start - 1;
    this.writeUnsignedVarint(sizeBytes);
    this.pos = end;
  }

  /**
   * Writes a records field: the length prefix (int32, or uvarint length+1 when compact; null as -1 / 0),
   * then appends the buffers to the output by reference, without copying them.
   */
  writeRecordsRef(records: Buffer | readonly Buffer[] | null, compact: boolean): void {
    if (records === null) {
      if (compact) this.writeUnsignedVarint(0);
      else this.writeInt32(-1);
      return;
    }
    if (this.openTaggedFields > 0) throw new Error('records cannot be written inside a tagged field');
    let totalBytes: number;
    if (Buffer.isBuffer(records)) {
      totalBytes = records.length;
    } else {
      totalBytes = 0;
      for (let i = 0; i < records.length; i++) totalBytes += records[i].length;
    }
    if (compact) this.writeUnsignedVarint(totalBytes + 1);
    else this.writeInt32(totalBytes);
    if (totalBytes === 0) return;
    this.closeSegment();
    if (Buffer.isBuffer(records)) {
      this.chunks.push(records);
    } else {
      for (let i = 0; i < records.length; i++) if (records[i].length > 0) this.chunks.push(records[i]);
    }
    this.chunkBytes += totalBytes;
  }

  private closeSegment(): void {
    if (this.pos > this.segmentStart) {
      this.chunks.push(this.slab.subarray(this.segmentStart, this.pos));
      this.chunkBytes += this.pos - this.segmentStart;
      this.segmentStart = this.pos;
    }
  }

  /** Hands out the current message as chunks (slab views and referenced buffers) and starts a new message. */
  toChunks(): Buffer[] {
    if (this.openTaggedFields > 0) throw new Error('unterminated tagged field');
    this.closeSegment();
    const chunks = this.chunks;
    this.chunks = [];
    this.chunkBytes = 0;
    if (this.slab.length > MAX_RETAINED_SLAB_FACTOR * this.initialCapacityBytes) {
      // A huge message grew the slab; do not keep serving small messages from it.
      this.slab = Buffer.allocUnsafe(this.initialCapacityBytes);
      this.pos = 0;
      this.segmentStart = 0;
    }
    return chunks;
  }

  /** The current message as one buffer (no copy when it is a single chunk), and starts a new message. */
  toBuffer(): Buffer {
    const totalBytes = this.length;
    const chunks = this.toChunks();
    if (chunks.length === 1) return chunks[0];
    return Buffer.concat(chunks, totalBytes);
  }

  /** Discards the current message (e.g. after an encode error). */
  reset(): void {
    this.pos = this.segmentStart;
    this.chunks = [];
    this.chunkBytes = 0;
    this.openTaggedFields = 0;
  }
}
