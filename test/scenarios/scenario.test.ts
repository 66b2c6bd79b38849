import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { failuresLayouts, loadScenario, ScenarioError } from '../../scenarios/scenario.ts';
import { estimateSeconds } from '../../scenarios/estimate.ts';

const dir = mkdtempSync(join(tmpdir(), 'untangle-scenario-'));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function problems(file: string): string[] {
  try {
    loadScenario(file);
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return (err as ScenarioError).message.split('\n').slice(1);
  }
  throw new Error('expected the scenario to be refused');
}

describe('scenario files', () => {
  it('loads every committed scenario, plain and --quick, with defaults filled in', () => {
    for (const name of ['compare', 'connections', 'failures', 'throughput', 'onboarding']) {
      for (const quick of [false, true]) {
        const s = loadScenario(`scenarios/${name}.yaml`, { quick });
        expect(s.name).toBe(name);
        expect(s.quick).toBe(quick);
        expect(s.topologyFile).toBe(resolve('scenarios/topologies/shop.yaml'));
        expect(Object.keys(s.runners).length).toBeGreaterThan(0);
        expect(estimateSeconds(s)).toBeGreaterThan(0);
      }
    }
  });

  it('applies quick overrides over the scenario, and fills defaults', () => {
    const file = write('q.yaml', [
      'name: q', 'topology: t.yaml', 'runners:', '  connections: { to: 6 }', '  failures: {}',
      'quick:', '  systems: [A, B, C]', '  runners:', '    connections: { steadyS: 1 }', '    failures: false',
    ].join('\n'));
    const full = loadScenario(file);
    expect(full.layouts).toEqual(['legacy', 'hub']);
    expect(full.seed).toBe(42);
    expect(full.systems).toBeNull();
    expect(full.runners.connections).toMatchObject({ from: 3, to: 6, steadyS: 4 });
    expect(full.runners.failures).toMatchObject({ components: 'all', downS: 5 });
    const quick = loadScenario(file, { quick: true });
    expect(quick.systems).toEqual(['A', 'B', 'C']);
    expect(quick.runners.connections).toMatchObject({ from: 3, to: 6, steadyS: 1 });
    expect(quick.runners.failures).toBeUndefined();
  });

  it('reports every problem at its line and column', () => {
    const file = write('bad.yaml', [
      'name: Bad Name',
      'topology: t.yaml',
      'layouts: [legacy, mesh]',
      'runners:',
      '  connections: { form: 3 }',
      '  throughput: { stepS: -1 }',
      'quick:',
      '  runners:',
      '    onboarding: false',
    ].join('\n'));
    const lines = problems(file);
    const at = (n: number): string[] => lines.filter((l) => l.includes(`bad.yaml:${n}:`));
    expect(at(1).join()).toMatch(/name: .*lower-case name/);
    expect(at(3).join()).toMatch(/layouts\[1\]: expected one of legacy, hub, got "mesh"/);
    expect(at(5).join()).toMatch(/unknown key "form".*did you mean "from"/);
    expect(at(6).join()).toMatch(/stepS/);
    expect(at(9).join()).toMatch(/runner "onboarding" is not in runners/);
  });

  it('lets the failures runner measure its own layouts, hub-cluster among them, and --quick change them', () => {
    const file = write('cluster.yaml', [
      'name: c', 'topology: t.yaml', 'runners:', '  connections: {}', '  failures: { layouts: [legacy, hub, hub-cluster] }',
      'quick:', '  runners:', '    failures: { layouts: [hub-cluster] }',
    ].join('\n'));
    const full = loadScenario(file);
    expect(full.layouts).toEqual(['legacy', 'hub']);
    expect(failuresLayouts(full)).toEqual(['legacy', 'hub', 'hub-cluster']);
    expect(failuresLayouts(loadScenario(file, { quick: true }))).toEqual(['hub-cluster']);
    expect(failuresLayouts(loadScenario(write('plain.yaml', 'name: p\ntopology: t.yaml\nlayouts: [hub]\nrunners:\n  failures: {}\n')))).toEqual(['hub']);
    expect(estimateSeconds(loadScenario(file))).toBeGreaterThan(estimateSeconds(loadScenario(file, { quick: true })));
    const bad = problems(write('bad-cluster.yaml', 'name: b\ntopology: t.yaml\nlayouts: [hub-cluster]\nrunners:\n  failures: { layouts: [mesh] }\n'));
    expect(bad.join('\n')).toMatch(/bad-cluster.yaml:3:.*layouts\[0\]: expected one of legacy, hub, got "hub-cluster"/);
    expect(bad.join('\n')).toMatch(/bad-cluster.yaml:5:.*expected one of legacy, hub, hub-cluster, got "mesh"/);
  });

  it('refuses YAML syntax errors, a missing file and an oversized file with a clear message', () => {
    expect(problems(write('syntax.yaml', 'name: a\nrunners: [\n')).join()).toMatch(/syntax.yaml:\d+:\d+: YAML syntax error/);
    expect(problems(join(dir, 'missing.yaml')).join()).toMatch(/cannot read the file/);
    expect(problems(write('big.yaml', `# ${'x'.repeat(300 * 1024)}\n`)).join()).toMatch(/expected at most/);
  });
});
