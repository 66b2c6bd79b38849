import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Partition, TopicStore } from '../topics.ts';

/** Where committed offsets come from when computing consumer lag. */
export interface CommittedOffsetSource {
  committedOffsetsForLag(): Iterable<{ groupId: string; topic: string; partition: number; offset: number }>;
}

/**
 * The broker's Prometheus metrics. One registry per broker instance (not prom-client's global
 * one), so several brokers in one process (tests, the embedded hub) never mix their figures.
 */
export class BrokerMetrics {
  readonly registry = new Registry();
  readonly bytesIn: Counter<'topic'>;
  readonly bytesOut: Counter<'topic'>;
  readonly messagesIn: Counter<'topic'>;
  readonly messagesOut: Counter<'topic'>;
  readonly requests: Counter<'api'>;
  readonly connections: Gauge;
  private server: Server | null = null;

  constructor(topics: TopicStore, groups: CommittedOffsetSource, nodeId: number) {
    this.registry.setDefaultLabels({ node: String(nodeId) });
    collectDefaultMetrics({ register: this.registry, prefix: 'untangle_broker_process_' });
    this.bytesIn = new Counter({ name: 'untangle_broker_bytes_in_total', help: 'Record batch bytes appended, per topic', labelNames: ['topic'], registers: [this.registry] });
    this.bytesOut = new Counter({ name: 'untangle_broker_bytes_out_total', help: 'Record batch bytes sent to consumers, per topic', labelNames: ['topic'], registers: [this.registry] });
    this.messagesIn = new Counter({ name: 'untangle_broker_messages_in_total', help: 'Records appended, per topic', labelNames: ['topic'], registers: [this.registry] });
    this.messagesOut = new Counter({ name: 'untangle_broker_messages_out_total', help: 'Records sent to consumers, per topic', labelNames: ['topic'], registers: [this.registry] });
    this.requests = new Counter({ name: 'untangle_broker_requests_total', help: 'Requests handled, per API', labelNames: ['api'], registers: [this.registry] });
    this.connections = new Gauge({ name: 'untangle_broker_connections', help: 'Open client connections', registers: [this.registry] });
    const perPartition = (name: string, help: string, value: (p: Partition) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['topic', 'partition'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const topic of topics.all()) {
            for (const p of topic.partitions) this.set({ topic: topic.name, partition: String(p.index) }, value(p));
          }
        },
      });
    };
    perPartition('untangle_broker_log_end_offset', 'Log end offset per partition', (p) => p.log.logEndOffset);
    perPartition('untangle_broker_log_start_offset', 'Log start offset per partition', (p) => p.log.logStartOffset);
    perPartition('untangle_broker_high_watermark', 'High watermark per partition', (p) => p.highWatermark);
    new Gauge({
      name: 'untangle_broker_consumer_lag',
      help: 'High watermark minus committed offset, per consumer group and partition',
      labelNames: ['group', 'topic', 'partition'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const c of groups.committedOffsetsForLag()) {
          const partition = topics.partition(c.topic, c.partition);
          if (!partition) continue;
          this.set({ group: c.groupId, topic: c.topic, partition: String(c.partition) }, Math.max(0, partition.highWatermark - c.offset));
        }
      },
    });
  }

  /** Serves GET /metrics on host:port (0 = any free port); resolves with the URL. */
  async listen(host: string, port: number): Promise<string> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    return `http://${host}:${address.port}/metrics`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
