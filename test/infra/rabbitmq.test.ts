import net from 'node:net';
import { describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import { detectContainerRuntime } from '../../infra/docker.ts';
import { checkAmqp, redactAmqpUrl, resolveRabbitMq } from '../../infra/rabbitmq.ts';
import { peerChecks, requirePeer } from '../helpers/peers.ts';

const LOCAL = 'amqp://guest:guest@127.0.0.1:5672';
const hasRabbit = await requirePeer('rabbitmq', () => peerChecks.rabbitmq(LOCAL));
const docker = await detectContainerRuntime();

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe.runIf(hasRabbit)('resolveRabbitMq with RabbitMQ on 127.0.0.1:5672', () => {
  it('finds the local RabbitMQ when AMQP_URL is not set, and the URL works', async () => {
    const lines: string[] = [];
    const rabbit = await resolveRabbitMq({ env: {}, log: (l) => lines.push(l) });
    try {
      expect(rabbit).toMatchObject({ url: LOCAL, source: 'localhost' });
      const conn = await amqp.connect(rabbit.url);
      const ch = await conn.createChannel();
      const q = await ch.assertQueue('', { exclusive: true });
      expect(q.queue).toMatch(/^amq\.gen-/);
      await conn.close();
      expect(lines.join('\n')).toContain('amqp://guest:***@127.0.0.1:5672');
    } finally {
      await rabbit.stop();
    }
  });

  it('uses AMQP_URL when set and it answers', async () => {
    const rabbit = await resolveRabbitMq({ env: { AMQP_URL: LOCAL } });
    expect(rabbit).toMatchObject({ url: LOCAL, source: 'env' });
    await rabbit.stop();
  });

  it('AMQP_URL with wrong credentials is an error naming the URL, without the password', async () => {
    const url = 'amqp://guest:not-the-password@127.0.0.1:5672';
    const err = await resolveRabbitMq({ env: { AMQP_URL: url } }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/AMQP_URL=amqp:\/\/guest:\*\*\*@127\.0\.0\.1:5672 is set but unusable/);
    expect((err as Error).message).not.toContain('not-the-password');
  });
});

describe('resolveRabbitMq errors', () => {
  it('AMQP_URL pointing at a closed port is an error naming that URL (no fallback to localhost)', async () => {
    const port = await closedPort();
    const err = await resolveRabbitMq({ env: { AMQP_URL: `amqp://guest:guest@127.0.0.1:${port}` } }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`AMQP_URL=amqp://guest:***@127.0.0.1:${port} is set but unusable`);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('AMQP_URL that is not an AMQP URL is a clear error', async () => {
    await expect(resolveRabbitMq({ env: { AMQP_URL: 'http://127.0.0.1:5672' } })).rejects.toThrow(/not an AMQP URL/);
  });

  it('a port that accepts TCP but never speaks AMQP times out with a clear error', async () => {
    const silent = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as net.AddressInfo;
    try {
      await expect(checkAmqp(`amqp://127.0.0.1:${port}`, 500)).rejects.toThrow(new RegExp(`RabbitMQ at amqp://127\\.0\\.0\\.1:${port} does not answer`));
    } finally {
      silent.close();
    }
  });

  it('with nothing local and containers not allowed: the error names the three ways', async () => {
    const port = await closedPort();
    const err = await resolveRabbitMq({ env: {}, localUrl: `amqp://guest:guest@127.0.0.1:${port}`, allowContainers: false }).catch((e: Error) => e);
    const msg = (err as Error).message;
    expect(msg).toContain('AMQP_URL: not set');
    expect(msg).toContain(`127.0.0.1:${port}`);
    expect(msg).toMatch(/set AMQP_URL=/);
    expect(msg).toMatch(/rabbitmq-server -detached/);
    expect(msg).toMatch(/make a Docker engine reachable/);
  });

  it.runIf(!docker.reachable)('with no Docker engine, the container path fails with the three ways and the Docker reason', async () => {
    const port = await closedPort();
    const err = await resolveRabbitMq({ env: {}, localUrl: `amqp://guest:guest@127.0.0.1:${port}` }).catch((e: Error) => e);
    const msg = (err as Error).message;
    expect(msg).toMatch(/a rabbitmq:3-management container: cannot start a container: .*(no Docker engine|testcontainers could not be loaded)/);
    expect(msg).toMatch(/set AMQP_URL=/);
    expect(msg).toMatch(/rabbitmq-server -detached/);
    expect(msg).toMatch(/make a Docker engine reachable/);
  });

  it('redacts passwords', () => {
    expect(redactAmqpUrl('amqp://u:secret@h:5672/vh')).toBe('amqp://u:***@h:5672/vh');
    expect(redactAmqpUrl('amqp://h:5672')).toBe('amqp://h:5672');
  });
});
