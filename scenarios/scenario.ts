/**
 * A scenario file: which topology, which layouts, which runners with which settings, and the
 * seed. `quick:` holds overrides for --quick (fewer systems, shorter steps, or a runner left out).
 * Files are checked like topology files: every problem at once, as file:line:col. The check is
 * complete before anything starts: the file's own schema, then everything it says against its
 * topology (systems that exist, the ingress among the run's systems, runner settings naming real
 * systems and components, a connections sweep within the run's systems), for a normal run and a
 * --quick one. Defaults that depend on the landscape come from the topology, never from here.
 */
import path from 'node:path';
import { z } from 'zod';
import { listNames, type PathSegment } from '../systems/topology/errors.ts';
import { loadTopology, loadYamlFile, YamlFileError, type Problem, type Topology, type TopologyIssue } from '../systems/topology/index.ts';
import { guessFile, notA, SCENARIO_EXPECTED } from '../systems/topology/recognize.ts';
import { failuresLayoutNameSchema, type FailuresLayoutName } from '../report/model.ts';
import {
  connectionsSettingsSchema,
  FAILURE_COMPONENT_NAMES,
  failuresSettingsSchema,
  isComponentName,
  layoutsSchema,
  onboardingSettingsSchema,
  pricesSchema,
  SYSTEM_ID,
  throughputSettingsSchema,
  type ConnectionsSettings,
  type FailuresSettings,
  type OnboardingSettings,
  type Prices,
  type ThroughputSettings,
} from './settings.ts';

export const SCENARIO_FILE_BYTES_MAX = 256 * 1024;
export const RUNNER_ORDER = ['connections', 'throughput', 'failures', 'onboarding'] as const;

const systemIds = z.array(z.string().regex(SYSTEM_ID, 'a system id: a letter, then letters, digits, "_" or "-" (A, C2, core-banking)')).min(2);

/**
 * Runner settings as written: every field optional and WITHOUT its default, so a quick block that
 * sets one field does not reset the scenario's other fields to their defaults. Defaults apply once,
 * after the quick overrides are merged.
 */
function asWritten<S extends z.ZodRawShape>(schema: z.ZodObject<S>): z.ZodObject<{ [K in keyof S]: z.ZodOptional<z.ZodType<z.output<S[K]>>> }> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(schema.shape)) {
    const bare = field instanceof z.ZodDefault ? (field.unwrap() as z.ZodType) : (field as z.ZodType);
    shape[key] = bare.optional();
  }
  return z.strictObject(shape) as unknown as z.ZodObject<{ [K in keyof S]: z.ZodOptional<z.ZodType<z.output<S[K]>>> }>;
}

const runnerBlocks = {
  connections: asWritten(connectionsSettingsSchema),
  throughput: asWritten(throughputSettingsSchema),
  failures: asWritten(failuresSettingsSchema),
  onboarding: asWritten(onboardingSettingsSchema),
};

const runnersSchema = z.strictObject({
  connections: runnerBlocks.connections.optional(),
  throughput: runnerBlocks.throughput.optional(),
  failures: runnerBlocks.failures.optional(),
  onboarding: runnerBlocks.onboarding.optional(),
});

/** In `quick:`, `false` leaves a runner out of the quick run. */
const quickRunnersSchema = z.strictObject({
  connections: z.union([z.literal(false), runnerBlocks.connections]).optional(),
  throughput: z.union([z.literal(false), runnerBlocks.throughput]).optional(),
  failures: z.union([z.literal(false), runnerBlocks.failures]).optional(),
  onboarding: z.union([z.literal(false), runnerBlocks.onboarding]).optional(),
});

export const scenarioFileSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'a lower-case name such as compare'),
  description: z.string().max(2000).optional(),
  /** Relative to the scenario file. */
  topology: z.string().min(1),
  layouts: layoutsSchema.default(['legacy', 'hub']),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(42),
  /** Runs of each repeated measurement (the throughput runner's); `untangle run --repeat N` overrides it. */
  repeat: z.number().int().min(1).max(20).default(1),
  /** Run only these systems of the topology (default all). */
  systems: systemIds.optional(),
  runners: runnersSchema.refine((r) => Object.keys(r).length > 0, 'expected at least one runner'),
  /** Unit prices for the report's money block (report/money.ts); absent: no money shown. */
  prices: pricesSchema.optional(),
  quick: z.strictObject({
    systems: systemIds.optional(),
    repeat: z.number().int().min(1).max(20).optional(),
    runners: quickRunnersSchema.optional(),
  }).optional(),
});
export type ScenarioFile = z.infer<typeof scenarioFileSchema>;

export interface RunnerSettings {
  connections?: ConnectionsSettings;
  throughput?: ThroughputSettings;
  failures?: FailuresSettings;
  onboarding?: OnboardingSettings;
}

