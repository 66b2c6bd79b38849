import { typed, type Handler } from '../context.ts';
import { handleProduce } from './produce.ts';
import { handleFetch } from './fetch.ts';
import { handleApiVersions, handleMetadata, handleFindCoordinator } from './metadata.ts';
import { handleListOffsets } from './list-offsets.ts';
import { handleCreateTopics, handleDeleteTopics, handleCreatePartitions, handleDeleteRecords, handleInitProducerId } from './admin.ts';
import { handleDescribeConfigs, handleAlterConfigs } from './configs.ts';
import { handleOffsetForLeaderEpoch } from './leader-epoch.ts';
import { handleCreateAcls, handleDescribeAcls, handleDeleteAcls } from './acls.ts';
import { handleSaslHandshake, handleSaslAuthenticate } from './sasl.ts';
import { handleDescribeUserScramCredentials, handleAlterUserScramCredentials } from './sasl-credentials.ts';
import {
  handleJoinGroup,
  handleSyncGroup,
  handleHeartbeat,
  handleLeaveGroup,
  handleOffsetCommit,
  handleOffsetFetch,
  handleDescribeGroups,
  handleListGroups,
  handleDeleteGroups,
  handleOffsetDelete,
} from './groups.ts';

/** API key -> handler, for every API in ADVERTISED_API_VERSIONS. */
export function buildHandlers(): ReadonlyMap<number, Handler> {
  return new Map<number, Handler>([
    [0, typed(handleProduce)],
    [1, typed(handleFetch)],
    [2, typed(handleListOffsets)],
    [3, typed(handleMetadata)],
    [8, typed(handleOffsetCommit)],
    [9, typed(handleOffsetFetch)],
    [10, typed(handleFindCoordinator)],
    [11, typed(handleJoinGroup)],
    [12, typed(handleHeartbeat)],
    [13, typed(handleLeaveGroup)],
    [14, typed(handleSyncGroup)],
    [15, typed(handleDescribeGroups)],
    [16, typed(handleListGroups)],
    [18, typed(handleApiVersions)],
    [19, typed(handleCreateTopics)],
    [20, typed(handleDeleteTopics)],
    [21, typed(handleDeleteRecords)],
    [22, typed(handleInitProducerId)],
    [23, typed(handleOffsetForLeaderEpoch)],
    [32, typed(handleDescribeConfigs)],
    [33, typed(handleAlterConfigs)],
    [37, typed(handleCreatePartitions)],
    [29, typed(handleDescribeAcls)],
    [30, typed(handleCreateAcls)],
    [31, typed(handleDeleteAcls)],
    [42, typed(handleDeleteGroups)],
    [47, typed(handleOffsetDelete)],
    [17, typed(handleSaslHandshake)],
    [36, typed(handleSaslAuthenticate)],
    [50, typed(handleDescribeUserScramCredentials)],
    [51, typed(handleAlterUserScramCredentials)],
  ]);
}
