/**
 * Validation of topology files: every problem at once as file:line:col and a plain sentence, and
 * the refusal of hostile or mistaken input (alias bombs, oversized, binary and non-topology files).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTopology, parseTopology, TOPOLOGY_FILE_BYTES_MAX, type TopologyError } from '../../../systems/topology/index.ts';
import { PROBLEMS_SHOWN_MAX } from '../../../systems/topology/errors.ts';
import { recognizeTopology } from '../../../systems/topology/recognize.ts';
import { MINIMAL, fixture, issuesOf, topologyError } from './helpers.ts';

const FILE = 'test/systems/topology/fixtures';

describe('invalid fixtures', () => {
  it('reports every problem of a file at once, each with file:line:col and what was expected', () => {
    const error = topologyError(() => loadTopology(fixture('many-problems.yaml')));
    expect(error.message.split('\n')).toEqual([
      `invalid topology ${FILE}/many-problems.yaml (4 problems):`,
      `${FILE}/many-problems.yaml:15:11: systems[1].role: expected one of ingress, service, sink, got "gateway"`,
      `${FILE}/many-problems.yaml:27:13: flows[0].legacy: missing scheduleMs, required for transport batch (how often the receiver picks up dropped files, in ms)`,
      `${FILE}/many-problems.yaml:30:9: flows[1].to: system "Z" does not exist (systems: A, B)`,
      `${FILE}/many-problems.yaml:32:46: flows[1].legacy.schedulMs: unknown key "schedulMs" (expected one of: transport, format, scheduleMs, retries, timeoutMs, prefetch); did you mean "scheduleMs"?`,
    ]);
    expect(error.issues.map((i) => [i.line, i.col])).toEqual([[15, 11], [27, 13], [30, 9], [32, 46]]);
  });

  it('rejects a cycle of rest-sync calls, naming the route and the flows', () => {
    const error = topologyError(() => loadTopology(fixture('rest-sync-cycle.yaml')));
    expect(error.issues).toHaveLength(1);
    // Reported once, at the first of its flows (a-b), naming every call of the loop in order.
    expect(error.message).toContain(
      `${FILE}/rest-sync-cycle.yaml:12:66: flows[0].legacy.transport: rest-sync calls form a cycle A -> B -> C -> A (flows a-b, b-c, c-a)`,
    );
  });

  it('reports YAML syntax errors with their line', () => {
    const error = topologyError(() => loadTopology(fixture('syntax-error.yaml')));
    expect(error.issues).toHaveLength(1);
    expect(error.message).toMatch(new RegExp(`${FILE}/syntax-error\\.yaml:8:5: YAML syntax error: Flow sequence .* end with a \\]`));
  });
});

const withFlow = (flow: string) => `${MINIMAL}  - ${flow}\n`;
const one = (text: string) => {
  const issues = issuesOf(text);
  expect(issues.map((i) => `${i.line}:${i.col}: ${i.path}: ${i.message}`)).toHaveLength(1);
  return issues[0];
};

describe('each kind of invalid input', () => {
  it('unknown key at the top level and in a system, at the key', () => {
    const text = MINIMAL.replace('name: mini', 'name: mini\nowner: ops').replace('name: payments,', 'name: payments, colour: red,');
    const issues = issuesOf(text);
    expect(issues.map((i) => `${i.line}:${i.col} ${i.path}`)).toEqual(['2:1 owner', '8:30 systems[1].colour']);
    expect(issues[0].message).toMatch(/^unknown key "owner" \(expected one of: name, description, constants, dataKinds/);
    expect(issues[1].message).toBe('unknown key "colour" (expected one of: id, name, description, role, instances, joinsLate, costPerMessageUs, ingress, sources, on, lakeExport)');
  });

  it('bad enum value lists the allowed values', () => {
    const issue = one(MINIMAL.replace('{ transport: amqp, format: json }', '{ transport: kafka, format: json }'));
    expect(issue).toMatchObject({ line: 19, col: 26, path: 'flows[1].legacy.transport', message: 'expected one of rest-sync, rest-poll, amqp, batch, got "kafka"' });
  });

  it('scheduleMs missing for rest-poll, present for amqp', () => {
    const issues = issuesOf(MINIMAL
      .replace('{ transport: rest-sync, format: json }', '{ transport: rest-poll, format: json }')
      .replace('{ transport: amqp, format: json }', '{ transport: amqp, format: json, scheduleMs: 100 }'));
    expect(issues.map((i) => `${i.line}:${i.col}: ${i.path}: ${i.message}`)).toEqual([
      '14:13: flows[0].legacy: missing scheduleMs, required for transport rest-poll (how often the receiver polls the sender, in ms)',
      '19:46: flows[1].legacy.scheduleMs: scheduleMs is not allowed for transport amqp (expected only with batch or rest-poll)',
    ]);
  });

  it('retries on a batch flow', () => {
    // C gets a rule for order, so that the new flow is otherwise valid.
    const issue = one(withFlow('{ id: a-c, from: A, to: C, data: order, legacy: { transport: batch, format: csv, scheduleMs: 10, retries: 1 } }')
      .replace('on: { payment: {} }', 'on: { payment: {}, order: {} }'));
    expect(issue).toMatchObject({ line: 20, col: 102, path: 'flows[2].legacy.retries' });
    expect(issue.message).toBe('retries is not allowed for transport batch (expected only with rest-sync or rest-poll)');
  });

  it('flow from a missing system, with a missing data kind', () => {
    const issues = issuesOf(withFlow('{ id: y-c, from: Y, to: C, data: refund, legacy: { transport: amqp, format: json } }'));
    expect(issues.map((i) => `${i.col}: ${i.path}: ${i.message}`)).toEqual([
      '22: flows[2].from: system "Y" does not exist (systems: A, B, C)',
      '38: flows[2].data: data kind "refund" does not exist (data kinds: order, payment)',
    ]);
  });

  it('a flow whose sender does not produce the kind, even one it receives', () => {
    // B receives order (flow a-b) but its rule emits only payment: receiving a kind does not pass it on.
    const passedOn = one(withFlow('{ id: b-c-order, from: B, to: C, data: order, legacy: { transport: amqp, format: json } }')
      .replace('on: { payment: {} }', 'on: { payment: {}, order: {} }'));
    expect(passedOn).toMatchObject({ line: 20, col: 44, path: 'flows[2].data' });
    expect(passedOn.message).toBe('system "B" does not produce "order" (it produces: payment); a system passes a kind on only through a rule that emits it');
    // C emits nothing at all.
    const none = one(withFlow('{ id: c-b, from: C, to: B, data: order, legacy: { transport: amqp, format: json } }'));
    expect(none).toMatchObject({ line: 20, col: 38, path: 'flows[2].data' });
    expect(none.message).toBe('system "C" does not produce "order" (it produces: (none)); a system passes a kind on only through a rule that emits it');
  });

  it('duplicate ids', () => {
    const issue = one(MINIMAL.replace('id: b-c', 'id: a-b'));
    expect(issue).toMatchObject({ line: 15, col: 9, path: 'flows[1].id', message: 'duplicate id "a-b" (already used by flows[0]; ids must be unique)' });
  });

  it('a system that receives nothing and produces nothing', () => {
    const crm = '  - { id: C, name: crm, costPerMessageUs: 100, on: { payment: {} } }\n';
    const issue = one(MINIMAL.replace(crm, `${crm}  - { id: D, name: idle, costPerMessageUs: 0 }\n`));
    expect(issue).toMatchObject({ line: 9, col: 11, path: 'systems[3].id' });
    expect(issue.message).toMatch(/^system "D" produces nothing and receives nothing/);
  });

  it('missing required keys point at the mapping that should hold them', () => {
    const issues = issuesOf(MINIMAL
      .replace('{ id: A, name: storefront, ', '{ id: A, ')
      .replace('{ id: payment, key: orderId, fields: { orderId: string, amount: int } }', '{ id: payment, key: orderId }'));
    expect(issues.map((i) => `${i.line}:${i.col}: ${i.path}: ${i.message}`)).toEqual([
      '4:5: dataKinds[1].fields: missing (expected the fields of a record: name: type, in order)',
      '6:5: systems[0].name: missing (expected a non-empty string)',
    ]);
  });

  it('a rest-sync call back to the caller', () => {
    // A gets a rule for payment, so that the call back is otherwise valid.
    const issue = one(withFlow('{ id: b-a, from: B, to: A, data: payment, legacy: { transport: rest-sync, format: json } }')
      .replace('"${n * 10}" } } ] }', '"${n * 10}" } } ], on: { payment: {} } }'));
    expect(issue).toMatchObject({ line: 14, col: 26, path: 'flows[0].legacy.transport' });
    expect(issue.message).toMatch(/^rest-sync calls form a cycle A -> B -> A \(flows a-b, b-a\)/);
  });

  it('a document that is not a mapping, and an empty one', () => {
    expect(one('- A\n- B\n').message).toBe('the file holds a list where a mapping of sections belongs, not a topology: expected a file with dataKinds: and systems:');
    expect(one('').message).toBe('the file is empty (or holds only comments), not a topology: expected a file with dataKinds: and systems:');
  });

  it('duplicate keys are a YAML error', () => {
    const issue = one(MINIMAL.replace('name: mini', 'name: mini\nname: again'));
    expect(issue).toMatchObject({ line: 2, col: 1 });
    expect(issue.message).toMatch(/^YAML syntax error: Map keys must be unique/);
  });

  it('a problem reached through a YAML alias points at the alias', () => {
    // b-c takes its legacy block from a-b through the alias; C answers B with a refund, synchronously too.
    const text = MINIMAL
      .replace('dataKinds:\n', 'dataKinds:\n  - { id: refund, key: orderId, fields: { orderId: string, amount: int } }\n')
      .replace('on: { order: { emit:', 'on: { refund: {}, order: { emit:')
      .replace('on: { payment: {} }', 'on: { payment: { emit: [ { kind: refund } ] } }')
      .replace('{ transport: rest-sync, format: json }', '&sync { transport: rest-sync, format: json }')
      .replace('{ transport: amqp, format: json }', '*sync')
      .concat('  - { id: c-b, from: C, to: B, data: refund, legacy: { transport: rest-sync, format: json } }\n');
    const issue = one(text);
    expect(issue).toMatchObject({ line: 20, col: 13, path: 'flows[1].legacy.transport' });
    expect(issue.message).toMatch(/^rest-sync calls form a cycle B -> C -> B \(flows b-c, c-b\)/);
  });
});

// ---------------------------------------------------------------------------------------------
// Hostile and mistaken input: each refused with a plain sentence at file:line:col, never by
// hanging, never with the schema or YAML library's own wording, never echoing the file's content.

const SMALL = readFileSync(fixture('small.yaml'), 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'untangle-topology-'));
/** file:line:col: then a sentence of ours: no zod/yaml internals, no JSON dumps, no source excerpt. */
const PROBLEM_LINE = /^[^\s:][^:]*:\d+:\d+: \S/;
const LIBRARY_TEXT = /Invalid input|Invalid key in record|Too (small|big):|Excessive alias count|resource exhaustion attack|"code":|\^\^|\n {2,}\^/;