/** A scenario ready to run: --quick applied, defaults filled in, paths resolved. */
export interface Scenario {
  name: string;
  description: string | null;
  file: string;
  topologyFile: string;
  layouts: ('legacy' | 'hub')[];
  seed: number;
  /** null: every system of the topology. */
  systems: string[] | null;
  quick: boolean;
  /** Runs of each repeated measurement: medians and 95 % intervals come from them. */
  repeat: number;
  runners: RunnerSettings;
  /** Unit prices for the report's money block; null: none given. */
  prices: Prices | null;
}

/** The layouts the failures runner measures: its own `layouts`, else the scenario's. */
export function failuresLayouts(s: Pick<Scenario, 'layouts' | 'runners'>): FailuresLayoutName[] {
  return s.runners.failures?.layouts ?? s.layouts;
}

export class ScenarioError extends YamlFileError {
  constructor(file: string, issues: readonly TopologyIssue[]) {
    super('scenario', file, issues);
    this.name = 'ScenarioError';
  }
}

function crossChecks(raw: unknown): Problem[] {
  const problems: Problem[] = [];
  const r = raw as { layouts?: unknown; runners?: Record<string, unknown>; quick?: { runners?: Record<string, unknown> } } | null;
  for (const name of Object.keys(r?.quick?.runners ?? {})) {
    if (!(name in (r?.runners ?? {})) && name in runnerBlocks) {
      problems.push({ path: ['quick', 'runners', name], at: 'key', message: `runner "${name}" is not in runners: (quick can only change or leave out runners the scenario has)` });
    }
  }
  // Practices for a layout the failures runner does not measure would silently do nothing.
  const failures = asRecord(r?.runners?.failures);
  const practices = asRecord(failures?.practices);
  const measured = asStrings(failures?.layouts) ?? asStrings(r?.layouts) ?? [{ index: 0, id: 'legacy' }, { index: 1, id: 'hub' }];
  for (const layout of Object.keys(practices ?? {})) {
    if ((failuresLayoutNameSchema.options as readonly string[]).includes(layout) && !measured.some((m) => m.id === layout)) {
      problems.push({ path: ['runners', 'failures', 'practices', layout], at: 'key', message: `practices for ${layout}, which the failures runner does not measure (layouts: ${measured.map((m) => m.id).join(', ')})` });
    }
  }
  return problems;
}

/** The recognizer of scenario files: one sentence for a file that is not one (a topology, a report.json, ...). */
export function recognizeScenario(raw: unknown): string | undefined {
  const guess = guessFile(raw);
  return guess.kind === 'scenario' ? undefined : notA(guess, 'a scenario', SCENARIO_EXPECTED);
}

type Raw = Record<string, unknown>;
const asRecord = (v: unknown): Raw | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : undefined);
const asStrings = (v: unknown): { index: number; id: string }[] | undefined =>
  Array.isArray(v) ? v.flatMap((x, index) => (typeof x === 'string' ? [{ index, id: x }] : [])) : undefined;
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Ids for messages, at most 20 of them. */
function idList(ids: readonly string[]): string {
  return ids.length <= 20 ? listNames(ids) : `${listNames(ids.slice(0, 20))}, … (${ids.length} in all)`;
}

/** One runner's settings in one mode: where each key was written, and the merged values. */
interface RunnerView {
  /** The block the settings come from (for problems about a default). */
  block: PathSegment[];
  values: Raw;
  /** Where a key was written (quick's override first), or the block when it was not. */
  at(key: string): { path: PathSegment[]; written: boolean };
}

function runnerView(raw: Raw, runner: string, quick: boolean): RunnerView | undefined {
  const base = asRecord(asRecord(raw.runners)?.[runner]);
  if (!base) return undefined;
  const overrideRaw = quick ? asRecord(asRecord(raw.quick)?.runners)?.[runner] : undefined;
  if (overrideRaw === false) return undefined;
  const override = asRecord(overrideRaw);
  const block: PathSegment[] = override ? ['quick', 'runners', runner] : ['runners', runner];
  return {
    block,
    values: { ...base, ...(override ?? {}) },
    at: (key) => {
      if (override && Object.hasOwn(override, key)) return { path: ['quick', 'runners', runner, key], written: true };
      if (Object.hasOwn(base, key)) return { path: ['runners', runner, key], written: true };
      return { path: block, written: false };
    },
  };
}

/**
 * Everything the scenario says checked against its topology, on the raw data (so it runs even
 * when the scenario's schema fails, and one load lists every problem). A normal run and a --quick
 * run are both checked; a problem is reported once, at the line that causes it.
 */
