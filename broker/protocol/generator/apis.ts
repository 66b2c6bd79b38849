// What the generator emits. Extend SELECTED_APIS to add an API: every valid version of its
// request and response is generated into generated/<module>.ts and registered in generated/index.ts.

export interface SelectedApi {
  /** Kafka's API name; the schema files are <name>Request.json and <name>Response.json. */
  readonly name: string;
  readonly apiKey: number;
}

export const SELECTED_APIS: readonly SelectedApi[] = [
  { name: 'Produce', apiKey: 0 },
  { name: 'Fetch', apiKey: 1 },
  { name: 'ListOffsets', apiKey: 2 },
  { name: 'Metadata', apiKey: 3 },
  { name: 'OffsetCommit', apiKey: 8 },
  { name: 'OffsetFetch', apiKey: 9 },
  { name: 'FindCoordinator', apiKey: 10 },
  { name: 'JoinGroup', apiKey: 11 },
  { name: 'Heartbeat', apiKey: 12 },
  { name: 'LeaveGroup', apiKey: 13 },
  { name: 'SyncGroup', apiKey: 14 },
  { name: 'DescribeGroups', apiKey: 15 },
  { name: 'ListGroups', apiKey: 16 },
  { name: 'SaslHandshake', apiKey: 17 },
  { name: 'ApiVersions', apiKey: 18 },
  { name: 'CreateTopics', apiKey: 19 },
  { name: 'DeleteTopics', apiKey: 20 },
  { name: 'DeleteRecords', apiKey: 21 },
  { name: 'InitProducerId', apiKey: 22 },
  { name: 'OffsetForLeaderEpoch', apiKey: 23 },
  { name: 'DescribeAcls', apiKey: 29 },
  { name: 'CreateAcls', apiKey: 30 },
  { name: 'DeleteAcls', apiKey: 31 },
  { name: 'DescribeConfigs', apiKey: 32 },
  { name: 'AlterConfigs', apiKey: 33 },
  { name: 'SaslAuthenticate', apiKey: 36 },
  { name: 'CreatePartitions', apiKey: 37 },
  { name: 'DeleteGroups', apiKey: 42 },
  { name: 'AlterPartitionReassignments', apiKey: 45 },
  { name: 'ListPartitionReassignments', apiKey: 46 },
  { name: 'OffsetDelete', apiKey: 47 },
  { name: 'DescribeUserScramCredentials', apiKey: 50 },
  { name: 'AlterUserScramCredentials', apiKey: 51 },
  { name: 'ConsumerGroupHeartbeat', apiKey: 68 },
  { name: 'ConsumerGroupDescribe', apiKey: 69 },
];

/** Non-API messages, grouped into one generated module each. */
export const EXTRA_MODULES: readonly { readonly module: string; readonly messages: readonly string[] }[] = [
  { module: 'headers', messages: ['RequestHeader', 'ResponseHeader'] },
  { module: 'consumer-protocol', messages: ['ConsumerProtocolSubscription', 'ConsumerProtocolAssignment'] },
];

/** File name (without .ts) of an API's generated module: ListOffsets -> list-offsets. */
export function moduleName(apiName: string): string {
  return apiName.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}
