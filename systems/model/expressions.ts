/**
 * The expression language of topology files: Common Expression Language (CEL), through
 * @marcbachmann/cel-js. CEL is a standard made for exactly this (small, side-effect free,
 * always terminating, type-checked before it runs; Kubernetes and Envoy use it for rules), and this
 * implementation evaluates a typical field in well under a microsecond, so expressions do not
 * distort the per-message CPU cost a landscape declares.
 *
 * Two environments: rules (what a system does with a record it receives) get the deterministic
 * functions only; generators (the ingress load and scheduled sources) also get random() and
 * friends, drawn from a PRNG seeded per record (see generator.ts), so every run of a seed makes the
 * same records. CEL integers are BigInt; values cross the boundary in values.ts.
 */
import { createHash } from 'node:crypto';
import { Environment } from '@marcbachmann/cel-js';
import { constantToCel } from './values.ts';

/** FNV-1a, 32-bit, over the UTF-16 code units of `s`. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a tiny seeded PRNG giving floats in [0, 1). Good for sample data, never for secrets. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The PRNG of the record being generated; null outside generators. */
let currentRandom: (() => number) | null = null;

/** Runs `fn` with random() and friends drawing from `rng`. */
export function withRandom<T>(rng: () => number, fn: () => T): T {
  const previous = currentRandom;
  currentRandom = rng;
  try {
    return fn();
  } finally {
    currentRandom = previous;
  }
}

function rng(): () => number {
  if (!currentRandom) throw new Error('random() and its kin exist only in ingress and source fields');
  return currentRandom;
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));
const int = (n: number): bigint => BigInt(Math.trunc(n));

function weightedKey(weights: Record<string, unknown>, r: number): string {
  const entries = Object.entries(weights instanceof Map ? Object.fromEntries(weights) : weights).map(([k, w]) => [k, Math.max(0, num(w))] as const);
  const total = entries.reduce((a, [, w]) => a + w, 0);
  if (!(total > 0)) throw new Error('weights must add up to more than 0');
  let x = r * total;
  for (const [k, w] of entries) if ((x -= w) < 0) return k;
  return entries[entries.length - 1][0];
}

function listOf(v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new Error('expected a list');
  return v;
}

function sumOf(list: unknown): bigint | number {
  const l = listOf(list);
  if (l.every((x) => typeof x === 'bigint')) return (l as bigint[]).reduce((a, b) => a + b, 0n);
  return l.reduce((a: number, b) => a + num(b), 0);
}

/** The functions every expression has, beside CEL's own (size, contains, map, filter, exists, ...). */
export const FUNCTION_DOCS: readonly { signature: string; what: string }[] = [
  { signature: 'hash(string) -> int', what: 'a stable 32-bit hash (FNV-1a) of the text' },
  { signature: 'chance(percent, string) -> bool', what: 'true for about `percent` % of distinct keys, always the same for the same key' },
  { signature: 'pick(list, string) -> dyn', what: 'an element chosen by the stable hash of the key' },
  { signature: 'weighted(map<string, int>, string) -> string', what: 'a map key chosen by the stable hash of the key, in proportion to its weight' },
  { signature: 'hex(int, string) -> string', what: 'that many upper-case hex digits of sha256(key): ids that look random but are not' },
  { signature: 'pad(int, int) -> string', what: 'the number with leading zeros to the width' },
  { signature: 'sum(list) -> int or double', what: 'the sum of a list of numbers' },
  { signature: 'min(a, b), max(a, b)', what: 'the smaller or larger of two ints or two doubles' },
  { signature: 'floor(double), ceil(double), round(double) -> int', what: 'rounding to a whole number' },
  { signature: 'upper(string), lower(string) -> string', what: 'case conversion' },
  { signature: 'random() -> double', what: 'generators only: a number in [0, 1) from the seeded PRNG' },
  { signature: 'randomInt(int, int) -> int', what: 'generators only: a whole number in [min, max]' },
  { signature: 'randomPick(list) -> dyn', what: 'generators only: a random element' },
  { signature: 'randomWeighted(map<string, int>) -> string', what: 'generators only: a random key in proportion to its weight' },
  { signature: 'sample(list, int) -> list', what: 'generators only: that many distinct random elements, in list order' },
];

