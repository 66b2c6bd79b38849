import type { RestApp } from '../legacy/rest-server.ts';
import type { SystemCore } from './core.ts';
import type { SystemRuntimeOptions } from './options.ts';

/** How one system's records travel: the legacy transports or the hub. The domain never sees which. */
export interface Wiring {
  /**
   * Carries a record this system produced onwards. Resolves when the layout considers it handed
   * over: the hub's acknowledgement, or in the legacy layout once the synchronous calls are answered,
   * AMQP publishes confirmed, and batch and feed entries queued.
   */
  emit(kind: string, record: object): Promise<void>;
  counters(): object;
  close(): Promise<void>;
}

/** Starts a layout's wiring; routes it serves go on `app` before the system starts listening. */
export type StartWiring = (opts: SystemRuntimeOptions, core: SystemCore, app: RestApp) => Promise<Wiring>;
