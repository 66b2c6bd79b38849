/**
 * The legacy layout's wiring of one system instance: its flows, each in its own transport and
 * format (REST, RabbitMQ, batch files), built from the topology (legacy-flows.ts), and its own lake
 * export. With the `peers=reload` practice it follows a watched peers file (peers-file.ts) and
 * rewires its flows when the file changes, without a restart.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { LegacyCounterRegistry } from '../legacy/counters.ts';
import { OutboxStore } from '../legacy/outbox-store.ts';
import type { RestApp } from '../legacy/rest-server.ts';
import { describeDiff, isEmptyDiff, planFlows, rulesChanged } from '../legacy/flow-set.ts';
import { loadTopology } from '../topology/index.ts';
import type { SystemCore } from './core.ts';
import { instanceName, instanceStateDir, sharedStateDir, type SystemRuntimeOptions } from './options.ts';
import { LakeExporter } from './lake-exporter.ts';
import { LiveFlows } from './legacy-flows.ts';
import { watchPeersFile, type PeersFile, type PeersWatcher } from './peers-file.ts';
import type { Wiring } from './wiring.ts';

/** What /state says about the peers file (wiring.reload): which generation it follows, how often it rewired. */
export interface ReloadState {
  file: string;
  /** The generation of the peers file the wiring follows (at start: the file's, or null without one). */
  generation: number | null;
  /** Changes of the peers file that changed the wiring (flows started, stopped or rebuilt). */
  reconfigurations: number;
  lastReconfiguredAtMs: number | null;
  /** The last change, as `+flow(out) -flow(in) ~flow(out)`. */
  lastChange: string | null;
  /** Why the last peers file could not be followed (the wiring stayed as it was), or which flows failed to start or stop; null when it was followed. */
  lastError: string | null;
  /**
   * The topology followed changes this system's own rules (or its lake export): a reload rewires
   * flows only; the system keeps the rules it started with until it is restarted.
   */
  rulesOutdated: boolean;
}

/**
 * The legacy wiring of one system, built flow by flow from the topology: each flow speaks its own
 * transport and format. Incoming: rest-sync routes, rest-poll pollers of the sender's feed, AMQP
 * consumers, batch pickers. Outgoing: synchronous REST calls (made one after another, as the
 * calling code of a legacy system does), feed entries, confirmed AMQP publishes and batch files.
 * Besides, the system exports its own records to the lake in its own format on its own schedule.
 *
 * This is one instance of the system. With several: rest-sync callers spread over every instance
 * of the receiver (--peers lists them all), each instance serves its own rest-poll feed and a
 * receiver polls every instance's feed, one receiver instance at a time (a lease per flow, cursors
 * in the system's shared folder); AMQP consumers of all instances compete on the flow's one queue;
 * batch pickers of all instances claim files from the system's one inbox. Each instance has its
 * own port, state folder and lake export.
 *
 * With peers=reload and a peers file, the wiring starts from the command line (its topology and
 * peers) and follows each later content of the file: the flows of the new topology and peers are
 * compared with the running ones, and only the difference is started, stopped or rebuilt.
 */
