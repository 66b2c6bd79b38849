/**
 * The durable list of a node's topics (dataDir/meta/topics.json) read without trusting it: topic names, each
 * entry checked on its own, and the partition directories on disk (`<topic>-<n>`) that a damaged list is rebuilt
 * from. TopicStore (topics.ts) decides what to do with what this finds.
 */
import { randomUUID } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { ErrorCode, KafkaError } from './protocol/errors.ts';
import { errorText } from './log/quarantine.ts';

export const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function validateTopicName(name: string): void {
  if (!TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `invalid topic name "${name}": 1-249 characters of [a-zA-Z0-9._-], not "." or ".."`);
  }
}

export interface TopicRecord {
  name: string;
  id: string;
  partitions: number;
  configs: Record<string, string>;
}

export function describeRebuilt(rebuilt: TopicRecord[]): string {
  if (rebuilt.length === 0) return '';
  const shown = rebuilt.slice(0, 20).map((r) => `${r.name} (${r.partitions} partition${r.partitions === 1 ? '' : 's'})`);
  return `: ${shown.join(', ')}${rebuilt.length > 20 ? ', ...' : ''}; their configs are the broker defaults and their topic ids are new`;
}

/** A partition directory: `<topic>-<partition>`. */
const PARTITION_DIR = /^(.+)-(0|[1-9]\d{0,8})$/;

/** What TopicStore.open read from topics.json. */
export interface TopicList {
  records: TopicRecord[];
  /** What was wrong with the file; empty when it was whole (or absent). */
  problems: string[];
  missing: boolean;
}

export async function partitionDirsOnDisk(dataDir: string): Promise<Map<string, Set<number>>> {
  const found = new Map<string, Set<number>>();
  for (const entry of await readdir(dataDir, { withFileTypes: true })) {
    const m = PARTITION_DIR.exec(entry.name);
    if (!m || !entry.isDirectory() || !TOPIC_NAME.test(m[1]) || m[1] === '.' || m[1] === '..') continue;
    let set = found.get(m[1]);
    if (!set) found.set(m[1], (set = new Set()));
    set.add(Number(m[2]));
  }
  return found;
}

/**
 * Reads and checks topics.json entry by entry: what is valid is kept, every problem is named. A topic may have
 * more partitions than maxPartitionsPerTopic when its directories on disk say so; checkConfig throws for a config
 * the broker refuses.
 */
export async function readTopicList(metaFile: string, onDisk: ReadonlyMap<string, ReadonlySet<number>>, maxPartitionsPerTopic: number,
checkConfig: (configs: Record<string, string>) => void): Promise<TopicList> {
  let text: string;
  try {
    text = await readFile(metaFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], problems: [], missing: true };
    return { records: [], problems: [`cannot read it: ${errorText(err)}`], missing: false };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { records: [], problems: [`not valid JSON: ${errorText(err)}`], missing: false };
  }
  if (!Array.isArray(parsed)) return { records: [], problems: ['not a list of topics'], missing: false };
  const records: TopicRecord[] = [];
  const problems: string[] = [];
  for (const [i, item] of parsed.entries()) {
    const r = item as Partial<TopicRecord> | null;
    const name = typeof r === 'object' && r !== null && typeof r.name === 'string' ? r.name : null;
    if (name === null || !TOPIC_NAME.test(name) || name === '.' || name === '..') {
      problems.push(`entry ${i} has no valid topic name`);
      continue;
    }
    if (records.some((x) => x.name === name)) {
      problems.push(`topic ${name} is listed twice (the first entry is kept)`);
      continue;
    }
    const dirs = onDisk.get(name);
    const maxPartitions = Math.max(maxPartitionsPerTopic, dirs ? Math.max(...dirs) + 1 : 0);
    const partitions = r!.partitions;
    if (typeof partitions !== 'number' || !Number.isInteger(partitions) || partitions < 1 || partitions > maxPartitions) {
      problems.push(`topic ${name} has an invalid partition count ${JSON.stringify(partitions)}`);
      continue; // rebuilt from its directories, if it has any
    }
    let id = r!.id;
    if (typeof id !== 'string' || id === '') {
      problems.push(`topic ${name} has no topic id (given a new one)`);
      id = randomUUID();
    }
    records.push({ name, id, partitions, configs: validConfigs(name, r!.configs, problems, checkConfig) });
  }
  return { records, problems, missing: false };
}

/** The configs that are valid on their own; each invalid one is dropped (the broker default applies) and named. */
function validConfigs(topic: string, configs: unknown, problems: string[], checkConfig: (configs: Record<string, string>) => void): Record<string, string> {
  if (configs === undefined) return {};
  if (typeof configs !== 'object' || configs === null || Array.isArray(configs)) {
    problems.push(`topic ${topic} has invalid configs (broker defaults apply)`);
    return {};
  }
  const valid: Record<string, string> = {};
  for (const [key, value] of Object.entries(configs as Record<string, unknown>)) {
    try {
      if (typeof value !== 'string') throw new Error(`${key} is not a string`);
      checkConfig({ [key]: value });
      valid[key] = value;
    } catch (err) {
      problems.push(`topic ${topic}: config ${key} dropped (${errorText(err)})`);
    }
  }
  return valid;
}
