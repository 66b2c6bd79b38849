/**
 * Telling what a YAML file holds before checking it against a schema, so a file of the wrong kind
 * (a scenario where a topology is expected, a run's report.json, a package.json, a binary or empty
 * file) gets one plain sentence saying what it looks like and what was expected, instead of thirty
 * schema complaints. The sentences name keys, never the file's content. A file that merely has
 * mistakes (a misspelt section, a missing one) still looks like its kind and goes to the schema,
 * which says exactly what is wrong.
 */
import { distance } from './issues.ts';

/** What a topology file holds, for "expected ..." in messages. */
export const TOPOLOGY_EXPECTED = 'a file with dataKinds: and systems:';
/** What a scenario file holds, for "expected ..." in messages. */
export const SCENARIO_EXPECTED = 'a file with topology: and runners:';

export interface FileGuess {
  readonly kind: 'topology' | 'scenario' | 'other';
  /** What the file looks like, as the start of a sentence: "this looks like a scenario file (it has runners:)". */
  readonly looksLike: string;
}

type Mapping = Record<string, unknown>;

/** Keys only a topology has; any of them (or a near miss, `datakinds`) makes a file a topology attempt. */
const TOPOLOGY_KEYS = ['dataKinds', 'flows', 'constants'];
/** Keys only a scenario has. */
const SCENARIO_KEYS = ['runners', 'topology', 'layouts', 'quick', 'seed'];

/** Files people are likely to pass by mistake, told apart by keys they always have. */
const OTHER_FILES: readonly { what: string; all?: readonly string[]; any: readonly string[] }[] = [
  { what: 'a run\'s report.json', all: ['schemaVersion'], any: ['runId', 'headline'] },
  { what: 'an npm package.json', any: ['dependencies', 'devDependencies', 'scripts', 'peerDependencies'] },
  { what: 'a TypeScript tsconfig.json', any: ['compilerOptions'] },
  { what: 'a Docker Compose file', any: ['services'] },
  { what: 'a Kubernetes manifest', all: ['apiVersion', 'kind'], any: ['metadata', 'spec'] },
  { what: 'a GitHub Actions workflow', all: ['jobs'], any: ['on', 'name'] },
];

/** A key of the mapping equal to `wanted` or, for a long key, a near miss of it (case, one or two typos). */
function keyLike(m: Mapping, wanted: string): string | undefined {
  if (wanted in m) return wanted;
  if (wanted.length < 6) return undefined;
  return Object.keys(m).find((k) => k.length <= 64 && distance(k, wanted) <= 2);
}

const has = (key: string): string => `it has ${key}:`;

/** What a file's parsed data (or its bytes when they are not text) looks like. */
export function guessFile(raw: unknown): FileGuess {
  if (raw instanceof Uint8Array) return { kind: 'other', looksLike: 'this looks like a binary file (it is not UTF-8 text)' };
  if (raw === null || raw === undefined) return { kind: 'other', looksLike: 'the file is empty (or holds only comments)' };
  if (Array.isArray(raw)) return { kind: 'other', looksLike: 'the file holds a list where a mapping of sections belongs' };
  if (typeof raw !== 'object') return { kind: 'other', looksLike: 'the file holds a single value where a mapping of sections belongs' };
  const m = raw as Mapping;
  const report = OTHER_FILES[0];
  if (report.all!.every((k) => k in m) && report.any.some((k) => k in m)) return { kind: 'other', looksLike: `this looks like ${report.what} (${has('schemaVersion')})` };
  for (const key of TOPOLOGY_KEYS) {
    const found = keyLike(m, key);
    if (found !== undefined) return { kind: 'topology', looksLike: `this looks like a topology (${has(found)})` };
  }
  for (const key of SCENARIO_KEYS) {
    const found = keyLike(m, key);
    if (found !== undefined) return { kind: 'scenario', looksLike: `this looks like a scenario file (${has(found)})` };
  }
  // Both kinds have systems:, a topology as a list of mappings, a scenario as a list of ids.
  const systemsKey = keyLike(m, 'systems');
  if (systemsKey !== undefined) {
    const systems = m[systemsKey];
    const ids = Array.isArray(systems) && systems.length > 0 && systems.every((s) => typeof s === 'string');
    return ids
      ? { kind: 'scenario', looksLike: 'this looks like a scenario file (it has systems: as a list of ids)' }
      : { kind: 'topology', looksLike: `this looks like a topology (${has(systemsKey)})` };
  }
  for (const other of OTHER_FILES.slice(1)) {
    const key = other.any.find((k) => k in m);
    if (key !== undefined && (other.all ?? []).every((k) => k in m)) return { kind: 'other', looksLike: `this looks like ${other.what} (${has(key)})` };
  }
  return { kind: 'other', looksLike: 'the file has none of the sections of a topology or a scenario' };
}

/** The sentence for a file that is not a `what`: what it looks like, and what was expected. */
export function notA(guess: FileGuess, what: string, expected: string): string {
  return `${guess.looksLike}, not ${what}: expected ${expected}`;
}

/**
 * The recognizer of topology files (YamlFileKind.recognize): undefined for anything that looks
 * like a topology, even a broken one; otherwise one sentence such as "this looks like a scenario
 * file (it has runners:), not a topology: expected a file with dataKinds: and systems:".
 */
export function recognizeTopology(raw: unknown): string | undefined {
  const guess = guessFile(raw);
  return guess.kind === 'topology' ? undefined : notA(guess, 'a topology', TOPOLOGY_EXPECTED);
}
