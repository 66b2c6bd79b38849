// Framing for controller traffic (controller <-> controller Raft messages, broker -> controller RPCs):
// [length: u32 BE][UTF-8 JSON of that many bytes]. JSON keeps the wire readable and matches the Raft
// log's payloads; the traffic is small (metadata, not records), so its cost does not matter.
//
// A length over the limit is refused before any of the frame is buffered, so a peer can make us hold
// at most maxFrameBytes + 4 bytes per connection (maxFrameBytesBeforeAuth + 4 until it has proved the
// cluster secret); the connection is closed with the reason logged.
//
// Once a connection is authenticated (auth.ts), enableMac() makes every frame
// [length][MAC_BYTES tag][JSON], the tag covering a per-direction sequence number and the JSON.
import type { Socket } from 'node:net';
import { FrameMac, MAC_BYTES } from './auth.ts';

/** Default bound on one frame's payload: large enough for a whole-state metadata snapshot. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
const LENGTH_BYTES = 4;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class FrameError extends Error {}

/** Encodes one value as a frame; throws a RangeError when it would exceed maxFrameBytes. */
export function encodeFrame(value: unknown, maxFrameBytes: number): Buffer {
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxFrameBytes) throw new RangeError(`frame of ${bytes} bytes exceeds the limit of ${maxFrameBytes} bytes`);
  const frame = Buffer.allocUnsafe(LENGTH_BYTES + bytes);
  frame.writeUInt32BE(bytes, 0);
  frame.write(json, LENGTH_BYTES, 'utf8');
  return frame;
}

