// The flush policy through a real broker and kafkajs: flush.messages / flush.ms as topic configs (CreateTopics,
// DescribeConfigs), and committed offsets fsynced before OffsetCommit is answered under --fsync true (observed through
// the storage layer, which the in-process broker uses).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigResourceTypes, type Kafka } from 'kafkajs';
import { startBroker, type RunningBroker } from '../../broker/index.ts';
import { NODE_STORAGE, setStorage, type Storage } from '../../broker/log/storage.ts';
import type { LogConfig } from '../../broker/log/partition-log.ts';
import { makeKafka } from '../helpers/kafkajs.ts';
import { commitOffsetsOutsideGroup } from '../helpers/generated-request.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** node:fs, counting fdatasync/fsync calls on descriptors of files named `name`. */
function countingSyncs(name: string): { storage: Storage; syncs: () => number } {
  const watched = new Set<number>();
  let n = 0;
  const storage: Storage = {
    ...NODE_STORAGE,
    open: (file, flags, mode) => {
      const fd = NODE_STORAGE.open(file, flags, mode);
      if (path.basename(file) === name) watched.add(fd);
      else watched.delete(fd);
      return fd;
    },
    fsync: (fd) => {
      if (watched.has(fd)) n++;
      NODE_STORAGE.fsync(fd);
    },
    fdatasync: (fd) => {
      if (watched.has(fd)) n++;
      NODE_STORAGE.fdatasync(fd);
    },
  };
  return { storage, syncs: () => n };
}

async function start(log: Partial<LogConfig>): Promise<{ broker: RunningBroker; kafka: Kafka }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'untangle-flush-'));
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const broker = await startBroker({ port: 0, host: '127.0.0.1', dataDir, autoCreateTopics: false, logger: () => {}, log });
  cleanups.push(() => broker.close());
  return { broker, kafka: makeKafka(broker.address, 'flush-policy', 2) };
}

async function topicConfigs(kafka: Kafka, topic: string): Promise<Record<string, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const r = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
    return Object.fromEntries(r.resources[0].configEntries.map((e) => [e.configName, e.configValue]));
  } finally {
    await admin.disconnect();
  }
}

describe('flush policy', () => {
  it('takes flush.messages and flush.ms as topic configs, reports Kafka\'s "never" by default, refuses bad values', async () => {
    const { kafka } = await start({});
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          { topic: 'flushed', configEntries: [{ name: 'flush.messages', value: '10' }, { name: 'flush.ms', value: '1000' }] },
          { topic: 'plain' },
        ],
      });
      const err = (await admin.createTopics({ topics: [{ topic: 'bad', configEntries: [{ name: 'flush.messages', value: '0' }] }] }).catch((e: unknown) => e)) as {
        errors?: { type: string }[];
      };
      expect(err.errors?.[0]?.type).toBe('INVALID_CONFIG');
    } finally {
      await admin.disconnect();
    }
    const flushed = await topicConfigs(kafka, 'flushed');
    expect([flushed['flush.messages'], flushed['flush.ms']]).toEqual(['10', '1000']);
    const plain = await topicConfigs(kafka, 'plain');
    expect([plain['flush.messages'], plain['flush.ms']]).toEqual(['9223372036854775807', '9223372036854775807']);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'flushed', messages: [{ value: 'a' }] });
    await producer.disconnect();
  });

  it('--fsync true: committed offsets are fsynced before OffsetCommit is answered', async () => {
    const counter = countingSyncs('offsets.log');
    const prev = setStorage(counter.storage);
    cleanups.push(() => void setStorage(prev));
    const { broker, kafka } = await start({ fsyncOnAppend: true });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'in', numPartitions: 1 }] });
      expect((await topicConfigs(kafka, 'in'))['flush.messages']).toBe('1');
      const before = counter.syncs();
      expect(await commitOffsetsOutsideGroup(broker, 'g', 'in', [[0, 0]], 'flush-policy-test')).toEqual([0]);
      expect(counter.syncs()).toBeGreaterThan(before);
    } finally {
      await admin.disconnect();
    }
  });
});
