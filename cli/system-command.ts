import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { loadTopology } from '../systems/topology/index.ts';
import { runSystem } from '../systems/runtime/system.ts';
import { startLegacyWiring } from '../systems/runtime/legacy-system.ts';
import { startHubWiring } from '../systems/runtime/hub-system.ts';
import { runLakeSink } from '../systems/runtime/lake-sink-process.ts';
import { parseBrokerList } from '../infra/kafka.ts';
import { intOption } from './options.ts';
import { closeOnSignal } from './lifecycle.ts';

/** --peers B=http://127.0.0.1:4001,C=http://127.0.0.1:4002 */
function parsePeers(value: string): Record<string, string> {
  const peers: Record<string, string> = {};
  for (const part of value.split(',').filter(Boolean)) {
    const m = /^([A-Z][A-Z0-9]*)=(https?:\/\/\S+)$/.exec(part.trim());
    if (!m) throw new InvalidArgumentError(`expected SYSTEM=URL pairs separated by commas, got "${part}"`);
    peers[m[1]] = m[2];
  }
  return peers;
}

function runIdOption(value: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(value)) throw new InvalidArgumentError(`expected 1-40 characters of [a-z0-9-], got "${value}"`);
  return value;
}

function layoutOption(value: string): 'legacy' | 'hub' {
  if (value !== 'legacy' && value !== 'hub') throw new InvalidArgumentError(`expected legacy or hub, got "${value}"`);
  return value;
}

function brokersOption(value: string): string[] {
  try {
    return parseBrokerList(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

const stderrLogger = (prefix: string) => (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${prefix}: ${line}\n`);

export function registerSystemCommands(program: Command): void {
  program
    .command('system')
    .description('Run one sample system (A-I) of a topology, wired point-to-point (legacy) or through the hub')
    .requiredOption('--topology <file>', 'topology YAML file, e.g. scenarios/topologies/shop.yaml')
    .requiredOption('--id <system>', 'the system to run, e.g. A')
    .requiredOption('--layout <layout>', 'legacy or hub', layoutOption)
    .requiredOption('--work-dir <dir>', 'the landscape\'s shared folder (inboxes, lake, state)')
    .option('--port <port>', 'HTTP port of this system (0 = any free port)', intOption(0, 65535), 0)
    .option('--peers <list>', 'legacy: other systems\' base URLs, SYSTEM=URL,...', parsePeers, {})
    .option('--amqp-url <url>', 'legacy: RabbitMQ URL (default: AMQP_URL or amqp://guest:guest@127.0.0.1:5672)')
    .option('--kafka-brokers <list>', 'hub: bootstrap brokers host:port,... (default: KAFKA_BROKERS)', brokersOption)
    .option('--run-id <id>', 'names this run\'s queues and topics', runIdOption)
    .option('--from-beginning', 'hub: a new consumer group starts at the first offset (a late joiner backfills history)', false)
    .action(async (o: { topology: string; id: string; layout: 'legacy' | 'hub'; workDir: string; port: number; peers: Record<string, string>; amqpUrl?: string; kafkaBrokers?: string[]; fromBeginning: boolean; runId?: string }) => {
      const logger = stderrLogger(`system ${o.id}`);
      const running = await runSystem(
        {
          topology: loadTopology(o.topology),
          systemId: o.id,
          layout: o.layout,
          workDir: o.workDir,
          port: o.port,
          peers: o.peers,
          amqpUrl: o.amqpUrl ?? process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
          kafkaBrokers: o.kafkaBrokers ?? (process.env.KAFKA_BROKERS ? parseBrokerList(process.env.KAFKA_BROKERS) : undefined),
          fromBeginning: o.fromBeginning,
          runId: o.runId,
          logger,
        },
        o.layout === 'legacy' ? startLegacyWiring : startHubWiring,
      );
      process.stdout.write(`untangle system ready id=${o.id} layout=${o.layout} url=${running.url} pid=${process.pid}\n`);
      closeOnSignal(() => running.close(), logger);
    });

  program
    .command('lake-sink')
    .description('Run the hub layout\'s lake sink: every topic into the data lake as JSON lines, by topic and date')
    .requiredOption('--topology <file>', 'topology YAML file')
    .requiredOption('--work-dir <dir>', 'the landscape\'s shared folder (the lake is <dir>/lake)')
    .option('--port <port>', 'HTTP port for health and state (0 = any free port)', intOption(0, 65535), 0)
    .option('--kafka-brokers <list>', 'bootstrap brokers host:port,... (default: KAFKA_BROKERS)', brokersOption)
    .option('--run-id <id>', 'names this run\'s topics', runIdOption)
    .action(async (o: { topology: string; workDir: string; port: number; kafkaBrokers?: string[]; runId?: string }) => {
      const logger = stderrLogger('lake-sink');
      const brokers = o.kafkaBrokers ?? (process.env.KAFKA_BROKERS ? parseBrokerList(process.env.KAFKA_BROKERS) : null);
      if (!brokers) throw new InvalidArgumentError('the lake sink needs --kafka-brokers or KAFKA_BROKERS');
      const running = await runLakeSink({ topology: loadTopology(o.topology), workDir: o.workDir, port: o.port, kafkaBrokers: brokers, runId: o.runId, logger });
      process.stdout.write(`untangle system ready id=lake-sink layout=hub url=${running.url} pid=${process.pid}\n`);
      closeOnSignal(() => running.close(), logger);
    });
}
