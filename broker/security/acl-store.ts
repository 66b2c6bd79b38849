import { readTextIfExists, renameIfExists, writeFileAtomic } from '../log/storage.ts';
import { z } from 'zod';
import {
  authorize,
  authorizeByResourceType,
  bindingKey,
  bindingProblem,
  filterMatches,
  type AclAction,
  type AclBinding,
  type AclBindingFilter,
  type AuthorizerPolicy,
  PatternType,
  WILDCARD_RESOURCE,
} from './acl.ts';

interface ResourceIndex {
  literal: Map<string, AclBinding[]>;
  prefixed: Map<string, AclBinding[]>;
  /** The distinct prefix lengths, ascending: at most MAX_ACL_FIELD_CHARS lookups per check. */
  prefixLengths: number[];
}

/** The authorizer a broker runs with: Kafka's authorizer.class.name, reduced to off or ACLs. */
export type AuthorizerKind = 'none' | 'acl';

export interface AuthorizerOptions {
  kind: AuthorizerKind;
  /** Where the ACLs are kept (under the data dir); read at start, rewritten atomically on each change. */
  file: string;
  superUsers: readonly string[];
  allowEveryoneIfNoAclFound: boolean;
  /** Most ACLs held; CreateAcls beyond it is refused. Kafka has no such limit; this keeps the file and every check bounded. */
  maxAcls: number;
}

const bindingSchema = z.strictObject({
  resourceType: z.number().int(),
  resourceName: z.string(),
  patternType: z.number().int(),
  principal: z.string(),
  host: z.string(),
  operation: z.number().int(),
  permissionType: z.number().int(),
});
const fileSchema = z.strictObject({ version: z.literal(1), acls: z.array(bindingSchema) });

/** Cluster mode: where ACL changes go instead of the file (cluster/security-sync.ts: the controller quorum). */
export interface ReplicatedAcls {
  /** Commits new bindings; throws AclLimitError when the cluster would hold more than maxAcls. */
  create(bindings: AclBinding[], maxAcls: number): Promise<void>;
  /** Removes what each filter matches; per filter, what it removed. */
  delete(filters: AclBindingFilter[]): Promise<AclBinding[][]>;
}

/** An ACL change refused as a whole (the limit); the handler answers with this code and message. */
export class AclLimitError extends Error {}

/**
 * Holds the ACLs and decides requests against them. With kind "none" (the default, as Kafka with no
 * authorizer.class.name) every action is allowed and the ACL APIs answer SECURITY_DISABLED.
 *
 * Changes are serialised and each is on disk before it is answered (temp file, fsync, rename, fsync
 * of the directory), so an acknowledged CreateAcls/DeleteAcls survives a crash and a torn write
 * never replaces the previous file. In a cluster they live in the controller's metadata log instead
 * (replicate(), cluster/security-sync.ts), the same on every broker.
 */
export class Authorizer {
  private bindings: AclBinding[] = [];
  private readonly keys = new Set<string>();
  /** Bindings by resource type, then literal name or prefix: a check looks only at those that can apply. */
  private index = new Map<number, ResourceIndex>();
  private readonly policy: AuthorizerPolicy;
  /** Before the replicated ACLs have arrived (cluster mode): super users only, never "no ACL found, allowed". */
  private readonly superUsersOnly: AuthorizerPolicy;
  private operations: Promise<unknown> = Promise.resolve();
  /** Cluster mode: changes go through the controller quorum; null on a single node. */
  private remote: ReplicatedAcls | null = null;
  /** False in cluster mode until the first replicated ACLs arrive. */
  private loaded = true;

  private constructor(private readonly options: AuthorizerOptions) {
    this.policy = { superUsers: new Set(options.superUsers), allowEveryoneIfNoAclFound: options.allowEveryoneIfNoAclFound };
    this.superUsersOnly = { ...this.policy, allowEveryoneIfNoAclFound: false };
  }

  /**
   * Cluster mode: from now on the ACLs are the cluster's replicated ones (replaceAll) and changes go
   * to `remote`; the file is no longer written. Until the first replaceAll only super users (and
   * brokers) are allowed, so a starting broker never serves with an empty or partial ACL set.
   * Returns the ACLs the local file held, to import once.
   */
  replicate(remote: ReplicatedAcls): AclBinding[] {
    const local = this.bindings;
    this.remote = remote;
    this.loaded = false;
    this.bindings = [];
    this.keys.clear();
    this.reindex();
    return local;
  }

  /** Cluster mode: the ACLs as the committed metadata now holds them. */
  replaceAll(bindings: readonly AclBinding[]): void {
    this.bindings = [];
    this.keys.clear();
    for (const b of bindings) this.add(b);
    this.reindex();
    this.loaded = true;
  }

  /** Cluster mode: once the local file's ACLs are in the replicated set, the file is renamed so a later start cannot bring back ACLs deleted since. */
  retireFile(): void {
    renameIfExists(this.options.file, `${this.options.file}.imported`);
  }

  /** Loads the ACL file if there is one. A file that does not parse stops the start: running with lost ACLs would open or close everything silently. */
  static async open(options: AuthorizerOptions): Promise<Authorizer> {
    const authorizer = new Authorizer(options);
    const text = await readTextIfExists(options.file);
    if (text !== null) {
      let parsed: z.infer<typeof fileSchema>;
      try {
        parsed = fileSchema.parse(JSON.parse(text));
      } catch (err) {
        throw new Error(`the ACL file ${options.file} is not valid (${(err as Error).message.slice(0, 300)}); restore it or move it away to start without ACLs`, { cause: err });
      }
      for (const b of parsed.acls) {
        const problem = bindingProblem(b);
        if (problem !== null) throw new Error(`the ACL file ${options.file} holds an invalid ACL: ${problem}`);
        authorizer.add(b);
      }
      authorizer.reindex();
    }
    return authorizer;
  }