function expectPlainProblems(error: TopologyError): void {
  const lines = error.message.split('\n').slice(1);
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    if (line.startsWith('… and ')) continue;
    expect(line).toMatch(PROBLEM_LINE);
    expect(line).not.toMatch(LIBRARY_TEXT);
  }
}

describe('semantic checks of the declarative format', () => {
  // These two checks live in semantics.ts.
  it('a flow into a system with no rule for its kind, at the flow\'s to:', () => {
    const error = topologyError(() => loadTopology(fixture('flow-without-rule.yaml')));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ line: 21, col: 9, path: 'flows[0].to' });
    expect(error.issues[0].message).toMatch(/^system "stock" has no rule for "order" records/);
    expect(error.message).toContain(`${FILE}/flow-without-rule.yaml:21:9: flows[0].to: system "stock" has no rule for "order"`);
    expectPlainProblems(error);
  });

  it('an emitted kind that is not declared, at the emit\'s kind:', () => {
    const error = topologyError(() => loadTopology(fixture('undeclared-emit.yaml')));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ line: 22, col: 19, path: 'systems[1].on.order.emit[0].kind' });
    expect(error.issues[0].message).toMatch(/data kind "refund" is not declared \(data kinds: order\)/);
    expectPlainProblems(error);
  });
});

