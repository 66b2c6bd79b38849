// The controller quorum as a running process part (startController) and the broker's client of it
// (ControllerClient). See controller.ts for the controller and rpc.ts for the protocol.
export { parseQuorum, formatQuorum, votersProblem, MAX_VOTERS, type QuorumVoter } from './quorum.ts';
export { startController, type ControllerOptions, type RunningController } from './controller.ts';
export { ControllerClient, type ControllerClientOptions, type CreateTopicOptions } from './client.ts';
export {
  ControllerError,
  type ControllerErrorCode,
  type RegisterRequest,
  type RegisterResult,
  type HeartbeatRequest,
  type HeartbeatResult,
  type AlterPartitionRequest,
  type DescribeQuorumResult,
  type FetchMetadataResult,
} from './rpc.ts';
export { DEFAULT_MAX_FRAME_BYTES } from './framing.ts';
