/** The declarative topology: one YAML file describes a landscape; both layouts derive from it. */
export * from './model.ts';
export { TopologyError, YamlFileError, formatIssue, type TopologyIssue, type Problem } from './errors.ts';
export { loadYamlFile, parseYamlFile, displayName, type YamlFileKind } from './yaml-file.ts';
export { loadTopology, parseTopology, TOPOLOGY_FILE_BYTES_MAX, type TopologyLoadOptions } from './load.ts';
export { restrictTo, restrictToFirst, serializeTopology, withJsonFormats } from './restrict.ts';
export { normalizeTopology, topologyToFile } from './normalize.ts';
export * from './layouts.ts';