function topologyProblems(raw: Raw, t: Topology): Problem[] {
  const problems: Problem[] = [];
  const reported = new Set<string>();
  const report = (p: Problem): void => {
    const key = JSON.stringify(p.path);
    if (reported.has(key)) return;
    reported.add(key);
    problems.push(p);
  };
  const ids = t.systems.map((s) => s.id);
  const known = new Set(ids);
  const ingress = t.systems.find((s) => s.role === 'ingress')?.id;
  const joinsLate = t.systems.filter((s) => s.joinsLate).map((s) => s.id);
  const inTopology = `the topology ${t.name} (systems: ${idList(ids)})`;

  // Every list of system ids as written: each id a system of the topology.
  const quickRaw = asRecord(raw.quick);
  const lists: PathSegment[][] = [
    ['systems'], ['quick', 'systems'],
    ['runners', 'onboarding', 'initial'], ['runners', 'onboarding', 'add'],
    ['quick', 'runners', 'onboarding', 'initial'], ['quick', 'runners', 'onboarding', 'add'],
  ];
  const at = (p: PathSegment[]): unknown => p.reduce<unknown>((v, k) => asRecord(v)?.[String(k)], raw);
  for (const list of lists) {
    for (const { index, id } of asStrings(at(list)) ?? []) {
      if (!known.has(id)) report({ path: [...list, index], message: `system "${id}" is not in ${inTopology}` });
    }
  }
  for (const list of [['runners', 'failures', 'components'], ['quick', 'runners', 'failures', 'components']]) {
    for (const { index, id } of asStrings(at(list)) ?? []) {
      if (!known.has(id) && !isComponentName(id)) {
        report({ path: [...list, index], message: `"${id}" is neither a system of ${inTopology} nor a component of the integration (${FAILURE_COMPONENT_NAMES.join(', ')}, broker-<n>)` });
      }
    }
  }

  for (const quick of [false, true]) {
    const run = quick ? 'a --quick run' : 'the run';
    const listPath: PathSegment[] = quick && asStrings(quickRaw?.systems) ? ['quick', 'systems'] : ['systems'];
    const listed = asStrings(at(listPath))?.map((x) => x.id);
    const runSystems = listed ? ids.filter((id) => listed.includes(id)) : ids;
    if (listed && ingress && !listed.includes(ingress)) {
      report({ path: listPath, message: `the systems of ${run} must include the ingress system ${ingress}, which takes the load (expected ${ingress} in this list)` });
    }

    const c = runnerView(raw, 'connections', quick);
    if (c) {
      const count = runSystems.length;
      const from = typeof c.values.from === 'number' ? c.values.from : 3;
      const to = typeof c.values.to === 'number' ? c.values.to : count;
      const fromAt = c.at('from');
      const toAt = c.at('to');
      const fromText = `from ${from}${fromAt.written ? '' : ' (the default)'}`;
      if (to > count) report({ path: toAt.path, message: `to ${to} is beyond the ${plural(count, 'system')} of ${run} (expected at most ${count})` });
      if (from > count) report({ path: fromAt.path, message: `${fromText} is beyond the ${plural(count, 'system')} of ${run} (expected at most ${count}, or more systems)` });
      else if (from > to) report({ path: fromAt.path, message: `${fromText} is more than to ${to} (expected from <= to)` });
      const projectTo = c.values.projectTo;
      if (typeof projectTo === 'number' && Number.isInteger(projectTo) && projectTo < Math.min(to, count)) {
        report({ path: c.at('projectTo').path, message: `projectTo ${projectTo} is less than the largest n the sweep measures (${Math.min(to, count)}): the model extrapolates from the measured points (expected at least ${Math.min(to, count)})` });
      }
    }

    const o = runnerView(raw, 'onboarding', quick);
    if (o) {
      const addAt = o.at('add');
      const initialAt = o.at('initial');
      const written = asStrings(o.values.add);
      if (!written && joinsLate.length === 0) {
        report({ path: o.block, message: `add: is not set and no system of the topology ${t.name} has joinsLate: true (expected add: [system, ...] or joinsLate: true on the systems that join later)` });
        continue;
      }
      const addIds = (written ?? joinsLate.map((id, index) => ({ index, id }))).filter((x) => known.has(x.id));
      const initial = asStrings(o.values.initial)?.map((x) => x.id).filter((id) => known.has(id));
      if (initial) {
        for (const { index, id } of addIds) {
          if (initial.includes(id)) {
            report({ path: addAt.written ? [...addAt.path, index] : addAt.path, message: `system "${id}" is already in initial: (expected only systems that are not running yet${addAt.written ? '' : `; add: defaults to the systems with joinsLate: true, ${listNames(joinsLate)}`})` });
          }
        }
      }
      const addSet = new Set(addIds.map((x) => x.id));
      if (!initial && addIds.length > 0 && !addIds.some((x) => runSystems.includes(x.id))) {
        report({ path: addAt.path, message: `none of the systems to add (${listNames(addIds.map((x) => x.id))}${addAt.written ? '' : ', those with joinsLate: true'}) is among the systems of ${run} (${idList(runSystems)}) (expected initial: set, or systems to add among them)` });
      }
      const startWith = initial ?? runSystems;
      if (ingress && !startWith.filter((id) => !addSet.has(id)).includes(ingress)) {
        report({ path: initialAt.path, message: `the initial systems of ${run} must include the ingress system ${ingress}, which takes the load (expected ${ingress} in initial: and not in add:)` });
      }
    }
  }
  return problems;
}

