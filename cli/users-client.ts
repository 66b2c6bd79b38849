import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { decodeResponseFrame, encodeRequest } from '../broker/protocol/frame.ts';
import { ApiKey } from '../broker/protocol/generated/index.ts';
import { SCRAM_MECHANISMS, hash, hmac, isScramMechanism, saltPassword } from '../broker/security/credentials.ts';

/** How `untangle users --bootstrap-server` reaches and authenticates to a running broker (Kafka client config names). */
export interface AdminConnectOptions {
  bootstrapServer: string;
  securityProtocol: 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
  saslMechanism: string;
  user?: string;
  password?: string;
  /** PEM CA file the broker's certificate is verified against (ssl.truststore). */
  sslCa?: string;
  timeoutMs: number;
}

const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/**
 * A minimal Kafka client over our generated codecs, for the credential APIs no client library
 * here offers (kafkajs has no AlterUserScramCredentials): one connection, requests one at a time,
 * SASL PLAIN or SCRAM (checking the server's signature) before the first request.
 */
export class AdminConnection {
  private buffered = Buffer.alloc(0);
  private waiting: ((frame: Buffer) => void) | null = null;
  private failure: Error | null = null;
  private correlationId = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', (data: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, data]);
      this.deliver();
    });
    const fail = (err: Error): void => {
      this.failure ??= err;
      const w = this.waiting;
      this.waiting = null;
      w?.(Buffer.alloc(0));
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('the broker closed the connection')));
  }

  static async open(o: AdminConnectOptions): Promise<AdminConnection> {
    const at = o.bootstrapServer.lastIndexOf(':');
    const host = o.bootstrapServer.slice(0, at).replace(/^\[(.*)\]$/, '$1');
    const port = Number(o.bootstrapServer.slice(at + 1));
    if (at <= 0 || !Number.isInteger(port)) throw new Error(`--bootstrap-server: expected host:port, got "${o.bootstrapServer}"`);
    const tls = o.securityProtocol === 'SSL' || o.securityProtocol === 'SASL_SSL';
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s: Socket = tls
        ? connectTls({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host, ca: o.sslCa ? readFileSync(o.sslCa) : undefined }, () => resolve(s))
        : connectTcp({ host, port }, () => resolve(s));
      s.once('error', reject);
      s.setTimeout(o.timeoutMs, () => s.destroy(new Error(`no answer from ${o.bootstrapServer} within ${o.timeoutMs} ms`)));
    });
    const conn = new AdminConnection(socket, o.timeoutMs);
    if (o.securityProtocol.startsWith('SASL_')) {
      try {
        await conn.authenticate(o.saslMechanism, o.user ?? '', o.password ?? '');
      } catch (err) {
        conn.close();
        throw err;
      }
    }
    return conn;
  }

  async request<T>(apiKey: number, apiVersion: number, body: object): Promise<T> {
    if (this.failure) throw this.failure;
    const id = ++this.correlationId;
    const frame = await new Promise<Buffer>((resolve) => {
      this.waiting = resolve;
      this.socket.write(encodeRequest(apiKey, apiVersion, id, 'untangle-users', body));
      this.deliver();
    });
    if (this.failure) throw this.failure;
    const decoded = decodeResponseFrame<T>(apiKey, apiVersion, frame);
    if (decoded.correlationId !== id) throw new Error(`response correlation id ${decoded.correlationId}, expected ${id}`);
    return decoded.body;
  }

  close(): void {
    this.socket.destroy();
  }

  private deliver(): void {
    if (!this.waiting || this.buffered.length < 4) return;
    const size = this.buffered.readInt32BE(0);
    if (size < 0 || size > MAX_RESPONSE_BYTES) {
      this.socket.destroy(new Error(`response of ${size} bytes`));
      return;
    }
    if (this.buffered.length < 4 + size) return;
    const frame = this.buffered.subarray(0, 4 + size);
    this.buffered = this.buffered.subarray(4 + size);
    const w = this.waiting;
    this.waiting = null;
    w(frame);
  }

  private async authenticate(mechanism: string, user: string, password: string): Promise<void> {
    const hs = await this.request<{ errorCode: number; mechanisms: string[] }>(ApiKey.SaslHandshake, 1, { mechanism });
    if (hs.errorCode !== 0) throw new Error(`the broker does not offer SASL ${mechanism} (it offers ${hs.mechanisms.join(', ') || 'none'})`);
    const step = async (bytes: Buffer): Promise<Buffer> => {
      const r = await this.request<{ errorCode: number; errorMessage: string | null; authBytes: Buffer }>(ApiKey.SaslAuthenticate, 2, { authBytes: bytes });
      if (r.errorCode !== 0) throw new Error(`SASL ${mechanism} authentication as ${user} failed: ${r.errorMessage ?? `error ${r.errorCode}`}`);
      return r.authBytes;
    };
    if (mechanism === 'PLAIN') {
      await step(Buffer.from(`\u0000${user}\u0000${password}`, 'utf8'));
      return;
    }
    if (!isScramMechanism(mechanism)) throw new Error(`--sasl-mechanism: ${mechanism} is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`);
    const nonce = randomBytes(24).toString('base64');
    const clientFirstBare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`;
    const serverFirst = (await step(Buffer.from(`n,,${clientFirstBare}`, 'utf8'))).toString('utf8');
    const attrs = new Map(serverFirst.split(',').map((a) => [a.slice(0, 1), a.slice(2)]));
    const serverNonce = attrs.get('r') ?? '';
    const iterations = Number(attrs.get('i'));
    if (!serverNonce.startsWith(nonce) || !Number.isInteger(iterations) || iterations > 1_000_000) throw new Error(`unexpected SCRAM server message: ${serverFirst.slice(0, 200)}`);
    const salted = await saltPassword(mechanism, password, Buffer.from(attrs.get('s') ?? '', 'base64'), iterations);
    const withoutProof = `c=biws,r=${serverNonce}`;
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
    const clientKey = hmac(mechanism, salted, 'Client Key');
    const signature = hmac(mechanism, hash(mechanism, clientKey), authMessage);
    const proof = Buffer.alloc(SCRAM_MECHANISMS[mechanism].keyBytes);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i] ^ signature[i];
    const serverFinal = (await step(Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8'))).toString('utf8');
    const expected = hmac(mechanism, hmac(mechanism, salted, 'Server Key'), authMessage);
    const got = Buffer.from(serverFinal.startsWith('v=') ? serverFinal.slice(2) : '', 'base64');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw new Error('the broker did not prove it knows the SCRAM credential');
  }
}
