// The cluster secret: one shared key that every node of a cluster (controllers and brokers) holds.
// It authenticates the controller quorum's connections (controller/auth.ts: a challenge-response
// handshake, then a MAC on every frame) and the brokers' replica fetches (the inter-node SASL
// mechanism in server/sasl/cluster.ts). Cluster mode requires one: a node without it cannot join,
// and the tools that start whole clusters (startCluster, process-cluster.ts, `untangle cluster`)
// generate one per cluster so their callers need not.
//
// A shared secret makes every holder equally trusted, as one inter-broker credential does in Kafka:
// it keeps out whoever lacks it and binds each connection to the one node id it authenticated as,
// but a node holding it could claim another node's id. Keep the file readable by the broker's user only.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync, statSync } from 'node:fs';

/** Shortest secret accepted: 32 bytes, HMAC-SHA256's block of entropy. */
export const MIN_CLUSTER_SECRET_BYTES = 32;
/** Longest secret file read, so a wrong path (a log file, a device) fails clearly instead of filling memory. */
export const MAX_CLUSTER_SECRET_BYTES = 4096;

/** Bytes of each side's fresh nonce in the challenge-responses over the secret (hex on the wire). */
export const NONCE_BYTES = 32;

/** A fresh nonce, hex. */
export function freshNonce(): string {
  return randomBytes(NONCE_BYTES).toString('hex');
}

/** A side's proof that it holds the secret: HMAC-SHA256(secret, "<role>|<transcript>"); the role keeps one side's proof from being reflected as the other's. */
export function secretProof(secret: Buffer, role: 'server' | 'client', transcript: string): Buffer {
  return createHmac('sha256', secret).update(`${role}|${transcript}`, 'utf8').digest();
}

/** Whether hex `text` is `expected`, compared in constant time; false for anything not lower-case hex. */
export function sameHex(text: string | undefined, expected: Buffer): boolean {
  if (text === undefined || !/^[0-9a-f]+$/.test(text)) return false;
  const got = Buffer.from(text, 'hex');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** Throws unless `secret` is a usable cluster secret; `what` names where it came from. */
export function checkClusterSecret(secret: Buffer | undefined, what: string): Buffer {
  if (!Buffer.isBuffer(secret)) throw new Error(`${what}: cluster mode needs a cluster secret (--cluster-secret-file FILE, at least ${MIN_CLUSTER_SECRET_BYTES} bytes, the same on every node)`);
  if (secret.length < MIN_CLUSTER_SECRET_BYTES) throw new Error(`${what}: the cluster secret has ${secret.length} bytes; at least ${MIN_CLUSTER_SECRET_BYTES} are needed`);
  if (secret.length > MAX_CLUSTER_SECRET_BYTES) throw new Error(`${what}: the cluster secret has ${secret.length} bytes; at most ${MAX_CLUSTER_SECRET_BYTES} are read`);
  return secret;
}

/** A fresh random secret (64 hex characters: the same bytes a generated file holds). */
export function generateClusterSecret(): Buffer {
  return Buffer.from(randomBytes(32).toString('hex'), 'utf8');
}

/**
 * Reads a secret file: its bytes, less trailing line breaks and spaces (so `openssl rand -hex 32 > f`
 * works). Throws with the reason when it is missing, too short or too long.
 */
export function readClusterSecretFile(file: string): Buffer {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw new Error(`cannot read the cluster secret file ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (size > MAX_CLUSTER_SECRET_BYTES + 64) throw new Error(`the cluster secret file ${file} has ${size} bytes; a secret is ${MIN_CLUSTER_SECRET_BYTES}..${MAX_CLUSTER_SECRET_BYTES} bytes`);
  const raw = readFileSync(file);
  let end = raw.length;
  while (end > 0 && (raw[end - 1] === 0x0a || raw[end - 1] === 0x0d || raw[end - 1] === 0x20 || raw[end - 1] === 0x09)) end--;
  return checkClusterSecret(raw.subarray(0, end), `cluster secret file ${file}`);
}

/** Writes a secret file readable by its owner only. */
export function writeClusterSecretFile(file: string, secret: Buffer): void {
  writeFileSync(file, Buffer.concat([checkClusterSecret(secret, file), Buffer.from('\n')]), { mode: 0o600 });
}
