/**
 * What the runners that start landscapes share: one landscape of a layout with its hub (our broker
 * as its own process under the landscape's supervisor) or the run's RabbitMQ, a run id per
 * landscape, and an abortable sleep.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Layout } from '../../report/model.ts';
import { startHubProcess, subDir, type RunnerContext } from './context.ts';
import { Supervisor } from '../../systems/process/supervisor.ts';
import { startLandscape, type Landscape } from '../../systems/runtime/landscape.ts';
import type { ResolvedHub } from '../../infra/kafka.ts';
import type { Practices } from '../../systems/runtime/practices.ts';

/**
 * A run id for one landscape: `${base}-${suffix}`, in the characters the system command accepts
 * ([a-z0-9-], at most 40), shortened with a hash of the base when too long.
 */
export function landscapeRunId(base: string, suffix: string): string {
  const clean = (s: string): string => s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  const tail = clean(suffix);
  let head = clean(base) || 'run';
  if (head.length + 1 + tail.length > 40) {
    const hash = createHash('sha256').update(base).digest('hex').slice(0, 6);
    head = `${head.slice(0, Math.max(1, 40 - tail.length - 1 - 7))}${hash}`;
  }
  return `${head}-${tail}`.slice(0, 40);
}

export interface RunnerLandscape {
  landscape: Landscape;
  /** hub: the broker (our own process, or KAFKA_BROKERS); null in the legacy layout. */
  hub: ResolvedHub | null;
  runId: string;
  /** From the first process spawned until every system (and the lake sink, the broker) answered health checks. */
  startupMs: number;
  stop(): Promise<void>;
}

export interface StartRunnerLandscapeOptions {
  layout: Layout;
  /** Names the scratch sub-folder and the run id suffix. */
  name: string;
  systems: string[];
  universe?: string[];
  /** The integration practices every system runs with; default as grown. */
  practices?: Practices;
}

/**
 * One landscape for a runner: in the hub layout our broker as a process under the landscape's own
 * supervisor (so it shows up in the process list like every system), in the legacy layout the
 * shared RabbitMQ of the run.
 */
export async function startRunnerLandscape(ctx: RunnerContext, o: StartRunnerLandscapeOptions): Promise<RunnerLandscape> {
  if (o.layout === 'legacy' && !ctx.amqpUrl) throw new Error('the legacy layout needs RabbitMQ, and the run has none (no AMQP URL)');
  const workDir = subDir(ctx, o.name);
  const runId = landscapeRunId(ctx.runId, o.name);
  const supervisor = new Supervisor();
  const startedAtMs = Date.now();
  let hub: ResolvedHub | null = null;
  let landscape: Landscape;
  try {
    if (o.layout === 'hub') hub = await startHubProcess(ctx, supervisor, join(workDir, 'broker'));
    landscape = await startLandscape({
      topologyFile: ctx.topologyFile,
      layout: o.layout,
      workDir,
      systems: o.systems,
      universe: o.universe,
      amqpUrl: o.layout === 'legacy' ? ctx.amqpUrl : undefined,
      kafkaBrokers: hub?.brokers,
      runId,
      seed: ctx.seed,
      ...(o.practices ? { practices: o.practices } : {}),
      supervisor,
    });
  } catch (err) {
    await supervisor.stopAll({ timeoutMs: 15_000 }).catch(() => undefined);
    throw err;
  }
  const startupMs = Date.now() - startedAtMs;
  let stopped = false;
  return {
    landscape, hub, runId, startupMs,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await landscape.stop();
      } finally {
        await hub?.stop();
      }
    },
  };
}

/** Waits `ms` (nothing when it is not positive), or until `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
