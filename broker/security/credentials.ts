import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { readTextIfExists, renameIfExists, writeFileAtomic } from '../log/storage.ts';

/**
 * The SCRAM mechanisms Kafka defines (RFC 5802 with RFC 7677's SHA-256 and SHA-512), with the ids
 * DescribeUserScramCredentials and AlterUserScramCredentials carry on the wire (Kafka's
 * ScramMechanism enum: 0 is UNKNOWN).
 */
export const SCRAM_MECHANISMS = {
  'SCRAM-SHA-256': { hash: 'sha256', keyBytes: 32, wireId: 1 },
  'SCRAM-SHA-512': { hash: 'sha512', keyBytes: 64, wireId: 2 },
} as const;

export type ScramMechanismName = keyof typeof SCRAM_MECHANISMS;

/** Kafka's bounds for SCRAM iterations (ScramMechanism.minIterations / maxIterations; AlterUserScramCredentials refuses others). */
export const MIN_SCRAM_ITERATIONS = 4096;
export const MAX_SCRAM_ITERATIONS = 16384;
/** Users held in the store; an upsert past it is refused, so the file and memory stay bounded whoever has ALTER on the cluster. */
export const MAX_USERS = 10_000;
/** Longest user name, in UTF-8 bytes. Kafka has none; ours keeps the store and principals bounded. */
export const MAX_USER_NAME_BYTES = 256;
/** Longest salt accepted from AlterUserScramCredentials (Kafka clients send 32..64 random bytes). */
export const MAX_SALT_BYTES = 1024;

/**
 * What the broker keeps for one user and mechanism: never the password, only what RFC 5802 needs to
 * verify a proof (storedKey) and to prove itself back (serverKey).
 */
