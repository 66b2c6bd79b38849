/**
 * A topology compiled: every system's rules, the ingress generator and the scheduled sources, ready
 * to run. The same object drives the system processes (what a system emits for what it receives),
 * the load (the ingress events of a seed) and the oracle (every expected record, by propagating the
 * ingress events and source ticks through the same rules), so the three can never disagree.
 * Compiling reports every problem with its place in the file (load.ts turns them into
 * file:line:col); `modelOf` compiles a loaded topology once per process.
 */
import type { Environment } from '@marcbachmann/cel-js';
import type { PathSegment, Problem } from '../topology/errors.ts';
import type { RecordRecipe, Rule, SystemSpec, Topology } from '../topology/model.ts';
import { hash32, mulberry32, rootEnvironment, withRandom } from './expressions.ts';
import { recordKindsOf, type RecordKind, type RecordKinds } from './kinds.ts';
import { compileRecipe, compileValue, declare, evaluate, inputContext, inputVariables, RecipeError, type CompiledRecipe, type Context } from './recipe.ts';
export { RecipeError } from './recipe.ts';

/** 2024-01-01T00:00:00Z: `startMs` of generators, so runs never depend on the clock. */
export const DEFAULT_START_MS = Date.UTC(2024, 0, 1);

export interface EmittedRecord {
  readonly kind: string;
  readonly record: Record<string, unknown>;
}

/** One event the load sends to the ingress. */
export interface IngressEvent {
  /** 1-based number in the seed's stream. */
  readonly n: number;
  readonly kind: string;
  readonly record: Record<string, unknown>;
  /** The record's identity within its kind. */
  readonly id: string;
}

interface CompiledEmit {
  readonly recipe: CompiledRecipe;
  readonly forEach?: (ctx: Context) => unknown;
}

/** What one system does with one kind it receives. */
export class CompiledRule {
  constructor(
    readonly systemId: string,
    readonly input: RecordKind,
    readonly costUs: number,
    readonly delayMs: number,
    private readonly emits: readonly CompiledEmit[],
  ) {}

  /** The kinds this rule can emit. */
  get outputKinds(): string[] {
    return [...new Set(this.emits.map((e) => e.recipe.kind.id))];
  }

  /** The records made from one (valid) received record; pure. Throws RecipeError. */
  apply(record: Record<string, unknown>): EmittedRecord[] {
    const out: EmittedRecord[] = [];
    const base = inputContext(this.input, record);
    base.system = this.systemId;
    const where = `system ${this.systemId}, on ${this.input.id} ${this.input.idOf(record)}`;
    for (const e of this.emits) {
      const at = `${where}, emit ${e.recipe.kind.id}`;
      const elements = e.forEach ? evaluate(e.forEach, { ...base }, `${at}, forEach`) : [undefined];
      if (!Array.isArray(elements)) throw new RecipeError(`${at}, forEach: expected a list, got ${typeof elements}`);
      elements.forEach((item, index) => {
        const ctx: Context = { ...base, item, index: BigInt(index) };
        const made = e.recipe.make(ctx, record, at);
        if (made) out.push({ kind: e.recipe.kind.id, record: made });
      });
    }
    return out;
  }
}

/** Everything a system does: its rules by input kind. */
export class SystemBehaviour {
  constructor(readonly spec: SystemSpec, private readonly rules: ReadonlyMap<string, CompiledRule>) {}

  inputKinds(): string[] {
    return [...this.rules.keys()];
  }

  rule(kind: string): CompiledRule | undefined {
    return this.rules.get(kind);
  }
}

interface CompiledGenerator {
  readonly kind: RecordKind;
  readonly recipe: CompiledRecipe;
  readonly weight: number;
}

interface CompiledSource extends CompiledGenerator {
  readonly everyMs: number;
  readonly records: number;
  readonly times?: number;
}

export class LandscapeModel {
  readonly kinds: RecordKinds;
  private readonly behaviours = new Map<string, SystemBehaviour>();
  private readonly ingress: CompiledGenerator[] = [];
  private readonly sources = new Map<string, CompiledSource[]>();
  readonly ingressSystem: SystemSpec | undefined;