function baseEnvironment(): Environment {
  return new Environment({ homogeneousAggregateLiterals: false, limits: { maxAstNodes: 2000, maxDepth: 64, maxListElements: 1000, maxMapEntries: 1000, maxCallArguments: 16 } })
    .registerFunction('hash(string): int', (s: string) => BigInt(hash32(s)))
    .registerFunction('chance(int, string): bool', (p: bigint, k: string) => hash32(k) % 10_000 < Number(p) * 100)
    .registerFunction('chance(double, string): bool', (p: number, k: string) => hash32(k) % 10_000 < p * 100)
    .registerFunction('pick(list, string): dyn', (l: unknown[], k: string) => {
      if (l.length === 0) throw new Error('pick() from an empty list');
      return l[hash32(k) % l.length];
    })
    .registerFunction('weighted(map, string): string', (m: Record<string, unknown>, k: string) => weightedKey(m, hash32(k) / 4294967296))
    .registerFunction('hex(int, string): string', (n: bigint, k: string) => createHash('sha256').update(k).digest('hex').slice(0, Math.max(0, Math.min(64, Number(n)))).toUpperCase())
    .registerFunction('pad(int, int): string', (v: bigint, w: bigint) => String(v).padStart(Math.min(64, Number(w)), '0'))
    .registerFunction('sum(list): dyn', (l: unknown[]) => sumOf(l))
    .registerFunction('min(int, int): int', (a: bigint, b: bigint) => (a < b ? a : b))
    .registerFunction('max(int, int): int', (a: bigint, b: bigint) => (a > b ? a : b))
    .registerFunction('min(double, double): double', (a: number, b: number) => Math.min(a, b))
    .registerFunction('max(double, double): double', (a: number, b: number) => Math.max(a, b))
    .registerFunction('floor(double): int', (a: number) => int(Math.floor(a)))
    .registerFunction('ceil(double): int', (a: number) => int(Math.ceil(a)))
    .registerFunction('round(double): int', (a: number) => int(Math.round(a)))
    .registerFunction('upper(string): string', (s: string) => s.toUpperCase())
    .registerFunction('lower(string): string', (s: string) => s.toLowerCase());
}

function generatorEnvironment(): Environment {
  return baseEnvironment()
    .registerFunction('random(): double', () => rng()())
    .registerFunction('randomInt(int, int): int', (lo: bigint, hi: bigint) => lo + int(rng()() * Number(hi - lo + 1n)))
    .registerFunction('randomPick(list): dyn', (l: unknown[]) => {
      if (l.length === 0) throw new Error('randomPick() from an empty list');
      return l[Math.floor(rng()() * l.length)];
    })
    .registerFunction('randomWeighted(map): string', (m: Record<string, unknown>) => weightedKey(m, rng()()))
    .registerFunction('sample(list, int): list', (l: unknown[], k: bigint) => {
      const want = Math.max(0, Math.min(l.length, Number(k)));
      const picked = new Set<number>();
      const r = rng();
      while (picked.size < want) picked.add(Math.floor(r() * l.length));
      return [...picked].sort((a, b) => a - b).map((i) => l[i]);
    });
}

/** CEL's reserved words: no variable may have these names (a field named so is reachable as input['name']). */
export const CEL_RESERVED = new Set(['as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let', 'loop', 'package',
  'namespace', 'return', 'var', 'void', 'while', 'in', 'true', 'false', 'null']);

export type EnvironmentKind = 'rule' | 'generator';

/**
 * The root environment of one topology and kind: the functions plus the topology's constants.
 * Cloned once per recipe, which then registers its own variables.
 */
export function rootEnvironment(kind: EnvironmentKind, constants: Readonly<Record<string, unknown>>): Environment {
  const env = kind === 'generator' ? generatorEnvironment() : baseEnvironment();
  for (const [name, value] of Object.entries(constants)) {
    if (CEL_RESERVED.has(name)) continue;
    env.registerConstant(name, 'dyn', constantToCel(value));
  }
  return env;
}

/** The first line of a CEL error (its summary), for messages: the source excerpt below it is left out. */
export function celErrorText(err: unknown): string {
  const e = err as { message?: string; summary?: string };
  const text = e.summary ?? e.message ?? String(err);
  return text.split('\n')[0];
}
