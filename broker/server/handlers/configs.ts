import {
  defaultDescribeConfigsResponseConfigs,
  defaultDescribeConfigsResponseResults,
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
  type DescribeConfigsResponseResults,
  type AlterConfigsRequest,
  type AlterConfigsResponse,
} from '../../protocol/generated/index.ts';
import { ErrorCode, KafkaError } from '../../protocol/errors.ts';
import type { LogConfig } from '../../log/partition-log.ts';
import type { RequestContext } from '../context.ts';
import { AclOperation, clusterAllowed, topicAllowed } from '../../security/acl-checks.ts';
import { describeTopicConfigs } from '../../topic-config.ts';
import { alterBrokerConfigs, describeBrokerConfigs } from './broker-configs.ts';

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
/** Kafka's ConfigSource values. */
const SOURCE_TOPIC = 1;
const SOURCE_DEFAULT = 5;

/** Kafka: DESCRIBE_CONFIGS / ALTER_CONFIGS on the topic, or on the cluster for broker configs. Throws the matching authorisation error. */
function checkConfigAccess(ctx: RequestContext, resourceType: number, resourceName: string, operation: number): void {
  if (resourceType === RESOURCE_TOPIC && !topicAllowed(ctx, operation, resourceName)) {
    throw new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `${ctx.conn.principal} may not access the configs of topic "${resourceName}"`);
  }
  if (resourceType === RESOURCE_BROKER && !clusterAllowed(ctx, operation)) {
    throw new KafkaError(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, `${ctx.conn.principal} may not access broker configs`);
  }
}

type ConfigEntry = { name: string; value: string; source: number; readOnly: boolean };

/** Kafka 4's topic configs with their effective values (topic-config.ts holds the list, defaults and which are ignored). */
function topicConfigEntries(overrides: Record<string, string>, log: LogConfig): ConfigEntry[] {
  return describeTopicConfigs(overrides, log).map((e) => ({ name: e.name, value: e.value, source: e.overridden ? SOURCE_TOPIC : SOURCE_DEFAULT, readOnly: false }));
}

export function handleDescribeConfigs(req: DescribeConfigsRequest, ctx: RequestContext): DescribeConfigsResponse {
  const results = req.resources.map((resource) => {
    const base: DescribeConfigsResponseResults = { ...defaultDescribeConfigsResponseResults(), resourceType: resource.resourceType, resourceName: resource.resourceName };
    try {
      checkConfigAccess(ctx, resource.resourceType, resource.resourceName, AclOperation.DESCRIBE_CONFIGS);
      let entries: ConfigEntry[];
      if (resource.resourceType === RESOURCE_TOPIC) {
        const topic = ctx.topics.get(resource.resourceName);
        if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${resource.resourceName}" does not exist`);
        entries = topicConfigEntries(topic.configs, ctx.topics.logConfigFor(topic.configs));
      } else if (resource.resourceType === RESOURCE_BROKER) {
        // Sources, synonyms, sensitivity, types and documentation: broker-configs.ts.
        base.configs = describeBrokerConfigs(ctx, resource.resourceName, resource.configurationKeys, req.includeSynonyms, req.includeDocumentation);
        return base;
      } else {
        throw new KafkaError(ErrorCode.INVALID_REQUEST, `resource type ${resource.resourceType} is not supported (2 = topic, 4 = broker)`);
      }
      const wanted = resource.configurationKeys;
      base.configs = entries
        .filter((e) => wanted === null || wanted.includes(e.name))
        .map((e) => ({
          ...defaultDescribeConfigsResponseConfigs(),
          name: e.name,
          value: e.value,
          readOnly: e.readOnly,
          isDefault: e.source === SOURCE_DEFAULT,
          configSource: e.source,
        }));
    } catch (err) {
      if (!(err instanceof KafkaError)) throw err;
      base.errorCode = err.code;
      base.errorMessage = err.message;
    }
    return base;
  });
  return { throttleTimeMs: 0, results };
}

/** AlterConfigs (non-incremental, as Kafka's): the given set replaces the topic's overrides. */
export async function handleAlterConfigs(req: AlterConfigsRequest, ctx: RequestContext): Promise<AlterConfigsResponse> {
  const responses = [];
  for (const resource of req.resources) {
    const out = { resourceType: resource.resourceType, resourceName: resource.resourceName, errorCode: ErrorCode.NONE as number, errorMessage: null as string | null };
    try {
      checkConfigAccess(ctx, resource.resourceType, resource.resourceName, AclOperation.ALTER_CONFIGS);
      if (resource.resourceType === RESOURCE_BROKER) {
        alterBrokerConfigs(ctx, resource.resourceName, resource.configs, req.validateOnly);
        responses.push(out);
        continue;
      }
      if (resource.resourceType !== RESOURCE_TOPIC) throw new KafkaError(ErrorCode.INVALID_REQUEST, `resource type ${resource.resourceType} cannot be altered (2 = topic, 4 = broker)`);
      if (!ctx.topics.get(resource.resourceName)) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${resource.resourceName}" does not exist`);
      const configs = Object.fromEntries(resource.configs.map((c) => [c.name, c.value ?? '']));
      ctx.topics.logConfigFor(configs);
      if (!req.validateOnly) {
        if (ctx.cluster) await ctx.cluster.alterTopicConfig(resource.resourceName, alterAllConfigs(ctx.topics.get(resource.resourceName)?.configs ?? {}, configs));
        else await ctx.topics.alterConfigs(resource.resourceName, configs);
      }
    } catch (err) {
      if (!(err instanceof KafkaError)) throw err;
      out.errorCode = err.code;
      out.errorMessage = err.message;
    }
    responses.push(out);
  }
  return { throttleTimeMs: 0, responses };
}

/** AlterConfigs replaces a topic's whole config set: keys it leaves out are removed (null). */
function alterAllConfigs(current: Record<string, string>, next: Record<string, string>): Record<string, string | null> {
  const out: Record<string, string | null> = { ...next };
  for (const key of Object.keys(current)) if (!Object.hasOwn(next, key)) out[key] = null;
  return out;
}
