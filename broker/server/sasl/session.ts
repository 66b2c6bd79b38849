import { SaslAuthenticationError, type SaslExchange } from './mechanism.ts';
import type { SaslMechanismRegistry } from './registry.ts';
import type { ListenerSpec } from '../listeners.ts';
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/index.ts';

/** Kafka's error code for a failed SASL exchange (errors.ts does not list it). */
const SASL_AUTHENTICATION_FAILED = 58;

/**
 * Largest authBytes taken in one SaslAuthenticate. PLAIN and SCRAM messages are well under 1 KiB;
 * Kafka bounds a whole unauthenticated frame at sasl.server.max.receive.size (512 KiB).
 */
export const MAX_SASL_AUTH_BYTES = 16 * 1024;
/** After a failed exchange the connection is closed this long after the error response was queued (the client reads it first). */
const CLOSE_AFTER_FAILURE_MS = 1_000;

/** What the session needs of a connection. */
export interface AuthenticatingConnection {
  readonly id: number;
  readonly remoteAddress: string;
  principal: string;
  readonly closed: boolean;
  close(): void;
}

type State = 'start' | 'handshaken' | 'authenticated' | 'failed';

interface Session {
  listener: ListenerSpec;
  sasl: boolean;
  state: State;
  exchange: SaslExchange | null;
  mechanism: string | null;
  timer: NodeJS.Timeout | null;
}

/**
 * The SASL state of every connection, and the gate in front of the request router: on a
 * SASL_PLAINTEXT or SASL_SSL listener a connection may send only ApiVersions, SaslHandshake and
 * SaslAuthenticate until it has authenticated (anything else closes it, as Kafka does), and it
 * must authenticate within `authenticationTimeoutMs` of connecting. On PLAINTEXT and SSL listeners
 * a handshake is accepted only for mechanisms flagged `anyListener` (the inter-node one).
 * Kafka clients (kafkajs 2, librdkafka) use SaslHandshake v1 then SaslAuthenticate; the v0
 * handshake followed by raw, unframed SASL tokens (pre-1.0 clients) is not supported.
 */
export class SaslSessions {
  private readonly sessions = new WeakMap<AuthenticatingConnection, Session>();

  constructor(
    private readonly registry: SaslMechanismRegistry,
    private readonly opts: { authenticationTimeoutMs: number; log: (line: string) => void },
  ) {}

  /** Registers a new connection on `listener`; `certificatePrincipal` is "User:<CN>" of a verified TLS client certificate. */
  attach(conn: AuthenticatingConnection, listener: ListenerSpec, certificatePrincipal: string | null): void {
    const sasl = listener.protocol === 'SASL_PLAINTEXT' || listener.protocol === 'SASL_SSL';
    const session: Session = { listener, sasl, state: 'start', exchange: null, mechanism: null, timer: null };
    if (certificatePrincipal !== null && !sasl) conn.principal = certificatePrincipal;
    if (sasl) {
      session.timer = setTimeout(() => {
        if (conn.closed || session.state === 'authenticated') return;
        this.opts.log(`connection ${conn.id} from ${conn.remoteAddress} on listener ${listener.name}: not authenticated within ${this.opts.authenticationTimeoutMs} ms; closing`);
        conn.close();
      }, this.opts.authenticationTimeoutMs);
      session.timer.unref();
    }
    this.sessions.set(conn, session);
  }

  /** The connection closed: its authentication deadline no longer needs to hold it in memory. */
  detach(conn: AuthenticatingConnection): void {
    const s = this.sessions.get(conn);
    if (s?.timer) clearTimeout(s.timer);
    if (s) s.timer = null;
  }

  listenerOf(conn: object): ListenerSpec | undefined {
    return this.sessions.get(conn as AuthenticatingConnection)?.listener;
  }

  /** Throws (the connection layer then closes the connection) when `apiKey` may not be sent in the connection's state. */
  admit(apiKey: number, conn: object): void {
    const s = this.sessions.get(conn as AuthenticatingConnection);
    if (!s || apiKey === ApiKey.ApiVersions || apiKey === ApiKey.SaslHandshake || apiKey === ApiKey.SaslAuthenticate) return;
    if (s.state === 'failed') throw new Error('request after failed SASL authentication');
    if (s.state === 'handshaken') throw new Error(`request in the middle of a SASL ${s.mechanism} exchange`);
    if (s.sasl && s.state !== 'authenticated') throw new Error(`unauthenticated request on SASL listener ${s.listener.name}`);
  }

  handshake(conn: AuthenticatingConnection, mechanismName: string): { errorCode: number; mechanisms: string[] } {
    const s = this.sessionOf(conn);
    const mechanisms = this.registry.names(s.sasl);
    if (s.state !== 'start') {
      this.fail(conn, s);
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
    }
    const mechanism = this.registry.find(mechanismName, s.sasl);
    if (!mechanism) {
      this.opts.log(`connection ${conn.id} from ${conn.remoteAddress} on listener ${s.listener.name}: SASL mechanism "${mechanismName.slice(0, 64)}" is not enabled; closing`);
      this.fail(conn, s);
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
    }
    s.state = 'handshaken';
    s.mechanism = mechanism.name;
    s.exchange = mechanism.start(conn);
    return { errorCode: 0, mechanisms };
  }

  async authenticate(conn: AuthenticatingConnection, authBytes: Buffer): Promise<{ errorCode: number; errorMessage: string | null; authBytes: Buffer }> {
    const s = this.sessionOf(conn);
    if (s.state !== 'handshaken' || s.exchange === null) {
      this.fail(conn, s);
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'SaslAuthenticate without a SaslHandshake', authBytes: Buffer.alloc(0) };
    }
    const refuse = (message: string) => {
      this.opts.log(`connection ${conn.id} from ${conn.remoteAddress} on listener ${s.listener.name}: SASL ${s.mechanism} authentication failed: ${message}`);
      this.fail(conn, s);
      return { errorCode: SASL_AUTHENTICATION_FAILED, errorMessage: message, authBytes: Buffer.alloc(0) };
    };
    if (authBytes.length > MAX_SASL_AUTH_BYTES) return refuse(`authentication message of ${authBytes.length} bytes exceeds ${MAX_SASL_AUTH_BYTES}`);
    let step;
    try {
      step = await s.exchange.step(authBytes);
    } catch (err) {
      if (err instanceof SaslAuthenticationError) return refuse(err.message);
      this.opts.log(`connection ${conn.id}: SASL ${s.mechanism} exchange failed: ${err instanceof Error ? err.message : String(err)}`);
      return refuse(`Authentication failed with SASL mechanism ${s.mechanism}`);
    }
    if (conn.closed) return { errorCode: 0, errorMessage: null, authBytes: step.response };
    if (step.principal !== undefined) {
      s.state = 'authenticated';
      s.exchange = null;
      conn.principal = step.principal;
      if (s.timer) clearTimeout(s.timer);
      s.timer = null;
    }
    return { errorCode: 0, errorMessage: null, authBytes: step.response };
  }

  private sessionOf(conn: AuthenticatingConnection): Session {
    const s = this.sessions.get(conn);
    if (!s) throw new Error('connection has no SASL session');
    return s;
  }

  /** Kafka closes a connection whose SASL exchange failed; the error response goes out first. */
  private fail(conn: AuthenticatingConnection, s: Session): void {
    s.state = 'failed';
    s.exchange = null;
    if (s.timer) clearTimeout(s.timer);
    s.timer = setTimeout(() => conn.close(), CLOSE_AFTER_FAILURE_MS);
    s.timer.unref();
  }
}
