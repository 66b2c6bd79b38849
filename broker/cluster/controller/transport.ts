// TCP transport of a controller: one listening socket for everything inbound (Raft messages from the
// other controllers, RPCs from brokers) and one outbound connection per other voter for the Raft
// messages this controller sends. Each direction between two controllers is its own connection, so
// a message never waits for a reply on the same socket and either side can reconnect on its own.
//
// Every connection starts with the handshake of auth.ts: a hello claiming an identity ({kind: 'raft',
// from} or {kind: 'broker', brokerId}), proved with the cluster secret; from then on every frame
// carries a MAC. Anything else first, a failed proof or MAC, or no completed handshake within
// HELLO_TIMEOUT_MS closes the connection, with the reason logged (rate limited: a flood of bad
// connections cannot flood the log). A connection acts only as the identity it proved: a voter's
// Raft messages must name it as sender, a broker's requests may only speak for its broker id.
import net from 'node:net';
import { encodeFrame, FramedSocket } from './framing.ts';
import type { QuorumVoter } from './quorum.ts';
import { ClientHandshake, HANDSHAKE_MAX_FRAME_BYTES, helloSchema, ServerHandshake } from './auth.ts';
import { RateLimitedLog } from '../../server/rate-limited-log.ts';

const HELLO_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 3_000;
const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 1_000;
/** Bound on inbound connections (brokers plus controllers); more are refused with a logged reason. */
export const MAX_INBOUND_CONNECTIONS = 1024;
/** Bound on Raft messages queued for one peer. */
export const MAX_QUEUED_MESSAGES = 1024;

export interface BrokerChannel {
  readonly describe: string;
  readonly closed: boolean;
  send(value: unknown): boolean;
  close(reason: string): void;
}

/** What the controller does with one broker connection. onMessage throwing closes the connection. */
export interface BrokerSession {
  onMessage(value: unknown): void;
  onClose(): void;
}

export interface TransportOptions {
  readonly nodeId: number;
  readonly voters: readonly QuorumVoter[];
  readonly listenHost: string;
  readonly maxFrameBytes: number;
  /** The cluster secret every connection must prove (../secret.ts). */
  readonly clusterSecret: Buffer;
  readonly log: (line: string) => void;
  /** A frame from controller `from`; throwing closes that connection with the error as the reason. */
  readonly onRaftMessage: (from: number, value: unknown) => void;
  /** A connection authenticated as broker `brokerId` (null: an admin client acting for no broker). */
  readonly onBrokerConnection: (channel: BrokerChannel, brokerId: number | null) => BrokerSession;
}

export class ControllerTransport {
  private readonly server = net.createServer();
  private readonly inbound = new Set<FramedSocket>();
  private readonly links = new Map<number, PeerLink>();
  /** The one authenticated inbound Raft connection per voter: a newer one replaces it. */
  private readonly raftInbound = new Map<number, FramedSocket>();
  private readonly self: QuorumVoter;
  private readonly inboundLog: RateLimitedLog;
  private stopped = false;

  constructor(private readonly options: TransportOptions) {
    const self = options.voters.find((v) => v.id === options.nodeId);
    if (!self) throw new Error(`controller ${options.nodeId} is not among the voters`);
    this.self = self;
    this.inboundLog = new RateLimitedLog(options.log);
    for (const v of options.voters) if (v.id !== options.nodeId) this.links.set(v.id, new PeerLink(options.nodeId, v, options));
    this.server.on('connection', (socket) => this.accept(socket));
  }

  /** Starts listening on this controller's voter port, then connecting to the other voters. */
  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.self.port, this.options.listenHost, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.server.on('error', (err) => this.options.log(`controller listener error: ${err.message}`));
    for (const link of this.links.values()) link.start();
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Queues a Raft message for voter `to`; may be dropped (Raft tolerates loss and retransmits). */
  send(to: number, message: unknown): void {
    this.links.get(to)?.send(message);
  }