  constructor(readonly topology: Topology, readonly problems: Problem[] = []) {
    this.kinds = recordKindsOf(topology, this.problems);
    const ruleRoot = rootEnvironment('rule', topology.constants);
    const genRoot = rootEnvironment('generator', topology.constants);
    topology.systems.forEach((s, si) => {
      const rules = new Map<string, CompiledRule>();
      for (const r of s.rules) {
        const compiled = this.compileRule(ruleRoot, s, r, ['systems', si, 'on', r.input]);
        if (compiled) rules.set(r.input, compiled);
      }
      this.behaviours.set(s.id, new SystemBehaviour(s, rules));
      s.ingress.forEach((g, gi) => {
        const c = this.compileGenerator(genRoot, g, ['systems', si, 'ingress', gi], [{ name: 'n', type: 'int' }]);
        if (c) this.ingress.push({ ...c, weight: g.weight });
      });
      const srcs: CompiledSource[] = [];
      s.sources.forEach((g, gi) => {
        const c = this.compileGenerator(genRoot, g, ['systems', si, 'sources', gi], [{ name: 'n', type: 'int' }, { name: 'tick', type: 'int' }, { name: 'tickMs', type: 'int' }]);
        if (c) srcs.push({ ...c, weight: 1, everyMs: g.everyMs, records: g.records, ...(g.times !== undefined ? { times: g.times } : {}) });
      });
      this.sources.set(s.id, srcs);
    });
    this.ingressSystem = topology.systems.find((s) => s.role === 'ingress');
  }

  /** An undeclared kind is reported by the topology's cross-reference checks; here it is skipped. */
  private kindOrProblem(id: string, _path: readonly PathSegment[]): RecordKind | undefined {
    return this.kinds.has(id) ? this.kinds.get(id) : undefined;
  }

  private compileRule(root: Environment, s: SystemSpec, r: Rule, path: readonly PathSegment[]): CompiledRule | undefined {
    const input = this.kindOrProblem(r.input, path.slice(0, -1).concat([r.input]));
    if (!input) return undefined;
    const emits: CompiledEmit[] = [];
    let ok = true;
    r.emit.forEach((e, ei) => {
      const at = [...path, 'emit', ei];
      const kind = this.kindOrProblem(e.kind, [...at, 'kind']);
      if (!kind) {
        ok = false;
        return;
      }
      const env = root.clone();
      const declared = declare(env, [...inputVariables(input), { name: 'system', type: 'string' }], at, this.problems);
      let forEach: ((ctx: Context) => unknown) | undefined;
      if (e.forEach !== undefined) {
        const c = compileValue(env, { expression: e.forEach }, [...at, 'forEach'], this.problems);
        if (c && !(c.type.startsWith('list') || c.type === 'dyn')) this.problems.push({ path: [...at, 'forEach'], message: `forEach must give a list, this gives ${c.type}` });
        forEach = c?.run;
        const elem = c?.type.startsWith('list<') ? c.type.slice(5, -1) : 'dyn';
        for (const v of declare(env, [{ name: 'item', type: elem }, { name: 'index', type: 'int' }], [...at, 'forEach'], this.problems)) declared.add(v);
      }
      const recipe = compileRecipe(env, e, kind, input, at, this.problems, declared, (withLets) => {
        if (e.when === undefined) return undefined;
        const c = compileValue(withLets, { expression: e.when }, [...at, 'when'], this.problems);
        if (c && c.type !== 'bool' && c.type !== 'dyn') this.problems.push({ path: [...at, 'when'], message: `when must give true or false, this gives ${c.type}` });
        return c?.run;
      });
      if (!recipe) {
        ok = false;
        return;
      }
      emits.push({ recipe, ...(forEach ? { forEach } : {}) });
    });
    if (!ok) return undefined;
    return new CompiledRule(s.id, input, r.costUs, r.delayMs, emits);
  }

