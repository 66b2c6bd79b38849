import type { Socket } from 'node:net';
import { Reader, ProtocolError } from '../protocol/wire.ts';
import { decodeRequestHeader } from '../protocol/frame.ts';
import type { MemoryPool } from './memory-pool.ts';
import type { BrokerPause, ConnectionActivity, ResponseBudget, TrackedConnection } from './connection-limits.ts';

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
  /**
   * Who this connection acts as, in Kafka's principal form ("User:alice"). "User:ANONYMOUS" until
   * a SASL exchange (or a TLS client certificate) authenticates it; authorisation reads only this.
   */
  principal: string;
  /** Set when the socket is gone, so long polls can stop waiting for it. */
  readonly closed: boolean;
}

export interface ConnectionLimits {
  maxFrameBytes: number;
  maxQueuedRequests: number;
  /** Request bytes one connection may hold (received, queued and being handled) before reading it pauses: its share of the pool. */
  maxRequestBytes: number;
  maxPendingResponseBytes: number;
  /** Shared by all connections: bounds the request bytes held across the whole broker. */
  pool: MemoryPool;
  /** Shared by all connections: bounds the response bytes queued across the whole broker. */
  responses: ResponseBudget;
}

const SIZE_PREFIX_BYTES = 4;

/**
 * One client connection: splits the byte stream into size-prefixed frames, handles them strictly
 * one at a time and writes responses in request order (Kafka mutes a channel while a request is in
 * flight; clients such as idempotent producers rely on that ordering).
 *
 * Memory is bounded on both sides. Requests: a frame larger than maxFrameBytes closes the connection
 * before its body is buffered; bytes count against the shared pool as they arrive (memory-pool.ts
 * says who keeps reading when it is full); reading pauses (TCP then pushes back on the client) when
 * more than maxQueuedRequests frames wait behind the one being handled or the connection holds more
 * than its share, maxRequestBytes. Responses: a connection stops being served and read while more
 * than maxPendingResponseBytes of its responses are unsent, or while it has any unsent and the
 * broker-wide response budget is spent, so clients that do not read cannot run the broker out of memory.
 * The connection reports its activity (connection-limits.ts closes it on a frame-body deadline or
 * when idle, or to make room for a new one).
 */
export class Connection implements ConnectionInfo, TrackedConnection {
  private chunks: Buffer[] = [];
  /** Bytes received and not yet split into frames (the start of the frame being received). */
  private bufferedBytes = 0;
  private readonly queue: Buffer[] = [];
  /** Bytes counted in the shared pool and not yet released (received, queued and in-flight frames). */
  private heldBytes = 0;
  private busy = false;
  private handling = false;
  private queueFull = false;
  private pausedFor: BrokerPause | null = null;
  private pausedSinceMs = 0;
  private frameStartedMs: number | null = null;
  private lastActivityMs = Date.now();
  /** Response bytes written to the socket and not yet taken by the kernel. */
  private queuedResponseBytes = 0;
  private wakePump: (() => void) | null = null;
  /** Called when something this connection may be waiting on changed: pool room, response budget, its own responses draining. */
  private readonly recheck = (): void => {
    if (this.closed) return;
    this.updateReading();
    const wake = this.wakePump;
    this.wakePump = null;
    wake?.();
  };
  closed = false;
  principal = 'User:ANONYMOUS';
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

  describe(): string {
    return `connection ${this.id} from ${this.remoteAddress}:${this.remotePort}`;
  }

  activity(): ConnectionActivity {
    return {
      id: this.id,
      remoteAddress: this.remoteAddress,
      lastActivityMs: this.lastActivityMs,
      frameStartedMs: this.frameStartedMs,
      handlingRequest: this.handling,
      pausedFor: this.pausedFor,
    };
  }

  private onData(data: Buffer): void {
    if (this.closed) return;
    this.lastActivityMs = Date.now();
    this.chunks.push(data);
    this.bufferedBytes += data.length;
    this.heldBytes += data.length;
    this.limits.pool.add(data.length);
    this.parseFrames();
  }

  private parseFrames(): void {
    let completed = false;
    while (this.bufferedBytes >= SIZE_PREFIX_BYTES) {
      const size = this.peekSize();
      if (size < 0 || size > this.limits.maxFrameBytes) {
        this.log(`${this.describe()}: frame size ${size} outside 0..${this.limits.maxFrameBytes} bytes; closing`);
        this.close();
        return;
      }
      if (this.bufferedBytes < SIZE_PREFIX_BYTES + size) break;
      this.queue.push(this.take(SIZE_PREFIX_BYTES + size).subarray(SIZE_PREFIX_BYTES));
      completed = true;
    }
    if (this.bufferedBytes === 0) this.frameStartedMs = null;
    else if (completed || this.frameStartedMs === null) this.frameStartedMs = Date.now();
    if (this.queue.length > this.limits.maxQueuedRequests) this.queueFull = true;
    // A finished frame frees the progress slot for the next connection part-way through one (this
    // one may take it again below if nobody else is waiting for it).
    if (completed) this.limits.pool.yieldProgress(this);
    this.updateReading();
    void this.pump();
  }

