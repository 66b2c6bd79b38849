/**
 * Cross-reference checks of a topology: duplicate ids, references to missing systems or data
 * kinds, data provenance, transport-specific keys, empty systems and rest-sync cycles.
 * They read the raw parsed YAML defensively (anything of the wrong shape is skipped; the schema
 * reports it), so they run even when the schema fails and one load lists every problem.
 */
import { listNames, type PathSegment, type Problem } from './errors.ts';
import { LEGACY_TRANSPORTS, REST_TRANSPORTS, SCHEDULED_TRANSPORTS, type LegacyTransport } from './model.ts';

type Raw = Record<string, unknown>;

const asRecord = (v: unknown): Raw | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : undefined;
const asList = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? v : undefined);
const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

interface LooseFlow {
  index: number;
  id?: string;
  from?: string;
  to?: string;
  data?: string;
  transport?: LegacyTransport;
  legacy?: Raw;
}

interface LooseSystem {
  index: number;
  id?: string;
  produces: { index: number; id: string }[];
}

function looseFlows(raw: Raw): LooseFlow[] {
  return (asList(raw.flows) ?? []).flatMap((item, index) => {
    const f = asRecord(item);
    if (!f) return [];
    const legacy = asRecord(f.legacy);
    const transport = asString(legacy?.transport);
    const known = (LEGACY_TRANSPORTS as readonly string[]).includes(transport ?? '');
    return [{ index, id: asString(f.id), from: asString(f.from), to: asString(f.to), data: asString(f.data),
      transport: known ? (transport as LegacyTransport) : undefined, legacy }];
  });
}

function looseSystems(raw: Raw): LooseSystem[] {
  return (asList(raw.systems) ?? []).flatMap((item, index) => {
    const s = asRecord(item);
    if (!s) return [];
    const produces = (asList(s.produces) ?? []).flatMap((p, i) => (typeof p === 'string' ? [{ index: i, id: p }] : []));
    return [{ index, id: asString(s.id), produces }];
  });
}

function duplicateIds(listName: string, raw: Raw, problems: Problem[]): void {
  const firstIndex = new Map<string, number>();
  (asList(raw[listName]) ?? []).forEach((item, index) => {
    const id = asString(asRecord(item)?.id);
    if (id === undefined) return;
    const first = firstIndex.get(id);
    if (first === undefined) firstIndex.set(id, index);
    else problems.push({ path: [listName, index, 'id'], message: `duplicate id "${id}" (already used by ${listName}[${first}]; ids must be unique)` });
  });
}

/** For each system, the data kinds it has: its own, plus those flowing to it from a system that has them. */
export function dataProvenance(
  produces: ReadonlyMap<string, readonly string[]>,
  flows: readonly { from?: string; to?: string; data?: string }[],
): Map<string, Set<string>> {
  const has = new Map<string, Set<string>>();
  for (const [system, kinds] of produces) has.set(system, new Set(kinds));
  let changed = true;
  while (changed) {
    changed = false;
    for (const f of flows) {
      if (!f.from || !f.to || !f.data || !has.get(f.from)?.has(f.data)) continue;
      const target = has.get(f.to) ?? new Set<string>();
      has.set(f.to, target);
      if (!target.has(f.data)) {
        target.add(f.data);
        changed = true;
      }
    }
  }
  return has;
}

function transportKeys(f: LooseFlow, problems: Problem[]): void {
  if (!f.transport || !f.legacy) return;
  const at = (key: string): PathSegment[] => ['flows', f.index, 'legacy', key];
  const scheduled = SCHEDULED_TRANSPORTS.includes(f.transport);
  if (scheduled && f.legacy.scheduleMs === undefined) {
    const what = f.transport === 'batch' ? 'how often the receiver picks up dropped files' : 'how often the receiver polls the sender';
    problems.push({ path: ['flows', f.index, 'legacy'], message: `missing scheduleMs, required for transport ${f.transport} (${what}, in ms)` });
  }
  if (!scheduled && f.legacy.scheduleMs !== undefined) {
    problems.push({ path: at('scheduleMs'), at: 'key', message: `scheduleMs is not allowed for transport ${f.transport} (expected only with ${SCHEDULED_TRANSPORTS.join(' or ')})` });
  }
  for (const key of ['retries', 'timeoutMs']) {
    if (f.legacy[key] !== undefined && !REST_TRANSPORTS.includes(f.transport)) {
      problems.push({ path: at(key), at: 'key', message: `${key} is not allowed for transport ${f.transport} (expected only with ${REST_TRANSPORTS.join(' or ')})` });
    }
  }
  if (f.legacy.prefetch !== undefined && f.transport !== 'amqp') {
    problems.push({ path: at('prefetch'), at: 'key', message: `prefetch is not allowed for transport ${f.transport} (expected only with amqp)` });
  }
}

