// @platformatic/kafka (it needs Node 22.22+, so it runs in a child process: test/clients/platformatic/group-run.mjs)
// against the broker and against a 3-node cluster: admin create and delete, produce, a classic consumer group of
// three that shares the partitions, and a second generation of the group that resumes from the committed offsets.
// Every record is delivered exactly once: no member joins or leaves while records flow.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../broker/index.ts';
import { startCluster, type RunningCluster } from '../../broker/cluster/node.ts';
import { requirePeer } from '../helpers/peers.ts';
import { newerNode } from '../helpers/newer-node.ts';
import { REPO_ROOT } from '../helpers/broker-process.ts';
import { judgeGroupScenario } from './judge.ts';

const execFileP = promisify(execFile);
let node = '';
const hasNode = await requirePeer('Node 22.22+ for @platformatic/kafka', async () => { node = await newerNode(); });

interface GroupRun {
  node: string;
  first: { shares: number[][]; distinct: number; duplicates: string[] };
  second: { shares: number[][]; distinct: number; duplicates: string[]; resumedBelowCommitted: number };
  deleted: boolean;
}

async function run(bootstrap: string[], topic: string, replicas: number): Promise<GroupRun> {
  const { stdout } = await execFileP(node, [join(REPO_ROOT, 'test/clients/platformatic/group-run.mjs'), bootstrap.join(','), topic, String(replicas)], { timeout: 120_000 })
    .catch((err: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`the @platformatic/kafka run failed: ${err.message}\n${err.stderr ?? ''}`);
    });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as GroupRun;
  console.log(`@platformatic/kafka on Node ${r.node}, ${bootstrap.length} broker(s): ${JSON.stringify(r)}`);
  return r;
}

function judge(r: GroupRun): void {
  judgeGroupScenario({ first: r.first, second: r.second, resumedBelowCommitted: r.second.resumedBelowCommitted, deleted: r.deleted });
}

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup) await c();
});

describe.runIf(hasNode)('@platformatic/kafka (classic group protocol)', () => {
  it('against one broker: create, produce, a group of three sharing partitions, resume from committed offsets, delete', async () => {
    const broker: RunningBroker = await startBroker({ preset: 'test' });
    cleanup.push(() => broker.close());
    judge(await run([broker.address], 'pk-single', 1));
  }, 150_000);

  it('against a 3-node cluster, replication factor 3', async () => {
    const cluster: RunningCluster = await startCluster({ nodes: 3, preset: 'test' });
    cleanup.push(() => cluster.close());
    judge(await run(cluster.bootstrap, 'pk-cluster', 3));
  }, 150_000);
});
