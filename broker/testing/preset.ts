// `startBroker({ preset: 'test' })` and `untangle broker --preset test`: the broker as the Kafka of a test suite.
// Production defaults cost a test suite seconds per test (a new group waits 3 s for more members; a topic must be
// created before it is used; a data directory must be chosen and cleaned up); the test preset changes exactly those,
// and every option given explicitly still wins over it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrokerConfig } from '../config.ts';

export type BrokerPreset = 'test';
export const BROKER_PRESETS: readonly BrokerPreset[] = ['test'];

/** What the test preset sets, under the options given explicitly. */
export const TEST_PRESET: Partial<BrokerConfig> = {
  // Any free port: parallel test files never collide.
  port: 0,
  // A group forms as soon as its first member joins (Kafka's own test harness sets this to 0 too).
  groupInitialRebalanceDelayMs: 0,
  // Producing to or fetching from a topic creates it, as Kafka's auto.create.topics.enable (on by default in Kafka).
  autoCreateTopics: true,
  // Clients may choose short session timeouts (a dead member leaves its group in a fraction of a second).
  groupMinSessionTimeoutMs: 100,
  // No background re-reading of segments: test data lives for seconds.
  scrubIntervalMs: 0,
};

export function parsePreset(value: string): BrokerPreset {
  if (!(BROKER_PRESETS as readonly string[]).includes(value)) throw new Error(`unknown preset "${value}": the presets are ${BROKER_PRESETS.join(', ')}`);
  return value as BrokerPreset;
}

/**
 * The data directory to use: the one given, or (test preset) a new temporary one that `remove` deletes when the broker
 * closes. Without the preset a data directory is required.
 */
export async function presetDataDir(dataDir: string | undefined, preset: BrokerPreset | undefined): Promise<{ dataDir: string; remove: (() => Promise<void>) | null }> {
  if (dataDir !== undefined && dataDir !== '') return { dataDir, remove: null };
  if (preset !== 'test') throw new Error('startBroker needs a dataDir (or preset: \'test\' for a temporary one removed on close)');
  const dir = await mkdtemp(join(tmpdir(), 'untangle-broker-'));
  return { dataDir: dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
