// A hand-driven connection to a controller's port, for tests of its wire handling: performs the
// authenticated handshake (or not), then sends payloads as the real client would frame them (with a
// valid MAC), or any bytes at all.
import net from 'node:net';
import { ClientHandshake, FrameMac, MAC_BYTES } from '../../broker/cluster/controller/auth.ts';

export function lengthPrefixed(payload: string | Buffer): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

export interface RawControllerConnection {
  readonly socket: net.Socket;
  /** Frames received after the handshake, MAC stripped (not checked). */
  readonly frames: Buffer[];
  /** Resolves when the controller closes the connection. */
  readonly closed: Promise<void>;
  /** One payload as an authenticated frame (next sequence number). Returns the bytes written, for replays. */
  send(value: unknown): Buffer;
  /** Any bytes. */
  write(bytes: Buffer): void;
  /** The next frame received. */
  next(): Promise<Buffer>;
}

/** Connects and, with `secret`, authenticates as `identity` to controller `serverId`. Rejects if the handshake fails. */
export async function rawController(port: number, secret: Buffer | null, identity: { kind: 'raft'; from: number } | { kind: 'broker'; brokerId: number | null }, serverId: number): Promise<RawControllerConnection> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise((r, j) => socket.once('connect', r).once('error', j));
  const frames: Buffer[] = [];
  const waiters: ((b: Buffer) => void)[] = [];
  let buf = Buffer.alloc(0);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.on('error', () => undefined);
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const f = buf.subarray(4, 4 + buf.readUInt32BE(0));
      buf = buf.subarray(4 + f.length);
      const w = waiters.shift();
      if (w) w(f);
      else frames.push(f);
    }
  });
  const next = (): Promise<Buffer> => {
    const f = frames.shift();
    if (f) return Promise.resolve(f);
    return new Promise((resolve, reject) => {
      waiters.push(resolve);
      void closed.then(() => reject(new Error('connection closed')));
    });
  };
  let mac: FrameMac | null = null;
  const conn: RawControllerConnection = {
    socket,
    frames,
    closed,
    write: (bytes) => void socket.write(bytes),
    send(value) {
      const payload = Buffer.from(JSON.stringify(value));
      const body = mac ? Buffer.concat([mac.next(payload), payload]) : payload;
      const frame = lengthPrefixed(body);
      socket.write(frame);
      return frame;
    },
    async next() {
      const f = await next();
      return mac ? f.subarray(MAC_BYTES) : f;
    },
  };
  if (secret) {
    const hs = new ClientHandshake(secret, identity, serverId);
    conn.send(hs.hello);
    const { proof, keys } = hs.answer(JSON.parse((await next()).toString('utf8')));
    conn.send(proof);
    mac = new FrameMac(keys.clientToServer);
  }
  return conn;
}
