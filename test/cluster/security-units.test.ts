// The pieces of inter-node authentication on their own: the controller handshake and frame MACs
// (controller/auth.ts), the cluster SASL mechanism (server/sasl/cluster.ts) and the secret file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ClientHandshake, FrameMac, ServerHandshake } from '../../broker/cluster/controller/auth.ts';
import { authenticateAsBroker, ClusterSaslMechanism } from '../../broker/server/sasl/cluster.ts';
import { SaslAuthenticationError } from '../../broker/server/sasl/mechanism.ts';
import { readClusterSecretFile } from '../../broker/cluster/secret.ts';

const SECRET = Buffer.from('units-cluster-secret-0123456789abcdef-0123');
const OTHER = Buffer.from('units-other-secret-0123456789abcdef-012345');

describe('controller handshake', () => {
  test('both sides prove the secret; a recorded proof is worthless against a new challenge', () => {
    const client = new ClientHandshake(SECRET, { kind: 'raft', from: 2 }, 1);
    const server = new ServerHandshake(SECRET, 1, client.hello);
    const { proof, keys } = client.answer(server.challenge());
    const serverKeys = server.verify(proof)!;
    expect(serverKeys.clientToServer.equals(keys.clientToServer)).toBe(true);
    // The same hello and proof replayed to a fresh server challenge (another nonce) fail.
    expect(new ServerHandshake(SECRET, 1, client.hello).verify(proof)).toBeNull();
    // Another secret on either side fails.
    expect(() => new ClientHandshake(OTHER, { kind: 'raft', from: 2 }, 1).answer(server.challenge())).toThrow(/did not prove the cluster secret/);
    const wrong = new ClientHandshake(OTHER, { kind: 'raft', from: 2 }, 1);
    const s2 = new ServerHandshake(SECRET, 1, wrong.hello);
    expect(() => wrong.answer(s2.challenge())).toThrow();
    // The handshake names the controller: a client expecting controller 1 refuses controller 3's
    // proof, and a proof made for controller 1 does not open controller 3.
    const to3 = new ServerHandshake(SECRET, 3, client.hello);
    expect(() => client.answer(to3.challenge())).toThrow(/controller 1 did not prove/);
    expect(to3.verify(proof)).toBeNull();
  });

  test('frame MACs refuse replayed, reordered and altered frames', () => {
    const send = new FrameMac(Buffer.alloc(32, 1));
    const recv = new FrameMac(Buffer.alloc(32, 1));
    const a = Buffer.from('{"a":1}');
    const b = Buffer.from('{"b":2}');
    const ta = send.next(a);
    const tb = send.next(b);
    expect(recv.check(ta, a)).toBe(true);
    expect(recv.check(ta, a)).toBe(false); // replay: sequence 1 expected
    const r2 = new FrameMac(Buffer.alloc(32, 1));
    expect(r2.check(tb, b)).toBe(false); // reordered: b's tag is for sequence 1
    const r3 = new FrameMac(Buffer.alloc(32, 1));
    expect(r3.check(ta, Buffer.from('{"a":2}'))).toBe(false);
  });
});

describe('cluster SASL mechanism', () => {
  const run = async (clientSecret: Buffer, claimedEpoch = 5) => {
    const mechanism = new ClusterSaslMechanism(SECRET, 1);
    const conn = { remoteAddress: '127.0.0.1' };
    const exchange = mechanism.start(conn);
    let principal: string | undefined;
    await authenticateAsBroker(clientSecret, { brokerId: 2, brokerEpoch: claimedEpoch }, 1, async (bytes) => {
      const step = await exchange.step(bytes);
      principal = step.principal;
      return step.response;
    });
    return { principal, peer: mechanism.peerOf(conn) };
  };

  test('authenticates Broker:<id> with its claimed epoch; another secret fails on both sides', async () => {
    expect(await run(SECRET)).toEqual({ principal: 'Broker:2', peer: { brokerId: 2, brokerEpoch: 5 } });
    await expect(run(OTHER)).rejects.toThrow(/did not prove the cluster secret/);
    const mechanism = new ClusterSaslMechanism(SECRET, 1);
    const exchange = mechanism.start({ remoteAddress: 'x' });
    await exchange.step(Buffer.from(`n=2,e=5,r=${'ab'.repeat(32)}`));
    await expect(async () => exchange.step(Buffer.from(`p=${'00'.repeat(32)}`))).rejects.toThrow(SaslAuthenticationError);
  });

  test('malformed first messages are refused with a reason', async () => {
    for (const bad of ['', 'n=2', `n=-1,e=5,r=${'ab'.repeat(32)}`, `n=2,e=5,r=short`, `n=2,e=5,r=${'ab'.repeat(32)},x=1`, `n=99999999999,e=5,r=${'ab'.repeat(32)}`]) {
      const exchange = new ClusterSaslMechanism(SECRET, 1).start({ remoteAddress: 'x' });
      await expect(async () => exchange.step(Buffer.from(bad))).rejects.toThrow(/malformed first message/);
    }
  });
});

describe('cluster secret file', () => {
  test('trailing line breaks are not part of it; short or missing files are refused clearly', () => {
    const d = mkdtempSync(join(tmpdir(), 'untangle-secret-'));
    try {
      writeFileSync(join(d, 'ok'), `${'a'.repeat(64)}\n`);
      expect(readClusterSecretFile(join(d, 'ok')).toString()).toBe('a'.repeat(64));
      writeFileSync(join(d, 'short'), 'tooshort\n');
      expect(() => readClusterSecretFile(join(d, 'short'))).toThrow(/has 8 bytes; at least 32/);
      expect(() => readClusterSecretFile(join(d, 'missing'))).toThrow(/cannot read the cluster secret file/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
