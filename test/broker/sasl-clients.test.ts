// kcat (librdkafka 2.0.2) and python confluent-kafka over SASL_SSL with SCRAM-SHA-256/512 and
// SASL_PLAINTEXT with PLAIN against one in-process broker; a wrong password is refused.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../broker/index.ts';
import { CredentialStore, credentialFromPassword } from '../../broker/security/credentials.ts';
import { makeTempDir } from '../helpers/broker-process.ts';
import { PYTHON, peerChecks, requirePeer } from '../helpers/peers.ts';
import { runCommand } from '../helpers/run.ts';
import { makeTestCertificates, type TestCertificates } from '../helpers/tls-certs.ts';

const hasKcat = await requirePeer('kcat', peerChecks.kcat);
const hasPython = await requirePeer('python3-confluent-kafka', peerChecks.confluentKafka);
const SCRIPTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'python');

let dir: string;
let certs: TestCertificates;
let broker: RunningBroker;

beforeAll(async () => {
  dir = makeTempDir('untangle-sasl-clients-');
  certs = makeTestCertificates(dir);
  const store = await CredentialStore.open(path.join(dir, 'data'));
  await store.apply(await Promise.all((['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const).map(async (mechanism) => ({ user: 'alice', mechanism, credential: await credentialFromPassword(mechanism, 'alice-secret') }))));
  broker = await startBroker({
    dataDir: path.join(dir, 'data'),
    autoCreateTopics: true,
    groupInitialRebalanceDelayMs: 0,
    security: {
      listeners: 'SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      sslCertFile: certs.serverCert,
      sslKeyFile: certs.serverKey,
      saslEnabledMechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'],
    },
  });
});

afterAll(async () => {
  await broker?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const CASES = [
  ['SASL_SSL', 'SCRAM-SHA-256'],
  ['SASL_SSL', 'SCRAM-SHA-512'],
  ['SASL_PLAINTEXT', 'PLAIN'],
] as const;

function clientConfig(listener: string, mechanism: string, password = 'alice-secret'): { bootstrap: string; config: Record<string, string> } {
  const port = broker.listeners.find((l) => l.name === listener)!.port;
  const config: Record<string, string> = { 'security.protocol': listener, 'sasl.mechanisms': mechanism, 'sasl.username': 'alice', 'sasl.password': password };
  if (listener === 'SASL_SSL') config['ssl.ca.location'] = certs.ca;
  return { bootstrap: `127.0.0.1:${port}`, config };
}

describe.runIf(hasKcat)('kcat over SASL', () => {
  const kcat = (listener: string, mechanism: string, args: string[], input?: string, password?: string) => {
    const { bootstrap, config } = clientConfig(listener, mechanism, password);
    const x = Object.entries(config).flatMap(([k, v]) => ['-X', `${k}=${v}`]);
    return runCommand('kcat', ['-b', bootstrap, ...x, ...args], { input, timeoutMs: 30_000 });
  };

  test.each(CASES)('%s %s: kcat -P then kcat -C reads the records back', async (listener, mechanism) => {
    const topic = `kcat-${mechanism.toLowerCase()}`;
    const lines = Array.from({ length: 200 }, (_, i) => `${topic}-${i}`);
    const p = await kcat(listener, mechanism, ['-P', '-t', topic, '-X', 'queue.buffering.max.ms=5'], lines.join('\n') + '\n');
    expect(p.code, p.stderr).toBe(0);
    const c = await kcat(listener, mechanism, ['-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-X', 'fetch.wait.max.ms=100']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout.toString().trim().split('\n')).toEqual(lines);
  });

  test('a wrong password: kcat fails with an authentication error', async () => {
    const r = await kcat('SASL_SSL', 'SCRAM-SHA-512', ['-L', '-m', '2'], undefined, 'wrong');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Authentication failed|SASL/);
  });
});

describe.runIf(hasPython)('python confluent-kafka over SASL', () => {
  const py = async (listener: string, mechanism: string, topic: string, n: number, password?: string) => {
    const { bootstrap, config } = clientConfig(listener, mechanism, password);
    // A refused client retries until its messages time out: keep that short.
    if (password !== undefined) config['message.timeout.ms'] = '2000';
    const res = await runCommand(PYTHON, [path.join(SCRIPTS, 'sasl.py'), bootstrap, topic, String(n), JSON.stringify(config)], { timeoutMs: 60_000 });
    const out = res.stdout.toString().trim().split('\n').pop() ?? '';
    if (res.code !== 0 || !out.startsWith('{')) throw new Error(`sasl.py exited ${res.code}\n${out}\n${res.stderr.slice(-3000)}`);
    return JSON.parse(out) as { acked: number; unflushed: number; received: number; in_order: boolean; auth_failed: boolean; errors: string[] };
  };

  test.each(CASES)('%s %s: produce and group-consume', async (listener, mechanism) => {
    // One partition (auto-created): every record comes back, in the order produced.
    const r = await py(listener, mechanism, `py-${mechanism.toLowerCase()}`, 500);
    expect(r, r.errors.join('\n')).toMatchObject({ acked: 500, unflushed: 0, received: 500, in_order: true, auth_failed: false });
  });

  test('a wrong password: nothing is acknowledged and the client reports the authentication failure', async () => {
    const r = await py('SASL_PLAINTEXT', 'PLAIN', 'py-refused', 5, 'wrong');
    expect(r).toMatchObject({ acked: 0, received: 0, auth_failed: true });
  });
});
