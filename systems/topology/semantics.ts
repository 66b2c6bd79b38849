/**
 * Cross-reference checks of a topology: duplicate and reserved ids, references to missing systems
 * or data kinds, who produces what, flows into systems with no rule for their kind, emitted kinds
 * that go nowhere, record cascades that never end, rest-sync cycles, transport-specific keys.
 * They read the raw parsed YAML defensively (anything of the wrong shape is skipped; the schema
 * reports it), so they run even when the schema fails and one load lists every problem.
 * Completeness checks (a rule nothing feeds, an output nothing carries, a kind nobody makes) are
 * skipped for derived sub-landscapes (restrict.ts), where dropping systems leaves such loose ends.
 */
import { listNames, type PathSegment, type Problem } from './errors.ts';
import { LEGACY_TRANSPORTS, PADDING_FIELD, REST_TRANSPORTS, SCHEDULED_TRANSPORTS, type LegacyTransport } from './model.ts';
import { RESERVED_SYSTEM_ID_PATTERN, RESERVED_SYSTEM_IDS } from './schema.ts';

type Raw = Record<string, unknown>;

const asRecord = (v: unknown): Raw | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : undefined;
const asList = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? v : undefined);
const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export interface SemanticsOptions {
  /** A derived sub-landscape: skip the completeness checks. */
  derived?: boolean;
}

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
  role?: string;
  instances?: unknown;
  lakeExport: boolean;
  /** Kinds it originates or emits, with where each is named. */
  produces: { kind: string; path: PathSegment[] }[];
  /** Input kind -> the kinds its rule emits. */
  rules: Map<string, { emits: string[] }>;
  hasIngress: boolean;
  hasSources: boolean;
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
    const produces: LooseSystem['produces'] = [];
    (asList(s.ingress) ?? []).forEach((g, i) => {
      const k = asString(asRecord(g)?.kind);
      if (k) produces.push({ kind: k, path: ['systems', index, 'ingress', i, 'kind'] });
    });
    (asList(s.sources) ?? []).forEach((g, i) => {
      const k = asString(asRecord(g)?.kind);
      if (k) produces.push({ kind: k, path: ['systems', index, 'sources', i, 'kind'] });
    });
    const rules = new Map<string, { emits: string[] }>();
    for (const [input, rule] of Object.entries(asRecord(s.on) ?? {})) {
      const emits: string[] = [];
      (asList(asRecord(rule)?.emit) ?? []).forEach((e, i) => {
        const k = asString(asRecord(e)?.kind);
        if (!k) return;
        emits.push(k);
        produces.push({ kind: k, path: ['systems', index, 'on', input, 'emit', i, 'kind'] });
      });
      rules.set(input, { emits });
    }
    return [{
      index, id: asString(s.id), role: asString(s.role), instances: s.instances, lakeExport: asRecord(s.lakeExport) !== undefined,
      produces, rules, hasIngress: (asList(s.ingress) ?? []).length > 0, hasSources: (asList(s.sources) ?? []).length > 0,
    }];
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
  for (const cycle of cyclesOf(edges, (f) => f.to!)) {
    const route = [...cycle.map((c) => c.from), cycle[0].from].join(' -> ');
    const ids = cycle.map((c) => c.id ?? `flows[${c.index}]`).join(', ');
    const first = cycle.reduce((a, b) => (a.index <= b.index ? a : b));
    problems.push({ path: ['flows', first.index, 'legacy', 'transport'],
      message: `rest-sync calls form a cycle ${route} (flows ${ids}); a synchronous call chain must not loop back (expected amqp, batch or rest-poll on one of them)` });
  }
}

/** Distinct elementary cycles found by depth-first search (each once, by its set of edges). */
function cyclesOf<E>(edges: ReadonlyMap<string, readonly E[]>, target: (e: E) => string): E[][] {
  const found: E[][] = [];
  const seen = new Set<string>();
  const done = new Set<string>();
  const stack: { node: string; edge: E }[] = [];
  const onStack = new Set<string>();
  const ids = new Map<E, number>();
  const idOf = (e: E): number => {
    if (!ids.has(e)) ids.set(e, ids.size);
    return ids.get(e)!;
  };
  const visit = (node: string): void => {
    onStack.add(node);
    for (const e of edges.get(node) ?? []) {
      const to = target(e);
      if (onStack.has(to)) {
        const start = stack.findIndex((s) => s.node === to);
        // The stack holds the edge into each node below the root: the cycle is the edges after `to`'s
        // own entry (all of them when `to` is the root, which has no entry), then e.
        const cycle = [...stack.slice(start + 1).map((s) => s.edge), e];
        const signature = cycle.map(idOf).sort((a, b) => a - b).join(',');
        if (!seen.has(signature) && found.length < 20) {
          seen.add(signature);
          found.push(cycle);
        }
      } else if (!done.has(to)) {
        stack.push({ node: to, edge: e });
        visit(to);
        stack.pop();
      }
    }
    onStack.delete(node);
    done.add(node);
  };
  for (const node of edges.keys()) if (!done.has(node)) visit(node);
  return found;
}