  get enabled(): boolean {
    return this.options.kind === 'acl';
  }

  get size(): number {
    return this.bindings.length;
  }

  /** Whether the principal may do the operation on the resource (always, with the authorizer off). */
  authorize(action: AclAction): boolean {
    if (!this.enabled) return true;
    return this.loaded ? authorize(this.candidates(action.resourceType, action.resourceName), this.policy, action) : authorize([], this.superUsersOnly, action);
  }

  /** Whether the principal may do the operation on some resource of the type (KIP-679's authorizeByResourceType). */
  authorizeAny(action: Omit<AclAction, 'resourceName'>): boolean {
    return !this.enabled || authorizeByResourceType(this.bindings, this.loaded ? this.policy : this.superUsersOnly, action);
  }

  describe(filter: AclBindingFilter): AclBinding[] {
    return this.bindings.filter((b) => filterMatches(filter, b));
  }

  /**
   * Adds valid, new bindings (existing ones are a no-op, as in Kafka) and persists them. Throws
   * AclLimitError, adding none of them, when they would take the count past maxAcls.
   */
  create(bindings: readonly AclBinding[]): Promise<void> {
    return this.serial(() => this.createNow(bindings));
  }

  /** Removes every binding one of the filters matches; returns, per filter, what it removed. */
  delete(filters: readonly AclBindingFilter[]): Promise<AclBinding[][]> {
    return this.serial(() => this.deleteNow(filters));
  }

  /** Waits for the last change to reach the disk. */
  async close(): Promise<void> {
    await this.operations.catch(() => undefined);
  }

  /** One change at a time, each on disk (or undone) before the next starts: a failed write never undoes a later change. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.operations.then(fn, fn);
    this.operations = run.catch(() => undefined);
    return run;
  }

  private async createNow(bindings: readonly AclBinding[]): Promise<void> {
    const fresh = new Map<string, AclBinding>();
    for (const b of bindings) if (!this.keys.has(bindingKey(b))) fresh.set(bindingKey(b), b);
    if (this.bindings.length + fresh.size > this.options.maxAcls) {
      throw new AclLimitError(`this broker holds at most ${this.options.maxAcls} ACLs (--max-acls); it has ${this.bindings.length} and the request adds ${fresh.size}`);
    }
    if (fresh.size === 0) return;
    if (this.remote) return this.remote.create([...fresh.values()], this.options.maxAcls);
    const before = [...this.bindings];
    for (const b of fresh.values()) this.add(b);
    this.reindex();
    await this.persistOrRestore(before);
  }

  private async deleteNow(filters: readonly AclBindingFilter[]): Promise<AclBinding[][]> {
    if (this.remote) return filters.length === 0 ? [] : this.remote.delete([...filters]);
    const removed = filters.map((f) => this.bindings.filter((b) => filterMatches(f, b)));
    const gone = new Set(removed.flat().map(bindingKey));
    if (gone.size === 0) return removed;
    const before = this.bindings;
    this.bindings = this.bindings.filter((b) => !gone.has(bindingKey(b)));
    for (const key of gone) this.keys.delete(key);
    this.reindex();
    await this.persistOrRestore(before);
    return removed;
  }

  /** Writes the file; if that fails, goes back to `before` so what is enforced is what is on disk, and rethrows. */
  private async persistOrRestore(before: AclBinding[]): Promise<void> {
    try {
      await this.persist();
    } catch (err) {
      this.bindings = before;
      this.keys.clear();
      for (const b of before) this.keys.add(bindingKey(b));
      this.reindex();
      throw err;
    }
  }

  private add(b: AclBinding): void {
    const copy: AclBinding = { ...b };
    this.bindings.push(copy);
    this.keys.add(bindingKey(copy));
  }

  private reindex(): void {
    this.index = new Map();
    for (const b of this.bindings) {
      let entry = this.index.get(b.resourceType);
      if (!entry) {
        entry = { literal: new Map(), prefixed: new Map(), prefixLengths: [] };
        this.index.set(b.resourceType, entry);
      }
      const byName = b.patternType === PatternType.PREFIXED ? entry.prefixed : entry.literal;
      const list = byName.get(b.resourceName);
      if (list) list.push(b);
      else byName.set(b.resourceName, [b]);
    }
    for (const entry of this.index.values()) entry.prefixLengths = [...new Set([...entry.prefixed.keys()].map((k) => k.length))].sort((a, b) => a - b);
  }

  /** The bindings whose pattern may match the resource: its literal name, the "*" wildcard, and each stored prefix of it. */
  private candidates(resourceType: number, name: string): AclBinding[] {
    const entry = this.index.get(resourceType);
    if (!entry) return [];
    const out = [...(entry.literal.get(name) ?? [])];
    if (name !== WILDCARD_RESOURCE) out.push(...(entry.literal.get(WILDCARD_RESOURCE) ?? []));
    for (const length of entry.prefixLengths) {
      if (length > name.length) break;
      out.push(...(entry.prefixed.get(name.slice(0, length)) ?? []));
    }
    return out;
  }

  /** Atomic replace (temporary file, fsync, rename, fsync of the directory); callers are serialised by serial(). */
  private async persist(): Promise<void> {
    const text = JSON.stringify({ version: 1, acls: this.bindings }, null, 1);
    writeFileAtomic(this.options.file, text, { createDir: true });
  }
}
