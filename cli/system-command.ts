/**
 * The `system` and `lake-sink` commands: one process of a landscape, as the landscape runner
 * (systems/runtime/landscape.ts) starts it: which system and which instance of it, its port, and
 * in the legacy layout every peer instance's address (--peers); it prints one ready line.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { loadTopology } from '../systems/topology/index.ts';
import { AS_GROWN, instanceName, parsePractices, type Practices } from '../systems/runtime/options.ts';
import { parseBrokerList } from '../infra/broker-list.ts';
import { parseAmqpUrls } from '../systems/legacy/amqp-connection.ts';
import { intOption } from './options.ts';
import { closeOnSignal } from './lifecycle.ts';

/** A system id as the topology allows it: a letter, then letters, digits, '_' or '-', 32 at most. */
const SYSTEM_ID = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
/** Instances of one system in --peers, at most (the topology allows 16). */
const PEER_URLS_MAX = 64;

/**
 * --peers B=http://127.0.0.1:4001,C=http://127.0.0.1:4002|http://127.0.0.1:4003: every system's
 * base URL, or its instances' URLs in instance order separated by '|'.
 */
export function parsePeers(value: string): Record<string, string[]> {
  const peers: Record<string, string[]> = {};
  for (const part of value.split(',').filter((p) => p.trim().length > 0)) {
    const m = /^([^=]+)=(.+)$/.exec(part.trim());
    if (!m || !SYSTEM_ID.test(m[1])) throw new InvalidArgumentError(`expected SYSTEM=URL[|URL...] pairs separated by commas, with SYSTEM a letter then letters, digits, '_' or '-'; got "${part.slice(0, 200)}"`);
    const urls = m[2].split('|');
    const bad = urls.find((u) => !/^https?:\/\/[^\s|,]+$/.test(u));
    if (bad !== undefined) throw new InvalidArgumentError(`system ${m[1]}: "${bad.slice(0, 200)}" is not an http(s) URL`);
    if (urls.length > PEER_URLS_MAX) throw new InvalidArgumentError(`system ${m[1]}: ${urls.length} URLs exceed the limit of ${PEER_URLS_MAX}`);
    if (m[1] in peers) throw new InvalidArgumentError(`system ${m[1]} is listed twice in --peers`);
    peers[m[1]] = urls;
  }
  return peers;
}

function systemIdOption(value: string): string {
  if (!SYSTEM_ID.test(value)) throw new InvalidArgumentError(`expected a system id (a letter, then up to 31 letters, digits, '_' or '-'), got "${value.slice(0, 64)}"`);
  return value;
}

function runIdOption(value: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(value)) throw new InvalidArgumentError(`expected 1-40 characters of [a-z0-9-], got "${value}"`);
  return value;
}

function layoutOption(value: string): 'legacy' | 'hub' {
  if (value !== 'legacy' && value !== 'hub') throw new InvalidArgumentError(`expected legacy or hub, got "${value}"`);
  return value;
}

