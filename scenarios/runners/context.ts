/**
 * What every scenario runner gets from `untangle run`: where the topology is, where to put its
 * scratch files, the run's seed and id, the RabbitMQ to use, and a progress sink. Runners return
 * their measurements in the shapes of report/model.ts and never render anything themselves.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { resolveHub, type ResolvedHub } from '../../infra/kafka.ts';
import type { Supervisor } from '../../systems/process/supervisor.ts';

export interface Progress {
  /** A new step of the run starts; `estimateS` is how long it is expected to take. */
  step(label: string, estimateS: number): void;
  /** A line worth showing (a measurement, a warning); kept in the run log. */
  note(line: string): void;
}

export interface RunnerContext {
  topologyFile: string;
  /** Systems of the topology the run is limited to (the scenario's `systems`), in topology order. */
  systems: string[];
  runId: string;
  /** A scratch folder for this runner's landscapes (inboxes, lake, logs, broker data). */
  workDir: string;
  seed: number;
  /** The shared RabbitMQ for the legacy layout. */
  amqpUrl: string;
  progress: Progress;
  /** Set when the user interrupts the run: stop at the next step boundary. */
  signal?: AbortSignal;
  /** Keeps a line for the report's notes (what a reader must know about this run's figures). */
  reportNote?: (line: string) => void;
}

/** A note for the report (and the progress display): a skipped part, a caveat on a figure. */
export function noteForReport(ctx: RunnerContext, line: string): void {
  ctx.progress.note(line);
  ctx.reportNote?.(line);
}

/** A fresh sub-folder of the runner's work dir. */
export function subDir(ctx: RunnerContext, ...names: string[]): string {
  const dir = join(ctx.workDir, ...names);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The hub for one landscape: our broker as its own OS process under `supervisor` (named
 * 'broker'), so a runner can measure its CPU and kill -9 it. KAFKA_BROKERS overrides this
 * (then the broker is not ours to kill, and `pid` is null).
 */
export async function startHubProcess(ctx: RunnerContext, supervisor: Supervisor, dataDir: string): Promise<ResolvedHub> {
  return resolveHub({
    mode: 'process',
    supervisor,
    processName: BROKER_PROCESS,
    dataDir,
    // No initial rebalance delay (Kafka's default is 3 s): a restarted member of a one-member group
    // joins it empty (its dead predecessor removed, see groupConsumer) and would wait that long.
    broker: { groupInitialRebalanceDelayMs: 0 },
    log: (line) => ctx.progress.note(line),
  });
}

export const BROKER_PROCESS = 'broker';
/** RabbitMQ's server process, as named in connection and cost figures. */
export const RABBITMQ_PROCESS = 'rabbitmq';

export function throwIfAborted(ctx: RunnerContext): void {
  if (ctx.signal?.aborted) throw new Error('run interrupted');
}
