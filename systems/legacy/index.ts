/** The legacy layout's transports: REST (sync and poll), AMQP and batch files, generic over kind and format. */
export * from './common.ts';
export * from './feed-log.ts';
export * from './rest-server.ts';
export * from './rest-client.ts';
export * from './rest-poller.ts';
export * from './amqp-connection.ts';
export * from './amqp.ts';
export * from './batch.ts';
export * from './counters.ts';
export * from './flow-wiring.ts';
