import type { CredentialStore } from '../../security/credentials.ts';
import { SaslAuthenticationError, type SaslExchange, type SaslMechanism } from './mechanism.ts';

/**
 * SASL/PLAIN (RFC 4616): one message, "authzid NUL authcid NUL password". The password is checked
 * against the user's stored SCRAM credential (credentials.ts), so PLAIN needs no second store.
 * Only safe over TLS (SASL_SSL) or loopback: the password crosses the wire as sent.
 */
export class PlainMechanism implements SaslMechanism {
  readonly name = 'PLAIN';

  constructor(private readonly store: CredentialStore) {}

  start(): SaslExchange {
    return {
      step: async (clientBytes: Buffer) => {
        const parts = clientBytes.toString('utf8').split('\u0000');
        if (parts.length !== 3) throw new SaslAuthenticationError('Invalid SASL/PLAIN message: expected authzid, authcid and password separated by NUL');
        const [authzid, user, password] = parts;
        if (user.length === 0 || password.length === 0) throw new SaslAuthenticationError('Authentication failed: username and password must not be empty');
        // As Kafka's PlainSaslServer: acting for another identity is not supported.
        if (authzid.length > 0 && authzid !== user) throw new SaslAuthenticationError('Authentication failed: Client requested an authorization id that is different from username');
        if (!(await this.store.verifyPassword(user, password))) throw new SaslAuthenticationError('Authentication failed: Invalid username or password');
        return { response: Buffer.alloc(0), principal: `User:${user}` };
      },
    };
  }
}
