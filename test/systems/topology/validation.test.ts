import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../../systems/topology/index.ts';
import { MINIMAL, fixture, issuesOf, topologyError } from './helpers.ts';

const FILE = 'test/systems/topology/fixtures';

describe('invalid fixtures', () => {
  it('reports every problem of a file at once, each with file:line:col and what was expected', () => {
    const error = topologyError(() => loadTopology(fixture('many-problems.yaml')));
    expect(error.message.split('\n')).toEqual([
      `invalid topology ${FILE}/many-problems.yaml (4 problems):`,
      `${FILE}/many-problems.yaml:14:11: systems[1].role: expected one of ingress, service, got "gateway"`,
      `${FILE}/many-problems.yaml:22:13: flows[0].legacy: missing scheduleMs, required for transport batch (how often the receiver picks up dropped files, in ms)`,
      `${FILE}/many-problems.yaml:25:9: flows[1].to: system "Z" does not exist (systems: A, B)`,
      `${FILE}/many-problems.yaml:27:46: flows[1].legacy.schedulMs: unknown key "schedulMs" (expected one of: transport, format, scheduleMs, retries, timeoutMs, prefetch); did you mean "scheduleMs"?`,
    ]);
    expect(error.issues.map((i) => [i.line, i.col])).toEqual([[14, 11], [22, 13], [25, 9], [27, 46]]);
  });

  it('rejects a cycle of rest-sync calls, naming the route and the flows', () => {
    const error = topologyError(() => loadTopology(fixture('rest-sync-cycle.yaml')));
    expect(error.issues).toHaveLength(1);
    expect(error.message).toContain(
      `${FILE}/rest-sync-cycle.yaml:10:66: flows[0].legacy.transport: rest-sync calls form a cycle A -> B -> C -> A (flows a-b, b-c, c-a)`,
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
    const text = MINIMAL.replace('name: mini', 'name: mini\nowner: ops').replace('produces: [payment] }', 'produces: [payment], colour: red }');
    const issues = issuesOf(text);
    expect(issues.map((i) => `${i.line}:${i.col} ${i.path}`)).toEqual(['2:1 owner', '8:74 systems[1].colour']);
    expect(issues[0].message).toMatch(/^unknown key "owner" \(expected one of: name, description, dataKinds/);
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
    const issue = one(withFlow('{ id: a-c, from: A, to: C, data: order, legacy: { transport: batch, format: csv, scheduleMs: 10, retries: 1 } }'));
    expect(issue.message).toBe('retries is not allowed for transport batch (expected only with rest-sync or rest-poll)');
  });

  it('flow from a missing system, with a missing data kind', () => {
    const issues = issuesOf(withFlow('{ id: y-c, from: Y, to: C, data: refund, legacy: { transport: amqp, format: json } }'));
    expect(issues.map((i) => `${i.col}: ${i.path}: ${i.message}`)).toEqual([
      '22: flows[2].from: system "Y" does not exist (systems: A, B, C)',
      '38: flows[2].data: data kind "refund" does not exist (data kinds: order, payment)',
    ]);
  });

  it('data kind the sender neither produces nor receives', () => {
    const issue = one(withFlow('{ id: c-a, from: C, to: A, data: order, legacy: { transport: amqp, format: json } }'));
    expect(issue.message).toBe('system "C" neither produces "order" nor receives it from another flow (C produces: (none); receives: payment)');
    expect(issue.path).toBe('flows[2].data');
  });

  it('duplicate ids', () => {
    const issue = one(MINIMAL.replace('id: b-c', 'id: a-b'));
    expect(issue).toMatchObject({ line: 15, col: 9, path: 'flows[1].id', message: 'duplicate id "a-b" (already used by flows[0]; ids must be unique)' });
  });

  it('a system that receives nothing and produces nothing', () => {
    const issue = one(MINIMAL.replace('  - { id: C, name: crm, costPerMessageUs: 100 }', '  - { id: C, name: crm, costPerMessageUs: 100 }\n  - { id: D, name: idle, costPerMessageUs: 0 }'));
    expect(issue).toMatchObject({ line: 9, col: 11, path: 'systems[3].id' });
    expect(issue.message).toMatch(/^system "D" produces nothing and receives nothing/);
  });

  it('missing required keys point at the mapping that should hold them', () => {
    const issue = one(MINIMAL.replace('costPerMessageUs: 100, produces: [order]', 'produces: [order]'));
    expect(issue).toMatchObject({ line: 6, col: 5, path: 'systems[0].costPerMessageUs', message: 'missing (expected a number of microseconds >= 0)' });
  });

  it('a rest-sync call back to the caller', () => {
    const issue = one(withFlow('{ id: b-a, from: B, to: A, data: payment, legacy: { transport: rest-sync, format: json } }'));
    expect(issue.message).toMatch(/^rest-sync calls form a cycle A -> B -> A \(flows a-b, b-a\)/);
  });

  it('a document that is not a mapping, and an empty one', () => {
    expect(one('- A\n- B\n').message).toMatch(/^expected a mapping with keys name, description, dataKinds, systems/);
    expect(one('').message).toMatch(/got null/);
  });

  it('duplicate keys are a YAML error', () => {
    const issue = one(MINIMAL.replace('name: mini', 'name: mini\nname: again'));
    expect(issue).toMatchObject({ line: 2, col: 1 });
    expect(issue.message).toMatch(/^YAML syntax error: Map keys must be unique/);
  });

  it('a problem reached through a YAML alias points at the alias', () => {
    const text = MINIMAL
      .replace('{ transport: rest-sync, format: json }', '&sync { transport: rest-sync, format: json }')
      .replace('{ transport: amqp, format: json }', '*sync')
      .concat('  - { id: c-b, from: C, to: B, data: payment, legacy: { transport: rest-sync, format: json } }\n');
    const issue = one(text);
    expect(issue).toMatchObject({ line: 19, col: 13, path: 'flows[1].legacy.transport' });
    expect(issue.message).toMatch(/^rest-sync calls form a cycle B -> C -> B \(flows b-c, c-b\)/);
  });
});
