// The AMQP publisher's answer to a nack, on a fake channel (a real RabbitMQ nacks only in rare
// moments, e.g. a channel opened while a quorum queue elects its leader; the cluster test in
// test/infra/rabbitmq-cluster.test.ts meets it by chance): the message goes again on a new
// channel after a backoff, and its publish rejects only after nackRetriesMax nacks.
import { describe, expect, it } from 'vitest';
import type { ChannelModel } from 'amqplib';
import { AmqpPublisher, PublishRejectedError, type AmqpConnector } from '../../../systems/legacy/index.ts';
import { CODEC, payment } from './helpers.ts';

type Confirm = (err: unknown) => void;

/** A connection whose n-th confirm channel (from 1) nacks every publish when nacks(n) says so. */
function fakeConnection(nacks: (channelNo: number) => boolean): { conn: ChannelModel; channels: () => number; sent: () => string[] } {
  let channels = 0;
  const sent: string[] = [];
  const conn = {
    async createConfirmChannel() {
      const no = ++channels;
      const closeHandlers: (() => void)[] = [];
      const ch = {
        on: () => ch,
        once: (event: string, f: () => void) => { if (event === 'close') closeHandlers.push(f); return ch; },
        assertExchange: async () => ({}),
        assertQueue: async () => ({}),
        bindQueue: async () => ({}),
        publish: (_ex: string, _key: string, body: Buffer, _o: unknown, cb: Confirm) => {
          sent.push(`${no}:${JSON.parse(body.toString())[0].paymentId}`);
          setTimeout(() => cb(nacks(no) ? new Error('message nacked') : null), 1);
          return true;
        },
        close: async () => { for (const f of closeHandlers) f(); },
      };
      return ch;
    },
  } as unknown as ChannelModel;
  return { conn, channels: () => channels, sent: () => sent };
}

function connectorOf(conn: ChannelModel): AmqpConnector {
  return {
    queueType: 'quorum',
    connection: conn,
    onConnect(hook: (c: ChannelModel) => Promise<void>) { void hook(conn); return () => undefined; },
  } as unknown as AmqpConnector;
}

describe('AMQP publisher and nacks', () => {
  it('sends a nacked message again on a new channel, and the publish resolves', async () => {
    const fake = fakeConnection((no) => no === 1);
    const publisher = new AmqpPublisher({ codec: CODEC, connector: connectorOf(fake.conn), flowId: 'f', kind: 'payment', format: 'json' });
    publisher.start();
    await Promise.all([publisher.publish([payment(1)]), publisher.publish([payment(2)])]);
    expect(fake.channels()).toBe(2);
    expect(fake.sent()).toEqual(['1:p-1', '1:p-2', '2:p-1', '2:p-2']);
    expect(publisher.counters()).toMatchObject({ confirmed: 2, nacked: 1, channelsRenewed: 1, resent: 2, inFlight: 0, buffered: 0 });
    await publisher.close();
  });

  it('rejects the publish after nackRetriesMax nacks', async () => {
    const fake = fakeConnection(() => true);
    const publisher = new AmqpPublisher({ codec: CODEC, connector: connectorOf(fake.conn), flowId: 'f', kind: 'payment', format: 'json', nackRetriesMax: 2 });
    publisher.start();
    const err = await publisher.publish([payment(1)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishRejectedError);
    expect((err as Error).message).toBe('f: RabbitMQ nacked the message 3 times');
    expect(fake.sent()).toEqual(['1:p-1', '2:p-1', '3:p-1']);
    expect(publisher.counters()).toMatchObject({ confirmed: 0, nacked: 3, inFlight: 0, buffered: 0 });
    await publisher.close();
  });
});
