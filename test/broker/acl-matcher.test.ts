// The ACL decision against Kafka's documented semantics (docs "Authorization and ACLs", KIP-290 for
// prefixed patterns, KIP-679 for authorizeByResourceType): pure functions, no broker.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Authorizer } from '../../broker/security/acl-store.ts';
import { mulberry32 } from '../helpers/prng.ts';
import {
  AclOperation as Op,
  AclPermissionType as Perm,
  PatternType,
  ResourceType,
  authorize,
  authorizeByResourceType,
  bindingProblem,
  filterMatches,
  parseSuperUsers,
  type AclBinding,
  type AclBindingFilter,
  type AuthorizerPolicy,
} from '../../broker/security/acl.ts';

const policy: AuthorizerPolicy = { superUsers: new Set(['User:admin']), allowEveryoneIfNoAclFound: false };
const acl = (over: Partial<AclBinding>): AclBinding => ({
  resourceType: ResourceType.TOPIC,
  resourceName: 'orders',
  patternType: PatternType.LITERAL,
  principal: 'User:alice',
  host: '*',
  operation: Op.READ,
  permissionType: Perm.ALLOW,
  ...over,
});
const can = (acls: AclBinding[], operation: number, resourceName = 'orders', principal = 'User:alice', host = '10.0.0.1', p = policy, resourceType: number = ResourceType.TOPIC): boolean =>
  authorize(acls, p, { principal, host, operation, resourceType, resourceName });

describe('authorize', () => {
  test('a LITERAL ACL grants its operation on that resource only, to that principal only', () => {
    const acls = [acl({})];
    expect(can(acls, Op.READ)).toBe(true);
    expect(can(acls, Op.WRITE)).toBe(false);
    expect(can(acls, Op.READ, 'orders2')).toBe(false);
    expect(can(acls, Op.READ, 'orders', 'User:bob')).toBe(false);
    expect(can(acls, Op.READ, 'orders', 'User:alice', '10.0.0.1', policy, ResourceType.GROUP)).toBe(false);
  });

  test('the "*" resource name, the User:* principal and ALL match everything of theirs', () => {
    expect(can([acl({ resourceName: '*' })], Op.READ, 'anything')).toBe(true);
    expect(can([acl({ principal: 'User:*' })], Op.READ, 'orders', 'User:bob')).toBe(true);
    expect(can([acl({ operation: Op.ALL })], Op.ALTER_CONFIGS)).toBe(true);
  });

  test('PREFIXED matches names that start with the prefix', () => {
    const acls = [acl({ resourceName: 'app-', patternType: PatternType.PREFIXED, operation: Op.WRITE })];
    expect(can(acls, Op.WRITE, 'app-1')).toBe(true);
    expect(can(acls, Op.WRITE, 'app-')).toBe(true);
    expect(can(acls, Op.WRITE, 'ap')).toBe(false);
    expect(can(acls, Op.WRITE, 'xapp-1')).toBe(false);
  });

  test('hosts: an ACL for one host does not apply from another', () => {
    const acls = [acl({ host: '10.0.0.1' })];
    expect(can(acls, Op.READ, 'orders', 'User:alice', '10.0.0.1')).toBe(true);
    expect(can(acls, Op.READ, 'orders', 'User:alice', '10.0.0.2')).toBe(false);
  });

  test('DENY wins over any ALLOW, whichever pattern carries it', () => {
    expect(can([acl({ operation: Op.ALL }), acl({ permissionType: Perm.DENY })], Op.READ)).toBe(false);
    const prefixedDeny = acl({ resourceName: 'ord', patternType: PatternType.PREFIXED, permissionType: Perm.DENY, principal: 'User:*' });
    expect(can([acl({}), prefixedDeny], Op.READ)).toBe(false);
    expect(can([acl({}), acl({ resourceName: '*', permissionType: Perm.DENY, host: '10.0.0.1' })], Op.READ)).toBe(false);
    expect(can([acl({}), acl({ permissionType: Perm.DENY, host: '10.0.0.9' })], Op.READ)).toBe(true);
  });

  test('ALLOW of READ, WRITE, DELETE or ALTER implies DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS; nothing else is implied', () => {
    for (const op of [Op.READ, Op.WRITE, Op.DELETE, Op.ALTER]) expect(can([acl({ operation: op })], Op.DESCRIBE)).toBe(true);
    expect(can([acl({ operation: Op.CREATE })], Op.DESCRIBE)).toBe(false);
    expect(can([acl({ operation: Op.ALTER_CONFIGS })], Op.DESCRIBE_CONFIGS)).toBe(true);
    expect(can([acl({ operation: Op.ALTER })], Op.ALTER_CONFIGS)).toBe(false);
    expect(can([acl({ operation: Op.WRITE })], Op.READ)).toBe(false);
  });

  test('a DENY of READ does not deny DESCRIBE (only DENY ALL or DENY DESCRIBE does)', () => {
    expect(can([acl({ operation: Op.WRITE }), acl({ permissionType: Perm.DENY })], Op.DESCRIBE)).toBe(true);
    expect(can([acl({ operation: Op.WRITE }), acl({ operation: Op.ALL, permissionType: Perm.DENY })], Op.DESCRIBE)).toBe(false);
  });

  test('no ACL is denied, unless allow.everyone.if.no.acl.found and no ACL names the resource at all', () => {
    const open: AuthorizerPolicy = { ...policy, allowEveryoneIfNoAclFound: true };
    expect(can([], Op.READ)).toBe(false);
    expect(can([], Op.READ, 'orders', 'User:alice', '10.0.0.1', open)).toBe(true);
    // An ACL for someone else on the resource: the resource has ACLs, so alice is denied.
    expect(can([acl({ principal: 'User:bob' })], Op.READ, 'orders', 'User:alice', '10.0.0.1', open)).toBe(false);
    expect(can([acl({ resourceName: 'other' })], Op.READ, 'orders', 'User:alice', '10.0.0.1', open)).toBe(true);
  });

  test('super users and every Broker:<id> are allowed everything, even against a DENY', () => {
    const deny = [acl({ principal: 'User:*', operation: Op.ALL, permissionType: Perm.DENY, resourceName: '*' })];
    expect(can(deny, Op.DELETE, 'orders', 'User:admin')).toBe(true);
    expect(can(deny, Op.CLUSTER_ACTION, 'kafka-cluster', 'Broker:2', '10.0.0.1', policy, ResourceType.CLUSTER)).toBe(true);
    expect(can(deny, Op.READ, 'orders', 'User:alice')).toBe(false);
    expect(parseSuperUsers(' User:admin;User:ops ;')).toEqual(['User:admin', 'User:ops']);
    expect(() => parseSuperUsers('admin')).toThrow(/Type:name/);
  });
});