  /** Why reading should pause now, or null to read. */
  private pauseReason(): BrokerPause | null {
    if (this.responsesBlocked()) return 'responses';
    if (this.queueFull) return 'queue';
    if (this.heldBytes >= this.limits.maxRequestBytes) return 'share';
    const pool = this.limits.pool;
    if (pool.full && this.heldBytes > 0) {
      const midFrame = this.bufferedBytes > 0;
      if (!midFrame || !pool.claimProgress(this)) return 'pool';
    }
    return null;
  }

  /** Pauses or resumes the socket to match pauseReason(), and registers to hear when that may change. */
  private updateReading(): void {
    if (this.closed) return;
    const reason = this.pauseReason();
    const now = Date.now();
    if (reason !== null && this.pausedFor === null) {
      this.socket.pause();
      this.pausedSinceMs = now;
    } else if (reason === null && this.pausedFor !== null) {
      this.socket.resume();
      // The client could not send while paused: that time does not count against its frame-body deadline.
      if (this.frameStartedMs !== null) this.frameStartedMs += now - this.pausedSinceMs;
    }
    this.pausedFor = reason;
    if (reason === 'pool') this.limits.pool.waitForRoom(this.recheck);
    if (reason === 'responses') this.limits.responses.waitForRoom(this.recheck);
    // Paused for another reason than the pool: let someone else use the progress slot meanwhile.
    if (reason !== null && reason !== 'pool') this.limits.pool.yieldProgress(this);
  }

  private responsesBlocked(): boolean {
    const own = this.queuedResponseBytes;
    return own > this.limits.maxPendingResponseBytes || (own > 0 && this.limits.responses.over);
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
        if (this.responsesBlocked()) {
          this.updateReading();
          await new Promise<void>((resolve) => {
            this.wakePump = resolve;
          });
          continue;
        }
        const frame = this.queue.shift()!;
        if (this.queueFull && this.queue.length <= this.limits.maxQueuedRequests / 2) this.queueFull = false;
        this.updateReading();
        await this.handleFrame(frame);
        this.release(frame.length + SIZE_PREFIX_BYTES);
        this.lastActivityMs = Date.now();
        this.updateReading();
      }
    } finally {
      this.busy = false;
    }
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
    this.handling = true;
    try {
      response = await this.handler(header, reader, this);
    } catch (err) {
      const what = err instanceof ProtocolError ? 'malformed request' : 'request failed';
      this.log(
        `${this.describe()}: ${what} (api ${header.apiKey} v${header.apiVersion}, correlation ${header.correlationId}, client ${header.clientId ?? '-'}): ${errorText(err)}; closing`,
      );
      this.close();
      return;
    } finally {
      this.handling = false;
    }
    if (response === null || this.closed) return;
    this.socket.cork();
    for (const chunk of response) this.write(chunk);
    this.socket.uncork();
  }

  private write(chunk: Buffer): void {
    const bytes = chunk.length;
    this.queuedResponseBytes += bytes;
    this.limits.responses.add(bytes);
    this.socket.write(chunk, () => this.flushed(bytes));
  }

  /** The kernel took `bytes` of our responses (or the socket failed; close() has settled the books then). */
  private flushed(bytes: number): void {
    if (this.closed) return;
    this.queuedResponseBytes -= bytes;
    this.lastActivityMs = Date.now();
    this.limits.responses.remove(bytes);
    if (this.wakePump !== null || this.pausedFor === 'responses') this.recheck();
  }

  private release(bytes: number): void {
    const n = Math.min(bytes, this.heldBytes);
    this.heldBytes -= n;
    this.limits.pool.release(n);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.limits.pool.forget(this.recheck);
    this.limits.responses.forget(this.recheck);
    this.limits.pool.yieldProgress(this);
    this.release(this.heldBytes);
    this.limits.responses.remove(this.queuedResponseBytes);
    this.queuedResponseBytes = 0;
    this.queue.length = 0;
    this.chunks = [];
    this.bufferedBytes = 0;
    this.frameStartedMs = null;
    const wake = this.wakePump;
    this.wakePump = null;
    wake?.();
    this.socket.destroy();
    this.onClose(this);
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
