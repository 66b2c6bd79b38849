/** Which components the failures runner kills in one layout, and which it skips and why. */
import type { FailuresLayoutName } from '../../../report/model.ts';
import type { FailuresSettings } from '../../settings.ts';
import { LAKE_SINK } from '../../../systems/runtime/landscape.ts';
import { BROKER_PROCESS } from '../context.ts';

export type ComponentKind = 'system' | 'rabbitmq' | 'broker' | 'quorum-leader' | 'lake-sink';

/** legacy: the RabbitMQ; legacy-ha: each of its nodes (rabbitmq-1, rabbitmq-2, ...). */
export const RABBITMQ = 'rabbitmq';
/**
 * hub-cluster: the node leading the controller quorum; legacy-ha: the RabbitMQ node leading most of
 * the run's quorum queues. Looked up when its turn comes.
 */
export const QUORUM_LEADER = 'quorum-leader';

export interface PlannedComponent {
  name: string;
  kind: ComponentKind;
}

export interface LayoutParts {
  layout: FailuresLayoutName;
  /** The landscape's systems, in topology order. */
  systems: readonly string[];
  /** legacy: why RabbitMQ cannot be killed in this run (null: it can). */
  rabbitmqUnavailable: string | null;
  /** hub: why the broker cannot be killed in this run (null: it can). */
  brokerUnavailable: string | null;
  /** hub-cluster: its brokers (broker-1, broker-2, ...). */
  clusterBrokers?: readonly string[];
  /** legacy-ha: its RabbitMQ nodes (rabbitmq-1, rabbitmq-2, ...). */
  rabbitNodes?: readonly string[];
}

/**
 * The components of a layout in the order 'all' kills them. Both HA layouts run the same
 * components: every system, every broker or RabbitMQ node, the quorum leader, the lake sink (which
 * legacy-ha skips: it has none).
 */
function layoutComponents(parts: LayoutParts): string[] {
  switch (parts.layout) {
    case 'legacy': return [...parts.systems, RABBITMQ];
    case 'hub': return [...parts.systems, BROKER_PROCESS, LAKE_SINK];
    case 'legacy-ha': return [...parts.systems, ...(parts.rabbitNodes ?? []), QUORUM_LEADER, LAKE_SINK];
    case 'hub-cluster': return [...parts.systems, ...(parts.clusterBrokers ?? []), QUORUM_LEADER, LAKE_SINK];
  }
}

/**
 * 'all' = every system of the landscape, then RabbitMQ (legacy) or the broker (hub), then the lake
 * sink; in the HA layouts every system, each broker or RabbitMQ node, the quorum leader, the lake
 * sink. Named components are taken in the order given ('broker' in hub-cluster and 'rabbitmq' in
 * legacy-ha: each of its nodes); a name that is not a component of this layout, or one that cannot
 * be killed in this run, is skipped with the reason.
 */
export function planComponents(requested: FailuresSettings['components'], parts: LayoutParts): { planned: PlannedComponent[]; skipped: { component: string; reason: string }[] } {
  const brokers = parts.clusterBrokers ?? [];
  const rabbits = parts.rabbitNodes ?? [];
  const layout = parts.layout;
  const expand = (n: string): readonly string[] => (layout === 'hub-cluster' && n === BROKER_PROCESS ? brokers : layout === 'legacy-ha' && n === RABBITMQ ? rabbits : [n]);
  const names = requested === 'all' ? layoutComponents(parts) : [...new Set(requested.flatMap(expand))];
  const planned: PlannedComponent[] = [];
  const skipped: { component: string; reason: string }[] = [];
  for (const name of names) {
    if (parts.systems.includes(name)) {
      planned.push({ name, kind: 'system' });
    } else if (name === RABBITMQ && layout !== 'legacy-ha') {
      if (layout !== 'legacy') skipped.push({ component: name, reason: `the ${layout} layout uses no RabbitMQ` });
      else if (parts.rabbitmqUnavailable) skipped.push({ component: name, reason: parts.rabbitmqUnavailable });
      else planned.push({ name, kind: 'rabbitmq' });
    } else if (layout === 'legacy-ha' && rabbits.includes(name)) {
      planned.push({ name, kind: 'rabbitmq' });
    } else if (name === BROKER_PROCESS && layout !== 'hub-cluster') {
      if (layout !== 'hub') skipped.push({ component: name, reason: `the ${layout} layout has no broker` });
      else if (parts.brokerUnavailable) skipped.push({ component: name, reason: parts.brokerUnavailable });
      else planned.push({ name, kind: 'broker' });
    } else if (layout === 'hub-cluster' && brokers.includes(name)) {
      planned.push({ name, kind: 'broker' });
    } else if (name === QUORUM_LEADER) {
      if (layout === 'hub-cluster' || layout === 'legacy-ha') planned.push({ name, kind: 'quorum-leader' });
      else skipped.push({ component: name, reason: `the ${layout} layout has no quorum (hub-cluster and legacy-ha have)` });
    } else if (name === LAKE_SINK) {
      if (layout === 'legacy') skipped.push({ component: name, reason: 'the legacy layout has no lake sink (every system exports to the lake itself)' });
      else if (layout === 'legacy-ha') skipped.push({ component: name, reason: 'legacy-ha has no lake sink: every system exports to the lake itself' });
      else planned.push({ name, kind: 'lake-sink' });
    } else {
      skipped.push({ component: name, reason: `not a component of the ${layout} layout of this run (components: ${layoutComponents(parts).join(', ')})` });
    }
  }
  return { planned, skipped };
}