/**
 * Record cascades that loop: S receives K, its rule emits K', a flow carries K' to T, T's rule
 * emits ... back to S receiving K. The systems would pass records round forever.
 */
function cascadeCycles(systems: readonly LooseSystem[], flows: readonly LooseFlow[], problems: Problem[]): void {
  type Edge = { from: string; to: string; flow: LooseFlow; system: LooseSystem; emitted: string };
  const byId = new Map(systems.filter((s) => s.id).map((s) => [s.id!, s]));
  const edges = new Map<string, Edge[]>();
  for (const s of systems) {
    if (!s.id) continue;
    for (const [input, rule] of s.rules) {
      for (const emitted of new Set(rule.emits)) {
        for (const f of flows) {
          if (f.from !== s.id || f.data !== emitted || !f.to || !byId.get(f.to)?.rules.has(emitted)) continue;
          const node = `${s.id}\u0000${input}`;
          edges.set(node, [...(edges.get(node) ?? []), { from: node, to: `${f.to}\u0000${emitted}`, flow: f, system: s, emitted }]);
        }
      }
    }
  }
  for (const cycle of cyclesOf(edges, (e) => e.to)) {
    const route = cycle.map((e) => `${e.from.replace('\u0000', ' on ')}`).join(' -> ');
    const first = cycle[0];
    problems.push({ path: ['flows', first.flow.index, 'data'],
      message: `records cascade in a loop that never ends: ${route} -> ${first.from.replace('\u0000', ' on ')} (flows ${cycle.map((e) => e.flow.id ?? `flows[${e.flow.index}]`).join(', ')}); break it by emitting nothing on one of these rules or removing a flow` });
  }
}

function checkKinds(raw: Raw, problems: Problem[]): void {
  (asList(raw.dataKinds) ?? []).forEach((item, index) => {
    const k = asRecord(item);
    const fields = asRecord(k?.fields);
    if (!k || !fields) return;
    const scalar = (name: string): boolean => {
      const t = fields[name];
      return typeof t === 'string' || (asRecord(t) !== undefined && 'enum' in asRecord(t)!);
    };
    const key = asString(k.key);
    if (key !== undefined && !(key in fields)) {
      problems.push({ path: ['dataKinds', index, 'key'], message: `key "${key}" is not one of the kind's fields (fields: ${listNames(Object.keys(fields))})` });
    } else if (key !== undefined && !scalar(key)) {
      problems.push({ path: ['dataKinds', index, 'key'], message: `key "${key}" must be a plain field (string, int, number, bool or enum), not a list` });
    }
    (asList(k.identity) ?? []).forEach((f, i) => {
      if (typeof f === 'string' && !(f in fields)) {
        problems.push({ path: ['dataKinds', index, 'identity', i], message: `identity field "${f}" is not one of the kind's fields (fields: ${listNames(Object.keys(fields))})` });
      } else if (typeof f === 'string' && !scalar(f)) {
        problems.push({ path: ['dataKinds', index, 'identity', i], message: `identity field "${f}" must be a plain field, not a list` });
      }
    });
    if (k.payloadBytes !== undefined && PADDING_FIELD in fields) {
      problems.push({ path: ['dataKinds', index, 'fields', PADDING_FIELD], at: 'key', message: `"${PADDING_FIELD}" is added automatically to kinds with payloadBytes: name the field otherwise` });
    }
  });
}

function checkSystems(systems: readonly LooseSystem[], kindIds: readonly string[], kindsKnown: boolean, problems: Problem[]): void {
  const ingress = systems.filter((s) => s.role === 'ingress' || (s.role === undefined && s.hasIngress));
  if (systems.length > 0 && ingress.length === 0) {
    problems.push({ path: ['systems'], message: 'no system takes input from outside (expected exactly one system with role: ingress and an ingress: list of kinds)' });
  }
  for (const extra of ingress.slice(1)) {
    problems.push({ path: ['systems', extra.index, 'role'], message: `a second ingress system "${extra.id}" (the first is "${ingress[0].id}"); expected exactly one: give it another role and let the first take several ingress kinds` });
  }
  for (const s of systems) {
    if (s.id && (RESERVED_SYSTEM_IDS.includes(s.id) || RESERVED_SYSTEM_ID_PATTERN.test(s.id))) {
      problems.push({ path: ['systems', s.index, 'id'], message: `"${s.id}" is the name of one of the integration's own components; choose another system id` });
    }
    const isIngress = ingress.includes(s);
    if (isIngress && !s.hasIngress) problems.push({ path: ['systems', s.index], message: `ingress system "${s.id}" has no ingress: list (expected ingress: [ { kind, fields } ] saying what it takes from outside)` });
    if (!isIngress && s.hasIngress) problems.push({ path: ['systems', s.index, 'ingress'], at: 'key', message: `only the ingress system takes records from outside; "${s.id}" has role ${s.role ?? 'service'} (expected role: ingress, or no ingress: here)` });
    if (isIngress && typeof s.instances === 'number' && s.instances > 1) {
      problems.push({ path: ['systems', s.index, 'instances'], message: 'the ingress system runs as one instance (the load drives one address); expected instances: 1' });
    }
    if (s.role === 'sink' && (s.hasSources || [...s.rules.values()].some((r) => r.emits.length > 0))) {
      problems.push({ path: ['systems', s.index, 'role'], message: `a sink emits nothing, but "${s.id}" has rules that emit or scheduled sources (expected role: service)` });
    }
    if (kindsKnown) {
      for (const p of s.produces) {
        if (!kindIds.includes(p.kind)) problems.push({ path: p.path, message: `data kind "${p.kind}" is not declared (data kinds: ${listNames([...kindIds])})` });
      }
      for (const input of s.rules.keys()) {
        if (!kindIds.includes(input)) problems.push({ path: ['systems', s.index, 'on', input], at: 'key', message: `a rule for data kind "${input}", which is not declared (data kinds: ${listNames([...kindIds])})` });
      }
    }
  }
}

