/** The hub layout's wiring of one system instance: a publisher per produced kind and a subscriber in the system's group. */
import { createKafka, systemClientId } from '../hub/kafka-client.ts';
import { HubPublisher } from '../hub/publisher.ts';
import { HubSubscriber } from '../hub/subscriber.ts';
import { hubValidator, systemHubWiring } from '../hub/index.ts';
import { hubLayout } from '../topology/index.ts';
import type { SystemCore } from './core.ts';
import { instanceName, instanceStateDir, topicPrefixOf, type SystemRuntimeOptions } from './options.ts';
import type { Wiring } from './wiring.ts';

/**
 * The hub wiring of one system: everything it produces goes to the topic of that data kind (keyed,
 * so one order's records stay in order), everything it needs comes from its own consumer group.
 * One protocol, one format, whatever the system.
 */
export async function startHubWiring(opts: SystemRuntimeOptions, core: SystemCore): Promise<Wiring> {
  if (!opts.kafkaBrokers || opts.kafkaBrokers.length === 0) throw new Error(`system ${opts.systemId}: the hub layout needs Kafka brokers (--kafka-brokers)`);
  const layout = hubLayout(opts.topology, { topicPrefix: topicPrefixOf(opts.topology.name, opts.runId) });
  const mine = systemHubWiring(layout, opts.systemId);
  // The instance's state folder remembers its group member id: a restart after kill -9 removes the dead one (groupConsumer).
  const memberStateDir = instanceStateDir(opts.workDir, instanceName(core.spec, opts.instance));
  const kafka = createKafka({ brokers: opts.kafkaBrokers, clientId: systemClientId(opts.systemId), logger: opts.logger, memberStateDir });
  const publisher = new HubPublisher({ kafka, systemId: opts.systemId, topics: mine.produces, logger: opts.logger });
  await publisher.connect();

  const emit = async (kind: string, record: object): Promise<void> => {
    await publisher.publish(kind, record);
  };

  let subscriber: HubSubscriber | null = null;
  if (mine.subscribes.length > 0) {
    subscriber = new HubSubscriber({
      kafka,
      systemId: opts.systemId,
      groupId: mine.groupId,
      topics: mine.subscribes,
      topicPrefix: mine.topicPrefix,
      fromBeginning: opts.fromBeginning ?? false,
      validate: hubValidator(core.kinds),
      logger: opts.logger,
      handler: async (message) => {
        const result = await core.handle(message.kind, message.record);
        if (!result.ok) throw new Error(result.reason);
        for (const out of result.outputs) await emit(out.kind, out.record);
      },
    });
    await subscriber.start();
  }

  return {
    emit,
    counters: () => ({ publisher: publisher.counters(), subscriber: subscriber?.counters() ?? null }),
    async close() {
      await subscriber?.stop();
      await publisher.close();
    },
  };
}