describe('hostile and oversized input', () => {
  it('refuses a YAML alias bomb at its line, at once and without expanding it', () => {
    const error = topologyError(() => loadTopology(fixture('alias-bomb.yaml')));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ line: 12, col: 13 });
    expect(error.issues[0].message).toMatch(/^refused: the YAML aliases \(\*name\) here expand to too many copies .*alias bomb/);
    expect(error.issues[0].message).toContain('at most 100 times');
    expectPlainProblems(error);
  });

  it('refuses a file over the size limit before parsing it', () => {
    // An alias bomb and a syntax error inside: neither is looked at, the size is reported alone.
    const big = join(scratch, 'big.yaml');
    const bomb = readFileSync(fixture('alias-bomb.yaml'), 'utf8');
    writeFileSync(big, `${bomb}flows: [\n# ${'x'.repeat(TOPOLOGY_FILE_BYTES_MAX)}\n`);
    const error = topologyError(() => loadTopology(big));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ line: 1, col: 1 });
    expect(error.issues[0].message).toMatch(new RegExp(`^file is \\d+ bytes \\(expected at most ${TOPOLOGY_FILE_BYTES_MAX}\\)$`));
  });

  it('lists the first 50 problems in file order, then how many more there are', () => {
    const error = topologyError(() => loadTopology(fixture('over-fifty-problems.yaml')));
    expect(error.issues).toHaveLength(PROBLEMS_SHOWN_MAX);
    expect(error.omitted).toBe(10);
    const lines = error.message.split('\n');
    expect(lines[0]).toBe(`invalid topology ${FILE}/over-fifty-problems.yaml (60 problems):`);
    expect(lines).toHaveLength(1 + 50 + 1);
    expect(lines[1]).toBe(`${FILE}/over-fifty-problems.yaml:21:3: defaults.setting00: unknown key "setting00" (expected one of: restTimeoutMs, restRetries, amqpPrefetch)`);
    expect(lines[50]).toMatch(/over-fifty-problems\.yaml:70:3: defaults\.setting49: unknown key/);
    expect(lines[51]).toBe('… and 10 more problems');
    expect(error.issues.map((i) => i.line)).toEqual(Array.from({ length: 50 }, (_, i) => 21 + i));
    expectPlainProblems(error);
  });

  it('reports a YAML syntax error by its first sentence and position, without the source excerpt', () => {
    const text = SMALL.replace('name: small', 'name: small\ndescription: [top-secret-text, "unclosed');
    const error = topologyError(() => parseTopology(text, 'inline.yaml'));
    expect(error.message).not.toContain('top-secret-text');
    expect(error.message).not.toMatch(/\n\s*\^/);
    expect(error.issues[0].message).toMatch(/^YAML syntax error: [^\n]+ \([A-Z_]+\)$/);
    expectPlainProblems(error);
  });

  it('says what was expected where the schema library has no words of ours (unions, record keys)', () => {
    const text = SMALL
      .replace('fields: { orderId: string, totalCents: int }', 'fields: { orderId: string, "total cents": int, totalCents: { list: 3 } }\n    payloadBytes: { mean: 3 }')
      .replace('name: small', 'name: small\nconstants: { gone: null }');
    const error = topologyError(() => parseTopology(text, 'inline.yaml'));
    const byPath = Object.fromEntries(error.issues.map((i) => [i.path, i.message]));
    expect(byPath['constants.gone']).toMatch(/^expected a string, or a number, .* got null/);
    expect(byPath['dataKinds[0].fields["total cents"]']).toMatch(/^key "total cents" is not allowed here \(expected a field name/);
    expect(byPath['dataKinds[0].fields.totalCents']).toMatch(/^expected a field type: .*, got a mapping$/);
    expect(byPath['dataKinds[0].payloadBytes']).toMatch(/^expected a size in bytes, .*, got a mapping$/);
    expectPlainProblems(error);
  });

  it('reports a control character and an alias without an anchor at their place', () => {
    expect(issuesOf('name: x\nsystems: \u0007\n')[0]).toMatchObject({ line: 2, col: 10, message: expect.stringMatching(/control character \(U\+0007\)/) });
    expect(issuesOf('name: x\nsystems: *nothing\n')[0]).toMatchObject({ line: 2, col: 10, message: expect.stringMatching(/^an alias \(\*name\) refers to an anchor/) });
  });
});