  /** Voters (other than this one) with an established outbound connection. */
  connectedPeers(): number[] {
    return [...this.links.values()].filter((l) => l.connected).map((l) => l.voter.id);
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const link of this.links.values()) link.close();
    for (const conn of [...this.inbound]) conn.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const describe = `connection from ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    if (this.stopped || this.inbound.size >= MAX_INBOUND_CONNECTIONS) {
      if (!this.stopped) this.options.log(`${describe}: refused, already ${this.inbound.size} connections (limit ${MAX_INBOUND_CONNECTIONS})`);
      socket.destroy();
      return;
    }
    let handler: (value: unknown) => void = (value) => onHello(value);
    let session: BrokerSession | null = null;
    let raftFrom: number | null = null;
    const conn = new FramedSocket(socket, {
      maxFrameBytes: this.options.maxFrameBytes,
      // The handshake's frames are tiny: a peer that has not proved the secret cannot make us buffer more.
      maxFrameBytesBeforeAuth: HANDSHAKE_MAX_FRAME_BYTES,
      // Room for a couple of whole-state responses before a broker that does not read is dropped.
      maxPendingWriteBytes: 2 * this.options.maxFrameBytes + 1024 * 1024,
      describe,
      log: (line) => this.inboundLog.log(line),
      onMessage: (value) => handler(value),
      onClose: () => {
        clearTimeout(helloTimer);
        this.inbound.delete(conn);
        if (raftFrom !== null && this.raftInbound.get(raftFrom) === conn) this.raftInbound.delete(raftFrom);
        session?.onClose();
      },
    });
    this.inbound.add(conn);
    const helloTimer = setTimeout(() => conn.close(`no authenticated hello within ${HELLO_TIMEOUT_MS} ms`), HELLO_TIMEOUT_MS);
    const onHello = (value: unknown): void => {
      const hello = helloSchema.safeParse(value);
      if (!hello.success) throw new Error(`first frame is not a hello ({kind: 'raft', from, nonce} or {kind: 'broker', brokerId, nonce})`);
      if (hello.data.kind === 'raft' && (hello.data.from === this.options.nodeId || !this.links.has(hello.data.from))) {
        throw new Error(`hello from controller ${hello.data.from}, which is not another voter`);
      }
      const handshake = new ServerHandshake(this.options.clusterSecret, this.options.nodeId, hello.data);
      conn.send(handshake.challenge());
      handler = (v) => onProof(handshake, v);
    };
    const onProof = (handshake: ServerHandshake, value: unknown): void => {
      const keys = handshake.verify(value);
      const hello = handshake.hello;
      const claimed = hello.kind === 'raft' ? `controller ${hello.from}` : hello.brokerId === null ? 'an admin client' : `broker ${hello.brokerId}`;
      if (!keys) throw new Error(`peer claiming to be ${claimed} did not prove the cluster secret`);
      clearTimeout(helloTimer);
      conn.enableMac(keys.serverToClient, keys.clientToServer);
      if (hello.kind === 'raft') {
        const from = hello.from;
        raftFrom = from;
        this.raftInbound.get(from)?.close(`replaced by a newer authenticated connection from controller ${from}`);
        this.raftInbound.set(from, conn);
        handler = (v) => this.options.onRaftMessage(from, v);
        return;
      }
      const channel: BrokerChannel = {
        describe: `${claimed} (${describe})`,
        get closed() {
          return conn.closed;
        },
        send: (v) => conn.send(v),
        close: (reason) => conn.close(reason),
      };
      session = this.options.onBrokerConnection(channel, hello.brokerId);
      handler = (v) => session!.onMessage(v);
    };
  }
}

/**
 * The outbound connection to one other voter. Reconnects with capped exponential backoff. Messages
 * wait in a bounded queue while the socket is connecting or its kernel buffer is full; when the
 * queue is full the oldest are dropped, and on a failed connection the queue is cleared: Raft
 * tolerates lost messages (the leader resends on its next heartbeat, candidates on their next
 * election), and stale ones would only be rejected on arrival.
 */
class PeerLink {
  private conn: FramedSocket | null = null;
  private isConnected = false;
  private handshake: ClientHandshake | null = null;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private backoffMs = RECONNECT_MIN_MS;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private wasUp = false;
  private failures = 0;
  private dropped = 0;
  private readonly maxQueuedBytes: number;
  /** A peer with another secret fails every reconnect: say so a few times, not once a second forever. */
  private readonly connLog: RateLimitedLog;

  constructor(
    private readonly self: number,
    readonly voter: QuorumVoter,
    private readonly options: TransportOptions,
  ) {
    this.maxQueuedBytes = options.maxFrameBytes + 1024 * 1024;
    this.connLog = new RateLimitedLog(options.log, 5, 60_000);
  }

  get connected(): boolean {
    return this.isConnected;
  }

  start(): void {
    this.connect();
  }

  send(message: unknown): void {
    if (this.closed) return;
    let frame: Buffer;
    try {
      frame = encodeFrame(message, this.options.maxFrameBytes);
    } catch (err) {
      this.options.log(`raft message to controller ${this.voter.id} dropped: ${(err as Error).message}`);
      return;
    }
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    while (this.queue.length > MAX_QUEUED_MESSAGES || (this.queuedBytes > this.maxQueuedBytes && this.queue.length > 1)) {
      this.queuedBytes -= this.queue.shift()!.length;
      this.dropped++;
    }
    this.flush();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.conn?.close();
    this.clearQueue();
  }

  private flush(): void {
    const conn = this.conn;
    if (!this.isConnected || !conn) return;
    // Leave the rest queued (bounded) while the kernel buffer is full; 'drain' resumes.
    while (this.queue.length > 0 && conn.pendingWriteBytes < this.maxQueuedBytes) {
      const frame = this.queue.shift()!;
      this.queuedBytes -= frame.length;
      if (!conn.writeFrame(frame)) return;
    }
    if (this.dropped > 0) {
      this.options.log(`dropped ${this.dropped} raft message(s) to controller ${this.voter.id}: outbound queue full (Raft retransmits)`);
      this.dropped = 0;
    }
  }

  private connect(): void {
    if (this.closed) return;
    const where = `controller ${this.voter.id} at ${this.voter.host}:${this.voter.port}`;
    const socket = net.connect({ host: this.voter.host, port: this.voter.port });
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`)));
    let lastError = '';
    socket.on('error', (err) => (lastError = err.message));
    const conn = new FramedSocket(socket, {
      maxFrameBytes: this.options.maxFrameBytes,
      maxFrameBytesBeforeAuth: HANDSHAKE_MAX_FRAME_BYTES,
      maxPendingWriteBytes: 2 * this.maxQueuedBytes,
      describe: `raft link to ${where}`,
      log: (line) => this.connLog.log(line),
      onMessage: (value) => {
        const handshake = this.handshake;
        if (!handshake || this.isConnected) throw new Error('unexpected frame on an outbound raft link');
        const { proof, keys } = handshake.answer(value);
        conn.send(proof);
        conn.enableMac(keys.clientToServer, keys.serverToClient);
        this.handshake = null;
        socket.setTimeout(0);
        this.isConnected = true;
        this.backoffMs = RECONNECT_MIN_MS;
        if (!this.wasUp || this.failures > 0) this.options.log(`connected to ${where}`);
        this.wasUp = true;
        this.failures = 0;
        this.flush();
      },
      onClose: () => this.onClosed(conn, where, lastError),
    });
    this.conn = conn;
    socket.once('connect', () => {
      if (conn.closed) return;
      // Connected once the controller has proved the secret (onMessage above); the timeout covers that too.
      this.handshake = new ClientHandshake(this.options.clusterSecret, { kind: 'raft', from: this.self }, this.voter.id);
      conn.send(this.handshake.hello);
    });
    socket.on('drain', () => this.flush());
  }

  private onClosed(conn: FramedSocket, where: string, lastError: string): void {
    if (this.conn !== conn) return;
    this.conn = null;
    this.handshake = null;
    const was = this.isConnected;
    this.isConnected = false;
    this.clearQueue();
    if (this.closed) return;
    // Log the first failure of an outage only, not every retry.
    if (was) this.options.log(`lost connection to ${where}${lastError ? ` (${lastError})` : ''}; reconnecting`);
    else if (this.failures === 0) this.options.log(`cannot connect to ${where}${lastError ? ` (${lastError})` : ''}; retrying every ${RECONNECT_MAX_MS} ms at most`);
    this.failures++;
    const delay = this.backoffMs * (0.8 + 0.4 * Math.random());
    this.backoffMs = Math.min(RECONNECT_MAX_MS, this.backoffMs * 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  private clearQueue(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
  }
}
