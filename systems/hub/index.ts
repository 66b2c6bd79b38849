/** The hub wiring: every system talks only to the Kafka-style hub; one sink fills the lake. */
import type { HubLayout } from '../topology/index.ts';
import type { RecordKinds } from '../model/kinds.ts';
import { dlqTopicName, type TopicSpec } from './headers.ts';
import type { HubValidator } from './subscriber.ts';
import { measureCpu } from '../process/cpu-meter.ts';

export * from './headers.ts';
export * from './kafka-client.ts';
export * from './publisher.ts';
export * from './subscriber.ts';
export * from './lake-sink.ts';
export * from './lake-offsets.ts';
export { BoundedDedupe, dedupeIdFor } from './dedupe.ts';

export interface SystemHubWiring {
  systemId: string;
  groupId: string;
  topicPrefix: string;
  /** Topics the system publishes to (its own data kinds). */
  produces: TopicSpec[];
  /** Topics it subscribes to; empty: start no subscriber. */
  subscribes: TopicSpec[];
  dlqTopic: string;
}

/** What one system's hub wiring needs from the layout. */
export function systemHubWiring(layout: HubLayout, systemId: string): SystemHubWiring {
  const wiring = layout.systems.find((s) => s.systemId === systemId);
  if (!wiring) throw new Error(`system ${systemId} is not in the hub layout`);
  const byName = new Map(layout.topics.map((t) => [t.name, t]));
  const specs = (names: readonly string[]): TopicSpec[] =>
    names.map((n) => {
      const t = byName.get(n);
      if (!t) throw new Error(`topic ${n} is not in the hub layout`);
      return { name: t.name, dataKind: t.dataKind, key: t.key };
    });
  return {
    systemId,
    groupId: wiring.groupId,
    topicPrefix: layout.topicPrefix,
    produces: specs(wiring.produces),
    subscribes: specs(wiring.subscribes),
    dlqTopic: dlqTopicName(layout.topicPrefix, systemId),
  };
}

/** Every hub topic the runner should create before systems start: data topics and each system's DLQ. */
export function allHubTopics(layout: HubLayout): string[] {
  return [...layout.topics.map((t) => t.name), ...layout.systems.map((s) => dlqTopicName(layout.topicPrefix, s.systemId))];
}

/**
 * A subscriber (or lake sink) validator backed by the landscape's data kinds: a record of an
 * undeclared kind or one its kind refuses is dead-lettered (or quarantined) with the reason. Its
 * CPU counts as `rules`, as validation does in the system core and the legacy transports.
 */
export function hubValidator(kinds: RecordKinds): HubValidator {
  return (kind, value) => {
    const v = measureCpu('rules', () => kinds.validate(kind, value));
    return v.ok ? { ok: true, record: v.record } : { ok: false, reason: v.reason };
  };
}
