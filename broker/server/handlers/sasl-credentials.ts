import type {
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse,
  AlterUserScramCredentialsResponseResults,
} from '../../protocol/generated/alter-user-scram-credentials.ts';
import type {
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse,
  DescribeUserScramCredentialsResponseResults,
} from '../../protocol/generated/describe-user-scram-credentials.ts';
import {
  SCRAM_MECHANISMS,
  credentialFromSaltedPassword,
  credentialProblem,
  scramMechanismByWireId,
  type CredentialChange,
  type ScramMechanismName,
} from '../../security/credentials.ts';
import type { RequestContext } from '../context.ts';
import { AclOperation, clusterAllowed } from '../../security/acl-checks.ts';
import { ErrorCode, KafkaError } from '../../protocol/errors.ts';

// Kafka's error codes for these APIs that errors.ts does not list.
const RESOURCE_NOT_FOUND = 91;
const DUPLICATE_RESOURCE = 92;
const UNACCEPTABLE_CREDENTIAL = 93;
/** Users one request may name; Kafka has no limit, ours bounds the work and the response. */
const MAX_USERS_PER_REQUEST = 1_000;

/**
 * DescribeUserScramCredentials v0: mechanisms and iterations per user (never salts or keys), as
 * Kafka: null or empty `users` lists everyone; an unknown user gets RESOURCE_NOT_FOUND, a user
 * named twice DUPLICATE_RESOURCE.
 */
export function handleDescribeUserScramCredentials(req: DescribeUserScramCredentialsRequest, ctx: RequestContext): DescribeUserScramCredentialsResponse {
  // ACLs (Kafka): DESCRIBE on the cluster.
  if (!clusterAllowed(ctx, AclOperation.DESCRIBE)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: `${ctx.conn.principal} may not describe SCRAM credentials (needs DESCRIBE on the cluster)`, results: [] };
  const store = ctx.security.credentials;
  const ok = (user: string, infos: { mechanism: ScramMechanismName; iterations: number }[]): DescribeUserScramCredentialsResponseResults => ({
    user,
    errorCode: 0,
    errorMessage: null,
    credentialInfos: infos.map((i) => ({ mechanism: SCRAM_MECHANISMS[i.mechanism].wireId, iterations: i.iterations })),
  });
  if (req.users === null || req.users.length === 0) {
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, results: store.list().map((u) => ok(u.user, u.credentials)) };
  }
  if (req.users.length > MAX_USERS_PER_REQUEST) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `at most ${MAX_USERS_PER_REQUEST} users per request`, results: [] };
  }
  const counts = new Map<string, number>();
  for (const u of req.users) counts.set(u.name, (counts.get(u.name) ?? 0) + 1);
  const results = [...counts].map(([user, n]): DescribeUserScramCredentialsResponseResults => {
    if (n > 1) return { user, errorCode: DUPLICATE_RESOURCE, errorMessage: 'Cannot describe SCRAM credentials for the same user twice in a single request', credentialInfos: [] };
    const infos = store.describe(user);
    if (infos === null) return { user, errorCode: RESOURCE_NOT_FOUND, errorMessage: `Attempt to describe a user credential that does not exist: ${user}`, credentialInfos: [] };
    return ok(user, infos);
  });
  return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, results };
}

/**
 * AlterUserScramCredentials v0: deletions and upserts, one result per user, each user's changes
 * all applied or none (Kafka's rules: unknown mechanism UNSUPPORTED_SASL_MECHANISM; iterations
 * outside 4096..16384, an empty name or a user both deleted and upserted for one mechanism
 * UNACCEPTABLE_CREDENTIAL / DUPLICATE_RESOURCE; deleting what does not exist RESOURCE_NOT_FOUND).
 * The client sends the salted password, never the password. A single node writes its own store; in
 * a cluster the change is committed through the controller quorum and holds on every broker.
 */
