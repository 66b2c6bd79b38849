// Who may fetch as a replica. A Fetch with replicaId >= 0 reads past the high watermark and moves
// it (partition-replica.ts), so the leader serves it only to the broker it names, authenticated with
// the cluster's SASL mechanism (server/sasl/cluster.ts), at the registration the leader knows as
// current: anything else gets Kafka's answer to a follower fetch without ClusterAction
// (TOPIC_AUTHORIZATION_FAILED per partition) or STALE_BROKER_EPOCH (KIP-903).
import { ErrorCode } from '../../protocol/errors.ts';
import type { ClusterPeer } from '../../server/sasl/cluster.ts';
import type { MetadataState } from '../metadata/index.ts';

export interface ReplicaFetchRefusal {
  readonly errorCode: number;
  readonly message: string;
}

/** Null when `conn` authenticated as broker `replicaId` with the broker epoch `state` holds for it. */
export function replicaFetchRefusal(conn: { readonly principal: string }, replicaId: number, peer: ClusterPeer | undefined, state: MetadataState | null): ReplicaFetchRefusal | null {
  if (conn.principal !== `Broker:${replicaId}` || peer?.brokerId !== replicaId) {
    return { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, message: `Fetch as replica ${replicaId} refused: the connection is ${conn.principal}, not Broker:${replicaId} authenticated with the cluster secret` };
  }
  const registered = state?.brokers.get(replicaId);
  if (!registered || registered.epoch !== peer.brokerEpoch) {
    return { errorCode: ErrorCode.STALE_BROKER_EPOCH, message: `Fetch as replica ${replicaId} refused: it authenticated with broker epoch ${peer.brokerEpoch}, the registration known here has ${registered ? `epoch ${registered.epoch}` : 'none'}` };
  }
  return null;
}

/** The refusal for a node outside any cluster: no broker can be its follower. */
export const NO_REPLICAS_HERE: ReplicaFetchRefusal = { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, message: 'Fetch with a replica id refused: this broker is not part of a cluster' };
