// Helpers for tests against a local cluster of real broker processes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startProcessCluster, type ProcessCluster } from '../../broker/cluster/process-cluster.ts';
import { ControllerClient } from '../../broker/cluster/controller/index.ts';

export interface TestCluster extends ProcessCluster {
  dataDir: string;
  cleanup(): Promise<void>;
}

/** A 3-node cluster (every node broker and controller) with short timeouts so failover is quick. */
export async function startTestCluster(nodes = 3, extraArgs: string[] = []): Promise<TestCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), 'untangle-cluster-'));
  const cluster = await startProcessCluster({
    nodes,
    dataDir,
    basePort: 0,
    extraArgs: ['--broker-session-timeout-ms', '2000', '--replica-lag-time-max-ms', '5000', ...extraArgs],
    onLog: process.env.CLUSTER_LOG ? (id, line) => void process.stderr.write(`[node ${id}] ${line}\n`) : undefined,
  });
  return {
    ...cluster,
    dataDir,
    async cleanup() {
      await cluster.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function clusterKafka(bootstrap: string[], clientId = 'untangle-cluster-test', retries = 10): Kafka {
  return new Kafka({
    clientId,
    brokers: bootstrap,
    logLevel: process.env.KAFKAJS_LOG ? logLevel.INFO : logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { retries, initialRetryTime: 100, maxRetryTime: 500 },
  });
}

/** The partition's current leader as the cluster's Metadata reports it (-1 while it has none). */
export async function partitionLeader(admin: Admin, topic: string, partition: number): Promise<number> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  return meta.topics[0].partitions.find((p) => p.partitionId === partition)?.leader ?? -1;
}

/** The controller quorum's current leader, asked of the controllers themselves. */
export async function quorumLeader(cluster: ProcessCluster): Promise<number> {
  const client = new ControllerClient({ voters: cluster.voters, requestTimeoutMs: 10_000, clusterSecret: cluster.clusterSecret });
  try {
    return (await client.describeQuorum()).leaderId;
  } finally {
    client.close();
  }
}
