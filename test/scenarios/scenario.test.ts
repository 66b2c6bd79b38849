/**
 * Scenario files: loading and resolving them (quick overrides, defaults from the topology), and
 * the complete check before anything starts: the file's schema, then everything it says against
 * its topology, every problem at its line.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { failuresLayouts, loadScenario, ScenarioError } from '../../scenarios/scenario.ts';
import { estimateSeconds } from '../../scenarios/estimate.ts';
import { FAILURE_COMPONENT_NAMES, SYSTEM_ID, isComponentName } from '../../scenarios/settings.ts';
import { RABBITMQ, QUORUM_LEADER } from '../../scenarios/runners/failures/components.ts';
import { BROKER_PROCESS } from '../../scenarios/runners/context.ts';
import { LAKE_SINK } from '../../systems/runtime/landscape.ts';
import { loadTopology } from '../../systems/topology/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'untangle-scenario-'));
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
/** The small topology of the fixtures: web (ingress), payments, stock, notify (joins late). */
const SMALL = fixture('small-topology.yaml');
const FIXTURES = 'test/scenarios/fixtures';

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function problems(file: string, opts: { quick?: boolean } = {}): string[] {
  try {
    loadScenario(file, opts);
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
      'name: q', `topology: ${SMALL}`, 'runners:', '  connections: { to: 4 }', '  failures: {}',
      'quick:', '  systems: [web, payments, stock]', '  runners:', '    connections: { steadyS: 1, to: 3 }', '    failures: false',
    ].join('\n'));
    const full = loadScenario(file);
    expect(full.layouts).toEqual(['legacy', 'hub']);
    expect(full.seed).toBe(42);
    expect(full.systems).toBeNull();
    expect(full.runners.connections).toMatchObject({ from: 3, to: 4, steadyS: 4 });
    expect(full.runners.failures).toMatchObject({ components: 'all', downS: 5 });
    const quick = loadScenario(file, { quick: true });
    expect(quick.systems).toEqual(['web', 'payments', 'stock']);
    expect(quick.runners.connections).toMatchObject({ from: 3, to: 3, steadyS: 1 });
    expect(quick.runners.failures).toBeUndefined();
  });

  it('reports every problem at its line and column', () => {
    const file = write('bad.yaml', [
      'name: Bad Name',
      `topology: ${SMALL}`,
      'layouts: [legacy, mesh]',
      'runners:',
      '  connections: { form: 3 }',
      '  throughput: { costRatePerS: -1 }',
      'quick:',
      '  runners:',
      '    onboarding: false',
    ].join('\n'));
    const lines = problems(file);
    const at = (n: number): string[] => lines.filter((l) => l.includes(`bad.yaml:${n}:`));
    expect(at(1).join()).toMatch(/name: .*lower-case name/);
    expect(at(3).join()).toMatch(/layouts\[1\]: expected one of legacy, hub, got "mesh"/);
    expect(at(5).join()).toMatch(/unknown key "form".*did you mean "from"/);
    expect(at(6).join()).toMatch(/costRatePerS/);
    expect(at(9).join()).toMatch(/runner "onboarding" is not in runners/);
  });

  it('lets the failures runner measure its own layouts, hub-cluster among them, and --quick change them', () => {
    const file = write('cluster.yaml', [
      'name: c', `topology: ${SMALL}`, 'runners:', '  connections: {}', '  failures: { layouts: [legacy, hub, hub-cluster] }',
      'quick:', '  runners:', '    failures: { layouts: [hub-cluster] }',
    ].join('\n'));
    const full = loadScenario(file);
    expect(full.layouts).toEqual(['legacy', 'hub']);
    expect(failuresLayouts(full)).toEqual(['legacy', 'hub', 'hub-cluster']);
    expect(failuresLayouts(loadScenario(file, { quick: true }))).toEqual(['hub-cluster']);
    expect(failuresLayouts(loadScenario(write('plain.yaml', `name: p\ntopology: ${SMALL}\nlayouts: [hub]\nrunners:\n  failures: {}\n`)))).toEqual(['hub']);
    expect(estimateSeconds(loadScenario(file))).toBeGreaterThan(estimateSeconds(loadScenario(file, { quick: true })));
    const bad = problems(write('bad-cluster.yaml', `name: b\ntopology: ${SMALL}\nlayouts: [hub-cluster]\nrunners:\n  failures: { layouts: [mesh] }\n`));
    expect(bad.join('\n')).toMatch(/bad-cluster.yaml:3:.*layouts\[0\]: expected one of legacy, hub, got "hub-cluster"/);
    expect(bad.join('\n')).toMatch(/bad-cluster.yaml:5:.*expected one of legacy, legacy-ha, hub, hub-cluster, got "mesh"/);
  });

  it('refuses YAML syntax errors, a missing file and an oversized file with a clear message', () => {
    expect(problems(write('syntax.yaml', 'name: a\nrunners: [\n')).join()).toMatch(/syntax.yaml:\d+:\d+: YAML syntax error/);
    expect(problems(join(dir, 'missing.yaml')).join()).toMatch(/cannot read the file/);
    expect(problems(write('big.yaml', `# ${'x'.repeat(300 * 1024)}\n`)).join()).toMatch(/expected at most/);
  });
});

