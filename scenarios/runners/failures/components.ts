/** Which components the failures runner kills in one layout, and which it skips and why. */
import type { Layout } from '../../../report/model.ts';
import type { FailuresSettings } from '../../settings.ts';
import { LAKE_SINK } from '../../../systems/runtime/landscape.ts';
import { BROKER_PROCESS } from '../context.ts';

export type ComponentKind = 'system' | 'rabbitmq' | 'broker' | 'lake-sink';

export const RABBITMQ = 'rabbitmq';

export interface PlannedComponent {
  name: string;
  kind: ComponentKind;
}

export interface LayoutParts {
  layout: Layout;
  /** The landscape's systems, in topology order. */
  systems: readonly string[];
  /** legacy: why RabbitMQ cannot be killed in this run (null: it can). */
  rabbitmqUnavailable: string | null;
  /** hub: why the broker cannot be killed in this run (null: it can). */
  brokerUnavailable: string | null;
}

/**
 * 'all' = every system of the landscape, then RabbitMQ (legacy) or the broker (hub), then the lake
 * sink (hub). Named components are taken in the order given; a name that is not a component of
 * this layout, or one that cannot be killed in this run, is skipped with the reason.
 */
export function planComponents(requested: FailuresSettings['components'], parts: LayoutParts): { planned: PlannedComponent[]; skipped: { component: string; reason: string }[] } {
  const names = requested === 'all'
    ? [...parts.systems, parts.layout === 'legacy' ? RABBITMQ : BROKER_PROCESS, ...(parts.layout === 'hub' ? [LAKE_SINK] : [])]
    : [...new Set(requested)];
  const planned: PlannedComponent[] = [];
  const skipped: { component: string; reason: string }[] = [];
  for (const name of names) {
    if (parts.systems.includes(name)) {
      planned.push({ name, kind: 'system' });
    } else if (name === RABBITMQ) {
      if (parts.layout !== 'legacy') skipped.push({ component: name, reason: 'the hub layout uses no RabbitMQ' });
      else if (parts.rabbitmqUnavailable) skipped.push({ component: name, reason: parts.rabbitmqUnavailable });
      else planned.push({ name, kind: 'rabbitmq' });
    } else if (name === BROKER_PROCESS) {
      if (parts.layout !== 'hub') skipped.push({ component: name, reason: 'the legacy layout has no broker' });
      else if (parts.brokerUnavailable) skipped.push({ component: name, reason: parts.brokerUnavailable });
      else planned.push({ name, kind: 'broker' });
    } else if (name === LAKE_SINK) {
      if (parts.layout !== 'hub') skipped.push({ component: name, reason: 'the legacy layout has no lake sink (every system exports to the lake itself)' });
      else planned.push({ name, kind: 'lake-sink' });
    } else {
      const known = [...parts.systems, parts.layout === 'legacy' ? RABBITMQ : BROKER_PROCESS, ...(parts.layout === 'hub' ? [LAKE_SINK] : [])];
      skipped.push({ component: name, reason: `not a component of the ${parts.layout} layout of this run (components: ${known.join(', ')})` });
    }
  }
  return { planned, skipped };
}
