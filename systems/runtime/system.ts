import { join } from 'node:path';
import { createRestApp, HttpError } from '../legacy/rest-server.ts';
import { isDataKind, validateRecord } from '../domain/index.ts';
import { SystemCore } from './core.ts';
import { PATHS, type SystemRuntimeOptions } from './options.ts';
import type { StartWiring, Wiring } from './wiring.ts';

export interface RunningSystem {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The validator every transport uses: the domain's schema for the record's kind. */
export function recordProblem(kind: string, record: unknown): string | undefined {
  if (!isDataKind(kind)) return `unknown data kind "${kind}"`;
  const v = validateRecord(kind, record);
  return v.ok ? undefined : v.reason;
}

/**
 * One system as an OS process: its domain core, one HTTP server (health, state, and for the
 * ingress system POST /orders), and the wiring of its layout. The same code runs every system;
 * what differs is the topology entry and the layout.
 */
export async function runSystem(opts: SystemRuntimeOptions, startWiring: StartWiring): Promise<RunningSystem> {
  const spec = opts.topology.systems.find((s) => s.id === opts.systemId);
  if (!spec) throw new Error(`system ${opts.systemId} is not in topology ${opts.topology.name} (systems: ${opts.topology.systems.map((s) => s.id).join(', ')})`);
  const core = new SystemCore(spec, Date.now, join(opts.workDir, 'state', spec.id, 'received.journal'));
  const rest = createRestApp({ validate: recordProblem });
  let wiring: Wiring | null = null;

  rest.app.get(PATHS.state, (_req, res) => {
    res.json({
      systemId: spec.id,
      layout: opts.layout,
      pid: process.pid,
      received: core.receivedState(),
      produced: Object.fromEntries(core.producedByKind),
      rejected: core.rejected,
      wiring: wiring?.counters() ?? null,
      rest: rest.counters(),
    });
  });

  if (spec.role === 'ingress') {
    rest.acceptRecords(PATHS.orders, 'order', async (records) => {
      if (!wiring) throw new HttpError(503, 'starting');
      for (const record of records) {
        const result = core.process('order', record);
        if (!result.ok) throw new HttpError(400, result.reason);
        if (!result.output) continue;
        try {
          await wiring.emit(result.output.kind, result.output.record);
        } catch (err) {
          throw new HttpError(502, `order ${(record as { orderId: string }).orderId} accepted but not passed on: ${(err as Error).message}`);
        }
      }
      return { status: 201, kind: 'order', records };
    });
  }

  wiring = await startWiring(opts, core, rest);
  const listener = await rest.listen(opts.port);
  opts.logger(`system ${spec.id} (${spec.name}) serving ${opts.layout} layout on ${listener.url}`);
  return {
    url: listener.url,
    port: listener.port,
    async close() {
      await listener.close();
      await wiring?.close();
    },
  };
}