export async function startLegacyWiring(opts: SystemRuntimeOptions, core: SystemCore, rest: RestApp): Promise<Wiring> {
  const t = opts.topology;
  const id = opts.systemId;
  const spec = t.systems.find((s) => s.id === id)!;
  const me = instanceName(spec, opts.instance ?? 1);
  const stateDir = instanceStateDir(opts.workDir, me);
  const sharedDir = sharedStateDir(opts.workDir, id);
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(sharedDir, { recursive: true });
  mkdirSync(join(opts.workDir, 'inbox', id), { recursive: true });
  const counters = new LegacyCounterRegistry().restServer(rest);

  // outbox=durable: lake export, batch drops and feeds keep what they hand over later in files (legacy/outbox.ts).
  const outboxes = opts.practices?.outbox === 'durable' ? new OutboxStore(join(stateDir, 'outbox')) : null;
  const lake = spec.lakeExport ? new LakeExporter(join(opts.workDir, 'lake'), id, spec.lakeExport, core.kinds, opts.logger, outboxes && { outboxes, instance: me }) : null;

  const receive = async (kind: string, records: unknown[]): Promise<void> => {
    for (const record of records) {
      const result = await core.handle(kind, record);
      if (!result.ok) throw new Error(result.reason);
      for (const out of result.outputs) await emit(out.kind, out.record);
    }
  };

  const flows = new LiveFlows({
    me, systemId: id, several: spec.instances > 1, workDir: opts.workDir, sharedDir, runId: opts.runId, amqpUrl: opts.amqpUrl,
    rest, counters, validate: core.kinds.problem, receive, logger: opts.logger, outboxes,
  });

  const emit = async (kind: string, record: object): Promise<void> => {
    lake?.add(kind, record);
    const targets = flows.sendsOf(kind);
    // Synchronous calls one after another, as the calling code does; the rest are hand-offs.
    for (const { flow, send } of targets) if (flow.legacy.transport === 'rest-sync') await send([record]);
    await Promise.all(targets.filter(({ flow }) => flow.legacy.transport !== 'rest-sync').map(({ send }) => send([record])));
  };

  const started = await flows.apply(t, planFlows(t, id, opts.peers));
  if (started.problems.length > 0) {
    await flows.close().catch(() => undefined);
    throw new Error(`system ${me}: ${started.problems.join('; ')}`);
  }
  lake?.start();

  const reload = opts.practices?.peers === 'reload' && opts.peersFile ? await followPeersFile(opts, opts.peersFile, flows, me) : null;

  return {
    emit,
    counters: () => ({ ...counters.snapshot(), lakeExport: lake?.counters() ?? null, ...(reload ? { reload: { ...reload.state } } : {}), ...(outboxes ? { outboxes: outboxes.counters() } : {}) }),
    async close() {
      await reload?.watcher.stop();
      // Stop taking input first, then flush what is on its way out, then the connection.
      await flows.close();
      await lake?.close();
      outboxes?.close();
    },
  };
}

/** Follows the peers file: each valid new content rewires the flows to its topology and peers. */
async function followPeersFile(opts: SystemRuntimeOptions, file: string, flows: LiveFlows, me: string): Promise<{ state: ReloadState; watcher: PeersWatcher }> {
  const id = opts.systemId;
  const state: ReloadState = { file, generation: null, reconfigurations: 0, lastReconfiguredAtMs: null, lastChange: null, lastError: null, rulesOutdated: false };
  const follow = async (content: PeersFile): Promise<void> => {
    try {
      const t = loadTopology(content.topology, { derived: true });
      if (!t.systems.some((s) => s.id === id)) throw new Error(`system ${id} is not in ${content.topology}`);
      const { diff, problems } = await flows.apply(t, planFlows(t, id, content.peers));
      state.generation = content.generation;
      state.rulesOutdated = rulesChanged(opts.topology, t, id);
      if (state.rulesOutdated) opts.logger(`peers file generation ${content.generation}: the rules of ${id} changed in ${content.topology}; they apply after a restart (a reload rewires flows only)`);
      if (!isEmptyDiff(diff)) {
        state.reconfigurations++;
        state.lastReconfiguredAtMs = Date.now();
        state.lastChange = describeDiff(diff);
        opts.logger(`${me} rewired to peers file generation ${content.generation} without a restart: ${state.lastChange} (${diff.unchanged.length} flow(s) untouched)`);
      }
      state.lastError = problems.length > 0 ? `generation ${content.generation}: ${problems.join('; ')}` : null;
      if (state.lastError) opts.logger(`peers file ${state.lastError}`);
    } catch (err) {
      state.lastError = `generation ${content.generation}: ${(err as Error).message}`;
      throw err;
    }
  };
  const watcher = await watchPeersFile(file, { onChange: follow, logger: opts.logger });
  // The command line is at least as new as the file found at start (a newcomer starts before the file names it).
  state.generation = watcher.initial?.generation ?? null;
  return { state, watcher };
}
