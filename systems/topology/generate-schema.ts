/**
 * The JSON Schema (draft 2020-12) of a topology file, generated from the zod schema in schema.ts,
 * and the script that writes it to docs/topology.schema.json:
 *
 *   npm run generate:topology-schema
 *
 * The file is committed so an editor (a YAML language server) or a CI job can check a landscape
 * without our code; a test fails when it is stale. It checks shapes, types, enum values, id formats
 * and ranges only: cross-references and expressions are checked by `untangle validate`.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { topologyFileSchema } from './schema.ts';

/** Where the committed schema lives. */
export const TOPOLOGY_SCHEMA_FILE: string = fileURLToPath(new URL('../../docs/topology.schema.json', import.meta.url));

/** zod names the definitions of recursive schemas __schema0, ...; the one recursive part of the format is a constant's value. */
function nameDefinitions(schema: Record<string, unknown>): Record<string, unknown> {
  const defs = schema.$defs as Record<string, unknown> | undefined;
  const generated = Object.keys(defs ?? {}).filter((k) => /^__schema\d+$/.test(k));
  if (generated.length !== 1) return schema;
  const text = JSON.stringify(schema).replaceAll(`"#/$defs/${generated[0]}"`, '"#/$defs/constantValue"');
  const renamed = JSON.parse(text) as Record<string, unknown>;
  const { [generated[0]]: def, ...others } = renamed.$defs as Record<string, unknown>;
  return { ...renamed, $defs: { ...others, constantValue: def } };
}

/** The schema as an object: draft 2020-12, with an $id, a title and a description. */
export function buildTopologyJsonSchema(): Record<string, unknown> {
  const generated = nameDefinitions(z.toJSONSchema(topologyFileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>);
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: 'urn:untangle:topology',
    title: 'untangle topology file (a landscape)',
    description: 'A landscape of systems for untangle: data kinds, systems with their rules, scheduled sources and '
      + 'ingress, and the flows between them with their legacy transport. This schema checks shapes, types, '
      + 'enum values, id formats and ranges; cross-references and expressions are checked by `untangle validate`. '
      + 'See docs/topology.md. Generated from systems/topology/schema.ts; do not edit by hand.',
    ...rest,
  };
}

/** The exact text of docs/topology.schema.json: two-space indented, with a final newline. */
export function topologyJsonSchemaText(): string {
  return `${JSON.stringify(buildTopologyJsonSchema(), null, 2)}\n`;
}

/** Writes the file atomically (run as a script). */
export function writeTopologyJsonSchema(file: string = TOPOLOGY_SCHEMA_FILE): number {
  const text = topologyJsonSchemaText();
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
  return text.length;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const bytes = writeTopologyJsonSchema();
  process.stdout.write(`wrote ${TOPOLOGY_SCHEMA_FILE} (${bytes} bytes)\n`);
}