export interface ScramCredential {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

export function isScramMechanism(name: string): name is ScramMechanismName {
  return Object.hasOwn(SCRAM_MECHANISMS, name);
}

export function scramMechanismByWireId(id: number): ScramMechanismName | null {
  for (const [name, m] of Object.entries(SCRAM_MECHANISMS)) if (m.wireId === id) return name as ScramMechanismName;
  return null;
}

export function hmac(mechanism: ScramMechanismName, key: Buffer, data: Buffer | string): Buffer {
  return createHmac(SCRAM_MECHANISMS[mechanism].hash, key).update(data).digest();
}

export function hash(mechanism: ScramMechanismName, data: Buffer): Buffer {
  return createHash(SCRAM_MECHANISMS[mechanism].hash).update(data).digest();
}

/**
 * RFC 5802 Hi(): PBKDF2 with the mechanism's HMAC over the password's UTF-8 bytes, without SASLprep,
 * as Kafka's ScramFormatter and its clients (kafkajs, librdkafka) do, so non-ASCII passwords agree.
 * Asynchronous: 16384 iterations of SHA-512 take milliseconds we do not block the event loop for.
 */
export function saltPassword(mechanism: ScramMechanismName, password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  const m = SCRAM_MECHANISMS[mechanism];
  return new Promise((resolve, reject) => {
    pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, m.keyBytes, m.hash, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** The stored form of a salted password (what AlterUserScramCredentials sends: the client salts, so the password never crosses the wire). */
export function credentialFromSaltedPassword(mechanism: ScramMechanismName, salt: Buffer, iterations: number, saltedPassword: Buffer): ScramCredential {
  const clientKey = hmac(mechanism, saltedPassword, 'Client Key');
  return {
    salt: Buffer.from(salt),
    iterations,
    storedKey: hash(mechanism, clientKey),
    serverKey: hmac(mechanism, saltedPassword, 'Server Key'),
  };
}

export async function credentialFromPassword(mechanism: ScramMechanismName, password: string, iterations = MIN_SCRAM_ITERATIONS, salt = randomBytes(32)): Promise<ScramCredential> {
  return credentialFromSaltedPassword(mechanism, salt, iterations, await saltPassword(mechanism, password, salt, iterations));
}

/** Why a user name or credential is refused (UNACCEPTABLE_CREDENTIAL), or null. */
export function credentialProblem(user: string, iterations: number | null, salt: Buffer | null): string | null {
  if (user.length === 0) return 'Username must not be empty';
  if (Buffer.byteLength(user) > MAX_USER_NAME_BYTES) return `Username is longer than ${MAX_USER_NAME_BYTES} bytes`;
  if (iterations !== null && iterations < MIN_SCRAM_ITERATIONS) return `Too few iterations: at least ${MIN_SCRAM_ITERATIONS} are required`;
  if (iterations !== null && iterations > MAX_SCRAM_ITERATIONS) return `Too many iterations: at most ${MAX_SCRAM_ITERATIONS} are allowed`;
  if (salt !== null && (salt.length === 0 || salt.length > MAX_SALT_BYTES)) return `Salt must be 1..${MAX_SALT_BYTES} bytes`;
  return null;
}

export type StoredUser = Partial<Record<ScramMechanismName, ScramCredential>>;
/** One upsert (credential set) or deletion (null) of a user's credential for a mechanism. */
export interface CredentialChange {
  user: string;
  mechanism: ScramMechanismName;
  credential: ScramCredential | null;
}

interface FileCredential {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

const FILE_VERSION = 1;

/**
 * Every SCRAM credential of this node, in memory and in `<data dir>/meta/scram-credentials.json`.
 * One store serves SCRAM and PLAIN alike (PLAIN derives the salted password with a stored salt and
 * compares), so no plaintext password is kept anywhere. Writes are atomic (temporary file, fsync,
 * rename, fsync of the directory) and serialised; a file that cannot be read stops the broker
 * from starting rather than silently starting with no users.
 */
export class CredentialStore {
  private writing: Promise<void> = Promise.resolve();
  /** Cluster mode: where changes go instead of the file (the controller quorum); null on a single node. */
  private forward: ((changes: CredentialChange[]) => Promise<void>) | null = null;

  private constructor(
    private readonly file: string,
    private readonly users: Map<string, StoredUser>,
  ) {}

  static fileIn(dataDir: string): string {
    return join(dataDir, 'meta', 'scram-credentials.json');
  }

  static async open(dataDir: string): Promise<CredentialStore> {
    const file = CredentialStore.fileIn(dataDir);
    const text = await readTextIfExists(file);
    return new CredentialStore(file, text === null ? new Map() : parseStore(file, text));
  }

  get(user: string, mechanism: ScramMechanismName): ScramCredential | undefined {
    return this.users.get(user)?.[mechanism];
  }

  /** User -> the mechanisms and iterations it has credentials for, sorted by name. */
  list(): { user: string; credentials: { mechanism: ScramMechanismName; iterations: number }[] }[] {
    return [...this.users.keys()].sort().map((user) => ({ user, credentials: this.describe(user) ?? [] }));
  }

  describe(user: string): { mechanism: ScramMechanismName; iterations: number }[] | null {
    const stored = this.users.get(user);
    if (!stored) return null;
    return (Object.keys(stored) as ScramMechanismName[]).sort().map((mechanism) => ({ mechanism, iterations: stored[mechanism]!.iterations }));
  }

  /**
   * Cluster mode (cluster/security-sync.ts): from now on the users are the cluster's replicated ones
   * (replaceAll) and apply() hands changes to `forward`, which commits them through the controller
   * quorum, instead of writing this node's file. Returns what the local file held, to import once.
   */
  replicate(forward: (changes: CredentialChange[]) => Promise<void>): CredentialChange[] {
    const local = [...this.users].flatMap(([user, creds]) => (Object.keys(creds) as ScramMechanismName[]).map((mechanism) => ({ user, mechanism, credential: creds[mechanism]! })));
    this.forward = forward;
    this.users.clear();
    return local;
  }

  /** Cluster mode: the users as the committed metadata now holds them. */
  replaceAll(users: Iterable<[string, StoredUser]>): void {
    this.users.clear();
    for (const [user, creds] of users) if (Object.keys(creds).length > 0) this.users.set(user, creds);
  }

  /** Cluster mode: once the local file's users are in the replicated store, the file is renamed so a later start cannot bring back users deleted since. */
  retireFile(): void {
    renameIfExists(this.file, `${this.file}.imported`);
  }

  /** Applies deletions and upserts as one write. Throws (nothing changed) if the store would exceed MAX_USERS. */
  async apply(changes: CredentialChange[]): Promise<void> {
    if (this.forward) return this.forward(changes);
    const next = new Map([...this.users].map(([user, creds]) => [user, { ...creds }]));
    for (const c of changes) {
      const creds = next.get(c.user) ?? {};
      if (c.credential) creds[c.mechanism] = c.credential;
      else delete creds[c.mechanism];
      if (Object.keys(creds).length === 0) next.delete(c.user);
      else next.set(c.user, creds);
    }
    if (next.size > MAX_USERS && next.size > this.users.size) throw new Error(`the credential store holds at most ${MAX_USERS} users`);
    const write = this.writing.then(() => writeFileAtomic(this.file, serialise(next), { mode: 0o600, createDir: true }));
    this.writing = write.catch(() => undefined);
    await write;
    this.users.clear();
    for (const [user, creds] of next) this.users.set(user, creds);
  }

  /**
   * PLAIN: derives the salted password with each stored credential's salt and iterations and
   * compares storedKey in constant time. A user without credentials costs the same work (a fixed
   * salt), so timing does not tell which users exist.
   */
  async verifyPassword(user: string, password: string): Promise<boolean> {
    const stored = this.users.get(user);
    const mechanism: ScramMechanismName = stored?.['SCRAM-SHA-512'] ? 'SCRAM-SHA-512' : 'SCRAM-SHA-256';
    const cred = stored?.[mechanism] ?? DUMMY;
    const salted = await saltPassword(mechanism, password, cred.salt, cred.iterations);
    const storedKey = credentialFromSaltedPassword(mechanism, cred.salt, cred.iterations, salted).storedKey;
    return stored?.[mechanism] !== undefined && storedKey.length === cred.storedKey.length && timingSafeEqual(storedKey, cred.storedKey);
  }
}

const DUMMY: ScramCredential = { salt: Buffer.alloc(32), iterations: MIN_SCRAM_ITERATIONS, storedKey: Buffer.alloc(32), serverKey: Buffer.alloc(32) };

function serialise(users: Map<string, StoredUser>): string {
  const out: Record<string, Record<string, FileCredential>> = {};
  for (const [user, creds] of users) {
    out[user] = {};
    for (const [mechanism, c] of Object.entries(creds)) {
      out[user][mechanism] = { salt: c.salt.toString('base64'), iterations: c.iterations, storedKey: c.storedKey.toString('base64'), serverKey: c.serverKey.toString('base64') };
    }
  }
  return JSON.stringify({ version: FILE_VERSION, users: out }, null, 1) + '\n';
}

function parseStore(file: string, text: string): Map<string, StoredUser> {
  const bad = (why: string): Error => new Error(`${file}: ${why}; fix or remove the file (credentials are then re-added with \`untangle users add\`)`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw bad(`not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const d = doc as { version?: unknown; users?: unknown };
  if (typeof d !== 'object' || d === null || d.version !== FILE_VERSION || typeof d.users !== 'object' || d.users === null) {
    throw bad(`expected {"version": ${FILE_VERSION}, "users": {...}}`);
  }
  const users = new Map<string, StoredUser>();
  for (const [user, creds] of Object.entries(d.users as Record<string, unknown>)) {
    const stored: StoredUser = {};
    for (const [mechanism, raw] of Object.entries((creds ?? {}) as Record<string, unknown>)) {
      const c = raw as Partial<FileCredential>;
      if (!isScramMechanism(mechanism)) throw bad(`user "${user}" has an unknown mechanism "${mechanism}"`);
      if (typeof c.salt !== 'string' || typeof c.storedKey !== 'string' || typeof c.serverKey !== 'string' || typeof c.iterations !== 'number') {
        throw bad(`user "${user}" ${mechanism}: expected salt, iterations, storedKey and serverKey`);
      }
      stored[mechanism] = { salt: Buffer.from(c.salt, 'base64'), iterations: c.iterations, storedKey: Buffer.from(c.storedKey, 'base64'), serverKey: Buffer.from(c.serverKey, 'base64') };
    }
    if (Object.keys(stored).length > 0) users.set(user, stored);
  }
  return users;
}
