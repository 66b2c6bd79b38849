// DescribeConfigs and AlterConfigs on a BROKER resource (type 4), as Kafka answers them: the resource name is this
// broker's node id, or "" for the cluster-wide defaults. Describe lists the catalogue (broker-config-catalog.ts) with
// each value's source, synonyms and documentation on request, secrets as null; alter takes only the dynamic configs
// (dynamic-broker-config.ts), applies them live and stores them, and refuses the rest naming why. ACLs (DESCRIBE_CONFIGS,
// ALTER_CONFIGS on the cluster) are checked by the caller, configs.ts, as for topics.
import {
  defaultDescribeConfigsResponseConfigs,
  type DescribeConfigsResponseConfigs,
  type DescribeConfigsResponseSynonyms,
} from '../../protocol/generated/index.ts';
import { ErrorCode, KafkaError } from '../../protocol/errors.ts';
import type { RequestContext } from '../context.ts';
import { liveBrokerIds } from '../../cluster/metadata/index.ts';
import { BROKER_CONFIG_CATALOGUE, catalogueEntry, type BrokerConfigView, type CatalogueEntry } from '../../broker-config-catalog.ts';
import { DYNAMIC_BROKER_CONFIGS, type DynamicLevel } from '../../dynamic-broker-config.ts';

/** Kafka's ConfigSource values on the wire (1 is a topic's own config; librdkafka and kafkajs read them so). */
const Source = { DYNAMIC_BROKER: 2, DYNAMIC_DEFAULT_BROKER: 3, STATIC_BROKER: 4, DEFAULT: 5 } as const;

/** The level a broker resource names: this broker ("<node id>") or the cluster-wide defaults (""). */
function levelOf(ctx: RequestContext, resourceName: string): DynamicLevel {
  if (resourceName === '') return 'default';
  if (resourceName === String(ctx.config.nodeId)) return 'broker';
  throw new KafkaError(ErrorCode.INVALID_REQUEST, `broker "${resourceName}" is not this broker: send it to broker ${resourceName}, or name this one (${ctx.config.nodeId}) or "" for the cluster-wide defaults`);
}

function viewOf(ctx: RequestContext): BrokerConfigView {
  const state = ctx.cluster?.metadata() ?? null;
  return { config: ctx.config, dynamic: ctx.brokerConfigs, node: ctx.brokerConfigs.node, liveBrokers: state ? liveBrokerIds(state).length : 1 };
}

/** Where the value in effect comes from, and every source that sets one, highest precedence first (Kafka's synonyms). */
function sources(entry: CatalogueEntry, view: BrokerConfigView, level: DynamicLevel): DescribeConfigsResponseSynonyms[] {
  const out: DescribeConfigsResponseSynonyms[] = [];
  const name = entry.name;
  if (Object.hasOwn(DYNAMIC_BROKER_CONFIGS, name)) {
    const dyn = view.dynamic;
    const b = dyn.at('broker')[name];
    if (level === 'broker' && b !== undefined) out.push({ name, value: b, source: Source.DYNAMIC_BROKER });
    const dflt = dyn.at('default')[name];
    if (dflt !== undefined) out.push({ name, value: dflt, source: Source.DYNAMIC_DEFAULT_BROKER });
    const start = dyn.startValue(name) ?? null;
    if (level === 'broker' && start !== entry.default) out.push({ name, value: start, source: Source.STATIC_BROKER });
  } else if (!entry.sensitive) {
    const value = entry.value(view);
    if (value !== entry.default) out.push({ name, value, source: Source.STATIC_BROKER });
  } else {
    out.push({ name, value: null, source: Source.STATIC_BROKER });
  }
  if (entry.default !== null && !entry.sensitive) out.push({ name, value: entry.default, source: Source.DEFAULT });
  // Kafka's lower-precedence synonym of log.retention.ms.
  if (name === 'log.retention.ms') out.push({ name: 'log.retention.hours', value: '168', source: Source.DEFAULT });
  return out;
}

/** DescribeConfigs for a broker resource. For "" only the cluster-wide defaults that are set are listed, as Kafka. */
export function describeBrokerConfigs(
  ctx: RequestContext,
  resourceName: string,
  keys: string[] | null,
  includeSynonyms: boolean,
  includeDocumentation: boolean,
): DescribeConfigsResponseConfigs[] {
  const level = levelOf(ctx, resourceName);
  const view = viewOf(ctx);
  const out: DescribeConfigsResponseConfigs[] = [];
  for (const entry of BROKER_CONFIG_CATALOGUE) {
    if (keys !== null && !keys.includes(entry.name)) continue;
    if (entry.when && !entry.when(view)) continue;
    const synonyms = sources(entry, view, level);
    const top = synonyms[0] ?? { name: entry.name, value: entry.default, source: Source.DEFAULT };
    if (level === 'default' && top.source !== Source.DYNAMIC_DEFAULT_BROKER) continue;
    const dynamic = Object.hasOwn(DYNAMIC_BROKER_CONFIGS, entry.name);
    out.push({
      ...defaultDescribeConfigsResponseConfigs(),
      name: entry.name,
      value: entry.sensitive ? null : level === 'default' ? top.value : entry.value(view),
      readOnly: !dynamic,
      isDefault: top.source === Source.DEFAULT,
      configSource: top.source,
      isSensitive: entry.sensitive === true,
      synonyms: includeSynonyms ? synonyms : [],
      configType: entry.type,
      documentation: includeDocumentation ? entry.doc : null,
    });
  }
  return out;
}

/**
 * AlterConfigs for a broker resource: the given set replaces what is set dynamically at its level (Kafka's
 * non-incremental semantics: a dynamic config left out goes back to the level below). Only dynamic configs are taken.
 */
export function alterBrokerConfigs(ctx: RequestContext, resourceName: string, configs: { name: string; value: string | null }[], validateOnly: boolean): void {
  const level = levelOf(ctx, resourceName);
  const next: Record<string, string> = {};
  for (const { name, value } of configs) {
    if (!Object.hasOwn(DYNAMIC_BROKER_CONFIGS, name)) throw refusal(name);
    if (value !== null) next[name] = value;
  }
  ctx.brokerConfigs.validate(level, next);
  if (validateOnly) return;
  ctx.brokerConfigs.replace(level, next);
  const set = Object.entries(next).map(([k, v]) => `${k}=${v}`).join(', ') || 'none';
  ctx.config.logger(`${ctx.conn.principal} set the dynamic broker configs ${level === 'default' ? 'cluster-wide defaults' : `of broker ${ctx.config.nodeId}`}: ${set}`);
}

/** Why a config cannot be altered: read-only (set at start), or not a broker config this broker has. */
function refusal(name: string): KafkaError {
  const entry = catalogueEntry(name);
  if (name === 'log.retention.hours') return new KafkaError(ErrorCode.INVALID_REQUEST, 'log.retention.hours cannot be altered: this broker keeps retention in ms; alter log.retention.ms');
  if (entry) {
    return new KafkaError(
      ErrorCode.INVALID_REQUEST,
      `${name} is read-only: it is set when the broker starts (${entry.doc}); the configs that can be altered at runtime are ${Object.keys(DYNAMIC_BROKER_CONFIGS).join(', ')}`,
    );
  }
  return new KafkaError(ErrorCode.INVALID_CONFIG, `unknown broker config "${name}": this broker has no such setting`);
}
