import type { Command } from 'commander';
import { intOption } from './options.ts';
import { closeOnSignal } from './lifecycle.ts';
import { startProcessCluster } from '../broker/cluster/process-cluster.ts';
import { defaultControllerCount } from '../broker/cluster/node.ts';

interface ClusterOptions {
  nodes: number;
  controllers?: number;
  dataDir: string;
  host: string;
  basePort: number;
}

export function registerClusterCommand(program: Command): void {
  program
    .command('cluster')
    .description('Run a local broker cluster: one `untangle broker` process per node, the first --controllers of them also controller quorum voters')
    .requiredOption('--data-dir <dir>', 'each node keeps its data in DIR/node-N')
    .option('--nodes <n>', 'broker nodes', intOption(1, 64), 3)
    .option('--controllers <n>', 'controller quorum voters among the nodes (odd; default 3, or 1 with fewer than 3 nodes)', intOption(1, 63))
    .option('--host <host>', 'address every node listens on', '127.0.0.1')
    .option('--base-port <port>', 'Kafka port of node 1; brokers take consecutive ports and controllers the ones after (0 = free ports)', intOption(0, 65000), 9092)
    .allowExcessArguments(false)
    .action(async (opts: ClusterOptions) => {
      const logger = (line: string): void => void process.stderr.write(`${new Date().toISOString()} cluster: ${line}\n`);
      const controllers = opts.controllers ?? defaultControllerCount(opts.nodes);
      logger(`starting ${opts.nodes} node(s), ${controllers} of them controllers, data in ${opts.dataDir}`);
      const cluster = await startProcessCluster({
        nodes: opts.nodes,
        controllers,
        dataDir: opts.dataDir,
        host: opts.host,
        basePort: opts.basePort,
        onLog: (nodeId, line) => void process.stderr.write(`${line.startsWith('20') ? '' : `node ${nodeId}: `}${line}\n`),
      });
      const quorum = cluster.voters.map((v) => `${v.id}@${v.host}:${v.port}`).join(',');
      process.stdout.write(`untangle cluster ready nodes=${opts.nodes} controllers=${controllers} bootstrap=${cluster.bootstrap.join(',')} controller-quorum=${quorum}\n`);
      let stopping = false;
      for (const node of cluster.nodes) {
        node.child?.once('exit', (code, signal) => {
          if (!stopping) logger(`node ${node.nodeId} exited (${signal ?? code}); the rest keep running`);
        });
      }
      closeOnSignal(() => {
        stopping = true;
        return cluster.close();
      }, logger);
    });
}
