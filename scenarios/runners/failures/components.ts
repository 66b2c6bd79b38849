/** Which components the failures runner kills in one layout, and which it skips and why. */
import type { FailuresLayoutName } from '../../../report/model.ts';
import type { FailuresSettings } from '../../settings.ts';
import { LAKE_SINK } from '../../../systems/runtime/landscape.ts';
import { BROKER_PROCESS } from '../context.ts';

export type ComponentKind = 'system' | 'rabbitmq' | 'broker' | 'quorum-leader' | 'lake-sink';

export const RABBITMQ = 'rabbitmq';
/** hub-cluster: the node leading the controller quorum when its turn comes (looked up then). */
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
}

/** The components of a layout in the order 'all' kills them. */
function layoutComponents(parts: LayoutParts): string[] {
  if (parts.layout === 'legacy') return [...parts.systems, RABBITMQ];
  if (parts.layout === 'hub') return [...parts.systems, BROKER_PROCESS, LAKE_SINK];
  // The systems and the lake sink run the same code against one broker or three, and the hub
  // layout already kills each of them; hub-cluster spends its time on what it changes: the
  // brokers and the quorum.
  return [...(parts.clusterBrokers ?? []), QUORUM_LEADER];
}

/**
 * 'all' = every system of the landscape, then RabbitMQ (legacy) or the broker (hub), then the lake
 * sink; in hub-cluster, each broker of the cluster, then the quorum leader (the lake sink may be named). Named
 * components are taken in the order given ('broker' in hub-cluster: each of its brokers); a name
 * that is not a component of this layout, or one that cannot be killed in this run, is skipped with
 * the reason.
 */
export function planComponents(requested: FailuresSettings['components'], parts: LayoutParts): { planned: PlannedComponent[]; skipped: { component: string; reason: string }[] } {
  const brokers = parts.clusterBrokers ?? [];
  const isCluster = parts.layout === 'hub-cluster';
  const names = requested === 'all'
    ? layoutComponents(parts)
    : [...new Set(requested.flatMap((n) => (isCluster && n === BROKER_PROCESS ? brokers : [n])))];
  const planned: PlannedComponent[] = [];
  const skipped: { component: string; reason: string }[] = [];
  for (const name of names) {
    if (parts.systems.includes(name)) {
      planned.push({ name, kind: 'system' });
    } else if (name === RABBITMQ) {
      if (parts.layout !== 'legacy') skipped.push({ component: name, reason: `the ${parts.layout} layout uses no RabbitMQ` });
      else if (parts.rabbitmqUnavailable) skipped.push({ component: name, reason: parts.rabbitmqUnavailable });
      else planned.push({ name, kind: 'rabbitmq' });
    } else if (name === BROKER_PROCESS && !isCluster) {
      if (parts.layout !== 'hub') skipped.push({ component: name, reason: 'the legacy layout has no broker' });
      else if (parts.brokerUnavailable) skipped.push({ component: name, reason: parts.brokerUnavailable });
      else planned.push({ name, kind: 'broker' });
    } else if (isCluster && brokers.includes(name)) {
      planned.push({ name, kind: 'broker' });
    } else if (name === QUORUM_LEADER) {
      if (!isCluster) skipped.push({ component: name, reason: `the ${parts.layout} layout has no controller quorum (hub-cluster has)` });
      else planned.push({ name, kind: 'quorum-leader' });
    } else if (name === LAKE_SINK) {
      if (parts.layout === 'legacy') skipped.push({ component: name, reason: 'the legacy layout has no lake sink (every system exports to the lake itself)' });
      else planned.push({ name, kind: 'lake-sink' });
    } else {
      skipped.push({ component: name, reason: `not a component of the ${parts.layout} layout of this run (components: ${layoutComponents(parts).join(', ')})` });
    }
  }
  return { planned, skipped };
}
