// The cluster's inter-node SASL mechanism: how a follower proves to a leader's Kafka listener that
// it is broker N of this cluster before it fetches as replica N. HMAC-SHA256 challenge-response
// over the cluster secret (../../cluster/secret.ts), in the shape of SCRAM (RFC 5802) but keyed by
// the shared secret instead of a per-user salted password, so no credential store is needed:
//
//   client-first  "n=<brokerId>,e=<brokerEpoch>,r=<client nonce>"
//   server-first  "r=<server nonce>,p=<HMAC(secret, "server" | transcript)>"
//   client-final  "p=<HMAC(secret, "client" | transcript)>"          -> principal "Broker:<brokerId>"
//
// transcript binds the broker id and epoch, both nonces and the leader's node id. Both sides prove
// the secret over a nonce the other chose (a recorded exchange cannot be replayed), and the
// follower learns it is talking to a node of its own cluster. The claimed epoch is remembered per
// connection so the leader can refuse fetches from a broker registration that is no longer current.
// Usable on any listener (anyListener): nodes authenticate even on PLAINTEXT listeners.
import { NONCE_BYTES, freshNonce, sameHex, secretProof } from '../../cluster/secret.ts';
import { SaslAuthenticationError, type SaslExchange, type SaslMechanism } from './mechanism.ts';

/** The name followers ask for in SaslHandshake. */
export const CLUSTER_SASL_MECHANISM = 'UNTANGLE-CLUSTER-HMAC-SHA256';
const FAILED = `Authentication failed with SASL mechanism ${CLUSTER_SASL_MECHANISM}`;

/** Who a connection authenticated as with this mechanism. */
export interface ClusterPeer {
  readonly brokerId: number;
  /** The epoch of the broker's registration it claimed (Kafka's broker epoch). */
  readonly brokerEpoch: number;
}

function transcript(brokerId: number, epoch: number, clientNonce: string, serverNonce: string, serverId: number): string {
  return `untangle-cluster-sasl-v1|broker:${brokerId}|epoch:${epoch}|${clientNonce}|${serverNonce}|to:${serverId}`;
}

/** "k=v,k=v" with each key once; null when malformed. */
function fields(text: string): Map<string, string> | null {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq !== 1 || out.has(part[0])) return null;
    out.set(part[0], part.slice(2));
  }
  return out;
}

const NODE_ID = /^(0|[1-9][0-9]{0,9})$/;
const EPOCH = /^(0|[1-9][0-9]{0,15})$/;
const NONCE = new RegExp(`^[0-9a-f]{${NONCE_BYTES * 2}}$`);

/** The leader's side. One instance per broker; `nodeId` is this broker's id. */
export class ClusterSaslMechanism implements SaslMechanism {
  readonly name = CLUSTER_SASL_MECHANISM;
  readonly anyListener = true;
  private readonly peers = new WeakMap<object, ClusterPeer>();

  constructor(
    private readonly secret: Buffer,
    private readonly nodeId: number,
  ) {}

  /** The broker a connection authenticated as with this mechanism, if it did. */
  peerOf(conn: object): ClusterPeer | undefined {
    return this.peers.get(conn);
  }

  start(conn: { readonly remoteAddress: string }): SaslExchange {
    let state: { peer: ClusterPeer; t: string } | null = null;
    let done = false;
    return {
      step: (clientBytes: Buffer) => {
        if (done) throw new SaslAuthenticationError(`${FAILED}: exchange already finished`);
        const f = fields(clientBytes.toString('utf8'));
        if (state === null) {
          const id = f?.get('n');
          const epoch = f?.get('e');
          const nonce = f?.get('r');
          if (!f || f.size !== 3 || !id || !NODE_ID.test(id) || !epoch || !EPOCH.test(epoch) || !nonce || !NONCE.test(nonce) || Number(id) > 2 ** 31 - 1) {
            done = true;
            throw new SaslAuthenticationError(`${FAILED}: malformed first message (expected n=<broker id>,e=<broker epoch>,r=<nonce>)`);
          }
          const serverNonce = freshNonce();
          const peer = { brokerId: Number(id), brokerEpoch: Number(epoch) };
          const t = transcript(peer.brokerId, peer.brokerEpoch, nonce, serverNonce, this.nodeId);
          state = { peer, t };
          return { response: Buffer.from(`r=${serverNonce},p=${secretProof(this.secret, 'server', t).toString('hex')}`, 'utf8') };
        }
        done = true;
        if (!f || f.size !== 1 || !sameHex(f.get('p'), secretProof(this.secret, 'client', state.t))) {
          throw new SaslAuthenticationError(`${FAILED}: the peer claiming to be broker ${state.peer.brokerId} did not prove the cluster secret`);
        }
        this.peers.set(conn, state.peer);
        return { response: Buffer.alloc(0), principal: `Broker:${state.peer.brokerId}` };
      },
    };
  }
}

/**
 * The follower's side: `exchange` sends one SASL message (a SaslAuthenticate) and resolves with the
 * leader's answer. Throws when the leader does not prove the secret.
 */
export async function authenticateAsBroker(secret: Buffer, self: ClusterPeer, leaderId: number, exchange: (bytes: Buffer) => Promise<Buffer>): Promise<void> {
  const nonce = freshNonce();
  const serverFirst = fields((await exchange(Buffer.from(`n=${self.brokerId},e=${self.brokerEpoch},r=${nonce}`, 'utf8'))).toString('utf8'));
  const serverNonce = serverFirst?.get('r');
  if (!serverFirst || !serverNonce || !NONCE.test(serverNonce)) throw new Error(`broker ${leaderId} answered ${CLUSTER_SASL_MECHANISM} with a malformed message`);
  const t = transcript(self.brokerId, self.brokerEpoch, nonce, serverNonce, leaderId);
  if (!sameHex(serverFirst.get('p'), secretProof(secret, 'server', t))) throw new Error(`broker ${leaderId} did not prove the cluster secret (is --cluster-secret-file the same on every node?)`);
  await exchange(Buffer.from(`p=${secretProof(secret, 'client', t).toString('hex')}`, 'utf8'));
}