  private compileGenerator(root: Environment, g: RecordRecipe,
    path: readonly PathSegment[], extra: { name: string; type: string }[]): { kind: RecordKind; recipe: CompiledRecipe } | undefined {
    const kind = this.kindOrProblem(g.kind, [...path, 'kind']);
    if (!kind) return undefined;
    const env = root.clone();
    const declared = declare(env, [...extra, { name: 'seed', type: 'int' }, { name: 'startMs', type: 'int' }, { name: 'system', type: 'string' }], path, this.problems);
    const recipe = compileRecipe(env, { kind: g.kind, let: g.let, fields: g.fields }, kind, null, path, this.problems, declared);
    return recipe ? { kind, recipe } : undefined;
  }

  behaviour(systemId: string): SystemBehaviour {
    const b = this.behaviours.get(systemId);
    if (!b) throw new Error(`system ${systemId} is not in topology ${this.topology.name} (systems: ${[...this.behaviours.keys()].join(', ')})`);
    return b;
  }

  /** The kinds the ingress takes from outside. */
  ingressKinds(): string[] {
    return this.ingress.map((g) => g.kind.id);
  }

  /** Event `n` (1-based) of a seed's ingress stream: the same for the same seed and n, in any process. */
  ingressEvent(seed: number, n: number): IngressEvent {
    if (this.ingress.length === 0 || !this.ingressSystem) throw new Error(`topology ${this.topology.name} has no ingress`);
    let g = this.ingress[0];
    if (this.ingress.length > 1) {
      const total = this.ingress.reduce((a, x) => a + x.weight, 0);
      let x = mulberry32(hash32(`ingress/${seed}/${n}`))() * total;
      g = this.ingress.find((c) => (x -= c.weight) < 0) ?? this.ingress[this.ingress.length - 1];
    }
    const system = this.ingressSystem.id;
    const ctx: Context = { n: BigInt(n), seed: BigInt(seed), startMs: BigInt(DEFAULT_START_MS), system };
    const record = withRandom(mulberry32(hash32(`${seed}/${g.kind.id}/${n}`)), () => g.recipe.make(ctx, null, `ingress ${g.kind.id} event ${n}`))!;
    return { n, kind: g.kind.id, record, id: g.kind.idOf(record) };
  }

  /** The scheduled sources of a system. */
  sourcesOf(systemId: string): readonly { kind: string; everyMs: number; records: number; times?: number }[] {
    return (this.sources.get(systemId) ?? []).map((s) => ({ kind: s.kind.id, everyMs: s.everyMs, records: s.records, ...(s.times !== undefined ? { times: s.times } : {}) }));
  }

  /** The records of tick `tick` (1-based) of source `index` of a system: the same for the same seed. */
  sourceRecords(systemId: string, index: number, tick: number, seed: number): EmittedRecord[] {
    const src = this.sources.get(systemId)?.[index];
    if (!src) throw new Error(`system ${systemId} has no source ${index}`);
    const out: EmittedRecord[] = [];
    for (let n = 1; n <= src.records; n++) {
      const ctx: Context = { n: BigInt(n), tick: BigInt(tick), tickMs: BigInt(DEFAULT_START_MS + tick * src.everyMs), seed: BigInt(seed), startMs: BigInt(DEFAULT_START_MS), system: systemId };
      const record = withRandom(mulberry32(hash32(`${seed}/${systemId}/${index}/${tick}/${n}`)), () => src.recipe.make(ctx, null, `system ${systemId}, source ${src.kind.id} tick ${tick}`));
      if (record) out.push({ kind: src.kind.id, record });
    }
    return out;
  }
}

const models = new WeakMap<Topology, LandscapeModel>();

/** The compiled model of a loaded topology (compiled once; a topology that loaded compiles cleanly). */
export function modelOf(t: Topology): LandscapeModel {
  let m = models.get(t);
  if (!m) {
    m = new LandscapeModel(t);
    if (m.problems.length > 0) throw new Error(`topology ${t.name} does not compile: ${m.problems.map((p) => p.message).join('; ')}`);
    models.set(t, m);
  }
  return m;
}
