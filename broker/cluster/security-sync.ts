// SCRAM credentials and ACLs in cluster mode: one set for the whole cluster, in the controller's
// metadata log (metadata/security.ts), as Kafka keeps them in KRaft. This broker's CredentialStore
// and Authorizer become views of the committed metadata: every applied state replaces what they
// hold, and AlterUserScramCredentials / CreateAcls / DeleteAcls taken here (after the client's own
// authorisation was checked here, as Kafka's forwarding does) are sent to the active controller,
// answered once this broker has applied the result, so the client reads its own change at once.
//
// A node's local files (meta/scram-credentials.json, meta/acls.json, e.g. written offline with
// `untangle users add --data-dir`) are imported once at start and then renamed to *.imported, so a
// later start cannot bring back what was deleted through the cluster since.
import type { Authorizer } from '../security/acl-store.ts';
import { AclLimitError } from '../security/acl-store.ts';
import { bindingKey, type AclBinding, type AclBindingFilter } from '../security/acl.ts';
import type { CredentialChange, CredentialStore, StoredUser } from '../security/credentials.ts';
import { ControllerError, type ControllerClient } from './controller/index.ts';
import { serializeUsers, type MetadataState, type ScramUserCredentials } from './metadata/index.ts';

export interface ReplicatedSecurityOptions {
  controller: ControllerClient;
  credentials: CredentialStore;
  authorizer: Authorizer;
  /** This broker's --max-acls: the limit a CreateAcls it forwards is checked against. */
  maxAcls: number;
  /** How long to wait for this broker to apply a committed change. */
  applyTimeoutMs: number;
  /** A controller failure as the error the handlers answer with (broker-node.ts toKafkaError). */
  toError(err: unknown): Error;
  log(line: string): void;
}

/** Changes per controller request: larger requests are split (each part is committed on its own). */
const CHUNK = 1_000;

export class ReplicatedSecurity {
  private latest: MetadataState | null = null;
  private usersPrint: string | null = null;
  private aclsPrint: string | null = null;
  private readonly localUsers: CredentialChange[];
  private readonly localAcls: AclBinding[];

  constructor(private readonly opts: ReplicatedSecurityOptions) {
    this.localUsers = opts.credentials.replicate((changes) => this.alterUsers(changes));
    this.localAcls = opts.authorizer.replicate({ create: (acls, maxAcls) => this.createAcls(acls, maxAcls), delete: (filters) => this.deleteAcls(filters) });
  }

  /** Every newly applied metadata state: replaces the credential and ACL views when their part changed. */
  apply(state: MetadataState): void {
    this.latest = state;
    const usersPrint = JSON.stringify(serializeUsers(state.users));
    if (usersPrint !== this.usersPrint) {
      this.usersPrint = usersPrint;
      this.opts.credentials.replaceAll([...state.users].map(([user, creds]) => [user, decodeUser(creds)]));
    }
    const aclsPrint = JSON.stringify(state.acls);
    if (aclsPrint !== this.aclsPrint) {
      this.aclsPrint = aclsPrint;
      this.opts.authorizer.replaceAll(state.acls);
    }
  }

  /** Imports the local files' users and ACLs into the cluster's set (upserts), then renames the files. Failures are logged; the files stay for the next start. */
  async importLocalFiles(): Promise<void> {
    if (this.localUsers.length > 0) {
      try {
        for (let i = 0; i < this.localUsers.length; i += CHUNK) await this.alterUsers(this.localUsers.slice(i, i + CHUNK));
        this.opts.credentials.retireFile();
        this.opts.log(`imported ${this.localUsers.length} SCRAM credential(s) from this node's credential file into the cluster's; the file is renamed to *.imported`);
      } catch (err) {
        this.opts.log(`could not import this node's SCRAM credentials into the cluster (retried at the next start): ${(err as Error).message}`);
      }
    }
    if (this.localAcls.length > 0) {
      try {
        for (let i = 0; i < this.localAcls.length; i += CHUNK) await this.createAcls(this.localAcls.slice(i, i + CHUNK), this.opts.maxAcls);
        this.opts.authorizer.retireFile();
        this.opts.log(`imported ${this.localAcls.length} ACL(s) from this node's ACL file into the cluster's; the file is renamed to *.imported`);
      } catch (err) {
        this.opts.log(`could not import this node's ACLs into the cluster (retried at the next start): ${(err as Error).message}`);
      }
    }
  }

  private async alterUsers(changes: CredentialChange[]): Promise<void> {
    const wire = changes.map((c) => ({ user: c.user, mechanism: c.mechanism, credential: c.credential ? encodeCredential(c.credential) : null }));
    await this.call(() => this.opts.controller.alterScramCredentials(wire));
    await this.applied((s) => wire.every((c) => JSON.stringify(s.users.get(c.user)?.[c.mechanism] ?? null) === JSON.stringify(c.credential)));
  }

  private async createAcls(acls: AclBinding[], maxAcls: number): Promise<void> {
    try {
      await this.opts.controller.createAcls(acls, maxAcls);
    } catch (err) {
      if (err instanceof ControllerError && err.code === 'ACL_LIMIT') throw new AclLimitError(err.message);
      if (!(err instanceof ControllerError && err.code === 'NO_CHANGE')) throw this.opts.toError(err);
    }
    const keys = acls.map(bindingKey);
    await this.applied((s) => {
      const held = new Set(s.acls.map(bindingKey));
      return keys.every((k) => held.has(k));
    });
  }

  private async deleteAcls(filters: AclBindingFilter[]): Promise<AclBinding[][]> {
    const removed: AclBinding[][] = [];
    for (let i = 0; i < filters.length; i += CHUNK) removed.push(...(await this.call(() => this.opts.controller.deleteAcls(filters.slice(i, i + CHUNK)))));
    const gone = new Set(removed.flat().map(bindingKey));
    if (gone.size > 0) await this.applied((s) => !s.acls.some((b) => gone.has(bindingKey(b))));
    return removed;
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.opts.toError(err);
    }
  }

  /** Waits (bounded) until this broker has applied metadata showing a committed change; later requests here then see it. */
  private async applied(done: (s: MetadataState) => boolean): Promise<void> {
    const deadline = Date.now() + this.opts.applyTimeoutMs;
    while (Date.now() < deadline) {
      if (this.latest && done(this.latest)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function encodeCredential(c: NonNullable<CredentialChange['credential']>): NonNullable<ScramUserCredentials['SCRAM-SHA-256']> {
  return { salt: c.salt.toString('base64'), iterations: c.iterations, storedKey: c.storedKey.toString('base64'), serverKey: c.serverKey.toString('base64') };
}

function decodeUser(creds: ScramUserCredentials): StoredUser {
  const out: StoredUser = {};
  for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    const c = creds[mechanism];
    if (c) out[mechanism] = { salt: Buffer.from(c.salt, 'base64'), iterations: c.iterations, storedKey: Buffer.from(c.storedKey, 'base64'), serverKey: Buffer.from(c.serverKey, 'base64') };
  }
  return out;
}
