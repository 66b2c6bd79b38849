// A Kafka-protocol client connection from one broker to another, for replication (Fetch and
// OffsetForLeaderEpoch with this broker's id as the replica id). Replication rides on the same wire
// protocol and listener as clients, as in Kafka; this is the only client the broker itself needs, so
// it is a few lines over the generated codecs rather than a client library.
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { encodeRequest, decodeResponseFrame } from '../../protocol/frame.ts';

export interface PeerConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  /** Largest response frame accepted; a bigger size prefix closes the connection. */
  maxFrameBytes: number;
  connectTimeoutMs: number;
  /** Connect with TLS (the leader's listener is SSL or SASL_SSL): the CAs to trust, and a client certificate if any. */
  tls?: ConnectionOptions | null;
  /**
   * Runs on every new connection before any request: the SASL exchange that makes it an
   * authenticated broker connection (fetcher.ts). `send` issues a request on that connection only.
   */
  authenticate?: (send: <T>(apiKey: number, apiVersion: number, body: object, timeoutMs: number) => Promise<T>) => Promise<void>;
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
    return this.send<T>(await this.connect(), apiKey, apiVersion, body, timeoutMs);
  }

  private async send<T>(socket: Socket, apiKey: number, apiVersion: number, body: object, timeoutMs: number): Promise<T> {
    if (this.socket !== socket) throw new Error(`connection to ${this.opts.host}:${this.opts.port} closed`);
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
      const { host, port, tls } = this.opts;
      const socket = tls ? tlsConnect({ host, port, ...tls, ...(isIP(host) ? {} : { servername: host }) }).setNoDelay(true) : connect({ host, port, noDelay: true });
      const timer = setTimeout(() => socket.destroy(new Error(`connect to ${this.opts.host}:${this.opts.port} timed out`)), this.opts.connectTimeoutMs);
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        this.socket = socket;
        const authenticate = this.opts.authenticate;
        if (!authenticate) {
          this.connecting = null;
          resolve(socket);
          return;
        }
        authenticate((apiKey, apiVersion, body, timeoutMs) => this.send(socket, apiKey, apiVersion, body, timeoutMs)).then(
          () => {
            this.connecting = null;
            if (this.socket === socket) resolve(socket);
            else reject(new Error(`connection to ${this.opts.host}:${this.opts.port} closed during authentication`));
          },
          (err: Error) => {
            this.connecting = null;
            reject(new Error(`authenticating to ${this.opts.host}:${this.opts.port}: ${err.message}`));
            if (this.socket === socket) this.reset(err);
          },
        );
      });
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      // 'close' follows and carries the outcome; the error says why (e.g. the leader's certificate
      // is not signed by --ssl-ca), which an operator needs to see in the fetcher's log.
      let failure: Error | null = null;
      socket.on('error', (err: Error) => void (failure ??= err));
      socket.once('close', () => {
        clearTimeout(timer);
        if (this.connecting && this.socket !== socket) {
          this.connecting = null;
          reject(new Error(`cannot connect to ${this.opts.host}:${this.opts.port}${failure ? `: ${failure.message}` : ''}`));
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

  /** Drops the current connection (failing what waits on it); the next request connects and authenticates afresh. */
  disconnect(why: string): void {
    this.reset(new Error(why));
  }

  close(): void {
    this.closed = true;
    this.reset(new Error('peer connection closed'));
  }
}
