import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type ConnectionOptions, type TLSSocket } from 'node:tls';

/** Kafka's security protocols (security.protocol / listener.security.protocol.map values). */
export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];
export type SslClientAuth = 'none' | 'requested' | 'required';

/** One listener: Kafka's NAME://host:port with the security protocol its name maps to. */
export interface ListenerSpec {
  name: string;
  protocol: SecurityProtocol;
  /** Address bound; "0.0.0.0" for Kafka's empty host (every interface). */
  host: string;
  /** 0 picks a free port. */
  port: number;
}

/**
 * How clients reach and authenticate to the broker, in Kafka's terms. With `listeners` null the
 * broker has one PLAINTEXT listener on BrokerConfig.host:port (advertisedHost in Metadata), as before.
 */
export interface SecurityConfig {
  /** Kafka's listeners, e.g. "SASL_SSL://127.0.0.1:9093,PLAINTEXT://127.0.0.1:9092". The first is the one a cluster node registers. */
  listeners: string | null;
  /** Kafka's advertised.listeners: per listener name, the host:port Metadata tells clients (default: the bound address). */
  advertisedListeners: string | null;
  /** Kafka's listener.security.protocol.map, e.g. "CLIENT:SASL_SSL,LOCAL:PLAINTEXT"; names that are protocols map to themselves. */
  listenerSecurityProtocolMap: string | null;
  /** PEM files of the broker's certificate chain and key (ssl.keystore), and of the CAs client certificates are checked against (ssl.truststore). */
  sslCertFile: string | null;
  sslKeyFile: string | null;
  sslCaFile: string | null;
  /** ssl.client.auth, for SSL listeners (SASL_SSL ones authenticate with SASL, as Kafka's default). With a verified client certificate the principal is "User:<CN of the subject>" (Kafka's default builder uses the whole DN). */
  sslClientAuth: SslClientAuth;
  /** sasl.enabled.mechanisms among PLAIN, SCRAM-SHA-256, SCRAM-SHA-512. */
  saslEnabledMechanisms: string[];
  /** Without it the broker refuses to start with a non-loopback listener that lets clients in unauthenticated (PLAINTEXT, or SSL without required client certificates). */
  allowUnauthenticatedListeners: boolean;
  /** A connection on a SASL listener that has not authenticated this long after connecting is closed. */
  saslAuthenticationTimeoutMs: number;
  /** A TLS handshake not finished this long after connecting is abandoned. */
  sslHandshakeTimeoutMs: number;
}

export const DEFAULT_SECURITY_CONFIG: SecurityConfig = {
  listeners: null,
  advertisedListeners: null,
  listenerSecurityProtocolMap: null,
  sslCertFile: null,
  sslKeyFile: null,
  sslCaFile: null,
  sslClientAuth: 'none',
  // Kafka's default is GSSAPI, which we do not implement; PLAIN sends the password as is, so it is opt-in.
  saslEnabledMechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512'],
  allowUnauthenticatedListeners: false,
  saslAuthenticationTimeoutMs: 10_000,
  sslHandshakeTimeoutMs: 10_000,
};

const LISTENER_RE = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:/]*):(\d{1,5})$/;
const MAX_LISTENERS = 16;

/** Parses "NAME://host:port,..."; host "" means every interface. */
export function parseListeners(value: string, protocolMap: string | null): ListenerSpec[] {
  const map = parseProtocolMap(protocolMap);
  const out: ListenerSpec[] = [];
  const entries = value.split(',').map((e) => e.trim()).filter((e) => e.length > 0);
  if (entries.length === 0) throw new Error('listeners: expected NAME://host:port,... (e.g. SASL_SSL://127.0.0.1:9093)');
  if (entries.length > MAX_LISTENERS) throw new Error(`listeners: at most ${MAX_LISTENERS}`);
  for (const entry of entries) {
    const m = LISTENER_RE.exec(entry);
    if (!m) throw new Error(`listeners: "${entry}" is not NAME://host:port (e.g. SASL_SSL://127.0.0.1:9093)`);
    const name = m[1].toUpperCase();
    const protocol = map.get(name) ?? ((SECURITY_PROTOCOLS as readonly string[]).includes(name) ? (name as SecurityProtocol) : undefined);
    if (!protocol) throw new Error(`listeners: "${name}" is not a security protocol (${SECURITY_PROTOCOLS.join(', ')}) and listener.security.protocol.map does not name it`);
    const port = Number(m[3]);
    if (port > 65535) throw new Error(`listeners: port ${port} in "${entry}" is out of range`);
    if (out.some((l) => l.name === name)) throw new Error(`listeners: listener name ${name} appears twice (use listener.security.protocol.map to name two listeners of one protocol)`);
    const host = m[2].replace(/^\[(.*)\]$/, '$1');
    out.push({ name, protocol, host: host === '' ? '0.0.0.0' : host, port });
  }
  return out;
}