/** Splits a byte stream into frame payloads. Throws FrameError on a length outside 1..maxFrameBytes. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(public maxFrameBytes: number) {
    if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > 2 ** 32 - 1) throw new RangeError(`maxFrameBytes must be an integer in 1..${2 ** 32 - 1}, got ${maxFrameBytes}`);
  }

  push(chunk: Buffer): Buffer[] {
    this.append(chunk);
    const frames: Buffer[] = [];
    for (let f = this.next(); f !== null; f = this.next()) frames.push(f);
    return frames;
  }

  /** Buffers bytes without splitting them; next() takes frames one at a time (the limit may change in between). */
  append(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete frame's payload, or null. Throws FrameError on a length outside 1..maxFrameBytes. */
  next(): Buffer | null {
    if (this.buffered < LENGTH_BYTES) return null;
    const first = this.chunks[0];
    const size = (first.length >= LENGTH_BYTES ? first : Buffer.concat(this.chunks, LENGTH_BYTES)).readUInt32BE(0);
    if (size === 0 || size > this.maxFrameBytes) {
      this.chunks = [];
      this.buffered = 0;
      throw new FrameError(`frame length ${size} is outside 1..${this.maxFrameBytes} bytes`);
    }
    if (this.buffered < LENGTH_BYTES + size) return null;
    return this.take(LENGTH_BYTES + size).subarray(LENGTH_BYTES);
  }

  /** Removes and returns the next `bytes` bytes, copying only when they span chunks. */
  private take(bytes: number): Buffer {
    const first = this.chunks[0];
    let out: Buffer;
    if (first.length >= bytes) {
      out = first.subarray(0, bytes);
      if (first.length === bytes) this.chunks.shift();
      else this.chunks[0] = first.subarray(bytes);
    } else {
      out = Buffer.allocUnsafe(bytes);
      let filled = 0;
      while (filled < bytes) {
        const c = this.chunks[0];
        const n = Math.min(c.length, bytes - filled);
        c.copy(out, filled, 0, n);
        filled += n;
        if (n === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(n);
      }
    }
    this.buffered -= bytes;
    return out;
  }
}

export interface FramedSocketOptions {
  readonly maxFrameBytes: number;
  /**
   * Largest frame before enableMac(): the handshake's frames are small, so a peer that has not
   * proved the cluster secret can make us buffer only this much. Default maxFrameBytes.
   */
  readonly maxFrameBytesBeforeAuth?: number;
  /** Bytes written but not yet taken by the kernel; beyond this the peer is not reading and is dropped. */
  readonly maxPendingWriteBytes: number;
  /** Names the connection in log lines. */
  readonly describe: string;
  readonly log: (line: string) => void;
  /** Called with each decoded JSON value; throwing closes the connection with the error as the reason. */
  readonly onMessage: (value: unknown) => void;
  readonly onClose: () => void;
}

/** A socket carrying JSON frames both ways. Bad input (oversized frame, invalid JSON) closes it with a logged reason. */
export class FramedSocket {
  private readonly decoder: FrameDecoder;
  private isClosed = false;
  private sendMac: FrameMac | null = null;
  private recvMac: FrameMac | null = null;

  constructor(
    readonly socket: Socket,
    private readonly options: FramedSocketOptions,
  ) {
    this.decoder = new FrameDecoder(Math.min(options.maxFrameBytes, options.maxFrameBytesBeforeAuth ?? options.maxFrameBytes));
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Bytes queued in the socket, for senders that hold back instead of piling up. */
  get pendingWriteBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * From now on every frame sent carries a MAC under sendKey and every frame received must carry
   * one under recvKey, each with its own sequence number; a frame that fails the check closes the connection.
   */
  enableMac(sendKey: Buffer, recvKey: Buffer): void {
    this.sendMac = new FrameMac(sendKey);
    this.recvMac = new FrameMac(recvKey);
    this.decoder.maxFrameBytes = this.options.maxFrameBytes + MAC_BYTES;
  }

  /** Sends one value; false when the connection is closed (or was just closed for not reading). */
  send(value: unknown): boolean {
    return this.writeFrame(encodeFrame(value, this.options.maxFrameBytes));
  }

  /** Writes an already encoded frame (see encodeFrame). */
  writeFrame(frame: Buffer): boolean {
    if (this.isClosed) return false;
    if (this.sendMac) {
      const payload = frame.subarray(4);
      const head = Buffer.allocUnsafe(4);
      head.writeUInt32BE(payload.length + MAC_BYTES, 0);
      frame = Buffer.concat([head, this.sendMac.next(payload), payload]);
    }
    if (this.socket.writableLength + frame.length > this.options.maxPendingWriteBytes) {
      this.close(`peer is not reading: ${this.socket.writableLength} bytes already queued to it (limit ${this.options.maxPendingWriteBytes})`);
      return false;
    }
    this.socket.write(frame);
    return true;
  }

  /** Closes the connection; a reason is logged. */
  close(reason?: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (reason !== undefined) this.options.log(`${this.options.describe}: ${reason}; closing`);
    this.socket.destroy();
    this.options.onClose();
  }

  private onData(data: Buffer): void {
    if (this.isClosed) return;
    this.decoder.append(data);
    // One frame at a time: handling one (the handshake's last) may raise the frame limit for the next.
    for (;;) {
      if (this.isClosed) return;
      let frame: Buffer | null;
      try {
        frame = this.decoder.next();
      } catch (err) {
        this.close((err as Error).message);
        return;
      }
      if (frame === null) return;
      if (this.recvMac) {
        const tag = frame.subarray(0, MAC_BYTES);
        frame = frame.subarray(MAC_BYTES);
        if (tag.length < MAC_BYTES || frame.length === 0 || !this.recvMac.check(tag, frame)) {
          this.close('frame MAC check failed (a forged, altered, replayed or reordered frame, or a peer with another cluster secret)');
          return;
        }
      } else if (frame.length > this.options.maxFrameBytes) {
        this.close(`frame length ${frame.length} is outside 1..${this.options.maxFrameBytes} bytes`);
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(utf8.decode(frame));
      } catch (err) {
        this.close(`frame of ${frame.length} bytes is not valid UTF-8 JSON (${(err as Error).message})`);
        return;
      }
      try {
        this.options.onMessage(value);
      } catch (err) {
        this.close((err as Error).message);
        return;
      }
    }
  }
}
