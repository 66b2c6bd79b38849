import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectContainerRuntime } from '../../infra/docker.ts';
import { parseBrokerList, resolveHub, type ResolvedHub } from '../../infra/kafka.ts';
import { Supervisor } from '../../systems/process/supervisor.ts';
import { makeConsumer, makeKafka } from '../helpers/kafkajs.ts';

const docker = await detectContainerRuntime();

/** Produces one message and reads it back with a consumer group; proves the address is a working Kafka. */
async function roundTrip(brokers: string[], topic: string): Promise<string> {
  const kafka = makeKafka(brokers[0], 'untangle-infra-test');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [{ key: 'order-1', value: 'hello hub' }] });
  await producer.disconnect();
  const consumer = makeConsumer(kafka, `g-${topic}`);
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message within 30 s')), 30_000);
      void consumer.run({ eachMessage: async ({ message }) => { clearTimeout(timer); resolve(String(message.value)); } });
    });
  } finally {
    await consumer.disconnect();
  }
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('parseBrokerList', () => {
  it('accepts host:port lists, trimming spaces', () => {
    expect(parseBrokerList('127.0.0.1:9092, kafka-1.example.com:19092,[::1]:9093')).toEqual(['127.0.0.1:9092', 'kafka-1.example.com:19092', '[::1]:9093']);
  });

  it.each([
    ['', /empty/],
    ['localhost', /entry 1 "localhost" is not host:port/],
    ['a:9092,,b:9092', /entry 2 "" is not host:port/],
    ['a:0', /port 0 is outside 1\.\.65535/],
    ['a:70000', /port 70000 is outside/],
    ['http://a:9092', /is not host:port/],
    ['::1:9092', /is not host:port/],
  ])('rejects %j', (input, message) => {
    expect(() => parseBrokerList(input)).toThrow(message);
  });
});

describe('resolveHub', () => {
  const cleanup: ResolvedHub[] = [];
  afterAll(async () => { for (const h of cleanup) await h.stop(); });

  it('embeds our broker by default: produce + consume, then stop removes its temp data dir', async () => {
    const hub = await resolveHub({ env: {}, broker: { groupInitialRebalanceDelayMs: 0 } });
    cleanup.push(hub);
    expect(hub.source).toBe('embedded');
    expect(hub.brokers).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);
    expect(hub.metricsUrl).toMatch(/^http:\/\/.*\/metrics$/);
    expect(existsSync(hub.dataDir!)).toBe(true);
    expect(await roundTrip(hub.brokers, 'infra-embedded')).toBe('hello hub');
    await hub.stop();
    expect(existsSync(hub.dataDir!)).toBe(false);
  });

  it('keeps a data dir it was given', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'untangle-hub-given-'));
    try {
      const hub = await resolveHub({ env: {}, dataDir: dir });
      await hub.stop();
      expect(existsSync(dir)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('process mode runs `untangle broker` as a child process, supervised, and stops it', async () => {
    const supervisor = new Supervisor();
    const hub = await resolveHub({ env: {}, mode: 'process', supervisor, broker: { groupInitialRebalanceDelayMs: 0 } });
    cleanup.push(hub);
    try {
      expect(hub.source).toBe('process');
      expect(hub.pid).toBe(supervisor.pid('hub-broker'));
      expect(hub.pid).not.toBe(process.pid);
      expect((await fetch(hub.metricsUrl!)).status).toBe(200);
      expect(await roundTrip(hub.brokers, 'infra-process')).toBe('hello hub');
      await hub.stop();
      expect(supervisor.status('hub-broker')).toMatchObject({ state: 'stopped', exitCode: 0 });
      expect(existsSync(hub.dataDir!)).toBe(false);
    } finally {
      await supervisor.stopAll();
    }
  });

  it('KAFKA_BROKERS wins: pointed at a running broker it is used as is', async () => {
    const real = await resolveHub({ env: {}, broker: { groupInitialRebalanceDelayMs: 0 } });
    cleanup.push(real);
    const lines: string[] = [];
    const hub = await resolveHub({ env: { KAFKA_BROKERS: ` ${real.brokers[0]} ` }, mode: 'process', log: (l) => lines.push(l) });
    expect(hub).toMatchObject({ source: 'env', brokers: real.brokers, metricsUrl: null, dataDir: null, pid: null });
    expect(lines.join('\n')).toMatch(/mode 'process' is ignored/);
    expect(await roundTrip(hub.brokers, 'infra-env')).toBe('hello hub');
    await hub.stop(); // a no-op: not ours
    expect(await roundTrip(real.brokers, 'infra-env-2')).toBe('hello hub');
  });

  it('KAFKA_BROKERS unreachable is a clear error naming the addresses', async () => {
    const port = await closedPort();
    const err = await resolveHub({ env: { KAFKA_BROKERS: `127.0.0.1:${port}` }, connectTimeoutMs: 3000 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`KAFKA_BROKERS=127.0.0.1:${port} is set but unusable`);
    expect((err as Error).message).toContain(`Kafka brokers 127.0.0.1:${port} are not reachable`);
  });

  it('KAFKA_BROKERS malformed is a validation error', async () => {
    await expect(resolveHub({ env: { KAFKA_BROKERS: 'kafka' } })).rejects.toThrow(/KAFKA_BROKERS="kafka" is invalid: .*not host:port/);
  });

  it.runIf(!docker.reachable)('container mode without a Docker engine is a clear error with the alternatives', async () => {
    const err = await resolveHub({ env: {}, mode: 'container' }).catch((e: Error) => e);
    const msg = (err as Error).message;
    expect(msg).toMatch(/cannot start Apache Kafka in a container: .*(no Docker engine|testcontainers could not be loaded)/);
    expect(msg).toMatch(/KAFKA_BROKERS=host:port/);
    expect(msg).toMatch(/'embedded' or 'process'/);
    expect(msg).toMatch(/make a Docker engine reachable/);
  });
});
