/**
 * Loading a topology file: YAML syntax, then the schema, the cross-reference checks and the
 * compilation of every expression (systems/model/), all reported at once as file:line:col.
 */
import { LandscapeModel } from '../model/landscape-model.ts';
import { TopologyError, type Problem } from './errors.ts';
import type { Topology } from './model.ts';
import { normalizeTopology } from './normalize.ts';
import { topologyFileSchema, type TopologyFile } from './schema.ts';
import { checkSemantics } from './semantics.ts';
import { recognizeTopology } from './recognize.ts';
import { loadYamlFile, parseYamlFile, type YamlFileKind } from './yaml-file.ts';

/** Bigger files are refused before parsing; a landscape description is some tens of kilobytes. */
export const TOPOLOGY_FILE_BYTES_MAX = 1024 * 1024;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export interface TopologyLoadOptions {
  /** A sub-landscape derived by restrictTo: loose ends left by dropped systems are not problems. */
  derived?: boolean;
}

/** The expressions' problems, when the file has the right shape (else the schema speaks first). */
function compileProblems(raw: unknown): Problem[] {
  const parsed = topologyFileSchema.safeParse(raw);
  if (!parsed.success) return [];
  return new LandscapeModel(normalizeTopology(parsed.data)).problems;
}

function topologyFileKind(opts: TopologyLoadOptions): YamlFileKind<TopologyFile> {
  return {
    schema: topologyFileSchema,
    recognize: recognizeTopology,
    extraProblems: (raw) => [...checkSemantics(raw, opts), ...compileProblems(raw)],
    error: (file, issues) => new TopologyError(file, issues),
    bytesMax: TOPOLOGY_FILE_BYTES_MAX,
  };
}

/** Parses and validates topology text; `fileName` is only used in messages. Throws TopologyError. */
export function parseTopology(text: string, fileName: string, opts: TopologyLoadOptions = {}): Topology {
  return deepFreeze(normalizeTopology(parseYamlFile(text, fileName, topologyFileKind(opts))));
}

/** Reads and validates a topology file (synchronously). Throws TopologyError listing every problem. */
export function loadTopology(file: string, opts: TopologyLoadOptions = {}): Topology {
  return deepFreeze(normalizeTopology(loadYamlFile(file, topologyFileKind(opts))));
}
