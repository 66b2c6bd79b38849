// Bounds-checked reader of Kafka wire primitives. Every read checks the bytes left first and throws
// ProtocolError (never RangeError); lengths and counts are checked before anything is allocated.

/** Malformed or truncated input. The message names what was being read and the byte offset. */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte offset ${offset})`);
    this.name = 'ProtocolError';
  }
}

const TWO_POW_32 = 0x1_0000_0000;
const MAX_UNSIGNED_VARINT = 0xffff_ffff;

export class Reader {
  /** Next byte to read. */
  offset: number;
  /** One past the last readable byte; narrowed temporarily while reading a tagged field. */
  private end: number;

  constructor(
    readonly buffer: Buffer,
    offset = 0,
    end = buffer.length,
  ) {
    if (offset < 0 || end > buffer.length || offset > end) {
      throw new RangeError(`invalid reader window ${offset}..${end} over ${buffer.length} bytes`);
    }
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(bytes: number, what: string): void {
    if (bytes > this.end - this.offset) {
      throw new ProtocolError(`truncated ${what}: need ${bytes} bytes, ${this.end - this.offset} left`, this.offset);
    }
  }

  skip(bytes: number): void {
    if (!(bytes >= 0)) throw new RangeError(`cannot skip ${bytes} bytes`);
    this.need(bytes, 'skipped bytes');
    this.offset += bytes;
  }

  readInt8(): number {
    this.need(1, 'int8');
    const b = this.buffer[this.offset++];
    return (b << 24) >> 24;
  }

  readBool(): boolean {
    this.need(1, 'bool');
    return this.buffer[this.offset++] !== 0;
  }

  readInt16(): number {
    this.need(2, 'int16');
    const b = this.buffer;
    const o = this.offset;
    this.offset = o + 2;
    return (((b[o] << 8) | b[o + 1]) << 16) >> 16;
  }

  readUInt16(): number {
    this.need(2, 'uint16');
    const b = this.buffer;
    const o = this.offset;
    this.offset = o + 2;
    return (b[o] << 8) | b[o + 1];
  }

  readInt32(): number {
    this.need(4, 'int32');
    const b = this.buffer;
    const o = this.offset;
    this.offset = o + 4;
    return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
  }

  readUInt32(): number {
    return this.readInt32() >>> 0;
  }

  /** int64 as a JS number; values beyond ±2^53 are rounded to the nearest double. */
  readInt64(): number {
    this.need(8, 'int64');
    const b = this.buffer;
    const o = this.offset;
    this.offset = o + 8;
    const high = (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
    const low = ((b[o + 4] << 24) | (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]) >>> 0;
    return high * TWO_POW_32 + low;
  }

  readFloat64(): number {
    this.need(8, 'float64');
    const value = this.buffer.readDoubleBE(this.offset);
    this.offset += 8;
    return value;
  }

  /** A 16-byte view into the input (not a copy). */
  readUuid(): Buffer {
    this.need(16, 'uuid');
    const o = this.offset;
    this.offset = o + 16;
    return this.buffer.subarray(o, o + 16);
  }

  readUnsignedVarint(): number {
    const b = this.buffer;
    if (this.offset < this.end && b[this.offset] < 0x80) return b[this.offset++]; // one-byte fast path
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.offset >= this.end) throw new ProtocolError('truncated unsigned varint', this.offset);
      const byte = b[this.offset++];
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) {
        if (value > MAX_UNSIGNED_VARINT) throw new ProtocolError('unsigned varint exceeds 32 bits', this.offset);
        return value;
      }
    }
    throw new ProtocolError('unsigned varint longer than 5 bytes', this.offset);
  }

  /** Zigzag-encoded signed 32-bit varint. */
  readVarint(): number {
    const raw = this.readUnsignedVarint();
    return (raw >>> 1) ^ -(raw & 1);
  }

  private utf8(length: number, what: string): string {
    this.need(length, what);
    const start = this.offset;
    this.offset = start + length;
    return this.buffer.toString('utf8', start, start + length);
  }

  private view(length: number, what: string): Buffer {
    this.need(length, what);
    const start = this.offset;
    this.offset = start + length;
    return this.buffer.subarray(start, start + length);
  }

  readString(): string {
    const at = this.offset;
    const length = this.readInt16();
    if (length < 0) throw new ProtocolError(`non-nullable string has length ${length}`, at);
    return this.utf8(length, 'string');
  }

  readNullableString(): string | null {
    const at = this.offset;
    const length = this.readInt16();
    if (length === -1) return null;
    if (length < 0) throw new ProtocolError(`string has invalid length ${length}`, at);
    return this.utf8(length, 'string');
  }

  readCompactString(): string {
    const at = this.offset;
    const lengthPlusOne = this.readUnsignedVarint();
    if (lengthPlusOne === 0) throw new ProtocolError('non-nullable compact string is null', at);
    return this.utf8(lengthPlusOne - 1, 'compact string');
  }

  readCompactNullableString(): string | null {
    const lengthPlusOne = this.readUnsignedVarint();
    if (lengthPlusOne === 0) return null;
    return this.utf8(lengthPlusOne - 1, 'compact string');
  }

  /** int32-length bytes, returned as a view into the input. Also used for records. */
  readBytes(): Buffer {
    const at = this.offset;
    const length = this.readInt32();
    if (length < 0) throw new ProtocolError(`non-nullable bytes have length ${length}`, at);
    return this.view(length, 'bytes');
  }

  readNullableBytes(): Buffer | null {
    const at = this.offset;
    const length = this.readInt32();
    if (length === -1) return null;
    if (length < 0) throw new ProtocolError(`bytes have invalid length ${length}`, at);
    return this.view(length, 'bytes');
  }

  readCompactBytes(): Buffer {
    const at = this.offset;
    const lengthPlusOne = this.readUnsignedVarint();
    if (lengthPlusOne === 0) throw new ProtocolError('non-nullable compact bytes are null', at);
    return this.view(lengthPlusOne - 1, 'compact bytes');
  }

  readCompactNullableBytes(): Buffer | null {
    const lengthPlusOne = this.readUnsignedVarint();
    if (lengthPlusOne === 0) return null;
    return this.view(lengthPlusOne - 1, 'compact bytes');
  }

  private checkCount(count: number, minElementBytes: number, at: number): number {
    if (count * minElementBytes > this.end - this.offset) {
      throw new ProtocolError(
        `array of ${count} elements (>= ${minElementBytes} bytes each) exceeds the ${this.end - this.offset} bytes left`,
        at,
      );
    }
    return count;
  }

  /** int32 element count of a non-nullable array, checked against the bytes left. */
  readArrayLength(minElementBytes: number): number {
    const at = this.offset;
    const count = this.readInt32();
    if (count < 0) throw new ProtocolError(`non-nullable array has length ${count}`, at);
    return this.checkCount(count, minElementBytes, at);
  }

  /** int32 element count; -1 means null. */
  readNullableArrayLength(minElementBytes: number): number {
    const at = this.offset;
    const count = this.readInt32();
    if (count === -1) return -1;
    if (count < 0) throw new ProtocolError(`array has invalid length ${count}`, at);
    return this.checkCount(count, minElementBytes, at);
  }

  /** uvarint (count + 1) of a non-nullable compact array. */
  readCompactArrayLength(minElementBytes: number): number {
    const at = this.offset;
    const countPlusOne = this.readUnsignedVarint();
    if (countPlusOne === 0) throw new ProtocolError('non-nullable compact array is null', at);
    return this.checkCount(countPlusOne - 1, minElementBytes, at);
  }

  /** uvarint (count + 1); returns -1 for null. */
  readCompactNullableArrayLength(minElementBytes: number): number {
    const at = this.offset;
    const countPlusOne = this.readUnsignedVarint();
    if (countPlusOne === 0) return -1;
    return this.checkCount(countPlusOne - 1, minElementBytes, at);
  }

  /** Number of entries in a tag buffer (each entry takes at least 2 bytes: tag and size). */
  readTaggedFieldCount(): number {
    const at = this.offset;
    return this.checkCount(this.readUnsignedVarint(), 2, at);
  }

  /** Skips a whole tag buffer (count, then tag/size/value entries). */
  skipTaggedFields(): void {
    const count = this.readTaggedFieldCount();
    for (let i = 0; i < count; i++) {
      this.readUnsignedVarint(); // tag
      const at = this.offset;
      const sizeBytes = this.readUnsignedVarint();
      if (sizeBytes > this.end - this.offset) {
        throw new ProtocolError(`tagged field of ${sizeBytes} bytes exceeds the ${this.end - this.offset} bytes left`, at);
      }
      this.offset += sizeBytes;
    }
  }

  /**
   * Reads a tagged field's size and confines the reader to its value.
   * Returns the previous end, to hand back to endTaggedField.
   */
  beginTaggedField(): number {
    const at = this.offset;
    const sizeBytes = this.readUnsignedVarint();
    if (sizeBytes > this.end - this.offset) {
      throw new ProtocolError(`tagged field of ${sizeBytes} bytes exceeds the ${this.end - this.offset} bytes left`, at);
    }
    const outerEnd = this.end;
    this.end = this.offset + sizeBytes;
    return outerEnd;
  }

  /** Checks the tagged field value was consumed exactly, then restores the outer end. */
  endTaggedField(outerEnd: number, tag: number): void {
    if (this.offset !== this.end) {
      throw new ProtocolError(`tagged field ${tag} has ${this.end - this.offset} unread bytes`, this.offset);
    }
    this.end = outerEnd;
  }
}
