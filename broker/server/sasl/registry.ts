import type { SaslMechanism } from './mechanism.ts';

/**
 * The SASL mechanisms this broker offers, by name. Built-in client mechanisms (PLAIN, SCRAM-SHA-*)
 * are registered at start when `saslEnabledMechanisms` names them (Kafka's sasl.enabled.mechanisms);
 * anything else registered (the cluster's inter-node mechanism) is always offered. Where it may be
 * used is the mechanism's own `anyListener` flag: without it only on SASL_PLAINTEXT/SASL_SSL listeners.
 */
export class SaslMechanismRegistry {
  private readonly mechanisms = new Map<string, SaslMechanism>();

  /** Adds (or replaces) a mechanism; it is offered from the next SaslHandshake on. */
  register(mechanism: SaslMechanism): void {
    this.mechanisms.set(mechanism.name, mechanism);
  }

  /** The mechanism a client may use on a listener of this kind, or undefined. */
  find(name: string, saslListener: boolean): SaslMechanism | undefined {
    const m = this.mechanisms.get(name);
    return m && (saslListener || m.anyListener === true) ? m : undefined;
  }

  /** The names offered on a listener of this kind (SaslHandshake's `mechanisms`). */
  names(saslListener: boolean): string[] {
    return [...this.mechanisms.values()].filter((m) => saslListener || m.anyListener === true).map((m) => m.name);
  }
}
