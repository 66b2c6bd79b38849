import type {
  CreateAclsRequest,
  CreateAclsResponse,
  DescribeAclsRequest,
  DescribeAclsResponse,
  DescribeAclsResponseResources,
  DeleteAclsRequest,
  DeleteAclsResponse,
  DeleteAclsRequestFilters,
} from '../../protocol/generated/index.ts';
import { ErrorCode, KafkaError } from '../../protocol/errors.ts';
import type { RequestContext } from '../context.ts';
import { AclOperation, PatternType, bindingProblem, filterProblem, type AclBinding, type AclBindingFilter } from '../../security/acl.ts';
import { AclLimitError } from '../../security/acl-store.ts';
import { clusterAllowed } from '../../security/acl-checks.ts';

// CreateAcls, DescribeAcls and DeleteAcls (KIP-140), answered as Kafka answers them: SECURITY_DISABLED
// when no authorizer runs, CLUSTER_AUTHORIZATION_FAILED without ALTER (create, delete) or DESCRIBE on
// the cluster, INVALID_REQUEST for a binding or filter that cannot be used. Version 0 has no pattern
// type: its bindings and filters are LITERAL, and it never sees PREFIXED ACLs.

const DISABLED = 'no authorizer is configured on this broker (start it with --authorizer acl)';

/** The failure every item of the request gets, or null to go ahead. */
function refusal(ctx: RequestContext, operation: number): { errorCode: number; errorMessage: string } | null {
  if (!ctx.authorizer.enabled) return { errorCode: ErrorCode.SECURITY_DISABLED, errorMessage: DISABLED };
  if (!clusterAllowed(ctx, operation)) {
    return { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: `${ctx.conn.principal} may not ${operation === AclOperation.ALTER ? 'change' : 'describe'} ACLs (needs ${operation === AclOperation.ALTER ? 'ALTER' : 'DESCRIBE'} on the cluster)` };
  }
  return null;
}

/** The ACL file could not be written (the store has undone the change), or in a cluster the controller quorum refused or did not answer: the client learns it failed. */
function storageFailure(err: unknown): { errorCode: number; errorMessage: string } {
  if (err instanceof KafkaError) return { errorCode: err.code, errorMessage: `the ACL change was not committed: ${err.message}` };
  return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `the ACL file could not be written: ${(err as Error).message}` };
}

export async function handleCreateAcls(req: CreateAclsRequest, ctx: RequestContext): Promise<CreateAclsResponse> {
  const refused = refusal(ctx, AclOperation.ALTER);
  if (refused) return { throttleTimeMs: 0, results: req.creations.map(() => refused) };
  const bindings = req.creations.map(toBinding);
  const results = bindings.map((b) => {
    const problem = bindingProblem(b);
    return problem === null ? { errorCode: ErrorCode.NONE, errorMessage: null as string | null } : { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem };
  });
  const valid = bindings.filter((_, i) => results[i].errorCode === ErrorCode.NONE);
  try {
    await ctx.authorizer.create(valid);
    if (valid.length > 0) ctx.config.logger(`${ctx.conn.principal} created ${valid.length} ACL(s); ${ctx.authorizer.size} held`);
  } catch (err) {
    const failure = err instanceof AclLimitError ? { errorCode: ErrorCode.POLICY_VIOLATION, errorMessage: err.message } : storageFailure(err);
    if (!(err instanceof AclLimitError)) ctx.config.logger(failure.errorMessage);
    for (const r of results) if (r.errorCode === ErrorCode.NONE) Object.assign(r, failure);
  }
  return { throttleTimeMs: 0, results };
}

function toBinding(c: CreateAclsRequest['creations'][number]): AclBinding {
  return {
    resourceType: c.resourceType,
    resourceName: c.resourceName,
    patternType: c.resourcePatternType,
    principal: c.principal,
    host: c.host,
    operation: c.operation,
    permissionType: c.permissionType,
  };
}

function toFilter(f: DeleteAclsRequestFilters | DescribeAclsRequest): AclBindingFilter {
  return {
    resourceType: f.resourceTypeFilter,
    resourceName: f.resourceNameFilter,
    patternType: f.patternTypeFilter,
    principal: f.principalFilter,
    host: f.hostFilter,
    operation: f.operation,
    permissionType: f.permissionType,
  };
}

/** What a v0 client may see: it cannot tell a PREFIXED ACL from a LITERAL one. */
const visible = (ctx: RequestContext, b: AclBinding): boolean => ctx.header.apiVersion >= 1 || b.patternType === PatternType.LITERAL;

export function handleDescribeAcls(req: DescribeAclsRequest, ctx: RequestContext): DescribeAclsResponse {
  const fail = (errorCode: number, errorMessage: string): DescribeAclsResponse => ({ throttleTimeMs: 0, errorCode, errorMessage, resources: [] });
  const refused = refusal(ctx, AclOperation.DESCRIBE);
  if (refused) return fail(refused.errorCode, refused.errorMessage);
  const filter = toFilter(req);
  const problem = filterProblem(filter);
  if (problem !== null) return fail(ErrorCode.INVALID_REQUEST, problem);
  // Grouped by resource pattern, as Kafka answers.
  const resources = new Map<string, DescribeAclsResponseResources>();
  for (const b of ctx.authorizer.describe(filter).filter((b) => visible(ctx, b))) {
    const key = JSON.stringify([b.resourceType, b.resourceName, b.patternType]);
    let resource = resources.get(key);
    if (!resource) {
      resource = { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, acls: [] };
      resources.set(key, resource);
    }
    resource.acls.push({ principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permissionType });
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources: [...resources.values()] };
}

export async function handleDeleteAcls(req: DeleteAclsRequest, ctx: RequestContext): Promise<DeleteAclsResponse> {
  const failed = (r: { errorCode: number; errorMessage: string }): DeleteAclsResponse['filterResults'][number] => ({ ...r, matchingAcls: [] });
  const refused = refusal(ctx, AclOperation.ALTER);
  if (refused) return { throttleTimeMs: 0, filterResults: req.filters.map(() => failed(refused)) };
  const filters = req.filters.map(toFilter);
  const problems = filters.map(filterProblem);
  // A v0 filter has no pattern type: it decodes as LITERAL, so it never deletes PREFIXED ACLs.
  const usable = filters.filter((_, i) => problems[i] === null);
  let removed: AclBinding[][];
  try {
    removed = await ctx.authorizer.delete(usable);
  } catch (err) {
    const failure = storageFailure(err);
    ctx.config.logger(failure.errorMessage);
    return { throttleTimeMs: 0, filterResults: req.filters.map(() => failed(failure)) };
  }
  let next = 0;
  const filterResults = problems.map((problem) => {
    if (problem !== null) return failed({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem });
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      matchingAcls: removed[next++].map((b) => ({ errorCode: ErrorCode.NONE, errorMessage: null, ...b })),
    };
  });
  const count = removed.reduce((n, r) => n + r.length, 0);
  if (count > 0) ctx.config.logger(`${ctx.conn.principal} deleted ${count} ACL match(es); ${ctx.authorizer.size} held`);
  return { throttleTimeMs: 0, filterResults };
}