export async function handleAlterUserScramCredentials(req: AlterUserScramCredentialsRequest, ctx: RequestContext): Promise<AlterUserScramCredentialsResponse> {
  // ACLs (Kafka): ALTER on the cluster, else every user named gets CLUSTER_AUTHORIZATION_FAILED.
  if (!clusterAllowed(ctx, AclOperation.ALTER)) {
    const users = [...new Set([...req.deletions, ...req.upsertions].map((c) => c.name))];
    return { throttleTimeMs: 0, results: users.map((user) => ({ user, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: `${ctx.conn.principal} may not alter SCRAM credentials (needs ALTER on the cluster)` })) };
  }
  const store = ctx.security.credentials;
  const results = new Map<string, AlterUserScramCredentialsResponseResults>();
  const fail = (user: string, errorCode: number, errorMessage: string): void => {
    if (!results.has(user) || results.get(user)!.errorCode === 0) results.set(user, { user, errorCode, errorMessage });
  };
  if (req.deletions.length + req.upsertions.length > MAX_USERS_PER_REQUEST) {
    for (const c of [...req.deletions, ...req.upsertions]) fail(c.name, ErrorCode.INVALID_REQUEST, `at most ${MAX_USERS_PER_REQUEST} changes per request`);
    return { throttleTimeMs: 0, results: [...results.values()] };
  }
  const seen = new Set<string>();
  const changes = new Map<string, CredentialChange[]>();
  const add = (user: string, change: CredentialChange): void => {
    results.set(user, results.get(user) ?? { user, errorCode: 0, errorMessage: null });
    changes.set(user, [...(changes.get(user) ?? []), change]);
  };
  /** The checks deletions and upsertions share, in Kafka's order; the mechanism when they pass, else null (the failure recorded). */
  const screen = (user: string, wireId: number, problem: string | null): ScramMechanismName | null => {
    const mechanism = scramMechanismByWireId(wireId);
    const key = `${user}\u0000${mechanism}`;
    let ok = false;
    if (problem !== null) fail(user, UNACCEPTABLE_CREDENTIAL, problem);
    else if (mechanism === null) fail(user, ErrorCode.UNSUPPORTED_SASL_MECHANISM, `Unknown SCRAM mechanism ${wireId}`);
    else if (seen.has(key)) fail(user, DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request');
    else ok = true;
    if (mechanism !== null) seen.add(key);
    return ok ? mechanism : null;
  };
  for (const d of req.deletions) {
    const mechanism = screen(d.name, d.mechanism, credentialProblem(d.name, null, null));
    if (mechanism === null) continue;
    if (store.get(d.name, mechanism) === undefined) fail(d.name, RESOURCE_NOT_FOUND, `Attempt to delete a user credential that does not exist: ${d.name} ${mechanism}`);
    else add(d.name, { user: d.name, mechanism, credential: null });
  }
  for (const u of req.upsertions) {
    const mechanism = screen(u.name, u.mechanism, credentialProblem(u.name, u.iterations, u.salt));
    if (mechanism === null) continue;
    if (u.saltedPassword.length !== SCRAM_MECHANISMS[mechanism].keyBytes) fail(u.name, UNACCEPTABLE_CREDENTIAL, `Salted password must be ${SCRAM_MECHANISMS[mechanism].keyBytes} bytes for ${mechanism}`);
    else add(u.name, { user: u.name, mechanism, credential: credentialFromSaltedPassword(mechanism, u.salt, u.iterations, u.saltedPassword) });
  }
  const accepted = [...changes].filter(([user]) => results.get(user)?.errorCode === 0).flatMap(([, c]) => c);
  if (accepted.length > 0) {
    try {
      await store.apply(accepted);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      ctx.warn(`AlterUserScramCredentials failed: ${message}`);
      // In a cluster: the controller quorum's refusal or timeout (e.g. REQUEST_TIMED_OUT without a majority).
      for (const c of accepted) fail(c.user, err instanceof KafkaError ? err.code : UNACCEPTABLE_CREDENTIAL, message);
    }
  }
  return { throttleTimeMs: 0, results: [...results.values()] };
}