function parseProtocolMap(value: string | null): Map<string, SecurityProtocol> {
  const map = new Map<string, SecurityProtocol>();
  for (const entry of (value ?? '').split(',').map((e) => e.trim()).filter((e) => e.length > 0)) {
    const [name, protocol, ...rest] = entry.split(':');
    if (rest.length > 0 || !name || !(SECURITY_PROTOCOLS as readonly string[]).includes(protocol?.toUpperCase() ?? '')) {
      throw new Error(`listener.security.protocol.map: "${entry}" is not NAME:PROTOCOL with PROTOCOL one of ${SECURITY_PROTOCOLS.join(', ')}`);
    }
    map.set(name.toUpperCase(), protocol.toUpperCase() as SecurityProtocol);
  }
  return map;
}

/** advertised.listeners: listener name -> host:port clients are told (port 0 = the bound port). */
export function parseAdvertisedListeners(value: string | null, listeners: ListenerSpec[]): Map<string, { host: string; port: number }> {
  const out = new Map<string, { host: string; port: number }>();
  if (value === null) return out;
  for (const entry of value.split(',').map((e) => e.trim()).filter((e) => e.length > 0)) {
    const m = LISTENER_RE.exec(entry);
    if (!m) throw new Error(`advertised.listeners: "${entry}" is not NAME://host:port`);
    const name = m[1].toUpperCase();
    if (!listeners.some((l) => l.name === name)) throw new Error(`advertised.listeners: ${name} is not one of the listeners (${listeners.map((l) => l.name).join(', ')})`);
    if (m[2] === '') throw new Error(`advertised.listeners: ${name} needs a host clients can connect to`);
    out.set(name, { host: m[2].replace(/^\[(.*)\]$/, '$1'), port: Number(m[3]) });
  }
  return out;
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(h);
}

export function isSaslProtocol(protocol: SecurityProtocol): boolean {
  return protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
}

export function isTlsProtocol(protocol: SecurityProtocol): boolean {
  return protocol === 'SSL' || protocol === 'SASL_SSL';
}

/**
 * Refuses a configuration that would let unauthenticated clients in from a network: a listener on
 * a non-loopback address whose protocol does not authenticate (PLAINTEXT, or SSL without
 * required client certificates), unless allowUnauthenticatedListeners says that is intended.
 * Also checks that TLS listeners have a certificate and key.
 */
export function checkListeners(listeners: ListenerSpec[], security: SecurityConfig): void {
  for (const l of listeners) {
    if (isTlsProtocol(l.protocol) && (security.sslCertFile === null || security.sslKeyFile === null)) {
      throw new Error(`listener ${l.name}://${l.host}:${l.port} uses TLS and needs --ssl-cert and --ssl-key (PEM files)`);
    }
    if (l.protocol === 'SSL' && security.sslClientAuth !== 'none' && security.sslCaFile === null) {
      throw new Error(`listener ${l.name}: --ssl-client-auth ${security.sslClientAuth} needs --ssl-ca, the CA certificates client certificates are checked against`);
    }
    const authenticates = isSaslProtocol(l.protocol) || (l.protocol === 'SSL' && security.sslClientAuth === 'required');
    if (!authenticates && !isLoopback(l.host) && !security.allowUnauthenticatedListeners) {
      throw new Error(
        `listener ${l.name}://${l.host}:${l.port} (${l.protocol}) binds a non-loopback address without authentication: ` +
          'use SASL_SSL or SASL_PLAINTEXT, SSL with --ssl-client-auth required, a loopback address, or pass --allow-unauthenticated-listeners',
      );
    }
  }
}

export interface BoundListener {
  spec: ListenerSpec;
  server: Server;
  /** The port bound (the configured one, or the one picked for port 0). */
  port: number;
}

/** A new client socket on a listener; `certificatePrincipal` is "User:<CN>" of a verified TLS client certificate, else null. */
export type SocketHandler = (socket: Socket, listener: ListenerSpec, certificatePrincipal: string | null) => void;

/**
 * Binds every listener: net servers for PLAINTEXT/SASL_PLAINTEXT, node:tls servers for
 * SSL/SASL_SSL (a TLSSocket is a net.Socket, so the connection layer and its limits are the same;
 * pause() stops reading decrypted data and the TCP window then pushes back as with plain sockets).
 * A TLS listener accepts at most twice maxConnections sockets (net.Server.maxConnections), so
 * handshaking ones are bounded too, and drops a handshake not done within sslHandshakeTimeoutMs. If one listener cannot bind, those bound are closed.
 */
