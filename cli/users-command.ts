import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import {
  CredentialStore,
  MAX_SCRAM_ITERATIONS,
  MIN_SCRAM_ITERATIONS,
  SCRAM_MECHANISMS,
  credentialFromPassword,
  credentialProblem,
  isScramMechanism,
  saltPassword,
  scramMechanismByWireId,
  type ScramMechanismName,
} from '../broker/security/credentials.ts';
import { ApiKey } from '../broker/protocol/generated/index.ts';
import type { AlterUserScramCredentialsResponse } from '../broker/protocol/generated/alter-user-scram-credentials.ts';
import type { DescribeUserScramCredentialsResponse } from '../broker/protocol/generated/describe-user-scram-credentials.ts';
import { intOption } from './options.ts';
import { AdminConnection, type AdminConnectOptions } from './users-client.ts';

interface TargetOptions {
  dataDir?: string;
  bootstrapServer?: string;
  securityProtocol: AdminConnectOptions['securityProtocol'];
  saslMechanism: string;
  adminUser?: string;
  adminPassword?: string;
  sslCa?: string;
}

interface ChangeOptions extends TargetOptions {
  mechanism: ScramMechanismName[];
  iterations: number;
  password?: string;
}

/**
 * `untangle users add|delete|list`: SCRAM credentials, either offline in a stopped broker's data
 * directory (as `kafka-storage format --add-scram`; the broker reads the store when it starts) or
 * online against a running broker with AlterUserScramCredentials / DescribeUserScramCredentials
 * (as `kafka-configs --alter --add-config SCRAM-SHA-256=[...]`). Prompt-free: the password comes
 * from --password or, without it, from stdin.
 */
export function registerUsersCommand(program: Command): void {
  const users = program.command('users').description('Manage the SCRAM credentials SASL/SCRAM and SASL/PLAIN clients authenticate with');
  const target = (c: Command): Command =>
    c
      .option('--data-dir <dir>', 'offline: the data directory of a stopped broker (a cluster node imports it into the cluster\'s credentials at its next start)')
      .option('--bootstrap-server <host:port>', 'online: a running broker listener')
      .option('--security-protocol <p>', 'online: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL', parseProtocol, 'PLAINTEXT')
      .option('--sasl-mechanism <m>', 'online: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512', 'SCRAM-SHA-512')
      .option('--admin-user <name>', 'online: the user to authenticate as')
      .option('--admin-password <password>', 'online: its password')
      .option('--ssl-ca <file>', 'online: PEM CA certificates to verify the broker with');
  target(users.command('add <user>').description('add or replace a user\'s SCRAM credentials'))
    .option('--mechanism <list>', 'SCRAM-SHA-256, SCRAM-SHA-512 or both, comma-separated', parseMechanisms, ['SCRAM-SHA-256', 'SCRAM-SHA-512'])
    .option('--iterations <n>', `PBKDF2 iterations (${MIN_SCRAM_ITERATIONS}..${MAX_SCRAM_ITERATIONS})`, intOption(MIN_SCRAM_ITERATIONS, MAX_SCRAM_ITERATIONS), MIN_SCRAM_ITERATIONS)
    .option('--password <password>', 'the password (default: read from stdin)')
    .action(async (user: string, opts: ChangeOptions) => {
      const problem = credentialProblem(user, opts.iterations, null);
      if (problem) throw new Error(problem);
      const password = opts.password ?? (await readStdinPassword());
      if (password.length === 0) throw new Error('the password is empty');
      if (opts.dataDir !== undefined) {
        const store = await openStore(opts);
        const changes = await Promise.all(opts.mechanism.map(async (mechanism) => ({ user, mechanism, credential: await credentialFromPassword(mechanism, password, opts.iterations) })));
        await store.apply(changes);
      } else {
        const upsertions = await Promise.all(
          opts.mechanism.map(async (mechanism) => {
            const salt = randomBytes(32);
            return { name: user, mechanism: SCRAM_MECHANISMS[mechanism].wireId, iterations: opts.iterations, salt, saltedPassword: await saltPassword(mechanism, password, salt, opts.iterations) };
          }),
        );
        await alterOnline(opts, { deletions: [], upsertions });
      }
      process.stdout.write(`added ${user} (${opts.mechanism.join(', ')}, ${opts.iterations} iterations)\n`);
    });
  target(users.command('delete <user>').description('delete a user\'s SCRAM credentials'))
    .option('--mechanism <list>', 'SCRAM-SHA-256, SCRAM-SHA-512 or both, comma-separated (default: every one the user has)', parseMechanisms)
    .action(async (user: string, opts: Partial<ChangeOptions> & TargetOptions) => {
      if (opts.dataDir !== undefined) {
        const store = await openStore(opts);
        const has = (store.describe(user) ?? []).map((c) => c.mechanism);
        const mechanisms = opts.mechanism ?? has;
        const missing = mechanisms.filter((m) => !has.includes(m));
        if (has.length === 0 || missing.length > 0) throw new Error(`user ${user} has no ${missing.length > 0 ? missing.join(', ') : 'SCRAM'} credential`);
        await store.apply(mechanisms.map((mechanism) => ({ user, mechanism, credential: null })));
      } else {
        const mechanisms = opts.mechanism ?? (await describeOnline(opts, [user]))[0].mechanisms;
        await alterOnline(opts, { deletions: mechanisms.map((m) => ({ name: user, mechanism: SCRAM_MECHANISMS[m].wireId })), upsertions: [] });
      }
      process.stdout.write(`deleted ${user}\n`);
    });
  target(users.command('list').description('list users and their SCRAM mechanisms and iterations (never salts or keys)')).action(async (opts: TargetOptions) => {
    const rows =
      opts.dataDir !== undefined
        ? (await openStore(opts)).list().map((u) => ({ user: u.user, mechanisms: u.credentials.map((c) => `${c.mechanism}:${c.iterations}`) }))
        : (await describeOnline(opts, null)).map((u) => ({ user: u.user, mechanisms: u.infos }));
    for (const r of rows) process.stdout.write(`${r.user}\t${r.mechanisms.join(',')}\n`);
  });
}

