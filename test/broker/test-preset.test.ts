// The broker as a test suite's Kafka: startBroker({ preset: 'test' }) and `untangle broker --preset test` (a temporary
// data directory removed on close, auto-created topics, no initial rebalance delay, short session timeouts), the
// inspection API (records, committed offsets) and reset() between tests, with real kafkajs clients; and
// startCluster({ preset: 'test' }) for failover tests.
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { CompressionTypes } from 'kafkajs';
import { startBroker, type RunningBroker } from '../../broker/index.ts';
import { startCluster } from '../../broker/cluster/node.ts';
import { makeKafka } from '../helpers/kafkajs.ts';
import { runBackground, waitFor } from '../helpers/run.ts';
import { REPO_ROOT } from '../helpers/broker-process.ts';
import { clusterKafka } from '../helpers/cluster.ts';

const brokers: RunningBroker[] = [];
afterAll(async () => {
  for (const b of brokers) await b.close();
});

describe('startBroker({ preset: \'test\' })', () => {
  it('runs from a temporary data directory on a free port, auto-creates topics, and removes the directory on close', async () => {
    const broker = await startBroker({ preset: 'test' });
    const dir = broker.config.dataDir;
    expect(existsSync(dir)).toBe(true);
    expect(broker.port).not.toBe(9092);
    expect(broker.config).toMatchObject({ autoCreateTopics: true, groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: 100 });
    const producer = makeKafka(broker.address).producer({ allowAutoTopicCreation: true });
    await producer.connect();
    await producer.send({ topic: 'made-on-first-use', messages: [{ key: 'k', value: 'v', headers: { h: 'x' } }] });
    await producer.disconnect();
    expect(broker.records('made-on-first-use').map((r) => [r.offset, r.key?.toString(), r.value?.toString(), r.headers.map((h) => `${h.key}=${h.value?.toString()}`)]))
      .toEqual([[0, 'k', 'v', ['h=x']]]);
    await broker.close();
    expect(existsSync(dir)).toBe(false);
  });

  it('options given explicitly win over the preset; without a data directory and without the preset it refuses to start', async () => {
    const broker = await startBroker({ preset: 'test', autoCreateTopics: false, groupInitialRebalanceDelayMs: 50 });
    brokers.push(broker);
    expect(broker.config).toMatchObject({ autoCreateTopics: false, groupInitialRebalanceDelayMs: 50 });
    await expect(startBroker({})).rejects.toThrow(/needs a dataDir/);
  });

  it('a produce-then-consume-in-a-group round trip, read back by records() and committedOffsets(), then reset() clears everything', async () => {
    const broker = await startBroker({ preset: 'test', defaultPartitions: 2 });
    brokers.push(broker);
    const kafka = makeKafka(broker.address);
    const started = Date.now();
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    await producer.send({ topic: 'orders', messages: [{ key: 'a', value: '1', partition: 0 }, { key: 'b', value: '2', partition: 1 }] });
    await producer.send({ topic: 'orders', compression: CompressionTypes.GZIP, messages: [{ key: 'c', value: '3', partition: 0 }] });
    const consumer = kafka.consumer({ groupId: 'g', sessionTimeout: 1000, heartbeatInterval: 200, maxWaitTimeInMs: 50 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'orders', fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await waitFor(() => seen.length === 3, 10_000, 'the three records consumed');
    console.log(`test preset: kafkajs produce, then consume in a new group: ${Date.now() - started} ms (connects included)`);
    await waitFor(() => broker.committedOffsets('g').length === 2, 10_000, 'the group committed both partitions');
    expect(broker.committedOffsets('g').map((o) => [o.topic, o.partition, o.offset])).toEqual([['orders', 0, 2], ['orders', 1, 1]]);
    // Records by partition, gzip batches decoded too; one partition on its own.
    expect(broker.records('orders').map((r) => `${r.partition}:${r.offset}:${r.key?.toString()}=${r.value?.toString()}`)).toEqual(['0:0:a=1', '0:1:c=3', '1:0:b=2']);
    expect(broker.records('orders', 1).map((r) => r.value?.toString())).toEqual(['2']);
    expect(() => broker.records('orders', 5)).toThrow(/has no partition 5/);
    expect(() => broker.records('nope')).toThrow(/topic "nope" does not exist/);

    // A group with members is not reset under its consumers' feet.
    await expect(broker.reset()).rejects.toThrow(/group\(s\) g \(Stable\) still have members/);
    await consumer.disconnect();
    await producer.disconnect();
    await broker.reset();
    expect(() => broker.records('orders')).toThrow(/does not exist/);
    expect(broker.committedOffsets('g')).toEqual([]);
    const admin = kafka.admin();
    await admin.connect();
    expect(await admin.listTopics()).toEqual([]);
    expect((await admin.listGroups()).groups).toEqual([]);
    await admin.disconnect();
  });
});

describe('untangle broker --preset test', () => {
  it('starts without --data-dir, says where its temporary directory is, and removes it on SIGTERM', async () => {
    const bg = runBackground(process.execPath, [`${REPO_ROOT}/bin/untangle.js`, 'broker', '--preset', 'test']);
    let dir: string | undefined;
    try {
      await waitFor(() => /untangle broker ready .* data=(\S+)/.test(bg.stdout().toString()), 30_000, 'the ready line');
      const m = /listen=(\S+) .* data=(\S+)/.exec(bg.stdout().toString())!;
      dir = m[2];
      expect(existsSync(dir)).toBe(true);
      expect(m[1]).not.toMatch(/:9092$/);
      const admin = makeKafka(m[1]).admin();
      await admin.connect();
      expect(await admin.listTopics()).toEqual([]);
      await admin.disconnect();
    } finally {
      await bg.stop('SIGTERM');
    }
    expect(dir).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
  }, 60_000);

  it('without --data-dir and without the preset it refuses to start, saying what to give', async () => {
    const bg = runBackground(process.execPath, [`${REPO_ROOT}/bin/untangle.js`, 'broker']);
    const code = await new Promise<number | null>((resolve) => bg.child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(bg.stderr()).toMatch(/needs --data-dir DIR \(or --preset test/);
  }, 30_000);
});

describe('startCluster({ nodes: 3, preset: \'test\' })', () => {
  it('runs three nodes in this process from a temporary directory that close() removes', async () => {
    const cluster = await startCluster({ nodes: 3, preset: 'test' });
    const dir = cluster.nodes[0].broker!.config.dataDir;
    try {
      expect(existsSync(dir)).toBe(true);
      const admin = clusterKafka(cluster.bootstrap).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'rf3', numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
      const [t] = (await admin.fetchTopicMetadata({ topics: ['rf3'] })).topics;
      expect(t.partitions[0].replicas.length).toBe(3);
      await admin.disconnect();
    } finally {
      await cluster.close();
    }
    expect(existsSync(dir)).toBe(false);
  }, 60_000);
});
