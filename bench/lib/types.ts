// Shared result shapes for the broker benchmark.
export interface RunResult {
  system: 'untangle' | 'rabbitmq';
  client: 'kafkajs' | 'kcat' | 'amqplib';
  messageBytes: number;
  messages: number;
  produceMsgsPerSec: number;
  consumeMsgsPerSec: number;
  produceMBPerSec: number;
  e2eP50Ms: number | null;
  e2eP99Ms: number | null;
  produceSeconds: number;
  consumeSeconds: number;
  notes: string[];
}

export interface ThroughputResult { messages: number; produceSeconds: number; consumeSeconds: number; notes: string[] }
export interface LatencyResult { samples: number; p50: number; p99: number; max: number }

export interface BenchSettings {
  quick: boolean;
  /** Minimum seconds of produce work per run. */
  minSeconds: number;
  /** Messages per second for the end-to-end latency phase, and its length in seconds. */
  e2eRate: number;
  e2eSeconds: number;
}

export const MB = 1_000_000;
