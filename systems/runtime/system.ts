/**
 * One system instance as an OS process, for any landscape: its core (the declared rules), its HTTP
 * server, its scheduled sources and the wiring of its layout (runSystem).
 */
import { join } from 'node:path';
import { createRestApp, HttpError } from '../legacy/rest-server.ts';
import { codecFor } from '../legacy/common.ts';
import { SystemCore } from './core.ts';
import { instanceName, PATHS, type SystemRuntimeOptions } from './options.ts';
import { SourceRunner } from './sources.ts';
import type { StartWiring, Wiring } from './wiring.ts';
import { modelOf } from '../model/landscape-model.ts';

export interface RunningSystem {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * One system (one instance of it) as an OS process: its core, one HTTP server (health, state, and
 * for the ingress system POST /ingress/<kind>), its scheduled sources, and the wiring of its
 * layout. The same code runs every system of every landscape; what differs is the topology entry
 * and the layout.
 */
export async function runSystem(opts: SystemRuntimeOptions, startWiring: StartWiring): Promise<RunningSystem> {
  const spec = opts.topology.systems.find((s) => s.id === opts.systemId);
  if (!spec) throw new Error(`system ${opts.systemId} is not in topology ${opts.topology.name} (systems: ${opts.topology.systems.map((s) => s.id).join(', ')})`);
  const name = instanceName(spec, opts.instance);
  const model = modelOf(opts.topology);
  const core = new SystemCore(spec, opts.topology, Date.now, join(opts.workDir, 'state', name, 'received.journal'));
  const rest = createRestApp({ validate: model.kinds.problem, codec: codecFor(model.kinds) });
  let wiring: Wiring | null = null;
  const sources = new SourceRunner({
    model, systemId: spec.id, workDir: opts.workDir, owner: name, seed: opts.seed ?? 0, logger: opts.logger,
    emit: async (kind, record) => {
      if (!wiring) throw new Error('starting');
      core.produced(kind);
      await wiring.emit(kind, record);
    },
  });

  rest.app.get(PATHS.state, (_req, res) => {
    res.json({
      systemId: spec.id,
      instance: name,
      layout: opts.layout,
      pid: process.pid,
      received: core.receivedState(),
      produced: Object.fromEntries(core.producedByKind),
      rejected: core.rejected,
      ruleFailures: core.ruleFailures,
      sources: sources.progress(),
      wiring: wiring?.counters() ?? null,
      rest: rest.counters(),
    });
  });

  for (const g of spec.ingress) {
    rest.acceptRecords(PATHS.ingress(g.kind), g.kind, async (records) => {
      if (!wiring) throw new HttpError(503, 'starting');
      for (const record of records) {
        const result = core.accept(g.kind, record);
        if (!result.ok) throw new HttpError(400, result.reason);
        for (const out of result.outputs) {
          try {
            await wiring.emit(out.kind, out.record);
          } catch (err) {
            throw new HttpError(502, `${g.kind} ${model.kinds.idOf(g.kind, out.record)} accepted but not passed on: ${(err as Error).message}`);
          }
        }
      }
      return { status: 201, kind: g.kind, records };
    });
  }

  wiring = await startWiring(opts, core, rest);
  const listener = await rest.listen(opts.port);
  sources.start();
  opts.logger(`system ${name} (${spec.name}) serving ${opts.layout} layout on ${listener.url}`);
  return {
    url: listener.url,
    port: listener.port,
    async close() {
      sources.stop();
      await listener.close();
      await wiring?.close();
    },
  };
}
