// Broker configs on a cluster node (in-process cluster of 2: node 1 broker and controller, node 2 broker only):
// DescribeConfigs reports the node's cluster settings (process.roles, the quorum, the controller's settings only where
// the node is a controller), a per-broker dynamic config altered on one broker applies to that broker only, and
// cluster-wide defaults (resource name "") are refused with the reason.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCluster, type RunningCluster } from '../../broker/cluster/node.ts';
import type { AlterConfigsResponse, DescribeConfigsResponse } from '../../broker/protocol/generated/index.ts';
import { requestOnce } from '../helpers/generated-request.ts';

let cluster: RunningCluster;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'untangle-cluster-configs-'));
  cluster = await startCluster({
    nodes: 2,
    controllers: 1,
    dataDir,
    controller: { brokerSessionTimeoutMs: 4000, leaderImbalancePercent: 20 },
    broker: { replicaLagTimeMaxMs: 7000, offsetsTopicPartitions: 4 },
  });
}, 60_000);

afterAll(async () => {
  await cluster?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function brokerOf(id: number): { host: string; port: number } {
  const b = cluster.nodes[id - 1].broker!;
  return { host: b.host, port: b.port };
}

async function describeBroker(id: number, name = String(id)): Promise<Map<string, { value: string | null; source: number; readOnly: boolean }>> {
  const r = await requestOnce<DescribeConfigsResponse>(brokerOf(id), 32, 2, { resources: [{ resourceType: 4, resourceName: name, configurationKeys: null }], includeSynonyms: false });
  expect(r.results[0].errorCode, r.results[0].errorMessage ?? '').toBe(0);
  return new Map(r.results[0].configs.map((c) => [c.name, { value: c.value, source: c.configSource, readOnly: c.readOnly }]));
}

async function alterBroker(id: number, name: string, configs: Record<string, string>): Promise<{ errorCode: number; errorMessage: string | null }> {
  const r = await requestOnce<AlterConfigsResponse>(brokerOf(id), 33, 1, {
    resources: [{ resourceType: 4, resourceName: name, configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
    validateOnly: false,
  });
  return r.responses[0];
}

describe('broker configs in a cluster', () => {
  test('each node reports its own roles, the quorum and its cluster settings', async () => {
    const one = await describeBroker(1);
    const two = await describeBroker(2);
    const quorum = cluster.voters.map((v) => `${v.id}@${v.host}:${v.port}`).join(',');
    expect(one.get('process.roles')?.value).toBe('broker,controller');
    expect(two.get('process.roles')?.value).toBe('broker');
    expect(one.get('controller.quorum.voters')?.value).toBe(quorum);
    expect(two.get('controller.quorum.voters')?.value).toBe(quorum);
    expect(two.get('replica.lag.time.max.ms')).toMatchObject({ value: '7000', readOnly: true });
    expect(two.get('offsets.topic.num.partitions')?.value).toBe('4');
    expect(two.get('default.replication.factor')?.value).toBe('2');
    // The controller's settings exist on the controller node only.
    expect(one.get('broker.session.timeout.ms')?.value).toBe('4000');
    expect(one.get('leader.imbalance.per.broker.percentage')?.value).toBe('20');
    expect(one.get('leader.imbalance.check.interval.seconds')?.value).toBe('300');
    expect(two.has('broker.session.timeout.ms')).toBe(false);
  });

  test('a per-broker dynamic config applies to its broker only; cluster-wide defaults are refused', async () => {
    expect(await alterBroker(2, '2', { 'max.connections': '500', 'log.retention.ms': '90000' })).toMatchObject({ errorCode: 0 });
    expect((await describeBroker(2)).get('max.connections')).toMatchObject({ value: '500', source: 2 });
    expect((await describeBroker(1)).get('max.connections')).toMatchObject({ value: '1000', source: 5 });
    // Broker 1 is not broker 2.
    expect(await alterBroker(1, '2', { 'max.connections': '400' })).toMatchObject({ errorCode: 42, errorMessage: expect.stringMatching(/not this broker/) });
    const dflt = await alterBroker(1, '', { 'max.connections': '400' });
    expect(dflt).toMatchObject({ errorCode: 42, errorMessage: expect.stringMatching(/cluster-wide default broker configs .* not supported in a cluster/) });
    expect((await describeBroker(1)).get('max.connections')?.value).toBe('1000');
  });
});
