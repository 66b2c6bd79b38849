// A Kafka-protocol client connection from one broker to another, for replication (Fetch and
// OffsetForLeaderEpoch with this broker's id as the replica id). Replication rides on the same wire
// protocol and listener as clients, as in Kafka; this is the only client the broker itself needs, so
// it is a few lines over the generated codecs rather than a client library.
import { connect, type Socket } from 'node:net';
import { encodeRequest, decodeResponseFrame } from '../../protocol/frame.ts';

export interface PeerConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  /** Largest response frame accepted; a bigger size prefix closes the connection. */
  maxFrameBytes: number;
  connectTimeoutMs: number;
}

interface Pending {
  apiKey: number;
  apiVersion: number;
  resolve: (frame: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** One TCP connection; requests are pipelined and matched to responses by correlation id. */
export class PeerConnection {
  private socket: Socket | null = null;
  private connecting: Promise<Socket> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private closed = false;

  constructor(private readonly opts: PeerConnectionOptions) {}

  /** Sends one request and resolves with the decoded response body; rejects on timeout or connection loss. */
  async request<T>(apiKey: number, apiVersion: number, body: object, timeoutMs: number): Promise<T> {
    const socket = await this.connect();
    const correlationId = this.nextCorrelationId++ & 0x7fffffff;
    const frame = encodeRequest(apiKey, apiVersion, correlationId, this.opts.clientId, body);
    const responseFrame = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new Error(`request ${apiKey} v${apiVersion} to ${this.opts.host}:${this.opts.port} timed out after ${timeoutMs} ms`));
        // A late response would be unmatched; a fresh connection keeps the stream simple.
        this.reset(new Error('connection reset after a timed-out request'));
      }, timeoutMs);
      this.pending.set(correlationId, { apiKey, apiVersion, resolve, reject, timer });
      socket.write(frame);
    });
    return decodeResponseFrame<T>(apiKey, apiVersion, responseFrame).body;
  }

  private connect(): Promise<Socket> {
    if (this.closed) return Promise.reject(new Error('peer connection closed'));
    if (this.socket) return Promise.resolve(this.socket);
    this.connecting ??= new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: this.opts.host, port: this.opts.port, noDelay: true });
      const timer = setTimeout(() => socket.destroy(new Error(`connect to ${this.opts.host}:${this.opts.port} timed out`)), this.opts.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        this.socket = socket;
        this.connecting = null;
        resolve(socket);
      });
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      socket.on('error', () => undefined); // 'close' follows and carries the outcome
      socket.once('close', () => {
        clearTimeout(timer);
        if (this.connecting) {
          this.connecting = null;
          reject(new Error(`cannot connect to ${this.opts.host}:${this.opts.port}`));
        }
        if (this.socket === socket) this.reset(new Error(`connection to ${this.opts.host}:${this.opts.port} closed`));
      });
    });
    return this.connecting;
  }

  private onData(chunk: Buffer): void {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    while (this.bufferedBytes >= 4) {
      const head = this.buffered.length === 1 ? this.buffered[0] : Buffer.concat(this.buffered);
      this.buffered = [head];
      const size = head.readInt32BE(0);
      if (size < 4 || size > this.opts.maxFrameBytes) {
        this.reset(new Error(`response frame of ${size} bytes from ${this.opts.host}:${this.opts.port} is outside 4..${this.opts.maxFrameBytes}`));
        return;
      }
      if (head.length < 4 + size) return;
      const frame = head.subarray(0, 4 + size);
      const rest = head.subarray(4 + size);
      this.buffered = rest.length > 0 ? [rest] : [];
      this.bufferedBytes = rest.length;
      const correlationId = frame.readInt32BE(4);
      const p = this.pending.get(correlationId);
      if (!p) continue; // the answer to a request that already timed out
      this.pending.delete(correlationId);
      clearTimeout(p.timer);
      p.resolve(frame);
    }
  }

  private reset(err: Error): void {
    const socket = this.socket;
    this.socket = null;
    this.buffered = [];
    this.bufferedBytes = 0;
    socket?.destroy();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  close(): void {
    this.closed = true;
    this.reset(new Error('peer connection closed'));
  }
}
