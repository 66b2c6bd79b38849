// kafkajs client factory for tests: quiet logs, short retries, fast group heartbeats.
import { Kafka, logLevel, type Consumer, type ConsumerConfig } from 'kafkajs';

export function makeKafka(address: string, clientId = 'untangle-test', retries = 5): Kafka {
  return new Kafka({
    clientId,
    brokers: [address],
    logLevel: process.env.KAFKAJS_LOG ? logLevel.INFO : logLevel.NOTHING,
    connectionTimeout: 5000,
    requestTimeout: 30_000,
    retry: { retries, initialRetryTime: 100, maxRetryTime: 2000 },
  });
}

export function makeConsumer(kafka: Kafka, groupId: string, extra: Partial<ConsumerConfig> = {}): Consumer {
  return kafka.consumer({
    groupId,
    sessionTimeout: 10_000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
    ...extra,
  });
}

/** Partitions each consumer currently owns, from its latest GROUP_JOIN event. */
export function trackAssignments(consumers: Consumer[], topic: string): Map<number, number[]> {
  const owned = new Map<number, number[]>();
  consumers.forEach((c, i) => {
    owned.set(i, []);
    c.on(c.events.GROUP_JOIN, (e) => { owned.set(i, [...(e.payload.memberAssignment[topic] ?? [])]); });
  });
  return owned;
}

/** True when every consumer owns at least one partition and together they own each of 0..n-1 exactly once. */
export function assignmentIsComplete(owned: Map<number, number[]>, partitions: number): boolean {
  const all = [...owned.values()].flat().sort((a, b) => a - b);
  return [...owned.values()].every((p) => p.length > 0)
    && all.length === partitions && all.every((p, i) => p === i);
}
