// SCRAM credentials and ACLs in the controller's metadata log, as Kafka keeps them in KRaft
// (UserScramCredentialRecord / RemoveUserScramCredentialRecord, AccessControlEntryRecord /
// RemoveAccessControlEntryRecord): every broker applies the same committed records, so a user or an
// ACL created through any broker holds on every broker, and snapshots carry them like the rest.
//
// Records are checked twice: their shape by zod when decoded, their meaning (a storable binding, the
// limits) by the apply functions here, which are pure like the rest of state.ts.
import { z } from 'zod';
import { bindingKey, bindingProblem, type AclBinding } from '../../security/acl.ts';

/** Users the replicated store holds (credentials.ts MAX_USERS, repeated here to keep this module free of I/O imports). */
export const MAX_REPLICATED_USERS = 10_000;
/** Absolute bound on replicated ACLs whatever a broker's --max-acls says: keeps every snapshot bounded. */
export const MAX_REPLICATED_ACLS = 100_000;
/** Changes one record may carry: bounds one record whatever a request holds. */
export const MAX_SECURITY_CHANGES = 10_000;

const b64 = (maxBytes: number) => z.string().max(Math.ceil(maxBytes / 3) * 4).regex(/^[A-Za-z0-9+/]*={0,2}$/);
export const scramMechanismSchema = z.enum(['SCRAM-SHA-256', 'SCRAM-SHA-512']);
export type ReplicatedScramMechanism = z.infer<typeof scramMechanismSchema>;

/** What is kept per user and mechanism (credentials.ts ScramCredential), base64 for JSON. Never a password. */
export const scramCredentialSchema = z.strictObject({
  salt: b64(1024).min(1),
  iterations: z.number().int().min(4096).max(16384),
  storedKey: b64(64).min(1),
  serverKey: b64(64).min(1),
});
export type ReplicatedScramCredential = z.infer<typeof scramCredentialSchema>;

const userName = z.string().min(1).max(256);

/** Upserts (credential set) and deletions (credential null) of one AlterUserScramCredentials request, applied together. */
export const alterScramCredentialsSchema = z.strictObject({
  type: z.literal('AlterScramCredentials'),
  changes: z
    .array(z.strictObject({ user: userName, mechanism: scramMechanismSchema, credential: scramCredentialSchema.nullable() }))
    .min(1)
    .max(MAX_SECURITY_CHANGES),
});

const field = z.string().max(1024);
export const aclBindingSchema = z.strictObject({
  resourceType: z.number().int().min(0).max(127),
  resourceName: field,
  patternType: z.number().int().min(0).max(127),
  principal: field,
  host: field,
  operation: z.number().int().min(0).max(127),
  permissionType: z.number().int().min(0).max(127),
});

/** New bindings (existing ones are skipped); refused whole past `maxAcls`, the limit of the broker that took the request (--max-acls). */
export const createAclsSchema = z.strictObject({
  type: z.literal('CreateAcls'),
  acls: z.array(aclBindingSchema).min(1).max(MAX_SECURITY_CHANGES),
  maxAcls: z.number().int().min(0).max(MAX_REPLICATED_ACLS),
});

/** Bindings to remove (the controller resolved the DeleteAcls filters against its state). */
export const removeAclsSchema = z.strictObject({
  type: z.literal('RemoveAcls'),
  acls: z.array(aclBindingSchema).min(1).max(MAX_REPLICATED_ACLS),
});

export type AlterScramCredentials = z.infer<typeof alterScramCredentialsSchema>;
export type CreateAcls = z.infer<typeof createAclsSchema>;
export type RemoveAcls = z.infer<typeof removeAclsSchema>;
export type ScramUserCredentials = Readonly<Partial<Record<ReplicatedScramMechanism, ReplicatedScramCredential>>>;

/** The security part of the metadata state. */
export interface SecurityState {
  /** User -> mechanism -> credential. */
  readonly users: ReadonlyMap<string, ScramUserCredentials>;
  /** Every ACL, in the order they were created. */
  readonly acls: readonly AclBinding[];
}

export type SecurityErrorCode = 'INVALID_ACL' | 'ACL_LIMIT' | 'USER_LIMIT' | 'NO_CHANGE';
type Failure = { readonly error: { readonly code: SecurityErrorCode; readonly message: string } };
const fail = (code: SecurityErrorCode, message: string): Failure => ({ error: { code, message } });

export function alterScramCredentials(s: SecurityState, c: AlterScramCredentials): { users: ReadonlyMap<string, ScramUserCredentials> } | Failure {
  const users = new Map(s.users);
  for (const change of c.changes) {
    const creds: Partial<Record<ReplicatedScramMechanism, ReplicatedScramCredential>> = { ...users.get(change.user) };
    if (change.credential) creds[change.mechanism] = change.credential;
    else delete creds[change.mechanism];
    if (Object.keys(creds).length === 0) users.delete(change.user);
    else users.set(change.user, creds);
  }
  if (users.size > MAX_REPLICATED_USERS && users.size > s.users.size) return fail('USER_LIMIT', `the cluster holds at most ${MAX_REPLICATED_USERS} SCRAM users`);
  return { users };
}

export function createAcls(s: SecurityState, c: CreateAcls): { acls: readonly AclBinding[] } | Failure {
  const keys = new Set(s.acls.map(bindingKey));
  const fresh: AclBinding[] = [];
  for (const b of c.acls) {
    const problem = bindingProblem(b);
    if (problem !== null) return fail('INVALID_ACL', problem);
    const key = bindingKey(b);
    if (keys.has(key)) continue;
    keys.add(key);
    fresh.push({ ...b });
  }
  const limit = Math.min(c.maxAcls, MAX_REPLICATED_ACLS);
  if (s.acls.length + fresh.length > limit) return fail('ACL_LIMIT', `the cluster holds at most ${limit} ACLs (--max-acls); it has ${s.acls.length} and the request adds ${fresh.length}`);
  if (fresh.length === 0) return fail('NO_CHANGE', 'every ACL of the request exists already');
  return { acls: [...s.acls, ...fresh] };
}

export function removeAcls(s: SecurityState, c: RemoveAcls): { acls: readonly AclBinding[] } | Failure {
  const gone = new Set(c.acls.map(bindingKey));
  const acls = s.acls.filter((b) => !gone.has(bindingKey(b)));
  return acls.length === s.acls.length ? fail('NO_CHANGE', 'none of the ACLs exists') : { acls };
}

/** Snapshot form of the users: sorted by name, so equal states serialise identically. */
export function serializeUsers(users: ReadonlyMap<string, ScramUserCredentials>): { user: string; credentials: ScramUserCredentials }[] {
  return [...users.keys()].sort().map((user) => ({ user, credentials: { ...users.get(user) } }));
}

export const snapshotUsersSchema = z.array(z.strictObject({ user: userName, credentials: z.partialRecord(scramMechanismSchema, scramCredentialSchema) })).max(MAX_REPLICATED_USERS);
export const snapshotAclsSchema = z.array(aclBindingSchema).max(MAX_REPLICATED_ACLS);

/** Problems of a loaded security state (duplicate users or ACLs, bindings that cannot be stored). */
export function securityProblems(s: SecurityState): string[] {
  const problems: string[] = [];
  const keys = new Set<string>();
  for (const b of s.acls) {
    const problem = bindingProblem(b);
    if (problem !== null) problems.push(`ACL ${bindingKey(b)}: ${problem}`);
    if (keys.has(bindingKey(b))) problems.push(`ACL ${bindingKey(b)} appears twice`);
    keys.add(bindingKey(b));
  }
  return problems;
}