/** A scenario file checked completely, with the topology it was checked against. */
interface CheckedScenario {
  file: ScenarioFile;
  topology: Topology;
}

/**
 * Reads a scenario file and checks it completely: its schema, then everything it says against its
 * topology. If the topology file is invalid, that is one problem at the scenario's `topology:` line,
 * the topology's own problems listed right after it. Throws ScenarioError listing every problem.
 */
function checkScenarioFile(file: string): CheckedScenario {
  const loaded: { topology?: Topology } = {};
  const againstTopology = (input: unknown): Problem[] => {
    const raw = asRecord(input);
    const topologyPath = raw?.topology;
    if (!raw || typeof topologyPath !== 'string' || topologyPath === '') return [];
    let topology: Topology;
    try {
      topology = loadTopology(path.resolve(path.dirname(file), topologyPath));
      loaded.topology = topology;
    } catch (e) {
      if (!(e instanceof YamlFileError)) throw e;
      const total = e.issues.length + e.omitted;
      const shown = e.omitted > 0 ? `; the first ${e.issues.length} listed below` : ', listed below';
      return [{ path: ['topology'], message: `the topology file ${e.file} cannot be used (${plural(total, 'problem')} in it${shown})`, details: e.issues }];
    }
    return topologyProblems(raw, topology);
  };
  const scenarioFile = loadYamlFile(file, {
    schema: scenarioFileSchema as z.ZodType<ScenarioFile>,
    recognize: recognizeScenario,
    extraProblems: (raw) => [...crossChecks(raw), ...againstTopology(raw)],
    error: (f, issues) => new ScenarioError(f, issues),
    bytesMax: SCENARIO_FILE_BYTES_MAX,
  });
  // The kind's checks ran and passed, so the topology loaded.
  return { file: scenarioFile, topology: loaded.topology! };
}

/** Reads and checks a scenario file completely (schema and topology); throws ScenarioError listing every problem. */
export function loadScenarioFile(file: string): ScenarioFile {
  return checkScenarioFile(file).file;
}

/** Loads a scenario file and resolves it for a normal or a --quick run, with the topology it was checked against. */
export function loadScenarioWithTopology(file: string, opts: { quick?: boolean; repeat?: number } = {}): { scenario: Scenario; topology: Topology } {
  const { file: s, topology } = checkScenarioFile(file);
  const quick = opts.quick === true;
  const over = quick ? s.quick : undefined;
  const merged = <T extends object>(base: T | undefined, q: T | false | undefined): T | undefined =>
    base === undefined || q === false ? undefined : { ...base, ...(q ?? {}) };
  const systems = over?.systems ?? s.systems ?? null;
  const runSystems = systems ? topology.systems.filter((x) => systems.includes(x.id)) : topology.systems;
  const runners: RunnerSettings = {};
  const pick = over?.runners ?? {};
  const c = merged(s.runners.connections, pick.connections);
  if (c) {
    const parsed = connectionsSettingsSchema.parse(c);
    runners.connections = { ...parsed, to: parsed.to ?? runSystems.length };
  }
  const t = merged(s.runners.throughput, pick.throughput);
  if (t) runners.throughput = throughputSettingsSchema.parse(t);
  const f = merged(s.runners.failures, pick.failures);
  if (f) runners.failures = failuresSettingsSchema.parse(f);
  const o = merged(s.runners.onboarding, pick.onboarding);
  if (o) {
    const parsed = onboardingSettingsSchema.parse(o);
    runners.onboarding = { ...parsed, add: parsed.add ?? topology.systems.filter((x) => x.joinsLate).map((x) => x.id) };
  }
  const scenario: Scenario = {
    name: s.name,
    description: s.description ?? null,
    file,
    topologyFile: path.resolve(path.dirname(file), s.topology),
    layouts: [...new Set(s.layouts)],
    seed: s.seed,
    systems,
    quick,
    repeat: opts.repeat ?? (quick ? over?.repeat ?? 1 : s.repeat),
    runners,
    prices: s.prices ?? null,
  };
  return { scenario, topology };
}

/** Loads a scenario file and resolves it for a normal or a --quick run; throws ScenarioError listing every problem. */
export function loadScenario(file: string, opts: { quick?: boolean; repeat?: number } = {}): Scenario {
  return loadScenarioWithTopology(file, opts).scenario;
}
