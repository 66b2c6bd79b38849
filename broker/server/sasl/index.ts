import { CredentialStore } from '../../security/credentials.ts';
import type { BrokerSecurity } from '../context.ts';
import type { SecurityConfig } from '../listeners.ts';
import type { SaslMechanism } from './mechanism.ts';
import { PlainMechanism } from './plain.ts';
import { SaslMechanismRegistry } from './registry.ts';
import { ScramMechanism } from './scram.ts';
import { SaslSessions } from './session.ts';

export type { SaslMechanism, SaslExchange, SaslStep } from './mechanism.ts';
export { SaslAuthenticationError } from './mechanism.ts';
export { SaslMechanismRegistry } from './registry.ts';

/** The client mechanisms built in, by the names sasl.enabled.mechanisms takes. */
export const CLIENT_SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

/**
 * Opens the credential store and registers the enabled client mechanisms, then `extra` ones (the
 * cluster's inter-node mechanism: always offered, on the listeners its anyListener flag allows).
 * An unknown name in saslEnabledMechanisms refuses the start.
 */
export async function openBrokerSecurity(
  dataDir: string,
  security: SecurityConfig,
  extra: readonly SaslMechanism[],
  log: (line: string) => void,
): Promise<BrokerSecurity> {
  const credentials = await CredentialStore.open(dataDir);
  const mechanisms = new SaslMechanismRegistry();
  for (const name of security.saslEnabledMechanisms) {
    if (name === 'PLAIN') mechanisms.register(new PlainMechanism(credentials));
    else if (name === 'SCRAM-SHA-256' || name === 'SCRAM-SHA-512') mechanisms.register(new ScramMechanism(name, credentials));
    else throw new Error(`sasl.enabled.mechanisms: "${name}" is not supported (${CLIENT_SASL_MECHANISMS.join(', ')})`);
  }
  for (const m of extra) mechanisms.register(m);
  const sessions = new SaslSessions(mechanisms, { authenticationTimeoutMs: security.saslAuthenticationTimeoutMs, log });
  return { sessions, mechanisms, credentials };
}
