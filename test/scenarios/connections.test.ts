import { describe, expect, it } from 'vitest';
import { declaredCounts, hostPort, liveConnections } from '../../scenarios/runners/connections.ts';
import { landscapeRunId } from '../../scenarios/runners/landscape.ts';
import { legacyLinks, loadTopology, restrictTo } from '../../systems/topology/index.ts';
import { peerChecks, requirePeer, RABBITMQ_URL } from '../helpers/peers.ts';

// The connections runner's parts: what the topology declares, and finding the RabbitMQ
// server by its socket. The runner itself runs for real in test/scenarios/compare-quick.test.ts
// (A-D, n = 3..4, both layouts: landscapes as OS processes, connections counted from /proc).

const TOPOLOGY = 'scenarios/topologies/shop.yaml';
const hasRabbit = await requirePeer('rabbitmq', () => peerChecks.rabbitmq());

describe('connections: what the topology declares', () => {
  it('counts declared links, protocols, formats and adapters of A-D', () => {
    const t = restrictTo(loadTopology(TOPOLOGY), ['A', 'B', 'C', 'D']);
    const legacy = declaredCounts(t, 'legacy');
    const hub = declaredCounts(t, 'hub');
    // a-b-payment, a-c-stock, c-d-pick, d-c-shipped and four lake exports; hub: four systems and the lake sink.
    expect(legacy.declaredLinks).toBe(legacyLinks(t).links.length);
    expect(legacy.declaredLinks).toBe(8);
    expect(hub.declaredLinks).toBe(5);
    expect(hub).toMatchObject({ protocols: ['kafka'], formats: ['json'], adaptersTotal: 4 });
    expect(legacy.protocols).toEqual(['amqp', 'file', 'http']);
    expect(legacy.adaptersTotal).toBeGreaterThan(hub.adaptersTotal);
  });

  it('makes run ids the system command accepts', () => {
    expect(landscapeRunId('u1abc', 'conn-legacy-n9')).toBe('u1abc-conn-legacy-n9');
    const long = landscapeRunId('20261125-114302-compare-quick-and-much-longer', 'conn-legacy-n9');
    expect(long).toMatch(/^[a-z0-9][a-z0-9-]{0,39}$/);
    expect(long.endsWith('-conn-legacy-n9')).toBe(true);
    expect(hostPort('amqp://guest:guest@127.0.0.1:5672', 5672)).toEqual({ host: '127.0.0.1', port: 5672 });
    expect(hostPort('localhost:9092', 9092)).toEqual({ host: 'localhost', port: 9092 });
  });
});

describe.runIf(hasRabbit)('connections: the RabbitMQ server on this machine', () => {
  it('names the RabbitMQ server process by its listening socket, or counts from our side', () => {
    const { host, port } = hostPort(RABBITMQ_URL, 5672);
    const named = liveConnections({}, [{ name: 'rabbitmq', host, port }]);
    expect(named.notes, 'the PID holding the AMQP LISTEN socket (needs root or the same user)').toEqual([]);
    expect(named.perProcess).toEqual([{ process: 'rabbitmq', connections: 0 }]);
    const remote = liveConnections({ self: process.pid }, [{ name: 'rabbitmq', host: '192.0.2.1', port }]);
    expect(remote.notes.join('\n')).toMatch(/not on this machine.*counted from our processes' side/);
    expect(remote.total).toBe(0);
  });
});
