/**
 * One system instance as an OS process, for any landscape: its core (the declared rules), its HTTP
 * server (health, state, its CPU by part, ingress), its scheduled sources and the wiring of its
 * layout (runSystem).
 */
import { join } from 'node:path';
import { createRestApp, HttpError } from '../legacy/rest-server.ts';
import { codecFor } from '../legacy/common.ts';
import { SystemCore } from './core.ts';
import { fingerprintOf, INGRESS_REPLAY_HEADER, IngressLedger } from './ingress-ledger.ts';
import { AS_GROWN, instanceName, instanceStateDir, PATHS, type SystemRuntimeOptions } from './options.ts';
import { instanceNames } from '../topology/index.ts';
import { SourceRunner } from './sources.ts';
import type { StartWiring, Wiring } from './wiring.ts';
import { modelOf } from '../model/landscape-model.ts';
import { cpuSnapshot } from '../process/cpu-meter.ts';

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
  const delivery = (opts.practices ?? AS_GROWN).delivery;
  const journalOf = (instance: string): string => join(instanceStateDir(opts.workDir, instance), 'received.journal');
  const core = new SystemCore(spec, opts.topology, Date.now, journalOf(name), {
    delivery,
    siblingJournals: instanceNames(spec).filter((n) => n !== name).map(journalOf),
  });
  // delivery=idempotent: a repeated ingress event gets its first answer back (ingress-ledger.ts).
  const ledger = delivery === 'idempotent' && spec.ingress.length > 0 ? new IngressLedger(join(instanceStateDir(opts.workDir, name), 'ingress.journal')) : null;
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
      delivery,
      repeatsSkipped: core.repeatsSkipped,
      ingressReplays: ledger?.replays ?? 0,
      ingressConflicts: ledger?.conflicts ?? 0,
      sources: sources.progress(),
      wiring: wiring?.counters() ?? null,
      rest: rest.counters(),
    });
  });

  // Apart from /state, which carries every received id: a runner samples this during load.
  rest.app.get(PATHS.cpu, (_req, res) => void res.json(cpuSnapshot()));

  /** Accepts one ingress record and hands it over; throws HttpError 400 or 502. */
  const acceptOne = async (kind: string, record: unknown): Promise<void> => {
    if (!wiring) throw new HttpError(503, 'starting');
    const result = core.accept(kind, record);
    if (!result.ok) throw new HttpError(400, result.reason);
    for (const out of result.outputs) {
      try {
        await wiring.emit(out.kind, out.record);
      } catch (err) {
        throw new HttpError(502, `${kind} ${model.kinds.idOf(kind, out.record)} accepted but not passed on: ${(err as Error).message}`);
      }
    }
  };

  for (const g of spec.ingress) {
    rest.acceptRecords(PATHS.ingress(g.kind), g.kind, async (records, ctx) => {
      if (!wiring) throw new HttpError(503, 'starting');
      if (!ledger) {
        for (const record of records) await acceptOne(g.kind, record);
        return { status: 201, kind: g.kind, records };
      }
      // delivery=idempotent. The records were validated by the REST layer, so they have an id.
      const events = records.map((record) => ({ record, id: model.kinds.idOf(g.kind, record), fingerprint: fingerprintOf(record) }));
      const conflict = events.map((e) => ledger.conflictOf(g.kind, e.id, e.fingerprint)).find((c) => c !== null);
      if (conflict) {
        ledger.conflicts++;
        throw new HttpError(409, conflict);
      }
      let replayed = 0;
      for (const e of events) {
        const claim = await ledger.claim(g.kind, e.id, e.fingerprint);
        if (claim.outcome === 'conflict') throw new HttpError(409, claim.reason);
        if (claim.outcome === 'replay') {
          replayed++;
          continue;
        }
        let accepted = false;
        try {
          await acceptOne(g.kind, e.record);
          accepted = true;
        } finally {
          claim.settle(accepted);
        }
      }
      // The first answer was 201 with these records; a request of repeats only gets 200 with them.
      if (replayed > 0) ctx.req.res?.setHeader(INGRESS_REPLAY_HEADER, String(replayed));
      return { status: replayed === records.length ? 200 : 201, kind: g.kind, records };
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
      ledger?.close();
      core.close();
    },
  };
}
