import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_SECURITY_CONFIG, type SecurityConfig, type SslClientAuth } from '../broker/server/listeners.ts';
import { intOption } from './options.ts';

/** The `untangle broker` options for listeners, TLS and SASL, named after Kafka's configs. */
export interface SecurityCliOptions {
  listeners?: string;
  advertisedListeners?: string;
  listenerSecurityProtocolMap?: string;
  sslCert?: string;
  sslKey?: string;
  sslCa?: string;
  sslClientAuth: SslClientAuth;
  saslEnabledMechanisms: string[];
  allowUnauthenticatedListeners: boolean;
  saslAuthenticationTimeoutMs: number;
}

export function addSecurityOptions(command: Command): Command {
  const d = DEFAULT_SECURITY_CONFIG;
  return command
    .option('--listeners <list>', 'Kafka listeners, NAME://host:port,... (e.g. SASL_SSL://127.0.0.1:9093,PLAINTEXT://127.0.0.1:9092); NAME is a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL) or mapped by --listener-security-protocol-map; replaces --host/--port')
    .option('--advertised-listeners <list>', 'what Metadata tells clients per listener, NAME://host:port,... (advertised.listeners; default: the bound address)')
    .option('--listener-security-protocol-map <map>', 'listener name to security protocol, NAME:PROTOCOL,... (listener.security.protocol.map)')
    .option('--ssl-cert <file>', 'PEM certificate (chain) of the broker, for SSL and SASL_SSL listeners')
    .option('--ssl-key <file>', 'PEM private key of --ssl-cert')
    .option('--ssl-ca <file>', 'PEM CA certificates client certificates are verified against')
    .option('--ssl-client-auth <mode>', 'none, requested or required (ssl.client.auth); on an SSL listener a verified client certificate makes the principal User:<CN>', parseClientAuth, d.sslClientAuth)
    .option('--sasl-enabled-mechanisms <list>', 'SASL mechanisms offered on SASL listeners: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (sasl.enabled.mechanisms; PLAIN sends the password itself: use it over SASL_SSL)', parseList, d.saslEnabledMechanisms)
    .option('--allow-unauthenticated-listeners', 'start even though a listener on a non-loopback address lets clients in without authentication (PLAINTEXT, or SSL without --ssl-client-auth required)', false)
    .option('--sasl-authentication-timeout-ms <ms>', 'close a connection on a SASL listener that has not authenticated this long after connecting', intOption(100), d.saslAuthenticationTimeoutMs);
}

export function securitySettings(opts: SecurityCliOptions): Partial<SecurityConfig> {
  return {
    listeners: opts.listeners ?? null,
    advertisedListeners: opts.advertisedListeners ?? null,
    listenerSecurityProtocolMap: opts.listenerSecurityProtocolMap ?? null,
    sslCertFile: opts.sslCert ?? null,
    sslKeyFile: opts.sslKey ?? null,
    sslCaFile: opts.sslCa ?? null,
    sslClientAuth: opts.sslClientAuth,
    saslEnabledMechanisms: opts.saslEnabledMechanisms,
    allowUnauthenticatedListeners: opts.allowUnauthenticatedListeners,
    saslAuthenticationTimeoutMs: opts.saslAuthenticationTimeoutMs,
  };
}

function parseClientAuth(value: string): SslClientAuth {
  if (value === 'none' || value === 'requested' || value === 'required') return value;
  throw new InvalidArgumentError(`expected none, requested or required, got "${value}"`);
}

function parseList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}
