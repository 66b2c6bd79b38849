/**
 * The ingress events of a run: the landscape's ingress generator (systems/model/) for the run's
 * seed, handed out one at a time, so every layout gets the same events in the same order and
 * nobody has to guess a count up front. Event n is the same in every process and run of a seed.
 */
import { modelOf, type IngressEvent } from '../../systems/model/landscape-model.ts';
import type { Topology } from '../../systems/topology/index.ts';
import { PATHS } from '../../systems/runtime/options.ts';

export type { IngressEvent } from '../../systems/model/landscape-model.ts';

export class IngressFeed {
  private taken = 0;

  constructor(private readonly topology: Topology, readonly seed: number) {}

  next(): IngressEvent {
    return modelOf(this.topology).ingressEvent(this.seed, ++this.taken);
  }

  take(n: number): IngressEvent[] {
    return Array.from({ length: n }, () => this.next());
  }

  get count(): number {
    return this.taken;
  }
}

/** The first `count` ingress events of a seed. */
export function ingressEvents(topology: Topology, seed: number, count: number): IngressEvent[] {
  return new IngressFeed(topology, seed).take(count);
}

/** Where an event is posted on the ingress system. */
export function ingressPath(event: Pick<IngressEvent, 'kind'>): string {
  return PATHS.ingress(event.kind);
}

/** The text a 2xx answer to an event must contain: its key value (the ingress echoes the record). */
export function echoOf(topology: Topology, event: IngressEvent): string {
  return JSON.stringify(modelOf(topology).kinds.get(event.kind).keyOf(event.record));
}
