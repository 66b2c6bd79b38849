/** The hub layout's lake sink as a process of its own (see runLakeSink), with /state and /cpu like a system. */
import { join } from 'node:path';
import { createKafka } from '../hub/kafka-client.ts';
import { createHubLakeSink } from '../hub/lake-sink.ts';
import { hubLayout, type Topology } from '../topology/index.ts';
import { createRestApp } from '../legacy/rest-server.ts';
import { codecFor } from '../legacy/common.ts';
import { hubValidator } from '../hub/index.ts';
import { recordKindsOf } from '../model/kinds.ts';
import { AS_GROWN, instanceStateDir, PATHS, topicPrefixOf, type Practices } from './options.ts';
import type { RunningSystem } from './system.ts';
import { cpuSnapshot } from '../process/cpu-meter.ts';

export interface LakeSinkProcessOptions {
  topology: Topology;
  workDir: string;
  port: number;
  kafkaBrokers: string[];
  runId?: string;
  /**
   * delivery=idempotent: a record whose id is among the last LAKE_SINK_DEDUPE_IDS_MAX in the lake is
   * not written again, also when it was published twice (hub/lake-sink.ts). Default AS_GROWN.
   */
  practices?: Practices;
  logger: (line: string) => void;
}

/**
 * The hub layout's one lake writer as its own process (so a scenario can kill it like any other
 * component): every topic, one format (JSON lines), partitioned by topic and date.
 */
export async function runLakeSink(opts: LakeSinkProcessOptions): Promise<RunningSystem> {
  const layout = hubLayout(opts.topology, { topicPrefix: topicPrefixOf(opts.topology.name, opts.runId) });
  const lakeDir = join(opts.workDir, 'lake');
  const kinds = recordKindsOf(opts.topology);
  const kafka = createKafka({ brokers: opts.kafkaBrokers, clientId: 'untangle-lake-sink', logger: opts.logger, memberStateDir: instanceStateDir(opts.workDir, 'lake-sink') });
  const sink = createHubLakeSink({
    lakeDir,
    kafka,
    groupId: layout.lakeSink.groupId,
    topics: layout.topics.map((t) => ({ name: t.name, dataKind: t.dataKind, key: t.key })),
    validate: hubValidator(kinds),
    ...((opts.practices ?? AS_GROWN).delivery === 'idempotent' ? { idempotent: { kinds } } : {}),
    logger: opts.logger,
  });
  await sink.start();
  const rest = createRestApp({ codec: codecFor(kinds) });
  rest.app.get(PATHS.state, (_req, res) => void res.json({ systemId: 'lake-sink', layout: 'hub', pid: process.pid, delivery: (opts.practices ?? AS_GROWN).delivery, sink: sink.counters() }));
  rest.app.get(PATHS.cpu, (_req, res) => void res.json(cpuSnapshot()));
  const listener = await rest.listen(opts.port);
  opts.logger(`lake sink writing ${layout.topics.length} topic(s) to ${lakeDir}; state on ${listener.url}`);
  return {
    url: listener.url,
    port: listener.port,
    async close() {
      await listener.close();
      await sink.stop();
    },
  };
}
