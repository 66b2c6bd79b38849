import type { Socket } from 'node:net';
import { Reader, ProtocolError } from '../protocol/wire.ts';
import { decodeRequestHeader } from '../protocol/frame.ts';
import type { MemoryPool } from './memory-pool.ts';

/** What the connection layer needs to know about one decoded request header. */
export interface RequestHeaderInfo {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/**
 * Handles one request frame. Returns the response frame as chunks (size prefix included), or null
 * when the request gets no response (Produce with acks=0). Throwing closes the connection, which is
 * what Kafka does with a request it cannot parse.
 */
export type FrameHandler = (header: RequestHeaderInfo, body: Reader, conn: ConnectionInfo) => Promise<Buffer[] | null> | Buffer[] | null;

export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Set when the socket is gone, so long polls can stop waiting for it. */
  readonly closed: boolean;
}

export interface ConnectionLimits {
  maxFrameBytes: number;
  maxQueuedRequests: number;
  maxPendingResponseBytes: number;
  /** Shared by all connections: bounds the request bytes held across the whole broker. */
  pool: MemoryPool;
}

const SIZE_PREFIX_BYTES = 4;

/**
 * One client connection: splits the byte stream into size-prefixed frames, handles them strictly
 * one at a time and writes responses in request order (Kafka mutes a channel while a request is in
 * flight; clients such as idempotent producers rely on that ordering).
 *
 * Memory is bounded four ways: a frame larger than maxFrameBytes closes the connection before its
 * body is buffered; at most maxQueuedRequests frames wait behind the one being handled (then the
 * socket is paused, so TCP pushes back on the client); a client that does not read its responses
 * stops being served once maxPendingResponseBytes are queued for it; and all connections together
 * hold at most the memory pool's budget of unanswered request bytes.
 */
export class Connection implements ConnectionInfo {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly queue: Buffer[] = [];
  /** Bytes reserved in the shared pool for the frame being received (0 = none yet). */
  private reservedForIncoming = 0;
  private busy = false;
  private pausedForQueue = false;
  private pausedForPool = false;
  /** Bytes reserved in the shared pool and not yet released (incoming, queued and in-flight frames). */
  private reservedBytes = 0;
  private readonly resumeFromPool = (): void => {
    this.pausedForPool = false;
    if (this.closed) return;
    if (!this.pausedForQueue) this.socket.resume();
    this.parseFrames();
  };
  closed = false;
  readonly remoteAddress: string;
  readonly remotePort: number;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly limits: ConnectionLimits,
    private readonly handler: FrameHandler,
    private readonly log: (line: string) => void,
    private readonly onClose: (conn: Connection) => void,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '?';
    this.remotePort = socket.remotePort ?? 0;
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  private describe(): string {
    return `connection ${this.id} from ${this.remoteAddress}:${this.remotePort}`;
  }

  private onData(data: Buffer): void {
    if (this.closed) return;
    this.chunks.push(data);
    this.bufferedBytes += data.length;
    this.parseFrames();
  }

  private parseFrames(): void {
    while (!this.pausedForPool && this.bufferedBytes >= SIZE_PREFIX_BYTES) {
      const size = this.peekSize();
      if (size < 0 || size > this.limits.maxFrameBytes) {
        this.log(`${this.describe()}: frame size ${size} outside 0..${this.limits.maxFrameBytes} bytes; closing`);
        this.close();
        return;
      }
      if (this.reservedForIncoming === 0) {
        const frameBytes = SIZE_PREFIX_BYTES + size;
        if (!this.limits.pool.tryReserve(frameBytes)) {
          this.pausedForPool = true;
          this.socket.pause();
          this.limits.pool.waitForRoom(this.resumeFromPool);
          break;
        }
        this.reservedForIncoming = frameBytes;
        this.reservedBytes += frameBytes;
      }
      if (this.bufferedBytes < SIZE_PREFIX_BYTES + size) break;
      const frame = this.take(SIZE_PREFIX_BYTES + size).subarray(SIZE_PREFIX_BYTES);
      this.reservedForIncoming = 0;
      this.queue.push(frame);
    }
    if (this.queue.length > this.limits.maxQueuedRequests && !this.pausedForQueue) {
      this.pausedForQueue = true;
      this.socket.pause();
    }
    void this.pump();
  }

  private peekSize(): number {
    const first = this.chunks[0];
    if (first.length >= SIZE_PREFIX_BYTES) return first.readInt32BE(0);
    const head = Buffer.concat(this.chunks, Math.min(this.bufferedBytes, 16));
    return head.readInt32BE(0);
  }

  /** Removes and returns the next `bytes` bytes of the stream, copying only when they span chunks. */
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
        const chunk = this.chunks[0];
        const n = Math.min(chunk.length, bytes - filled);
        chunk.copy(out, filled, 0, n);
        filled += n;
        if (n === chunk.length) this.chunks.shift();
        else this.chunks[0] = chunk.subarray(n);
      }
    }
    this.bufferedBytes -= bytes;
    return out;
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        const frame = this.queue.shift()!;
        if (this.pausedForQueue && this.queue.length <= this.limits.maxQueuedRequests / 2) {
          this.pausedForQueue = false;
          if (!this.pausedForPool) this.socket.resume();
        }
        await this.handleFrame(frame);
        this.release(frame.length + SIZE_PREFIX_BYTES);
        if (this.socket.writableLength > this.limits.maxPendingResponseBytes) await this.waitForDrain();
      }
    } finally {
      this.busy = false;
    }
  }

  private waitForDrain(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  private async handleFrame(frame: Buffer): Promise<void> {
    const reader = new Reader(frame);
    let header: RequestHeaderInfo;
    try {
      header = decodeRequestHeader(reader);
    } catch (err) {
      this.log(`${this.describe()}: unreadable request header (${errorText(err)}); closing`);
      this.close();
      return;
    }
    let response: Buffer[] | null;
    try {
      response = await this.handler(header, reader, this);
    } catch (err) {
      const what = err instanceof ProtocolError ? 'malformed request' : 'request failed';
      this.log(
        `${this.describe()}: ${what} (api ${header.apiKey} v${header.apiVersion}, correlation ${header.correlationId}, client ${header.clientId ?? '-'}): ${errorText(err)}; closing`,
      );
      this.close();
      return;
    }
    if (response === null || this.closed) return;
    this.socket.cork();
    for (const chunk of response) this.socket.write(chunk);
    this.socket.uncork();
  }

  private release(bytes: number): void {
    const n = Math.min(bytes, this.reservedBytes);
    this.reservedBytes -= n;
    this.limits.pool.release(n);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.limits.pool.forget(this.resumeFromPool);
    this.release(this.reservedBytes);
    this.queue.length = 0;
    this.chunks = [];
    this.bufferedBytes = 0;
    this.socket.destroy();
    this.onClose(this);
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
