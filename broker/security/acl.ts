// Kafka's ACL model: bindings, filters and the matching rules of Kafka's StandardAuthorizer, as pure
// functions over plain data so the authorizer, the Create/Describe/DeleteAcls handlers and the tests
// share one definition. The numeric codes are Kafka's (they travel on the wire in the ACL APIs).

/** org.apache.kafka.common.resource.ResourceType. ANY is a filter value only. */
export const ResourceType = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6 } as const;
/** org.apache.kafka.common.resource.PatternType. ANY and MATCH are filter values only. */
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
/** org.apache.kafka.common.acl.AclOperation. ANY is a filter value only. */
export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
} as const;
/** org.apache.kafka.common.acl.AclPermissionType. ANY is a filter value only. */
export const AclPermissionType = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** The one name of the CLUSTER resource (Kafka's Resource.CLUSTER_NAME). */
export const CLUSTER_NAME = 'kafka-cluster';
/** A LITERAL resource name that matches every resource of its type (ResourcePattern.WILDCARD_RESOURCE). */
export const WILDCARD_RESOURCE = '*';
/** The principal that matches every principal (AclEntry.WILDCARD_PRINCIPAL_STRING). */
export const WILDCARD_PRINCIPAL = 'User:*';
export const WILDCARD_HOST = '*';
/** Longest resource name, principal or host stored: bounds the ACL file whatever clients send. */
export const MAX_ACL_FIELD_CHARS = 1024;

/** One ACL: who may (or may not) do what to which resources, from which host. */
export interface AclBinding {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

/** What Describe/DeleteAcls select with: null strings and ANY/MATCH codes match broadly. */
export interface AclBindingFilter {
  resourceType: number;
  resourceName: string | null;
  patternType: number;
  principal: string | null;
  host: string | null;
  operation: number;
  permissionType: number;
}

/** The request being authorised: one operation by one principal from one host on one resource. */
export interface AclAction {
  principal: string;
  host: string;
  operation: number;
  resourceType: number;
  resourceName: string;
}

const name = (table: Record<string, number>, code: number): string => Object.entries(table).find(([, v]) => v === code)?.[0] ?? String(code);
export const resourceTypeName = (code: number): string => name(ResourceType, code);
export const operationName = (code: number): string => name(AclOperation, code);

/** "User:alice" -> valid; Kafka's KafkaPrincipal.fromString needs "Type:name". */
function principalProblem(principal: string): string | null {
  const colon = principal.indexOf(':');
  if (colon <= 0) return `could not parse principal "${principal}": expected Type:name, e.g. User:alice`;
  return null;
}

/**
 * Why a binding cannot be stored, or null when it can: Kafka's AclControlManager.validateNewAcl
 * (no filter-only values, a non-empty name, a parseable principal) plus the CLUSTER resource's one
 * name, as Kafka's CreateAcls has always required, and this broker's field length bound.
 */
export function bindingProblem(b: AclBinding): string | null {
  const known = (table: Record<string, number>, code: number, filterOnly: number[]): boolean => Object.values(table).includes(code) && !filterOnly.includes(code);
  if (!known(ResourceType, b.resourceType, [ResourceType.UNKNOWN, ResourceType.ANY])) return `invalid resource type ${b.resourceType}`;
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED) return `invalid pattern type ${b.patternType}: an ACL is LITERAL (3) or PREFIXED (4)`;
  if (!known(AclOperation, b.operation, [AclOperation.UNKNOWN, AclOperation.ANY])) return `invalid operation ${b.operation}`;
  if (b.permissionType !== AclPermissionType.ALLOW && b.permissionType !== AclPermissionType.DENY) return `invalid permission type ${b.permissionType}: ALLOW (3) or DENY (2)`;
  if (b.resourceName.length === 0) return 'resource name should not be empty';
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_NAME) return `the only valid name for the CLUSTER resource is ${CLUSTER_NAME}`;
  for (const [field, value] of [['resource name', b.resourceName], ['principal', b.principal], ['host', b.host]] as const) {
    if (value.length > MAX_ACL_FIELD_CHARS) return `${field} is longer than ${MAX_ACL_FIELD_CHARS} characters`;
  }
  if (b.host.length === 0) return 'host should not be empty (use * for any host)';
  return principalProblem(b.principal);
}

/** Why a filter is unusable (an UNKNOWN value anywhere), or null: Kafka answers INVALID_REQUEST. */
export function filterProblem(f: AclBindingFilter): string | null {
  const known = (table: Record<string, number>, code: number): boolean => Object.values(table).includes(code) && code !== 0;
  if (!known(ResourceType, f.resourceType)) return `unknown resource type filter ${f.resourceType}`;
  if (!known(PatternType, f.patternType)) return `unknown pattern type filter ${f.patternType}`;
  if (!known(AclOperation, f.operation)) return `unknown operation filter ${f.operation}`;
  if (!known(AclPermissionType, f.permissionType)) return `unknown permission type filter ${f.permissionType}`;
  return null;
}

/** Whether a binding's resource pattern applies to a resource name (LITERAL, the "*" wildcard, PREFIXED). */
function patternMatches(b: AclBinding, resourceType: number, resourceName: string): boolean {
  if (b.resourceType !== resourceType) return false;
  if (b.patternType === PatternType.LITERAL) return b.resourceName === resourceName || b.resourceName === WILDCARD_RESOURCE;
  return b.patternType === PatternType.PREFIXED && resourceName.startsWith(b.resourceName);
}

/**
 * Whether a binding's operation covers the requested one: the same, ALL, or for an ALLOW the
 * operations Kafka says imply it (READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies
 * DESCRIBE_CONFIGS). A DENY covers only its own operation (and ALL), as in Kafka: denying READ does
 * not deny DESCRIBE.
 */
