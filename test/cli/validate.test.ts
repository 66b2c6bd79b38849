/**
 * `untangle validate FILE...` through the real CLI (node bin/untangle.js as a child process): a
 * topology or a scenario told apart by content, `FILE: ok (...)` or every problem as
 * file:line:col and a plain sentence, exit code 1 on any problem, and hostile input refused fast.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOPOLOGY_FILE_BYTES_MAX } from '../../systems/topology/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOPOLOGIES = 'test/systems/topology/fixtures';
const SCENARIOS = 'test/scenarios/fixtures';
/** file:line:col: then a sentence of ours: no zod/yaml internals, no JSON dumps, no source excerpt. */
const PROBLEM_LINE = /^[^\s:][^:]*:\d+:\d+: \S/;
const LIBRARY_TEXT = /Invalid input|Invalid key in record|Too (small|big):|Excessive alias count|resource exhaustion attack|"code":|\^\^|at Object\.|\.ts:\d+:\d+\)/;

function validate(...files: string[]): { status: number | null; lines: string[]; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/untangle.js', 'validate', ...files], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  const lines = result.stdout.split('\n').filter((l) => l !== '');
  return { status: result.status, lines, stderr: result.stderr };
}

function expectPlainProblems(lines: readonly string[]): void {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    if (line.startsWith('… and ')) continue;
    expect(line).toMatch(PROBLEM_LINE);
    expect(line).not.toMatch(LIBRARY_TEXT);
  }
}

describe('untangle validate', () => {
  it('says ok with what a valid topology and a valid scenario hold, told apart by content, and exits 0', () => {
    const { status, lines, stderr } = validate('scenarios/topologies/shop.yaml', `${SCENARIOS}/small-topology.yaml`, 'scenarios/compare.yaml', `${SCENARIOS}/late-joiners.yaml`);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^scenarios\/topologies\/shop\.yaml: ok \(topology shop: \d+ systems, \d+ data kinds, \d+ flows\)$/);
    expect(lines[1]).toBe(`${SCENARIOS}/small-topology.yaml: ok (topology small: 4 systems, 2 data kinds, 3 flows)`);
    expect(lines[2]).toMatch(/^scenarios\/compare\.yaml: ok \(scenario compare: topology scenarios\/topologies\/shop\.yaml \(\d+ systems\), layouts legacy, hub, runners connections, throughput, failures, onboarding\)$/);
    expect(lines[3]).toBe(`${SCENARIOS}/late-joiners.yaml: ok (scenario late-joiners: topology ${SCENARIOS}/small-topology.yaml (4 systems), layouts legacy, hub, runners connections, onboarding)`);
  });

  it('lists every problem as file:line:col and exits 1: a flow without a rule, an undeclared kind, a runner naming a missing system', () => {
    // The first two checks are semantics.ts's, the third scenario.ts's.
    const { status, lines } = validate(`${TOPOLOGIES}/flow-without-rule.yaml`, `${TOPOLOGIES}/undeclared-emit.yaml`, `${SCENARIOS}/missing-systems.yaml`, `${SCENARIOS}/small-topology.yaml`);
    expect(status).toBe(1);
    expectPlainProblems(lines.filter((l) => !l.includes(': ok (')));
    expect(lines).toContainEqual(expect.stringMatching(/^test\/systems\/topology\/fixtures\/flow-without-rule\.yaml:21:9: flows\[0\]\.to: system "stock" has no rule for "order" records/));
    expect(lines).toContainEqual(expect.stringMatching(/^test\/systems\/topology\/fixtures\/undeclared-emit\.yaml:22:19: systems\[1\]\.on\.order\.emit\[0\]\.kind: data kind "refund" is not declared/));
    expect(lines).toContain(`${SCENARIOS}/missing-systems.yaml:11:30: runners.onboarding.initial[2]: system "spectre" is not in the topology small (systems: web, payments, stock, notify)`);
    expect(lines).toContain(`${SCENARIOS}/missing-systems.yaml:9:74: runners.failures.components[5]: "phantom" is neither a system of the topology small (systems: web, payments, stock, notify) nor a component of the integration (rabbitmq, broker, quorum-leader, lake-sink, broker-<n>)`);
    // The valid file among them is still reported ok.
    expect(lines).toContain(`${SCENARIOS}/small-topology.yaml: ok (topology small: 4 systems, 2 data kinds, 3 flows)`);
  });

  it('refuses an alias bomb at its line, and a file over the size limit, without hanging', () => {
    const dir = mkdtempSync(join(tmpdir(), 'untangle-validate-'));
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `dataKinds: []\n# ${'x'.repeat(TOPOLOGY_FILE_BYTES_MAX)}\n`);
    const { status, lines } = validate(`${TOPOLOGIES}/alias-bomb.yaml`, big);
    expect(status).toBe(1);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^test\/systems\/topology\/fixtures\/alias-bomb\.yaml:12:13: refused: the YAML aliases \(\*name\) here expand to too many copies .*alias bomb/);
    expect(lines[1]).toBe(`${big}:1:1: file is ${TOPOLOGY_FILE_BYTES_MAX + 17} bytes (expected at most ${TOPOLOGY_FILE_BYTES_MAX})`);
    expectPlainProblems(lines);
  });

  it('says what a file that is neither a topology nor a scenario looks like, never its content', () => {
    const { status, lines } = validate('package.json', `${TOPOLOGIES}/not-text.png`, `${TOPOLOGIES}/empty.yaml`, `${SCENARIOS}/not-a-topology.yaml`);
    expect(status).toBe(1);
    const expected = 'expected a topology (a file with dataKinds: and systems:) or a scenario (a file with topology: and runners:)';
    expect(lines.slice(0, 3)).toEqual([
      `package.json:1:1: this looks like an npm package.json (it has dependencies:), not a topology or a scenario: ${expected}`,
      `${TOPOLOGIES}/not-text.png:1:1: this looks like a binary file (it is not UTF-8 text), not a topology or a scenario: ${expected}`,
      `${TOPOLOGIES}/empty.yaml:1:1: the file is empty (or holds only comments), not a topology or a scenario: ${expected}`,
    ]);
    // A scenario whose topology: is package.json: one problem there, the topology's one problem after it.
    expect(lines.slice(3)).toEqual([
      `${SCENARIOS}/not-a-topology.yaml:3:11: topology: the topology file package.json cannot be used (1 problem in it, listed below)`,
      'package.json:1:1: this looks like an npm package.json (it has dependencies:), not a topology: expected a file with dataKinds: and systems:',
    ]);
    for (const content of ['kafkajs', 'vitest', 'Apache', 'IHDR']) expect(lines.join('\n')).not.toContain(content);
    expectPlainProblems(lines);
  });

  it('lists the first 50 problems of a file in order, then how many more', () => {
    const { status, lines } = validate(`${TOPOLOGIES}/over-fifty-problems.yaml`);
    expect(status).toBe(1);
    expect(lines).toHaveLength(51);
    expect(lines[0]).toBe(`${TOPOLOGIES}/over-fifty-problems.yaml:21:3: defaults.setting00: unknown key "setting00" (expected one of: restTimeoutMs, restRetries, amqpPrefetch)`);
    expect(lines[49]).toMatch(/over-fifty-problems\.yaml:70:3: defaults\.setting49: /);
    expect(lines[50]).toBe('… and 10 more problems');
    expectPlainProblems(lines);
  });
});
