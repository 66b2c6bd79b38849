// The legacy-ha layout's RabbitMQ for real: three private local nodes clustered, flow queues declared
// as quorum queues through the connector's node list, and a node killed -9 under a steady stream of
// confirmed publishes: every confirmed message arrives, publishing and consuming carry on through
// the connector's failover, and the node restarted rejoins with every queue member back online.
// Before it, the node list and queue type rules, and round robin past a dead node (shared RabbitMQ).
import net from 'node:net';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findRabbitmqServer } from '../../infra/rabbitmq-node.ts';
import { startRabbitCluster, type RabbitCluster } from '../../infra/rabbitmq-cluster.ts';
import { AmqpConnector, AmqpConsumer, AmqpPublisher, amqpNames, deleteFlowQueues, parseAmqpUrls, queueTypeFor } from '../../systems/legacy/index.ts';
import { CODEC, payment, uniqueId } from '../systems/legacy/helpers.ts';
import { peerChecks, requirePeer, RABBITMQ_URL } from '../helpers/peers.ts';

const hasRabbitServer = await requirePeer('rabbitmq-server', () => {
  if (!findRabbitmqServer()) throw new Error('rabbitmq-server is not on PATH (Debian package rabbitmq-server)');
});
const hasSharedRabbit = await requirePeer('rabbitmq', () => peerChecks.rabbitmq(RABBITMQ_URL));

const until = async (cond: () => boolean, ms: number, what: string): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('AMQP node lists', () => {
  it('parses one URL or a comma-separated list, and refuses what is not AMQP', () => {
    expect(parseAmqpUrls('amqp://a:5672')).toEqual(['amqp://a:5672']);
    expect(parseAmqpUrls(' amqp://a:1, amqps://b:2 ,')).toEqual(['amqp://a:1', 'amqps://b:2']);
    expect(() => parseAmqpUrls(' , ')).toThrow(/no AMQP URL/);
    expect(() => parseAmqpUrls('amqp://a:1,http://u:secret@b:2')).toThrow(/not an AMQP URL .*u:\*\*\*@b:2/);
    expect(queueTypeFor(['amqp://a'])).toBe('classic');
    expect(queueTypeFor(['amqp://a', 'amqp://b'])).toBe('quorum');
    expect(new AmqpConnector({ url: 'amqp://a:1,amqp://b:2' }).queueType).toBe('quorum');
    expect(new AmqpConnector({ url: 'amqp://a:1,amqp://b:2', queueType: 'classic' }).queueType).toBe('classic');
  });

  it.runIf(hasSharedRabbit)('connects to the first node that answers', async () => {
    const dead = `amqp://guest:guest@127.0.0.1:${await closedPort()}`;
    const c = new AmqpConnector({ url: `${dead},${RABBITMQ_URL}`, queueType: 'classic' });
    c.start();
    try {
      await c.waitConnected(10_000);
      expect(c.counters()).toMatchObject({ connected: true, connectFailures: 1, node: RABBITMQ_URL.replace(/:guest@/, ':***@') });
    } finally {
      await c.close();
    }
  });
});

