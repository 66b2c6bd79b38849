/**
 * docs/topology.schema.json: committed text equals a fresh generation from systems/topology/schema.ts,
 * and ajv (strict, draft 2020-12), as anyone without our code would use it, accepts the landscapes
 * of the repository and rejects unknown keys, wrong types and values outside an enum.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TOPOLOGY_SCHEMA_FILE, topologyJsonSchemaText } from '../../../systems/topology/generate-schema.ts';

const repoFile = (rel: string): string => fileURLToPath(new URL(`../../../${rel}`, import.meta.url));

const LANDSCAPES = [
  'scenarios/topologies/shop.yaml',
  'scenarios/topologies/insurer.yaml',
  'test/fixtures/topologies/orbital.yaml',
];

let compiled: ValidateFunction | null = null;

/** The committed schema compiled with ajv, strict, as anyone without our code would (compiled once). */
function validator(): ValidateFunction {
  if (compiled) return compiled;
  const schema = JSON.parse(readFileSync(TOPOLOGY_SCHEMA_FILE, 'utf8')) as object;
  compiled = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
  return compiled;
}

const landscape = (rel: string): Record<string, unknown> => parse(readFileSync(repoFile(rel), 'utf8')) as Record<string, unknown>;

describe('docs/topology.schema.json', () => {
  it('is exactly what the generator produces from systems/topology/schema.ts (run npm run generate:topology-schema when this fails)', () => {
    expect(readFileSync(TOPOLOGY_SCHEMA_FILE, 'utf8')).toBe(topologyJsonSchemaText());
  });

  it('is a draft 2020-12 schema with an id, a title and the top-level keys of the format', () => {
    const schema = JSON.parse(readFileSync(TOPOLOGY_SCHEMA_FILE, 'utf8')) as { $schema: string; $id: string; title: string; required: string[]; properties: object };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe('urn:untangle:topology');
    expect(schema.title).toMatch(/topology/);
    expect(schema.required).toEqual(expect.arrayContaining(['name', 'dataKinds', 'systems']));
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['constants', 'flows', 'defaults', 'lake']));
  });

  it.each(LANDSCAPES)('accepts %s', (rel) => {
    const validate = validator();
    const ok = validate(landscape(rel));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('rejects an unknown key, at the top and deep inside a system', () => {
    const validate = validator();
    const top = { ...landscape('scenarios/topologies/shop.yaml'), colour: 'blue' };
    expect(validate(top)).toBe(false);
    expect(validate.errors).toContainEqual(expect.objectContaining({ keyword: 'additionalProperties', instancePath: '', params: { additionalProperty: 'colour' } }));

    const deep = landscape('test/fixtures/topologies/orbital.yaml') as { systems: Record<string, unknown>[] };
    deep.systems[1] = { ...deep.systems[1], replicas: 2 };
    expect(validate(deep)).toBe(false);
    expect(validate.errors).toContainEqual(expect.objectContaining({ keyword: 'additionalProperties', instancePath: '/systems/1', params: { additionalProperty: 'replicas' } }));
  });

  it('rejects a wrong type and a value out of its enum', () => {
    const validate = validator();
    const t = landscape('test/fixtures/topologies/orbital.yaml') as { systems: Record<string, unknown>[]; flows: { legacy: Record<string, unknown> }[] };
    t.systems[1].instances = 'two';
    t.flows[0].legacy.transport = 'carrier-pigeon';
    expect(validate(t)).toBe(false);
    const paths = (validate.errors ?? []).map((e) => e.instancePath);
    expect(paths).toContain('/systems/1/instances');
    expect(paths).toContain('/flows/0/legacy/transport');
  });
});