function practicesOption(value: string): Practices {
  try {
    return parsePractices(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** --amqp-url: one AMQP URL, or a cluster's nodes separated by commas; passed on as one string. */
function amqpUrlOption(value: string): string {
  try {
    return parseAmqpUrls(value).join(',');
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
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
    .description('Run one system of a topology (one instance of it), wired point-to-point (legacy) or through the hub')
    .requiredOption('--topology <file>', 'topology YAML file, e.g. scenarios/topologies/shop.yaml')
    .requiredOption('--id <system>', 'the system to run, e.g. A', systemIdOption)
    .option('--instance <n>', 'which instance of the system this process is (1 to 16)', intOption(1, 16), 1)
    .requiredOption('--layout <layout>', 'legacy or hub', layoutOption)
    .requiredOption('--work-dir <dir>', 'the landscape\'s shared folder (inboxes, lake, state)')
    .option('--port <port>', 'HTTP port of this system (0 = any free port)', intOption(0, 65535), 0)
    .option('--peers <list>', 'legacy: the systems\' base URLs, SYSTEM=URL[|URL of instance 2...],...', parsePeers, {})
    .option('--amqp-url <url>', 'legacy: RabbitMQ URL, or a cluster\'s nodes URL,URL,... (connects to the first that answers, fails over to the next; quorum queues when several) (default: AMQP_URL or amqp://guest:guest@127.0.0.1:5672)', amqpUrlOption)
    .option('--kafka-brokers <list>', 'hub: bootstrap brokers host:port,... (default: KAFKA_BROKERS)', brokersOption)
    .option('--run-id <id>', 'names this run\'s queues and topics', runIdOption)
    .option('--seed <n>', 'the run\'s seed: scheduled sources make their records from it', intOption(0, 2 ** 32 - 1), 0)
    .option('--from-beginning', 'hub: a new consumer group starts at the first offset (a late joiner backfills history)', false)
    .option('--practices <list>', 'integration practices, NAME=VALUE,...: outbox=memory|durable, peers=fixed|reload, formats=declared|json, delivery=at-least-once|idempotent (default: as grown)', practicesOption, AS_GROWN)
    .option('--peers-file <file>', 'legacy with peers=reload: the watched JSON file of the topology file and peers to follow')
    .action(async (o: { topology: string; id: string; instance: number; layout: 'legacy' | 'hub'; workDir: string; port: number; peers: Record<string, string[]>; amqpUrl?: string; kafkaBrokers?: string[]; fromBeginning: boolean; runId?: string; seed: number; practices: Practices; peersFile?: string }) => {
      const topology = loadTopology(o.topology, { derived: true }); // a landscape's derived file: loose ends of dropped systems are fine
      const spec = topology.systems.find((s) => s.id === o.id);
      if (!spec) throw new InvalidArgumentError(`system ${o.id} is not in ${o.topology} (systems: ${topology.systems.map((s) => s.id).join(', ')})`);
      if (o.instance > spec.instances) throw new InvalidArgumentError(`system ${o.id} has ${spec.instances} instance(s); there is no instance ${o.instance}`);
      const name = instanceName(spec, o.instance);
      const logger = stderrLogger(`system ${name}`);
      const [{ runSystem }, wiring] = await Promise.all([
        import('../systems/runtime/system.ts'),
        o.layout === 'legacy' ? import('../systems/runtime/legacy-system.ts').then((m) => m.startLegacyWiring) : import('../systems/runtime/hub-system.ts').then((m) => m.startHubWiring),
      ]);
      const running = await runSystem(
        {
          topology,
          systemId: o.id,
          instance: o.instance,
          layout: o.layout,
          workDir: o.workDir,
          port: o.port,
          peers: o.peers,
          amqpUrl: o.amqpUrl ?? process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
          kafkaBrokers: o.kafkaBrokers ?? (process.env.KAFKA_BROKERS ? parseBrokerList(process.env.KAFKA_BROKERS) : undefined),
          fromBeginning: o.fromBeginning,
          runId: o.runId,
          seed: o.seed,
          practices: o.practices,
          ...(o.peersFile ? { peersFile: o.peersFile } : {}),
          logger,
        },
        wiring,
      );
      process.stdout.write(`untangle system ready id=${name} layout=${o.layout} url=${running.url} pid=${process.pid}\n`);
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
    .option('--practices <list>', 'integration practices (the lake sink follows delivery=at-least-once|idempotent)', practicesOption, AS_GROWN)
    .action(async (o: { topology: string; workDir: string; port: number; kafkaBrokers?: string[]; runId?: string; practices: Practices }) => {
      const logger = stderrLogger('lake-sink');
      const brokers = o.kafkaBrokers ?? (process.env.KAFKA_BROKERS ? parseBrokerList(process.env.KAFKA_BROKERS) : null);
      if (!brokers) throw new InvalidArgumentError('the lake sink needs --kafka-brokers or KAFKA_BROKERS');
      const { runLakeSink } = await import('../systems/runtime/lake-sink-process.ts');
      const running = await runLakeSink({ topology: loadTopology(o.topology, { derived: true }), workDir: o.workDir, port: o.port, kafkaBrokers: brokers, runId: o.runId, practices: o.practices, logger });
      process.stdout.write(`untangle system ready id=lake-sink layout=hub url=${running.url} pid=${process.pid}\n`);
      closeOnSignal(() => running.close(), logger);
    });
}