export function operationCovers(b: AclBinding, operation: number): boolean {
  if (b.operation === AclOperation.ALL || b.operation === operation) return true;
  if (b.permissionType !== AclPermissionType.ALLOW) return false;
  if (operation === AclOperation.DESCRIBE) return ([AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER] as number[]).includes(b.operation);
  if (operation === AclOperation.DESCRIBE_CONFIGS) return b.operation === AclOperation.ALTER_CONFIGS;
  return false;
}

function principalMatches(b: AclBinding, principal: string): boolean {
  return b.principal === principal || b.principal === WILDCARD_PRINCIPAL;
}

function hostMatches(b: AclBinding, host: string): boolean {
  return b.host === host || b.host === WILDCARD_HOST;
}

/** Settings of the decision that are not ACLs: Kafka's super.users and allow.everyone.if.no.acl.found. */
export interface AuthorizerPolicy {
  superUsers: ReadonlySet<string>;
  allowEveryoneIfNoAclFound: boolean;
}

/** A principal allowed everything: a super user, or another node of this cluster ("Broker:<id>"). */
export function isSuperUser(policy: AuthorizerPolicy, principal: string): boolean {
  return policy.superUsers.has(principal) || principal.startsWith('Broker:');
}

/**
 * Kafka's decision for one action: super users are allowed everything; any matching DENY denies;
 * else any matching ALLOW allows; else, when no ACL at all applies to the resource (whoever it names),
 * allow.everyone.if.no.acl.found decides; else denied.
 */
export function authorize(bindings: Iterable<AclBinding>, policy: AuthorizerPolicy, action: AclAction): boolean {
  if (isSuperUser(policy, action.principal)) return true;
  let resourceHasAcls = false;
  let allowed = false;
  for (const b of bindings) {
    if (!patternMatches(b, action.resourceType, action.resourceName)) continue;
    resourceHasAcls = true;
    if (!principalMatches(b, action.principal) || !hostMatches(b, action.host) || !operationCovers(b, action.operation)) continue;
    if (b.permissionType === AclPermissionType.DENY) return false;
    allowed = true;
  }
  return allowed || (!resourceHasAcls && policy.allowEveryoneIfNoAclFound);
}

/**
 * Whether the principal may do the operation on at least one resource of the type (Kafka's
 * Authorizer.authorizeByResourceType, KIP-679): InitProducerId needs WRITE on some topic. Allowed when
 * an arbitrary name is allowed (wildcards, or no ACLs and allow.everyone.if.no.acl.found), or when
 * some ALLOW pattern is not covered by a DENY pattern for the same principal, host and operation.
 */
export function authorizeByResourceType(bindings: readonly AclBinding[], policy: AuthorizerPolicy, action: Omit<AclAction, 'resourceName'>): boolean {
  if (isSuperUser(policy, action.principal)) return true;
  if (authorize(bindings, policy, { ...action, resourceName: 'hardcode' })) return true;
  const applies = (b: AclBinding): boolean =>
    b.resourceType === action.resourceType && principalMatches(b, action.principal) && hostMatches(b, action.host) && operationCovers(b, action.operation);
  const denies = bindings.filter((b) => applies(b) && b.permissionType === AclPermissionType.DENY);
  const deniedLiterals = new Set(denies.filter((b) => b.patternType === PatternType.LITERAL).map((b) => b.resourceName));
  if (deniedLiterals.has(WILDCARD_RESOURCE)) return false;
  const deniedPrefixes = denies.filter((b) => b.patternType === PatternType.PREFIXED).map((b) => b.resourceName);
  return bindings.some((b) => {
    if (!applies(b) || b.permissionType !== AclPermissionType.ALLOW) return false;
    if (deniedPrefixes.some((prefix) => b.resourceName.startsWith(prefix))) return false;
    return b.patternType === PatternType.PREFIXED || !deniedLiterals.has(b.resourceName);
  });
}

/**
 * Whether a filter selects a binding (Kafka's AclBindingFilter.matches): ANY and null match anything;
 * MATCH selects the bindings that would apply to the named resource (the same literal, the "*"
 * wildcard, prefixes of the name); LITERAL and PREFIXED select that pattern exactly.
 */
export function filterMatches(f: AclBindingFilter, b: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== b.resourceType) return false;
  if (f.patternType === PatternType.MATCH) {
    if (f.resourceName !== null && !patternMatches(b, b.resourceType, f.resourceName)) return false;
  } else {
    if (f.patternType !== PatternType.ANY && f.patternType !== b.patternType) return false;
    if (f.resourceName !== null && f.resourceName !== b.resourceName) return false;
  }
  if (f.principal !== null && f.principal !== b.principal) return false;
  if (f.host !== null && f.host !== b.host) return false;
  if (f.operation !== AclOperation.ANY && f.operation !== b.operation) return false;
  return f.permissionType === AclPermissionType.ANY || f.permissionType === b.permissionType;
}

/** Identity of a binding, for de-duplication (creating an existing ACL again is a no-op, as in Kafka). */
export function bindingKey(b: AclBinding): string {
  return JSON.stringify([b.resourceType, b.resourceName, b.patternType, b.principal, b.host, b.operation, b.permissionType]);
}

/** `User:admin;User:ops` (Kafka's super.users: semicolon-separated principals) -> the set. */
export function parseSuperUsers(value: string): string[] {
  const users = value.split(';').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const u of users) {
    const problem = principalProblem(u);
    if (problem !== null) throw new Error(`super.users: ${problem}`);
  }
  return users;
}
