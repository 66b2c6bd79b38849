/**
 * Sub-landscapes: the connections scenario sweeps n = 3..9 using the first n systems of a file,
 * quick runs and onboarding run part of a landscape. Flows touching a dropped system are dropped;
 * the systems keep their rules (a rule for a kind nobody sends any more simply never runs). The
 * result is validated like a file, without the completeness checks a derived landscape cannot meet.
 */
import { stringify } from 'yaml';
import { TopologyError } from './errors.ts';
import { parseTopology } from './load.ts';
import type { SystemId, Topology } from './model.ts';
import { topologyToFile } from './normalize.ts';

export function restrictTo(t: Topology, systemIds: readonly SystemId[]): Topology {
  const label = `${t.name} restricted to ${systemIds.join(', ')}`;
  const known = new Set(t.systems.map((s) => s.id));
  const unknown = systemIds.filter((id) => !known.has(id));
  if (unknown.length > 0 || systemIds.length === 0) {
    const message = systemIds.length === 0
      ? 'expected at least one system id'
      : `system${unknown.length === 1 ? '' : 's'} ${unknown.map((id) => `"${id}"`).join(', ')} not in the topology (systems: ${[...known].join(', ')})`;
    throw new TopologyError(label, [{ file: label, line: 1, col: 1, path: '', message }]);
  }
  const keep = new Set(systemIds);
  const restricted: Topology = {
    ...t,
    systems: t.systems.filter((s) => keep.has(s.id)),
    flows: t.flows.filter((f) => keep.has(f.from) && keep.has(f.to)),
  };
  return parseTopology(serializeTopology(restricted), `<${label}>`, { derived: true });
}

/**
 * The landscape with every legacy link and lake export in JSON (the `formats=json` practice): the
 * same flows and transports, one format, so no system needs an XML or CSV adapter.
 */
export function withJsonFormats(t: Topology): Topology {
  return {
    ...t,
    flows: t.flows.map((f) => (f.legacy.format === 'json' ? f : { ...f, legacy: { ...f.legacy, format: 'json' } })),
    systems: t.systems.map((s) => (s.lakeExport && s.lakeExport.format !== 'json' ? { ...s, lakeExport: { ...s.lakeExport, format: 'json' } } : s)),
  };
}

/** The sub-landscape of the first n systems in file order. */
export function restrictToFirst(t: Topology, n: number): Topology {
  return restrictTo(t, t.systems.slice(0, n).map((s) => s.id));
}

/** A topology as topology-file YAML (what system processes are started with). */
export function serializeTopology(t: Topology): string {
  return stringify(topologyToFile(t), { lineWidth: 0 });
}