describe('authorizeByResourceType (InitProducerId: WRITE on some topic)', () => {
  const any = (acls: AclBinding[], principal = 'User:alice'): boolean =>
    authorizeByResourceType(acls, policy, { principal, host: '10.0.0.1', operation: Op.WRITE, resourceType: ResourceType.TOPIC });
  test('an ALLOW on any topic suffices, unless a DENY covers it', () => {
    expect(any([])).toBe(false);
    expect(any([acl({ operation: Op.WRITE })])).toBe(true);
    expect(any([acl({ operation: Op.WRITE }), acl({ operation: Op.WRITE, permissionType: Perm.DENY })])).toBe(false);
    expect(any([acl({ operation: Op.WRITE, resourceName: 'a-', patternType: PatternType.PREFIXED }), acl({ operation: Op.WRITE, resourceName: 'a', patternType: PatternType.PREFIXED, permissionType: Perm.DENY })])).toBe(false);
    expect(any([acl({ operation: Op.WRITE }), acl({ operation: Op.WRITE, resourceName: '*', permissionType: Perm.DENY })])).toBe(false);
    expect(any([acl({ operation: Op.READ })])).toBe(false);
    expect(any([], 'User:admin')).toBe(true);
  });
});

describe('filters and validation', () => {
  const filter = (over: Partial<AclBindingFilter>): AclBindingFilter => ({
    resourceType: ResourceType.ANY,
    resourceName: null,
    patternType: PatternType.ANY,
    principal: null,
    host: null,
    operation: Op.ANY,
    permissionType: Perm.ANY,
    ...over,
  });
  const literal = acl({});
  const wildcard = acl({ resourceName: '*' });
  const prefixed = acl({ resourceName: 'ord', patternType: PatternType.PREFIXED });

  test('ANY matches every pattern of that name; MATCH every pattern that applies to the name; LITERAL/PREFIXED exactly', () => {
    const names = (f: AclBindingFilter): string[] => [literal, wildcard, prefixed].filter((b) => filterMatches(f, b)).map((b) => `${b.patternType}:${b.resourceName}`);
    expect(names(filter({}))).toEqual(['3:orders', '3:*', '4:ord']);
    expect(names(filter({ resourceName: 'orders' }))).toEqual(['3:orders']);
    expect(names(filter({ resourceName: 'orders', patternType: PatternType.MATCH }))).toEqual(['3:orders', '3:*', '4:ord']);
    expect(names(filter({ resourceName: 'ord', patternType: PatternType.PREFIXED }))).toEqual(['4:ord']);
    expect(names(filter({ patternType: PatternType.LITERAL, permissionType: Perm.DENY }))).toEqual([]);
    expect(names(filter({ principal: 'User:alice', operation: Op.READ, host: '*' }))).toHaveLength(3);
  });

  test('a binding with filter-only values, an empty name, a bad principal or another cluster name is invalid', () => {
    expect(bindingProblem(literal)).toBeNull();
    expect(bindingProblem(acl({ patternType: PatternType.MATCH }))).toMatch(/pattern type/);
    expect(bindingProblem(acl({ operation: Op.ANY }))).toMatch(/operation/);
    expect(bindingProblem(acl({ permissionType: Perm.ANY }))).toMatch(/permission/);
    expect(bindingProblem(acl({ resourceType: ResourceType.ANY }))).toMatch(/resource type/);
    expect(bindingProblem(acl({ resourceName: '' }))).toMatch(/empty/);
    expect(bindingProblem(acl({ principal: 'alice' }))).toMatch(/principal/);
    expect(bindingProblem(acl({ resourceType: ResourceType.CLUSTER, resourceName: 'other' }))).toMatch(/kafka-cluster/);
    expect(bindingProblem(acl({ resourceName: 'x'.repeat(2000) }))).toMatch(/longer than/);
  });
});

