/**
 * Sub-landscapes: the connections scenario sweeps n = 3..9 using the first n systems of a file.
 * Flows touching a dropped system are dropped, then flows relaying data whose origin was dropped,
 * then data kinds nobody has any more; the result is validated like a file.
 */
import { stringify } from 'yaml';
import { TopologyError } from './errors.ts';
import { parseTopology } from './load.ts';
import type { SystemId, Topology } from './model.ts';
import { dataProvenance } from './semantics.ts';

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
  const systems = t.systems.filter((s) => keep.has(s.id));
  const touching = t.flows.filter((f) => keep.has(f.from) && keep.has(f.to));
  const has = dataProvenance(new Map(systems.map((s) => [s.id, s.produces])), touching);
  const flows = touching.filter((f) => has.get(f.from)?.has(f.data));
  const used = new Set(systems.flatMap((s) => s.produces));
  const restricted: Topology = {
    ...t,
    dataKinds: t.dataKinds.filter((k) => used.has(k.id)),
    systems,
    flows,
  };
  return parseTopology(stringify(restricted), `<${label}>`);
}

/** The sub-landscape of the first n systems in file order. */
export function restrictToFirst(t: Topology, n: number): Topology {
  return restrictTo(t, t.systems.slice(0, n).map((s) => s.id));
}
