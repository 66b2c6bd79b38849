// One broker -> controller connection of ControllerClient: connects on demand, authenticates with
// the cluster secret (auth.ts: the controller proves it too, so a broker never talks to an impostor),
// matches responses to requests by id. Every wait is bounded by the caller's timeout.
import net from 'node:net';
import { FramedSocket } from './framing.ts';
import type { QuorumVoter } from './quorum.ts';
import { ClientHandshake, HANDSHAKE_MAX_FRAME_BYTES } from './auth.ts';
import { RateLimitedLog } from '../../server/rate-limited-log.ts';
import { ControllerError, responseSchema, type ControllerErrorCode } from './rpc.ts';

/** Requests one connection may have waiting for answers (long polls included). */
export const MAX_PENDING_REQUESTS = 1024;
const CONNECT_TIMEOUT_MS = 3_000;

/** The connection failed or closed before the answer came: try another controller. */
export class ConnectionLost extends Error {}
/** No answer within the time the caller had left. */
export class RequestTimedOut extends Error {}

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class ClientConnection {
  private conn: FramedSocket | null = null;
  private connecting: Promise<void> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private handshake: ClientHandshake | null = null;
  private authenticated: (() => void) | null = null;
  /** Failed handshakes repeat on every retry: a few lines a minute say so. */
  private readonly connLog: RateLimitedLog;

  constructor(
    readonly voter: QuorumVoter,
    private readonly maxFrameBytes: number,
    private readonly log: (line: string) => void,
    private readonly clusterSecret: Buffer,
    /** The broker this client acts for; null for an admin client (topics, quorum state only). */
    private readonly brokerId: number | null,
  ) {
    this.connLog = new RateLimitedLog(log, 5, 60_000);
  }

  get where(): string {
    return `controller ${this.voter.id} at ${this.voter.host}:${this.voter.port}`;
  }

  /** Sends one request and waits up to timeoutMs for its answer (its result, or a ControllerError). */
  async request(body: { op: string; args: unknown; timeoutMs: number }, timeoutMs: number): Promise<unknown> {
    await this.connect(timeoutMs);
    const conn = this.conn;
    if (!conn || conn.closed) throw new ConnectionLost(`${this.where}: connection closed`);
    if (this.pending.size >= MAX_PENDING_REQUESTS) throw new ControllerError('BUSY', `${this.pending.size} requests already wait on the connection to ${this.where}`);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestTimedOut(`${this.where} did not answer ${body.op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      let sent: boolean;
      try {
        sent = conn.send({ id, ...body });
      } catch (err) {
        sent = false;
        this.settle(id, new ControllerError('INVALID_REQUEST', `${body.op} request not sent: ${(err as Error).message}`));
      }
      if (!sent) this.settle(id, new ConnectionLost(`${this.where}: connection closed`));
    });
  }

  close(): void {
    this.closed = true;
    this.conn?.close();
    this.failAll(new ControllerError('CLOSED', 'controller client closed'));
  }

  private connect(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new ControllerError('CLOSED', 'controller client closed'));
    if (this.conn && !this.conn.closed && !this.connecting) return Promise.resolve();
    this.connecting ??= new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: this.voter.host, port: this.voter.port });
      let lastError = '';
      const limitMs = Math.min(CONNECT_TIMEOUT_MS, Math.max(1, timeoutMs));
      socket.setTimeout(limitMs, () => socket.destroy(new Error(`no connection within ${limitMs} ms`)));
      socket.on('error', (err) => (lastError = err.message));
      const conn = new FramedSocket(socket, {
        maxFrameBytes: this.maxFrameBytes,
        maxFrameBytesBeforeAuth: HANDSHAKE_MAX_FRAME_BYTES,
        maxPendingWriteBytes: 2 * this.maxFrameBytes,
        describe: `connection to ${this.where}`,
        log: (line) => this.connLog.log(line),
        onMessage: (value) => this.onFrame(conn, value),
        onClose: () => {
          if (this.conn === conn) {
            this.conn = null;
            this.handshake = null;
            this.authenticated = null;
          }
          this.connecting = null;
          const err = new ConnectionLost(`${this.where}: ${lastError || 'connection closed'}`);
          reject(err);
          this.failAll(err);
        },
      });
      this.conn = conn;
      socket.once('connect', () => {
        // Connected once the controller has proved the secret; the socket timeout covers that too.
        this.handshake = new ClientHandshake(this.clusterSecret, { kind: 'broker', brokerId: this.brokerId }, this.voter.id);
        this.authenticated = () => {
          socket.setTimeout(0);
          this.connecting = null;
          resolve();
        };
        conn.send(this.handshake.hello);
      });
    });
    return this.connecting;
  }

  private onFrame(conn: FramedSocket, value: unknown): void {
    const handshake = this.handshake;
    if (handshake && this.conn === conn) {
      const { proof, keys } = handshake.answer(value);
      conn.send(proof);
      conn.enableMac(keys.clientToServer, keys.serverToClient);
      this.handshake = null;
      this.authenticated?.();
      this.authenticated = null;
      return;
    }
    this.onMessage(value);
  }

  private onMessage(value: unknown): void {
    const parsed = responseSchema.safeParse(value);
    if (!parsed.success) throw new Error('controller sent a frame that is not a response {id, result} or {id, error}');
    const r = parsed.data;
    if ('result' in r) this.settle(r.id, null, r.result);
    else this.settle(r.id, new ControllerError(r.error.code as ControllerErrorCode, r.error.message, r.error.leaderId ?? null));
  }

  private settle(id: number, err: Error | null, result?: unknown): void {
    const p = this.pending.get(id);
    if (!p) return; // answered after the caller gave up
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(result);
  }

  private failAll(err: Error): void {
    for (const id of [...this.pending.keys()]) this.settle(id, err);
  }
}