export function checkSemantics(input: unknown, opts: SemanticsOptions = {}): Problem[] {
  const raw = asRecord(input);
  if (!raw) return [];
  const problems: Problem[] = [];
  for (const list of ['dataKinds', 'systems', 'flows']) duplicateIds(list, raw, problems);
  checkKinds(raw, problems);

  const kindIds = (asList(raw.dataKinds) ?? []).flatMap((k) => asString(asRecord(k)?.id) ?? []);
  const systems = looseSystems(raw);
  const systemIds = systems.flatMap((s) => s.id ?? []);
  const flows = looseFlows(raw);
  const kindsKnown = asList(raw.dataKinds) !== undefined;
  const systemsKnown = asList(raw.systems) !== undefined;
  checkSystems(systems, kindIds, kindsKnown, problems);
  const byId = new Map(systems.filter((s) => s.id).map((s) => [s.id!, s]));

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
    const sender = f.from ? byId.get(f.from) : undefined;
    if (sender && f.data && kindIds.includes(f.data) && !sender.produces.some((p) => p.kind === f.data)) {
      problems.push({ path: ['flows', f.index, 'data'],
        message: `system "${f.from}" does not produce "${f.data}" (it produces: ${listNames(sender.produces.map((p) => p.kind))}); a system passes a kind on only through a rule that emits it` });
    }
    const receiver = f.to ? byId.get(f.to) : undefined;
    if (receiver && f.data && kindIds.includes(f.data) && !receiver.rules.has(f.data)) {
      problems.push({ path: ['flows', f.index, 'to'],
        message: `system "${f.to}" has no rule for "${f.data}" records (expected on: { ${f.data}: { emit: [...] } } in system "${f.to}"; "${f.data}: {}" receives them without emitting anything)` });
    }
  }

  if (!opts.derived) {
    for (const s of systems) {
      if (!s.id) continue;
      for (const input of s.rules.keys()) {
        if (kindIds.includes(input) && !flows.some((f) => f.to === s.id && f.data === input)) {
          problems.push({ path: ['systems', s.index, 'on', input], at: 'key', message: `system "${s.id}" has a rule for "${input}" records but no flow brings them (expected a flow with to: ${s.id}, data: ${input})` });
        }
      }
      const reported = new Set<string>();
      for (const p of s.produces) {
        if (reported.has(p.kind) || !kindIds.includes(p.kind) || s.lakeExport || flows.some((f) => f.from === s.id && f.data === p.kind)) continue;
        reported.add(p.kind);
        problems.push({ path: p.path, message: `system "${s.id}" emits "${p.kind}" but nothing carries it anywhere in the legacy layout (expected a flow from ${s.id} with data: ${p.kind}, or a lakeExport on ${s.id})` });
      }
      if (s.produces.length === 0 && s.rules.size === 0 && !flows.some((f) => f.to === s.id)) {
        problems.push({ path: ['systems', s.index, 'id'], message: `system "${s.id}" produces nothing and receives nothing (expected rules in on: for kinds flows bring it, or sources:)` });
      }
    }
    if (systemsKnown) {
      (asList(raw.dataKinds) ?? []).forEach((k, index) => {
        const id = asString(asRecord(k)?.id);
        if (id !== undefined && !systems.some((s) => s.produces.some((p) => p.kind === id))) {
          problems.push({ path: ['dataKinds', index, 'id'], message: `data kind "${id}" is produced by no system (expected it in some system's ingress, sources or a rule's emit)` });
        }
      });
    }
  }
  restSyncCycles(flows, problems);
  cascadeCycles(systems, flows, problems);
  return problems;
}