describe.runIf(hasRabbitServer)('RabbitMQ cluster of three local nodes (infra/rabbitmq-cluster.ts)', () => {
  let cluster: RabbitCluster | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'untangle-rabbit-cluster-'));
  chmodSync(dir, 0o755); // run as root, the nodes run as the rabbitmq user, which must reach into it
  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every confirmed message through a kill -9 of the node the clients use, fails over, and the node rejoins', async () => {
    const t0 = Date.now();
    cluster = await startRabbitCluster({ dir, log: (l) => console.log(l) });
    const startMs = Date.now() - t0;
    console.log(`cluster started in ${startMs} ms`);
    expect(cluster.urls).toHaveLength(3);
    expect(cluster.names).toEqual(['rabbitmq-1', 'rabbitmq-2', 'rabbitmq-3']);
    expect(cluster.amqpUrl.split(',')).toEqual(cluster.urls);
    expect(await cluster.problem('none.')).toBe('');

    const prefix = `${uniqueId('ha')}.`;
    const flowId = 'payments';
    const names = amqpNames(flowId, prefix);
    // The hardest case: the node killed leads the queue and is the one both clients use. So the queues
    // are declared first, and the clients' node list starts with the queue's leader.
    const declare = new AmqpConnector({ url: cluster.amqpUrl, name: 'ha-declare' });
    const first = new AmqpPublisher({ codec: CODEC, connector: declare, flowId, names, kind: 'payment', format: 'json' });
    first.start();
    declare.start();
    await first.publish([payment(-2)]);
    await first.close();
    await declare.close();
    const leaderName = (await cluster.quorumQueues(prefix)).find((q) => q.name === names.queue)?.leader ?? null;
    const victim = cluster.nodes.findIndex((n) => n.nodeName === leaderName);
    expect(victim, `the leader of ${names.queue} (${leaderName}) is a node of the cluster`).toBeGreaterThanOrEqual(0);
    const nodeList = [...cluster.urls.slice(victim), ...cluster.urls.slice(0, victim)].join(',');
    const connector = (name: string): AmqpConnector => new AmqpConnector({ url: nodeList, name, backoff: { initialMs: 50, maxMs: 500 } });
    const pubConn = connector('ha-publisher');
    const subConn = connector('ha-consumer');
    const received = new Map<string, number>();
    let killAtMs = 0;
    let firstConsumedAfterKillMs = 0;
    let firstConfirmedAfterKillMs = 0;
    const consumer = new AmqpConsumer<{ paymentId: string }>({
      codec: CODEC, connector: subConn, flowId, names, kind: 'payment', format: 'json', prefetch: 20,
      handler: (records) => {
        if (killAtMs > 0 && firstConsumedAfterKillMs === 0) firstConsumedAfterKillMs = Date.now();
        for (const r of records) received.set(r.paymentId, (received.get(r.paymentId) ?? 0) + 1);
      },
    });
    const publisher = new AmqpPublisher({ codec: CODEC, connector: pubConn, flowId, names, kind: 'payment', format: 'json', inFlightMax: 50, bufferMax: 5000 });
    for (const c of [pubConn, subConn]) c.start();
    publisher.start();
    consumer.start();
    try {
      await Promise.all([pubConn.waitConnected(10_000), subConn.waitConnected(10_000)]);
      expect(pubConn.counters().node).toBe(cluster.urls[victim].replace(/:guest@/, ':***@'));
      await publisher.publish([payment(-1)]);
      const queues = await cluster.quorumQueues(prefix);
      expect(queues.map((q) => q.name).sort()).toEqual([names.queue, names.dlq].sort());
      for (const q of queues) expect(q.members).toHaveLength(3);

      // ~150 messages/s for 8 s; the queue's leader, which both clients are connected to, is killed after 2 s.
      const total = 1200;
      const confirmed = new Set<string>();
      const failed: string[] = [];
      const pending: Promise<void>[] = [];
      let killed = false;
      const sendStart = Date.now();
      for (let i = 0; i < total; i++) {
        const p = payment(i);
        pending.push(publisher.publish([p]).then(() => {
          if (killAtMs > 0 && firstConfirmedAfterKillMs === 0) firstConfirmedAfterKillMs = Date.now();
          confirmed.add(p.paymentId);
        }, () => { failed.push(p.paymentId); }));
        if (!killed && Date.now() - sendStart >= 2000) {
          killed = true;
          await cluster.kill(victim);
          killAtMs = Date.now(); // the node has exited: anything confirmed or delivered from now on came through another node
          console.log(`${cluster.names[victim]} killed after ${i} publishes, ${confirmed.size} confirmed`);
        }
        await new Promise((r) => setTimeout(r, Math.max(0, sendStart + (i + 1) * (1000 / 150) - Date.now())));
      }
      expect(killed).toBe(true);
      // Publishing carried on: a confirm after the kill, through another node.
      await Promise.all(pending);
      const pubCounters = pubConn.counters();
      console.log(`publisher ${JSON.stringify(publisher.counters())}; connector ${JSON.stringify(pubCounters)}`);
      expect(failed).toEqual([]);
      expect(confirmed.size).toBe(total);
      expect(pubCounters.reconnects).toBeGreaterThanOrEqual(1);
      expect(pubCounters.node).not.toBe(cluster.urls[victim].replace(/:guest@/, ':***@'));
      expect(subConn.counters().reconnects).toBeGreaterThanOrEqual(1);

      // Consuming carried on: everything confirmed arrives (at least once).
      await until(() => [...confirmed].every((id) => received.has(id)), 30_000, 'every confirmed message consumed');
      const duplicates = [...received.values()].filter((n) => n > 1).length;
      console.log(`failover: first confirm ${firstConfirmedAfterKillMs - killAtMs} ms and first delivery ${firstConsumedAfterKillMs - killAtMs} ms after the kill; `
        + `every confirmed message consumed ${Date.now() - killAtMs} ms after it; ${duplicates} delivered more than once`);
      expect(await cluster.problem(prefix)).toBe(`not running: ${cluster.names[victim]}`);
      expect((await cluster.quorumQueues(prefix)).find((q) => q.name === names.queue)?.leader).not.toBe(leaderName);

      const restartAt = Date.now();
      await cluster.restart(victim);
      const whole = await cluster.waitWhole(prefix, 30_000);
      console.log(`${cluster.names[victim]} restarted in ${Date.now() - restartAt - whole.waitedMs} ms, cluster whole ${whole.waitedMs} ms later`);
      expect(whole).toMatchObject({ ok: true, problem: '' });
      const leader = await cluster.leaderOfMost(prefix);
      expect(leader).toMatchObject({ of: 2 });
      expect(cluster.names).toContain(leader!.name);
      await cluster.rebalance(prefix);
      // Still usable after the rejoin: one more message through.
      await publisher.publish([payment(total)]);
      await until(() => received.has(payment(total).paymentId), 10_000, 'a message after the rejoin consumed');
    } finally {
      await consumer.stop();
      await publisher.close();
      await Promise.all([pubConn.close(), subConn.close()]);
      await deleteFlowQueues(cluster.amqpUrl, names).catch(() => undefined);
    }
    const stopAt = Date.now();
    const nodeDirs = cluster.nodes.map((n) => n.dir);
    await cluster.stop();
    console.log(`cluster stopped in ${Date.now() - stopAt} ms`);
    for (const n of cluster.nodes) expect(n.processes()).toEqual([]);
    expect(nodeDirs.every((d) => d.startsWith(dir))).toBe(true);
  }, 120_000);
});