describe('a scenario checked against its topology', () => {
  it('takes any system id a topology allows, and keeps the integration\'s component names apart', () => {
    for (const id of ['A', 'C2', 'web', 'core-banking', 'ledger_2']) expect(SYSTEM_ID.test(id)).toBe(true);
    for (const name of ['rabbitmq', 'broker', 'broker-2', 'quorum-leader', 'lake-sink']) {
      expect(SYSTEM_ID.test(name)).toBe(false);
      expect(isComponentName(name)).toBe(true);
    }
    // The names the failures runner knows are the ones settings.ts accepts.
    expect([...FAILURE_COMPONENT_NAMES].sort()).toEqual([RABBITMQ, BROKER_PROCESS, QUORUM_LEADER, LAKE_SINK].sort());
  });

  it('reports systems and runner settings naming missing systems, a quick run without the ingress and a sweep beyond the run, each at its line', () => {
    const lines = problems(fixture('missing-systems.yaml'));
    const file = `${FIXTURES}/missing-systems.yaml`;
    expect(lines).toEqual([
      `${file}:5:26: systems[2]: system "ghost" is not in the topology small (systems: web, payments, stock, notify)`,
      `${file}:7:31: runners.connections.to: to 7 is beyond the 2 systems of the run (expected at most 2)`,
      `${file}:9:74: runners.failures.components[5]: "phantom" is neither a system of the topology small (systems: web, payments, stock, notify) nor a component of the integration (rabbitmq, broker, quorum-leader, lake-sink, broker-<n>)`,
      `${file}:11:30: runners.onboarding.initial[2]: system "spectre" is not in the topology small (systems: web, payments, stock, notify)`,
      `${file}:12:19: runners.onboarding.add[1]: system "payments" is already in initial: (expected only systems that are not running yet)`,
      `${file}:14:12: quick.systems: the systems of a --quick run must include the ingress system web, which takes the load (expected web in this list)`,
    ]);
  });

  it('takes projectTo for the model of larger landscapes (default 200, at least the sweep\'s largest n) and a prices block', () => {
    const ok = write('p.yaml', ['name: p', `topology: ${SMALL}`, 'prices: { currency: EUR, cpuCoreHour: 0.04, networkGiB: 0 }', 'runners:', '  connections: { to: 4 }'].join('\n'));
    const s = loadScenario(ok);
    expect(s.runners.connections).toMatchObject({ to: 4, projectTo: 200 });
    expect(s.prices).toEqual({ currency: 'EUR', cpuCoreHour: 0.04, networkGiB: 0 });
    const low = write('p-low.yaml', ['name: p', `topology: ${SMALL}`, 'runners:', '  connections: { to: 4, projectTo: 3 }'].join('\n'));
    expect(problems(low)).toEqual([expect.stringContaining('runners.connections.projectTo: projectTo 3 is less than the largest n the sweep measures (4)')]);
    const badPrice = write('p-bad.yaml', ['name: p', `topology: ${SMALL}`, 'prices: { currency: euro, cpuCoreHour: -1 }', 'runners:', '  connections: {}'].join('\n'));
    expect(problems(badPrice)).toEqual([expect.stringContaining('prices.currency'), expect.stringContaining('prices.cpuCoreHour')]);
  });

  it('refuses onboarding that adds a system already running', () => {
    expect(problems(fixture('add-already-running.yaml'))).toEqual([
      `${FIXTURES}/add-already-running.yaml:7:18: runners.onboarding.add[1]: system "notify" is already in initial: (expected only systems that are not running yet)`,
    ]);
  });

  it('defaults onboarding add to the topology\'s late joiners and the connections sweep to every system of the run', () => {
    const full = loadScenario(fixture('late-joiners.yaml'));
    expect(full.runners.onboarding?.add).toEqual(['notify']);
    expect(full.runners.connections).toMatchObject({ from: 2, to: 4 });
    const quick = loadScenario(fixture('late-joiners.yaml'), { quick: true });
    expect(quick.systems).toEqual(['web', 'payments', 'notify']);
    expect(quick.runners.connections).toMatchObject({ from: 2, to: 3 });
    // The shop's late joiners are G, H and I because its file says so, not because code does.
    const shop = loadTopology('scenarios/topologies/shop.yaml');
    expect(loadScenario('scenarios/onboarding.yaml', { quick: true }).runners.onboarding?.add).toEqual(shop.systems.filter((s) => s.joinsLate).map((s) => s.id));
  });

  it('asks for add: when no system of the topology joins late', () => {
    expect(problems(fixture('no-late-joiners.yaml'))).toEqual([
      `${FIXTURES}/no-late-joiners.yaml:5:15: runners.onboarding: add: is not set and no system of the topology settled has joinsLate: true (expected add: [system, ...] or joinsLate: true on the systems that join later)`,
    ]);
  });

  it('reports an invalid topology as one problem at topology:, its own problems listed right after, then the scenario\'s', () => {
    const lines = problems(fixture('bad-topology.yaml'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`${FIXTURES}/bad-topology.yaml:4:11: topology: the topology file test/systems/topology/fixtures/flow-without-rule.yaml cannot be used (1 problem in it, listed below)`);
    expect(lines[1]).toMatch(/^test\/systems\/topology\/fixtures\/flow-without-rule\.yaml:21:9: flows\[0\]\.to: system "stock" has no rule for "order" records/);
  });

  it('reports a topology path pointing at a file that is not a topology without its content', () => {
    // The topology recognizer is passed by load.ts (YamlFileKind.recognize).
    const lines = problems(fixture('not-a-topology.yaml'));
    expect(lines).toEqual([
      `${FIXTURES}/not-a-topology.yaml:3:11: topology: the topology file package.json cannot be used (1 problem in it, listed below)`,
      'package.json:1:1: this looks like an npm package.json (it has dependencies:), not a topology: expected a file with dataKinds: and systems:',
    ]);
    for (const content of ['kafkajs', 'vitest', 'Apache']) expect(lines.join('\n')).not.toContain(content);
  });

  it('refuses a topology given where a scenario is expected with one plain problem', () => {
    expect(problems('scenarios/topologies/shop.yaml')).toEqual([
      'scenarios/topologies/shop.yaml:1:1: this looks like a topology (it has dataKinds:), not a scenario: expected a file with topology: and runners:',
    ]);
    expect(problems(join(dir, 'missing-dir'))).toEqual([expect.stringMatching(/missing-dir:1:1: cannot read the file: it does not exist$/)]);
  });
});
