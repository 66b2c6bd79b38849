/**
 * A SASL mechanism as the broker's SaslHandshake/SaslAuthenticate handlers drive it: Kafka carries
 * each SASL message in one SaslAuthenticate request (KIP-152), so an exchange is a sequence of
 * steps, each taking the client's bytes and answering the server's.
 */
export interface SaslMechanism {
  /** The name clients ask for in SaslHandshake: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, ... */
  readonly name: string;
  /**
   * Whether a client may use it on a listener whose security protocol is not SASL_* (only the
   * cluster's own inter-node mechanism, so nodes can authenticate on any listener).
   */
  readonly anyListener?: boolean;
  /** Starts one exchange for one connection. */
  start(conn: { readonly remoteAddress: string }): SaslExchange;
}

export interface SaslStep {
  /** Bytes sent back in SaslAuthenticate's authBytes. */
  response: Buffer;
  /** Set on the last step: the principal the connection now acts as ("User:alice", "Broker:2"). */
  principal?: string;
}

export interface SaslExchange {
  /** One client message. Throws SaslAuthenticationError when the client fails to authenticate. */
  step(clientBytes: Buffer): SaslStep | Promise<SaslStep>;
}

/** The client failed to authenticate: SASL_AUTHENTICATION_FAILED with this message, then the connection closes. */
export class SaslAuthenticationError extends Error {}
