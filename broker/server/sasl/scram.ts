import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  MIN_SCRAM_ITERATIONS,
  SCRAM_MECHANISMS,
  hash,
  hmac,
  type CredentialStore,
  type ScramCredential,
  type ScramMechanismName,
} from '../../security/credentials.ts';
import { SaslAuthenticationError, type SaslExchange, type SaslMechanism } from './mechanism.ts';

const FAILED = 'Authentication failed during authentication due to invalid credentials with SASL mechanism';

/**
 * SASL/SCRAM-SHA-256 and SCRAM-SHA-512 as a server (RFC 5802, RFC 7677), as Kafka's ScramSaslServer:
 * two client messages (client-first, client-final), no channel binding, no delegation tokens.
 * An unknown user gets a made-up salt (stable per user for this process) and fails only at the
 * proof, with the same message as a wrong password, so the exchange does not tell who exists.
 */
export class ScramMechanism implements SaslMechanism {
  private readonly fakeSaltKey = randomBytes(32);

  constructor(
    readonly name: ScramMechanismName,
    private readonly store: CredentialStore,
  ) {}

  start(): SaslExchange {
    const mechanism = this.name;
    let state: { user: string; credential: ScramCredential | undefined; clientFirstBare: string; serverFirst: string; nonce: string; gs2Header: string } | null = null;
    let done = false;
    return {
      step: (clientBytes: Buffer) => {
        if (done) throw new SaslAuthenticationError('SCRAM exchange already finished');
        const text = clientBytes.toString('utf8');
        if (state === null) {
          const first = parseClientFirst(text);
          const credential = this.store.get(first.user, mechanism);
          const salt = credential?.salt ?? hmac(mechanism, this.fakeSaltKey, first.user).subarray(0, 32);
          const iterations = credential?.iterations ?? MIN_SCRAM_ITERATIONS;
          const nonce = first.nonce + randomBytes(24).toString('base64').replace(/[=,]/g, '');
          const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${iterations}`;
          state = { user: first.user, credential, clientFirstBare: first.bare, serverFirst, nonce, gs2Header: first.gs2Header };
          return { response: Buffer.from(serverFirst, 'utf8') };
        }
        done = true;
        const final = parseClientFinal(text);
        // endsWith, as Kafka's ScramSaslServer: librdkafka up to 2.x sends the client nonce again in
        // front of the combined one; the proof covers what the client sent, so nothing is weakened.
        if (!final.nonce.endsWith(state.nonce)) throw new SaslAuthenticationError(`${FAILED} ${mechanism}: nonce mismatch`);
        if (final.channelBinding !== Buffer.from(state.gs2Header, 'utf8').toString('base64')) {
          throw new SaslAuthenticationError(`${FAILED} ${mechanism}: channel binding does not match the first message`);
        }
        const cred = state.credential;
        const authMessage = `${state.clientFirstBare},${state.serverFirst},${final.withoutProof}`;
        const keyBytes = SCRAM_MECHANISMS[mechanism].keyBytes;
        if (!cred || final.proof.length !== keyBytes) throw new SaslAuthenticationError(`${FAILED} ${mechanism}`);
        const clientSignature = hmac(mechanism, cred.storedKey, authMessage);
        const clientKey = Buffer.alloc(keyBytes);
        for (let i = 0; i < keyBytes; i++) clientKey[i] = final.proof[i] ^ clientSignature[i];
        const computed = hash(mechanism, clientKey);
        if (computed.length !== cred.storedKey.length || !timingSafeEqual(computed, cred.storedKey)) throw new SaslAuthenticationError(`${FAILED} ${mechanism}`);
        const serverSignature = hmac(mechanism, cred.serverKey, authMessage);
        return { response: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'), principal: `User:${state.user}` };
      },
    };
  }
}

/** client-first-message = gs2-header client-first-message-bare; gs2-header = ("n" / "y") "," [authzid] ",". */
function parseClientFirst(text: string): { gs2Header: string; bare: string; user: string; nonce: string } {
  const m = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(text);
  if (!m) throw new SaslAuthenticationError('Invalid SCRAM client first message (channel binding is not supported)');
  const gs2Header = `${m[1]},${m[2] ?? ''},`;
  const bare = m[3];
  const attrs = bare.split(',');
  if (attrs.length < 2 || !attrs[0].startsWith('n=') || !attrs[1].startsWith('r=')) throw new SaslAuthenticationError('Invalid SCRAM client first message: expected n=user,r=nonce');
  const user = decodeSaslName(attrs[0].slice(2));
  const nonce = attrs[1].slice(2);
  if (user.length === 0 || nonce.length === 0) throw new SaslAuthenticationError('Invalid SCRAM client first message: empty user or nonce');
  if (m[2] !== undefined && m[2] !== 'a=' && decodeSaslName(m[2].slice(2)) !== user) {
    throw new SaslAuthenticationError('Authentication failed: Client requested an authorization id that is different from username');
  }
  // Extensions (KIP-84/255): Kafka uses tokenauth=true for delegation tokens, which we do not issue.
  for (const ext of attrs.slice(2)) {
    if (ext.startsWith('tokenauth=')) throw new SaslAuthenticationError('Delegation tokens are not supported');
  }
  return { gs2Header, bare, user, nonce };
}

/** client-final-message = "c=" channel-binding "," "r=" nonce ["," extensions] "," "p=" proof. */
function parseClientFinal(text: string): { channelBinding: string; nonce: string; proof: Buffer; withoutProof: string } {
  const at = text.lastIndexOf(',p=');
  if (at < 0) throw new SaslAuthenticationError('Invalid SCRAM client final message: no proof');
  const withoutProof = text.slice(0, at);
  const attrs = withoutProof.split(',');
  if (attrs.length < 2 || !attrs[0].startsWith('c=') || !attrs[1].startsWith('r=')) throw new SaslAuthenticationError('Invalid SCRAM client final message: expected c=...,r=...');
  return { channelBinding: attrs[0].slice(2), nonce: attrs[1].slice(2), proof: Buffer.from(text.slice(at + 3), 'base64'), withoutProof };
}

/** RFC 5802 saslname: "=2C" is ",", "=3D" is "="; any other "=" is malformed. */
function decodeSaslName(name: string): string {
  if (/=(?!2C|3D)/.test(name)) throw new SaslAuthenticationError('Invalid SCRAM user name encoding');
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}
