/** Loading a topology file: YAML syntax, then schema and cross-reference checks, all reported at once. */
import { TopologyError } from './errors.ts';
import type { Topology } from './model.ts';
import { topologySchema } from './schema.ts';
import { checkSemantics } from './semantics.ts';
import { loadYamlFile, parseYamlFile, type YamlFileKind } from './yaml-file.ts';

/** Bigger files are refused before parsing; a landscape description is a few kilobytes. */
export const TOPOLOGY_FILE_BYTES_MAX = 1024 * 1024;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const TOPOLOGY_FILE: YamlFileKind<Topology> = {
  schema: topologySchema,
  extraProblems: checkSemantics,
  error: (file, issues) => new TopologyError(file, issues),
  bytesMax: TOPOLOGY_FILE_BYTES_MAX,
};

/** Parses and validates topology text; `fileName` is only used in messages. Throws TopologyError. */
export function parseTopology(text: string, fileName: string): Topology {
  return deepFreeze(parseYamlFile(text, fileName, TOPOLOGY_FILE));
}

/** Reads and validates a topology file (synchronously). Throws TopologyError listing every problem. */
export function loadTopology(file: string): Topology {
  return deepFreeze(loadYamlFile(file, TOPOLOGY_FILE));
}