export async function bindListeners(
  listeners: ListenerSpec[],
  security: SecurityConfig,
  maxConnections: number,
  onSocket: SocketHandler,
  log: (line: string) => void,
): Promise<BoundListener[]> {
  const needsTls = listeners.some((l) => isTlsProtocol(l.protocol));
  const tlsFiles = needsTls ? readTlsFiles(security) : null;
  const bound: BoundListener[] = [];
  try {
    for (const spec of listeners) {
      let server: Server;
      if (isTlsProtocol(spec.protocol) && tlsFiles) {
        // As Kafka (KIP-684): ssl.client.auth applies to SSL listeners; SASL_SSL clients authenticate with SASL.
        const requestCert = spec.protocol === 'SSL' && security.sslClientAuth !== 'none';
        const tlsServer = createTlsServer({
          ...tlsFiles,
          requestCert,
          rejectUnauthorized: requestCert && security.sslClientAuth === 'required',
          handshakeTimeout: security.sslHandshakeTimeoutMs,
          minVersion: 'TLSv1.2',
        });
        tlsServer.on('secureConnection', (socket: TLSSocket) => {
          const presented = requestCert && Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
          if (presented && !socket.authorized) {
            // ssl.client.auth=requested: no certificate is fine, an untrusted one is not.
            log(`listener ${spec.name}: client certificate from ${socket.remoteAddress ?? '?'} not trusted (${String(socket.authorizationError)}); closing`);
            socket.destroy();
            return;
          }
          onSocket(socket, spec, presented ? certificatePrincipal(socket) : null);
        });
        tlsServer.on('tlsClientError', (err, socket) => {
          log(`listener ${spec.name}: TLS handshake with ${socket.remoteAddress ?? '?'} failed: ${err.message}`);
        });
        server = tlsServer;
      } else {
        server = createTcpServer((socket) => onSocket(socket, spec, null));
      }
      // Sockets still in their TLS handshake are not yet connections the tracker can evict: bound
      // them here (established ones plus as many handshaking). Plain TCP sockets are connections at
      // once, and the tracker's eviction at --max-connections needs to see the one past the limit.
      if (isTlsProtocol(spec.protocol)) server.maxConnections = maxConnections * 2;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(spec.port, spec.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      bound.push({ spec, server, port: (server.address() as AddressInfo).port });
    }
  } catch (err) {
    await closeListeners(bound);
    throw err;
  }
  return bound;
}

export async function closeListeners(bound: BoundListener[]): Promise<void> {
  await Promise.all(bound.map((b) => new Promise<void>((resolve) => b.server.close(() => resolve()))));
}

function readTlsFiles(security: SecurityConfig): { cert: Buffer; key: Buffer; ca?: Buffer } {
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read ${what} ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
  const cert = read('--ssl-cert', security.sslCertFile!);
  const key = read('--ssl-key', security.sslKeyFile!);
  return security.sslCaFile === null ? { cert, key } : { cert, key, ca: read('--ssl-ca', security.sslCaFile) };
}

/** "User:<CN>" from a verified client certificate (Kafka's DefaultKafkaPrincipalBuilder would use the whole subject DN). */
function certificatePrincipal(socket: TLSSocket): string | null {
  const cn = socket.getPeerCertificate().subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return typeof name === 'string' && name.length > 0 ? `User:${name}` : null;
}

/** The listeners a broker binds and what Metadata advertises for each. */
export interface ListenerPlan {
  listeners: ListenerSpec[];
  /** The endpoint clients on `listener` are told, given the port it bound. */
  advertised(listener: ListenerSpec, boundPort: number): { host: string; port: number };
}

/**
 * Resolves `security.listeners` (or the one PLAINTEXT listener on host:port when it is null) and
 * advertised.listeners, and refuses unsafe ones (checkListeners). A listener without an advertised
 * entry advertises its bound host, or advertisedHost when it binds every interface.
 */
export function planListeners(host: string, port: number, advertisedHost: string, security: SecurityConfig): ListenerPlan {
  const listeners: ListenerSpec[] =
    security.listeners === null ? [{ name: 'PLAINTEXT', protocol: 'PLAINTEXT', host, port }] : parseListeners(security.listeners, security.listenerSecurityProtocolMap);
  const advertisedByName = parseAdvertisedListeners(security.advertisedListeners, listeners);
  checkListeners(listeners, security);
  return {
    listeners,
    advertised(listener, boundPort) {
      const a = advertisedByName.get(listener.name);
      if (a) return { host: a.host, port: a.port === 0 ? boundPort : a.port };
      if (security.listeners === null) return { host: advertisedHost, port: boundPort };
      const wildcard = listener.host === '0.0.0.0' || listener.host === '::';
      return { host: wildcard ? advertisedHost : listener.host, port: boundPort };
    },
  };
}

/**
 * TLS options for one node connecting to another node's registered (first) listener, as a replica
 * fetcher does: null when that listener is PLAINTEXT or SASL_PLAINTEXT. Every node is assumed to
 * share the listener configuration (Kafka's inter.broker.listener.name). The leader's certificate is
 * verified against --ssl-ca (so --ssl-ca must hold the CA that signed the brokers' certificates) and
 * the node presents its own certificate, which an SSL listener with client auth needs (its
 * certificate then needs the clientAuth extended key usage too). Pass `servername` when connecting
 * to a DNS name; an IP address is checked against the certificate's IP SANs.
 */
export function interBrokerTlsOptions(security: SecurityConfig, listener: ListenerSpec): ConnectionOptions | null {
  if (!isTlsProtocol(listener.protocol)) return null;
  if (security.sslCaFile === null) throw new Error(`inter-broker listener ${listener.name} uses TLS: --ssl-ca must name the CA that signed the brokers' certificates`);
  const files = readTlsFiles(security);
  return { ca: files.ca, cert: files.cert, key: files.key, minVersion: 'TLSv1.2' };
}