describe('a file that is not a topology', () => {
  // The recognizer is recognize.ts; load.ts passes it as YamlFileKind.recognize.
  const notTopology = (file: string): string => {
    const error = topologyError(() => loadTopology(file));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ line: 1, col: 1, path: '' });
    expectPlainProblems(error);
    return error.issues[0].message;
  };
  const repoFile = (name: string): string => fileURLToPath(new URL(`../../../${name}`, import.meta.url));

  it('a scenario file', () => {
    const message = notTopology(repoFile('scenarios/compare.yaml'));
    expect(message).toBe('this looks like a scenario file (it has runners:), not a topology: expected a file with dataKinds: and systems:');
  });

  it('a run\'s report.json, a package.json, a binary file and an empty file, never echoing their content', () => {
    const report = notTopology(repoFile('results/reference/report.json'));
    expect(report).toMatch(/^this looks like a run's report\.json .*, not a topology: expected a file with dataKinds: and systems:$/);
    const pkg = notTopology(repoFile('package.json'));
    expect(pkg).toMatch(/^this looks like an npm package\.json/);
    for (const content of ['kafkajs', 'vitest', 'untangle', 'Apache']) expect(pkg).not.toContain(content);
    const binary = topologyError(() => loadTopology(fixture('not-text.png')));
    expect(binary.issues).toHaveLength(1);
    expect(binary.issues[0].message).toMatch(/^this looks like a binary file .*, not a topology: expected/);
    expect(binary.message).not.toContain('IHDR');
    expect(notTopology(fixture('empty.yaml'))).toMatch(/^the file is empty .*, not a topology: expected a file with dataKinds: and systems:$/);
  });

  it('recognizeTopology lets anything that looks like a topology through to the schema, even a broken one', () => {
    expect(recognizeTopology({ dataKinds: [], systems: [] })).toBeUndefined();
    expect(recognizeTopology({ name: 'x', datakinds: [] })).toBeUndefined();
    expect(recognizeTopology({ systems: [{ id: 'A' }] })).toBeUndefined();
    expect(recognizeTopology({ name: 'x', topology: 't.yaml', systems: ['A', 'B'] })).toMatch(/^this looks like a scenario file/);
    expect(recognizeTopology(['a'])).toMatch(/^the file holds a list/);
    expect(recognizeTopology('text')).toMatch(/^the file holds a single value/);
    expect(recognizeTopology(new Uint8Array([0, 1]))).toMatch(/^this looks like a binary file/);
    expect(recognizeTopology({ compilerOptions: {} })).toMatch(/tsconfig\.json/);
    expect(recognizeTopology({ colour: 'red' })).toBe('the file has none of the sections of a topology or a scenario, not a topology: expected a file with dataKinds: and systems:');
  });
});
