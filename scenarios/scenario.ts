/**
 * A scenario file: which topology, which layouts, which runners with which settings, and the
 * seed. `quick:` holds overrides for --quick (fewer systems, shorter steps, or a runner left out).
 * Files are checked like topology files: every problem at once, as file:line:col.
 */
import path from 'node:path';
import { z } from 'zod';
import { loadYamlFile, YamlFileError, type Problem, type TopologyIssue } from '../systems/topology/index.ts';
import type { FailuresLayoutName } from '../report/model.ts';
import {
  connectionsSettingsSchema,
  failuresSettingsSchema,
  layoutsSchema,
  onboardingSettingsSchema,
  throughputSettingsSchema,
  type ConnectionsSettings,
  type FailuresSettings,
  type OnboardingSettings,
  type ThroughputSettings,
} from './settings.ts';

export const SCENARIO_FILE_BYTES_MAX = 256 * 1024;
export const RUNNER_ORDER = ['connections', 'throughput', 'failures', 'onboarding'] as const;

const systemIds = z.array(z.string().regex(/^[A-Z][A-Z0-9]*$/, 'a system id such as A')).min(2);

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
  /** Run only these systems of the topology (default all). */
  systems: systemIds.optional(),
  runners: runnersSchema.refine((r) => Object.keys(r).length > 0, 'expected at least one runner'),
  quick: z.strictObject({
    systems: systemIds.optional(),
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
  runners: RunnerSettings;
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
  const r = raw as { runners?: Record<string, unknown>; quick?: { runners?: Record<string, unknown> } } | null;
  for (const name of Object.keys(r?.quick?.runners ?? {})) {
    if (!(name in (r?.runners ?? {})) && name in runnerBlocks) {
      problems.push({ path: ['quick', 'runners', name], at: 'key', message: `runner "${name}" is not in runners: (quick can only change or leave out runners the scenario has)` });
    }
  }
  return problems;
}

export function loadScenarioFile(file: string): ScenarioFile {
  return loadYamlFile(file, {
    schema: scenarioFileSchema as z.ZodType<ScenarioFile>,
    extraProblems: crossChecks,
    error: (f, issues) => new ScenarioError(f, issues),
    bytesMax: SCENARIO_FILE_BYTES_MAX,
  });
}

/** Loads a scenario file and resolves it for a normal or a --quick run. */
export function loadScenario(file: string, opts: { quick?: boolean } = {}): Scenario {
  const s = loadScenarioFile(file);
  const quick = opts.quick === true;
  const over = quick ? s.quick : undefined;
  const merged = <T extends object>(base: T | undefined, q: T | false | undefined): T | undefined =>
    base === undefined || q === false ? undefined : { ...base, ...(q ?? {}) };
  const runners: RunnerSettings = {};
  const pick = over?.runners ?? {};
  const c = merged(s.runners.connections, pick.connections);
  if (c) runners.connections = connectionsSettingsSchema.parse(c);
  const t = merged(s.runners.throughput, pick.throughput);
  if (t) runners.throughput = throughputSettingsSchema.parse(t);
  const f = merged(s.runners.failures, pick.failures);
  if (f) runners.failures = failuresSettingsSchema.parse(f);
  const o = merged(s.runners.onboarding, pick.onboarding);
  if (o) runners.onboarding = onboardingSettingsSchema.parse(o);
  return {
    name: s.name,
    description: s.description ?? null,
    file,
    topologyFile: path.resolve(path.dirname(file), s.topology),
    layouts: [...new Set(s.layouts)],
    seed: s.seed,
    systems: over?.systems ?? s.systems ?? null,
    quick,
    runners,
  };
}
