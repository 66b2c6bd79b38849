/** The declarative topology: one YAML file describes a landscape; both layouts derive from it. */
export * from './model.ts';
export { TopologyError, YamlFileError, formatIssue, type TopologyIssue, type Problem } from './errors.ts';
export { loadYamlFile, parseYamlFile, displayName, type YamlFileKind } from './yaml-file.ts';
export { loadTopology, parseTopology, TOPOLOGY_FILE_BYTES_MAX } from './load.ts';
export { restrictTo, restrictToFirst } from './restrict.ts';
export * from './layouts.ts';
