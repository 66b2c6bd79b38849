// Authentication of controller connections with the cluster secret (see ../secret.ts).
//
// Handshake (before it, nothing but these three frames is accepted):
//   client -> server  hello      {kind: 'raft', from, nonce} | {kind: 'broker', brokerId, nonce}
//   server -> client  challenge  {nonce, proof: HMAC(secret, "server" | transcript)}
//   client -> server  proof      {proof: HMAC(secret, "client" | transcript)}
// where transcript binds the claimed identity, both fresh nonces and the server's node id. Both
// sides prove the secret, each over a nonce the other chose, so a recorded handshake is worthless;
// the role labels keep one side's proof from being reflected as the other's.
//
// After it every frame carries HMAC-SHA256(key, sequence number | payload), with one key and one
// counter per direction derived from the transcript: a frame cannot be forged, altered, replayed,
// reordered, dropped from the middle or moved to another connection without the check failing,
// and a failed check closes the connection. TLS would add confidentiality; the controller traffic
// is metadata, not records, and the secret never crosses the wire.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { NONCE_BYTES, freshNonce, sameHex, secretProof } from '../secret.ts';

/** Largest frame accepted before the handshake completes: its three frames are a few hundred bytes. */
export const HANDSHAKE_MAX_FRAME_BYTES = 4096;
export const MAC_BYTES = 32;
const hex = (bytes: number) => z.string().length(bytes * 2).regex(/^[0-9a-f]+$/);
const nodeId = z.number().int().min(0).max(2 ** 31 - 1);

export const helloSchema = z.discriminatedUnion('kind', [
  /** A broker (or a tool acting for one); brokerId null: an admin client that may not act for any broker. */
  z.strictObject({ kind: z.literal('broker'), brokerId: nodeId.nullable(), nonce: hex(NONCE_BYTES) }),
  z.strictObject({ kind: z.literal('raft'), from: nodeId, nonce: hex(NONCE_BYTES) }),
]);
export type Hello = z.infer<typeof helloSchema>;
export const challengeSchema = z.strictObject({ nonce: hex(NONCE_BYTES), proof: hex(MAC_BYTES) });
export const proofSchema = z.strictObject({ proof: hex(MAC_BYTES) });

/** The two directions' MAC keys of one authenticated connection. */
export interface SessionKeys {
  readonly clientToServer: Buffer;
  readonly serverToClient: Buffer;
}

function transcript(hello: Hello, serverNonce: string, serverId: number): string {
  const who = hello.kind === 'raft' ? `raft:${hello.from}` : `broker:${hello.brokerId ?? 'admin'}`;
  return `untangle-controller-v1|${who}|${hello.nonce}|${serverNonce}|to:${serverId}`;
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

function keys(secret: Buffer, t: string): SessionKeys {
  return { clientToServer: hmac(secret, `c2s|${t}`), serverToClient: hmac(secret, `s2c|${t}`) };
}

/** The server's side: answers a hello with a challenge, then checks the client's proof. */
export class ServerHandshake {
  private readonly nonce = freshNonce();

  constructor(
    private readonly secret: Buffer,
    private readonly serverId: number,
    readonly hello: Hello,
  ) {}

  challenge(): z.infer<typeof challengeSchema> {
    return { nonce: this.nonce, proof: secretProof(this.secret, 'server', transcript(this.hello, this.nonce, this.serverId)).toString('hex') };
  }

  /** The session keys when the client proved the secret; null when it did not. */
  verify(value: unknown): SessionKeys | null {
    const p = proofSchema.safeParse(value);
    if (!p.success) return null;
    const t = transcript(this.hello, this.nonce, this.serverId);
    return sameHex(p.data.proof, secretProof(this.secret, 'client', t)) ? keys(this.secret, t) : null;
  }
}

/** The client's side: sends the hello, checks the server's proof, answers with its own. */
export class ClientHandshake {
  readonly hello: Hello;

  constructor(
    private readonly secret: Buffer,
    identity: { kind: 'raft'; from: number } | { kind: 'broker'; brokerId: number | null },
    private readonly serverId: number,
  ) {
    this.hello = { ...identity, nonce: freshNonce() };
  }

  /** Throws when the server did not prove the secret; else the proof frame to send and the keys. */
  answer(value: unknown): { proof: z.infer<typeof proofSchema>; keys: SessionKeys } {
    const c = challengeSchema.safeParse(value);
    if (!c.success) throw new Error('the controller did not answer the hello with a challenge');
    const t = transcript(this.hello, c.data.nonce, this.serverId);
    if (!sameHex(c.data.proof, secretProof(this.secret, 'server', t))) throw new Error(`controller ${this.serverId} did not prove the cluster secret (is --cluster-secret-file the same on every node?)`);
    return { proof: { proof: secretProof(this.secret, 'client', t).toString('hex') }, keys: keys(this.secret, t) };
  }
}

/** Per-direction MAC state of one connection: the key and the next sequence number. */
export class FrameMac {
  private seq = 0n;
  constructor(private readonly key: Buffer) {}

  /** The tag of the next frame's payload; advances the sequence. */
  next(payload: Buffer): Buffer {
    const seq = Buffer.allocUnsafe(8);
    seq.writeBigUInt64BE(this.seq++);
    return createHmac('sha256', this.key).update(seq).update(payload).digest();
  }

  /** Whether `tag` is the tag of the next frame's payload; advances the sequence either way. */
  check(tag: Buffer, payload: Buffer): boolean {
    const expected = this.next(payload);
    return tag.length === expected.length && timingSafeEqual(tag, expected);
  }
}