describe('Authorizer (the store)', () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    dirs.push(mkdtempSync(path.join(tmpdir(), 'untangle-acl-store-')));
    return path.join(dirs[dirs.length - 1], 'meta', 'acls.json');
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('its index gives the same decisions as the plain rule over every ACL (seeded random ACL sets)', async () => {
    const rng = mulberry32(15);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
    const names = ['a', 'ab', 'abc', 'b', '*', 'ba'];
    for (let round = 0; round < 20; round++) {
      const bindings: AclBinding[] = Array.from({ length: 30 }, () => ({
        resourceType: pick([ResourceType.TOPIC, ResourceType.GROUP]),
        resourceName: pick(names),
        patternType: pick([PatternType.LITERAL, PatternType.PREFIXED]),
        principal: pick(['User:alice', 'User:bob', 'User:*']),
        host: pick(['*', '10.0.0.1']),
        operation: pick([Op.ALL, Op.READ, Op.WRITE, Op.DESCRIBE, Op.ALTER_CONFIGS, Op.DESCRIBE_CONFIGS]),
        permissionType: pick([Perm.ALLOW, Perm.DENY]),
      }));
      const open = round % 2 === 0;
      const store = await Authorizer.open({ kind: 'acl', file: tmp(), superUsers: [], allowEveryoneIfNoAclFound: open, maxAcls: 1000 });
      await store.create(bindings);
      for (const resourceName of [...names, 'abcd', 'c', '']) {
        for (const operation of [Op.READ, Op.WRITE, Op.DESCRIBE, Op.DESCRIBE_CONFIGS]) {
          for (const principal of ['User:alice', 'User:carol']) {
            const action = { principal, host: '10.0.0.1', operation, resourceType: ResourceType.TOPIC, resourceName };
            expect(store.authorize(action), JSON.stringify(action)).toBe(authorize(bindings, { superUsers: new Set(), allowEveryoneIfNoAclFound: open }, action));
          }
        }
      }
    }
  });

  test('ACLs persist across a reopen, duplicates are no-ops, the limit refuses a whole request, a damaged file stops the start', async () => {
    const file = tmp();
    const options = { kind: 'acl' as const, file, superUsers: [], allowEveryoneIfNoAclFound: false, maxAcls: 3 };
    const store = await Authorizer.open(options);
    await store.create([acl({}), acl({}), acl({ operation: Op.WRITE })]);
    expect(store.size).toBe(2);
    await expect(store.create([acl({ resourceName: 'x' }), acl({ resourceName: 'y' })])).rejects.toThrow(/at most 3 ACLs/);
    expect(store.size).toBe(2);
    const removed = await store.delete([{ resourceType: ResourceType.ANY, resourceName: null, patternType: PatternType.ANY, principal: null, host: null, operation: Op.WRITE, permissionType: Perm.ANY }]);
    expect(removed[0]).toHaveLength(1);
    await store.close();
    const reopened = await Authorizer.open(options);
    expect(reopened.size).toBe(1);
    expect(reopened.authorize({ principal: 'User:alice', host: '1.2.3.4', operation: Op.READ, resourceType: ResourceType.TOPIC, resourceName: 'orders' })).toBe(true);
    // A write that fails (the temporary file's name is taken by a directory) is undone: what is enforced stays what is on disk.
    mkdirSync(`${file}.tmp`);
    await expect(reopened.create([acl({ resourceName: 'z' })])).rejects.toThrow();
    expect(reopened.size).toBe(1);
    expect(reopened.authorize({ principal: 'User:alice', host: '1.2.3.4', operation: Op.READ, resourceType: ResourceType.TOPIC, resourceName: 'z' })).toBe(false);
    rmSync(`${file}.tmp`, { recursive: true });
    await reopened.create([acl({ resourceName: 'z' })]);
    expect(reopened.size).toBe(2);
    writeFileSync(file, '{"version":1,"acls":[{"resourceType":2');
    await expect(Authorizer.open(options)).rejects.toThrow(/ACL file .* is not valid/);
  });
});
