import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type RunningBroker } from '../../broker/index.ts';
import { encodeRequest, decodeResponseFrame } from '../../broker/protocol/frame.ts';
import type { ApiVersionsResponse, MetadataResponse } from '../../broker/protocol/generated/index.ts';

// The broker started in-process: connection limits, frame limits, ApiVersions negotiation and
// the metrics endpoint, checked over real sockets.

let broker: RunningBroker;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'untangle-server-'));
  broker = await startBroker({ port: 0, dataDir, metricsPort: 0, maxConnections: 5, maxFrameBytes: 64 * 1024, groupInitialRebalanceDelayMs: 0 });
});

afterAll(async () => {
  await broker?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(broker.port, broker.host, () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends one frame and resolves with the next whole response frame, or null if the broker closes. */
function roundTrip(socket: Socket, frame: Buffer): Promise<Buffer | null> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buffered = Buffer.concat([buffered, d]);
      if (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        socket.off('data', onData);
        resolve(buffered.subarray(0, 4 + buffered.readInt32BE(0)));
      }
    };
    socket.on('data', onData);
    socket.once('close', () => resolve(null));
    socket.write(frame);
  });
}

describe('broker server', () => {
  it('advertises its API ranges and answers an unsupported ApiVersions version with error 35', async () => {
    const s = await open();
    const ok = await roundTrip(s, encodeRequest(18, 3, 7, 'test', { clientSoftwareName: 'test', clientSoftwareVersion: '1' }));
    const body = decodeResponseFrame<ApiVersionsResponse>(18, 3, ok!).body;
    expect(body.errorCode).toBe(0);
    expect(body.apiKeys.find((k) => k.apiKey === 0)).toMatchObject({ minVersion: 0, maxVersion: 7 });
    expect(body.apiKeys.find((k) => k.apiKey === 10)).toMatchObject({ minVersion: 0 });

    const tooNew = Buffer.from(encodeRequest(18, 3, 8, 'test', { clientSoftwareName: 'test', clientSoftwareVersion: '1' }));
    tooNew.writeInt16BE(99, 6); // a future ApiVersions version, framed as flexible requests are
    const refused = await roundTrip(s, tooNew);
    const v0 = decodeResponseFrame<ApiVersionsResponse>(18, 0, refused!).body;
    expect(v0.errorCode).toBe(35);
    expect(v0.apiKeys.find((k) => k.apiKey === 18)).toMatchObject({ minVersion: 0, maxVersion: 3 });
    s.destroy();
  });

  it('distinguishes a null topic list (all) from an empty one (none) in Metadata', async () => {
    const kafka = new Kafka({ brokers: [`${broker.host}:${broker.port}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'meta-a', numPartitions: 2 }] });
    await admin.disconnect();
    const s = await open();
    const all = decodeResponseFrame<MetadataResponse>(3, 4, (await roundTrip(s, encodeRequest(3, 4, 1, 't', { topics: null, allowAutoTopicCreation: false })))!).body;
    expect(all.topics.map((t) => t.name)).toContain('meta-a');
    expect(all.controllerId).toBe(1);
    const none = decodeResponseFrame<MetadataResponse>(3, 4, (await roundTrip(s, encodeRequest(3, 4, 2, 't', { topics: [], allowAutoTopicCreation: false })))!).body;
    expect(none.topics).toEqual([]);
    const unknown = decodeResponseFrame<MetadataResponse>(3, 4, (await roundTrip(s, encodeRequest(3, 4, 3, 't', { topics: [{ name: 'nope' }], allowAutoTopicCreation: false })))!).body;
    expect(unknown.topics[0].errorCode).toBe(3);
    s.destroy();
  });

  it('does not create a topic a client asks for unless auto-create is turned on (off by default)', async () => {
    const ask = async (b: RunningBroker, name: string): Promise<number> => {
      const s = connect(b.port, b.host);
      await new Promise((resolve, reject) => s.once('connect', resolve).once('error', reject));
      try {
        const r = decodeResponseFrame<MetadataResponse>(3, 4, (await roundTrip(s, encodeRequest(3, 4, 1, 't', { topics: [{ name }], allowAutoTopicCreation: true })))!).body;
        return r.topics[0].errorCode;
      } finally { s.destroy(); }
    };
    expect(broker.config.autoCreateTopics).toBe(false);
    expect(await ask(broker, 'asked-for'), 'UNKNOWN_TOPIC_OR_PARTITION with the default').toBe(3);
    expect(await ask(broker, 'asked-for'), 'still unknown when asked again').toBe(3);
    const onDir = mkdtempSync(join(tmpdir(), 'untangle-server-auto-'));
    const on = await startBroker({ port: 0, dataDir: onDir, autoCreateTopics: true });
    try {
      expect(await ask(on, 'asked-for'), 'created with autoCreateTopics: true').toBe(0);
    } finally {
      await on.close();
      rmSync(onDir, { recursive: true, force: true });
    }
  });

  it('closes a connection whose frame is larger than max-frame-bytes, and keeps serving others', async () => {
    const s = await open();
    const header = Buffer.alloc(4);
    header.writeInt32BE(64 * 1024 + 1);
    expect(await roundTrip(s, header)).toBeNull();
    const other = await open();
    const ok = await roundTrip(other, encodeRequest(18, 0, 1, 't', {}));
    expect(decodeResponseFrame<ApiVersionsResponse>(18, 0, ok!).body.errorCode).toBe(0);
    other.destroy();
  });

  it('at max-connections, a new connection closes the one idle the longest instead of being refused', async () => {
    await new Promise((r) => setTimeout(r, 100)); // earlier tests' sockets are gone
    const sockets: Socket[] = [];
    for (let i = 0; i < 5; i++) {
      sockets.push(await open());
      await new Promise((r) => setTimeout(r, 20));
    }
    const closed = sockets.map((s) => new Promise<boolean>((resolve) => {
      s.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 1000);
    }));
    const extra = await open();
    const ok = await roundTrip(extra, encodeRequest(18, 0, 1, 't', {}));
    expect(ok).not.toBeNull();
    expect(await Promise.all(closed)).toEqual([true, false, false, false, false]);
    for (const s of sockets) s.destroy();
    extra.destroy();
    await new Promise((r) => setTimeout(r, 200)); // the broker sees them go before the next test connects
  });

  it('serves bytes and messages per topic, log end offsets and consumer lag as Prometheus metrics', async () => {
    const kafka = new Kafka({ brokers: [`${broker.host}:${broker.port}`], logLevel: logLevel.NOTHING });
    const creator = kafka.admin();
    await creator.connect();
    await creator.createTopics({ topics: [{ topic: 'metered', numPartitions: 1 }] });
    await creator.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'metered', messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })) });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId: 'lagging', topic: 'metered', partitions: [{ partition: 0, offset: '4' }] });
    await admin.disconnect();
    const text = await (await fetch(broker.metricsUrl!)).text();
    expect(text).toMatch(/untangle_broker_messages_in_total\{topic="metered"[^}]*\} 10/);
    expect(text).toMatch(/untangle_broker_bytes_in_total\{topic="metered"[^}]*\} \d+/);
    expect(text).toMatch(/untangle_broker_log_end_offset\{topic="metered",partition="0"[^}]*\} 10/);
    expect(text).toMatch(/untangle_broker_consumer_lag\{group="lagging",topic="metered",partition="0"[^}]*\} 6/);
  });
});