async function openStore(opts: TargetOptions): Promise<CredentialStore> {
  if (opts.bootstrapServer !== undefined) throw new Error('give either --data-dir (offline) or --bootstrap-server (online), not both');
  return CredentialStore.open(opts.dataDir!);
}

async function withConnection<T>(opts: TargetOptions, fn: (c: AdminConnection) => Promise<T>): Promise<T> {
  if (opts.bootstrapServer === undefined) throw new Error('give --data-dir DIR (offline) or --bootstrap-server HOST:PORT (online)');
  const conn = await AdminConnection.open({
    bootstrapServer: opts.bootstrapServer,
    securityProtocol: opts.securityProtocol,
    saslMechanism: opts.saslMechanism,
    user: opts.adminUser,
    password: opts.adminPassword,
    sslCa: opts.sslCa,
    timeoutMs: 30_000,
  });
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}

async function alterOnline(opts: TargetOptions, body: object): Promise<void> {
  const res = await withConnection(opts, (c) => c.request<AlterUserScramCredentialsResponse>(ApiKey.AlterUserScramCredentials, 0, body));
  const failed = res.results.filter((r) => r.errorCode !== 0);
  if (failed.length > 0) throw new Error(failed.map((r) => `${r.user}: ${r.errorMessage ?? `error ${r.errorCode}`}`).join('; '));
}

async function describeOnline(opts: TargetOptions, users: string[] | null): Promise<{ user: string; mechanisms: ScramMechanismName[]; infos: string[] }[]> {
  const res = await withConnection(opts, (c) =>
    c.request<DescribeUserScramCredentialsResponse>(ApiKey.DescribeUserScramCredentials, 0, { users: users?.map((name) => ({ name })) ?? null }),
  );
  if (res.errorCode !== 0) throw new Error(res.errorMessage ?? `error ${res.errorCode}`);
  return res.results.map((r) => {
    if (r.errorCode !== 0) throw new Error(`${r.user}: ${r.errorMessage ?? `error ${r.errorCode}`}`);
    const mechanisms = r.credentialInfos.map((i) => scramMechanismByWireId(i.mechanism)).filter((m): m is ScramMechanismName => m !== null);
    return { user: r.user, mechanisms, infos: r.credentialInfos.map((i) => `${scramMechanismByWireId(i.mechanism) ?? i.mechanism}:${i.iterations}`) };
  });
}

/** The password from stdin (one line; the trailing newline is not part of it). Refuses a terminal: the command never prompts. */
async function readStdinPassword(): Promise<string> {
  if (process.stdin.isTTY) throw new Error('give --password or pipe the password on stdin');
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    bytes += chunk.length;
    if (bytes > 64 * 1024) throw new Error('the password on stdin is longer than 64 KiB');
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function parseMechanisms(value: string): ScramMechanismName[] {
  const names = value.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s.length > 0);
  for (const n of names) if (!isScramMechanism(n)) throw new InvalidArgumentError(`expected SCRAM-SHA-256 and/or SCRAM-SHA-512, got "${n}"`);
  return [...new Set(names)] as ScramMechanismName[];
}

function parseProtocol(value: string): AdminConnectOptions['securityProtocol'] {
  const v = value.toUpperCase();
  if (v === 'PLAINTEXT' || v === 'SSL' || v === 'SASL_PLAINTEXT' || v === 'SASL_SSL') return v;
  throw new InvalidArgumentError(`expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, got "${value}"`);
}