/** Cycles of rest-sync calls (caller from -> callee to); each reported once, at one of its flows. */
function restSyncCycles(flows: readonly LooseFlow[], problems: Problem[]): void {
  const calls = flows.filter((f) => f.transport === 'rest-sync' && f.from && f.to);
  const edges = new Map<string, LooseFlow[]>();
  for (const f of calls) edges.set(f.from!, [...(edges.get(f.from!) ?? []), f]);
  const done = new Set<string>();
  const reported = new Set<string>();
  const stack: LooseFlow[] = [];
  const onStack = new Set<string>();
  const visit = (node: string): void => {
    onStack.add(node);
    for (const f of edges.get(node) ?? []) {
      const to = f.to!;
      if (onStack.has(to)) {
        const start = stack.findIndex((s) => s.from === to);
        const cycle = [...stack.slice(start === -1 ? stack.length : start), f];
        const signature = cycle.map((c) => c.index).sort((a, b) => a - b).join(',');
        if (!reported.has(signature)) {
          reported.add(signature);
          const route = [...cycle.map((c) => c.from), to].join(' -> ');
          const ids = cycle.map((c) => c.id ?? `flows[${c.index}]`).join(', ');
          const first = cycle.reduce((a, b) => (a.index <= b.index ? a : b));
          problems.push({ path: ['flows', first.index, 'legacy', 'transport'],
            message: `rest-sync calls form a cycle ${route} (flows ${ids}); a synchronous call chain must not loop back (expected amqp, batch or rest-poll on one of them)` });
        }
      } else if (!done.has(to)) {
        stack.push(f);
        visit(to);
        stack.pop();
      }
    }
    onStack.delete(node);
    done.add(node);
  };
  for (const f of calls) if (!done.has(f.from!)) visit(f.from!);
}

export function checkSemantics(input: unknown): Problem[] {
  const raw = asRecord(input);
  if (!raw) return [];
  const problems: Problem[] = [];
  for (const list of ['dataKinds', 'systems', 'flows']) duplicateIds(list, raw, problems);

  const kindIds = (asList(raw.dataKinds) ?? []).flatMap((k) => asString(asRecord(k)?.id) ?? []);
  const systems = looseSystems(raw);
  const systemIds = systems.flatMap((s) => s.id ?? []);
  const flows = looseFlows(raw);
  const kindsKnown = asList(raw.dataKinds) !== undefined;
  const systemsKnown = asList(raw.systems) !== undefined;

  for (const s of systems) {
    for (const p of s.produces) {
      if (kindsKnown && !kindIds.includes(p.id)) {
        problems.push({ path: ['systems', s.index, 'produces', p.index], message: `data kind "${p.id}" does not exist (data kinds: ${listNames(kindIds)})` });
      }
    }
  }
  for (const f of flows) {
    for (const end of ['from', 'to'] as const) {
      const id = f[end];
      if (systemsKnown && id !== undefined && !systemIds.includes(id)) {
        problems.push({ path: ['flows', f.index, end], message: `system "${id}" does not exist (systems: ${listNames(systemIds)})` });
      }
    }
    if (kindsKnown && f.data !== undefined && !kindIds.includes(f.data)) {
      problems.push({ path: ['flows', f.index, 'data'], message: `data kind "${f.data}" does not exist (data kinds: ${listNames(kindIds)})` });
    }
    if (f.from !== undefined && f.from === f.to) {
      problems.push({ path: ['flows', f.index, 'to'], message: `a flow must go to another system, not back to "${f.from}"` });
    }
    const twin = flows.find((g) => g.index < f.index && g.from === f.from && g.to === f.to && g.data === f.data && f.data);
    if (twin && f.from && f.to) {
      problems.push({ path: ['flows', f.index], message: `carries "${f.data}" from ${f.from} to ${f.to} like flows[${twin.index}]${twin.id ? ` "${twin.id}"` : ''} (expected one flow per sender, receiver and data kind)` });
    }
    transportKeys(f, problems);
  }

  const produces = new Map<string, string[]>();
  for (const s of systems) if (s.id) produces.set(s.id, [...(produces.get(s.id) ?? []), ...s.produces.map((p) => p.id)]);
  const has = dataProvenance(produces, flows);
  for (const f of flows) {
    if (!f.from || !f.data || !systemIds.includes(f.from) || !kindIds.includes(f.data)) continue;
    if (has.get(f.from)?.has(f.data)) continue;
    const receives = [...new Set(flows.filter((g) => g.to === f.from && g.data).map((g) => g.data!))];
    problems.push({ path: ['flows', f.index, 'data'],
      message: `system "${f.from}" neither produces "${f.data}" nor receives it from another flow (${f.from} produces: ${listNames(produces.get(f.from) ?? [])}; receives: ${listNames(receives)})` });
  }
  for (const s of systems) {
    if (!s.id || s.produces.length > 0 || flows.some((f) => f.to === s.id)) continue;
    problems.push({ path: ['systems', s.index, 'id'], message: `system "${s.id}" produces nothing and receives nothing (expected a data kind in produces, or a flow with to: ${s.id})` });
  }
  if (systemsKnown) {
    (asList(raw.dataKinds) ?? []).forEach((k, index) => {
      const id = asString(asRecord(k)?.id);
      if (id !== undefined && !systems.some((s) => s.produces.some((p) => p.id === id))) {
        problems.push({ path: ['dataKinds', index, 'id'], message: `data kind "${id}" is produced by no system (expected it in some system's produces)` });
      }
    });
  }
  restSyncCycles(flows, problems);
  return problems;
}
