import { describe, expect, it } from 'vitest';
import { applicable, comparedText, comparePair, coverage, PAIRS, roleOf, rolesOf, slotOf } from '../../report/failures-compare.ts';
import { BEST_PRACTICES, formatCauses } from '../../report/document-failures.ts';
import { practicesSchema } from '../../report/model.ts';
import { BEST_PRACTICE, PRACTICE_OPTIONS } from '../../systems/runtime/practices.ts';
import { sampleReport, sampleReportWithCluster } from './fixture.ts';

// Comparing failures layouts over the same components only: roles across layouts, what was tested
// where, and each pair's figures over what both tested.

describe('roles across layouts', () => {
  it('maps systems by id, RabbitMQ, brokers and cluster nodes to a messaging node, and numbers the nodes of a cluster', () => {
    expect(roleOf({ component: 'C', kind: 'system' })).toBe('C');
    for (const component of ['rabbitmq', 'broker', 'rabbitmq-2', 'broker-3']) {
      expect(roleOf({ component, kind: component.startsWith('rabbit') ? 'rabbitmq' : 'broker' })).toBe('messaging node');
    }
    expect(roleOf({ component: 'quorum-leader (broker-2)', kind: 'quorum-leader' })).toBe('quorum leader');
    expect(roleOf({ component: 'lake-sink', kind: 'lake-sink' })).toBe('lake sink');
    expect(slotOf({ component: 'rabbitmq', kind: 'rabbitmq' })).toBe('messaging node');
    expect(slotOf({ component: 'rabbitmq-2', kind: 'rabbitmq' })).toBe(slotOf({ component: 'broker-2', kind: 'broker' }));
  });

  it('has a lake sink only in the hub layouts and a quorum leader only in the HA layouts', () => {
    expect(['legacy', 'legacy-ha', 'hub', 'hub-cluster'].map((l) => applicable('lake sink', l as never))).toEqual([false, false, true, true]);
    expect(['legacy', 'legacy-ha', 'hub', 'hub-cluster'].map((l) => applicable('quorum leader', l as never))).toEqual([false, true, false, true]);
    expect(applicable('messaging node', 'legacy')).toBe(true);
  });

  it('tells tested, not tested, not applicable and not measured apart', () => {
    const f = sampleReportWithCluster().runners.failures!;
    expect(rolesOf(f)).toEqual(['A', 'B', 'C', 'D', 'E', 'messaging node', 'quorum leader', 'lake sink']);
    expect(coverage(f, 'B', 'hub')).toBe('tested');
    expect(coverage(f, 'B', 'hub-cluster')).toBe('not tested');
    expect(coverage(f, 'lake sink', 'legacy')).toBe('not applicable');
    expect(coverage(f, 'lake sink', 'hub-cluster')).toBe('not tested');
    expect(coverage(sampleReport().runners.failures!, 'A', 'legacy-ha')).toBe('not measured');
  });
});

describe('comparePair', () => {
  it('compares legacy and hub over the components both failed: the lake sink (hub only) is left out of both', () => {
    const c = comparePair(sampleReport().runners.failures!, PAIRS[0]);
    expect(c.roles).toEqual(['A', 'B', 'C', 'D', 'E', 'messaging node']);
    expect(c.right.components.map((x) => x.component)).toEqual(['A', 'B', 'C', 'D', 'E', 'broker']);
    expect(c.left).toMatchObject({ recordsLost: 187, recordsDuplicated: 18, serviceNotBack: ['rabbitmq'], longestIngressOutageMs: 7400 });
    expect(c.left.lostByCause).toEqual({ bufferAtKill: 43, inFlightCall: 4, rabbitmq: 140, broker: 0, lakeSink: 0, unexplained: 0 });
    expect(c.right.singlePointsOfFailure).toEqual(['A', 'broker']);
    expect(comparedText(c)).toBe('A, B, C, D, E, messaging node (rabbitmq; broker)');
    expect(c.leftOut).toEqual([{ role: 'lake sink', in: 'hub', other: 'not applicable' }]);
  });

  it('leaves a component one layout did not fail out of both sides, never counting it as 0', () => {
    const f = sampleReport().runners.failures!;
    f.layouts[0].components = f.layouts[0].components.filter((x) => x.component !== 'E');
    const c = comparePair(f, PAIRS[0]);
    expect(c.roles).not.toContain('E');
    expect(c.right.components.map((x) => x.component)).not.toContain('E');
    expect(c.left.recordsLost).toBe(187 - 35);
    expect(c.leftOut).toContainEqual({ role: 'E', in: 'hub', other: 'not tested' });
  });

  it('compares nothing when the two share no component, and shows the one measured alone', () => {
    const f = sampleReportWithCluster().runners.failures!;
    const ha = f.layouts.find((l) => l.layout === 'legacy-ha')!;
    ha.components = ha.components.filter((x) => x.kind === 'system');
    const none = comparePair(f, PAIRS[1]);
    expect(none.roles).toEqual([]);
    expect(none.left).toMatchObject({ measured: true, recordsLost: null, singlePointsOfFailure: null, meanKillToServiceMs: null });
    f.layouts = f.layouts.filter((l) => l.layout !== 'legacy-ha');
    const alone = comparePair(f, PAIRS[1]);
    expect(alone.left.measured).toBe(false);
    expect(alone.roles).toEqual(['messaging node', 'quorum leader']);
    expect(alone.right.components).toHaveLength(4);
  });

  it('counts a fault whose service was not back with its whole observed span in the mean kill → service', () => {
    const c = comparePair(sampleReport().runners.failures!, PAIRS[0]);
    expect(c.left.meanKillToServiceMs).toBeCloseTo((6800 + 7400 + 8100 + 5900 + 10_200 + 13_000) / 6);
  });
});

describe('the report\'s copy of the practices', () => {
  it('has the values and best practices systems/runtime/practices.ts defines', () => {
    for (const name of Object.keys(PRACTICE_OPTIONS) as (keyof typeof PRACTICE_OPTIONS)[]) {
      expect(practicesSchema.shape[name].options, name).toEqual([...PRACTICE_OPTIONS[name].values]);
    }
    expect(BEST_PRACTICES).toEqual(BEST_PRACTICE);
  });

  it('names the loss causes', () => {
    expect(formatCauses(undefined)).toBe('not measured');
    expect(formatCauses({ bufferAtKill: 0, inFlightCall: 0, rabbitmq: 0, broker: 0, lakeSink: 0, unexplained: 0 })).toBe('none');
    expect(formatCauses({ bufferAtKill: 2, inFlightCall: 1, rabbitmq: 0, broker: 0, lakeSink: 4, unexplained: 0 })).toBe('2 buffer lost at kill, 1 in-flight call, 4 lake sink');
  });
});
