// Version ranges as written in Kafka's message schemas ("0+", "3-7", "5", "none") and the
// `version` conditions the emitters generate from them.

export interface VersionRange {
  readonly min: number;
  /** Inclusive; Infinity for an open range ("3+"). An empty range has max < min. */
  readonly max: number;
}

export const NO_VERSIONS: VersionRange = { min: 0, max: -1 };

export function parseVersions(spec: unknown, what: string): VersionRange {
  if (spec === undefined || spec === '' || spec === 'none') return NO_VERSIONS;
  if (typeof spec !== 'string') throw new Error(`${what}: version spec must be a string, got ${JSON.stringify(spec)}`);
  let match = /^(\d+)\+$/.exec(spec);
  if (match) return { min: Number(match[1]), max: Infinity };
  match = /^(\d+)-(\d+)$/.exec(spec);
  if (match) return { min: Number(match[1]), max: Number(match[2]) };
  match = /^(\d+)$/.exec(spec);
  if (match) return { min: Number(match[1]), max: Number(match[1]) };
  throw new Error(`${what}: cannot parse version spec ${JSON.stringify(spec)}`);
}

export function isEmpty(range: VersionRange): boolean {
  return range.max < range.min;
}

export function intersect(a: VersionRange, b: VersionRange): VersionRange {
  const result = { min: Math.max(a.min, b.min), max: Math.min(a.max, b.max) };
  return isEmpty(result) ? NO_VERSIONS : result;
}

/** Smallest range containing both. */
export function hull(a: VersionRange, b: VersionRange): VersionRange {
  if (isEmpty(a)) return b;
  if (isEmpty(b)) return a;
  return { min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) };
}

export function contains(range: VersionRange, version: number): boolean {
  return version >= range.min && version <= range.max;
}

/** True when every version of `inner` is in `outer`. */
export function covers(outer: VersionRange, inner: VersionRange): boolean {
  return isEmpty(inner) || (inner.min >= outer.min && inner.max <= outer.max);
}

/** `range` minus `removed`, which must not split it in two. */
export function subtract(range: VersionRange, removed: VersionRange, what: string): VersionRange {
  const overlap = intersect(range, removed);
  if (isEmpty(overlap)) return range;
  if (covers(overlap, range)) return NO_VERSIONS;
  if (overlap.min > range.min && overlap.max >= range.max) return { min: range.min, max: overlap.min - 1 };
  if (overlap.min <= range.min && overlap.max < range.max) return { min: overlap.max + 1, max: range.max };
  throw new Error(`${what}: versions ${format(removed)} split ${format(range)}; unsupported`);
}

export function format(range: VersionRange): string {
  if (isEmpty(range)) return 'none';
  if (range.max === Infinity) return `${range.min}+`;
  if (range.min === range.max) return `${range.min}`;
  return `${range.min}-${range.max}`;
}

/**
 * TypeScript condition on `version` that holds exactly for the versions of `range` within `context`.
 * Returns null when it always holds there and false when it never does.
 */
export function versionCondition(range: VersionRange, context: VersionRange): string | null | false {
  const overlap = intersect(range, context);
  if (isEmpty(overlap)) return false;
  const needsLow = overlap.min > context.min;
  const needsHigh = overlap.max < context.max;
  if (needsLow && needsHigh && overlap.min === overlap.max) return `version === ${overlap.min}`;
  const parts: string[] = [];
  if (needsLow) parts.push(`version >= ${overlap.min}`);
  if (needsHigh) parts.push(`version <= ${overlap.max}`);
  return parts.length === 0 ? null : parts.join(' && ');
}

/** Splits `context` into its classic (non-flexible) and flexible parts. */
export function splitByFlexibility(
  context: VersionRange,
  flexibleVersions: VersionRange,
): { classic: VersionRange; flexible: VersionRange } {
  const flexible = intersect(context, flexibleVersions);
  const classic = isEmpty(flexible) ? context : subtract(context, flexible, 'flexibleVersions');
  return { classic, flexible };
}

/** Finite list of the versions in a (finite) range. */
export function listVersions(range: VersionRange): number[] {
  if (range.max === Infinity) throw new Error(`cannot list the open range ${format(range)}`);
  const versions: number[] = [];
  for (let v = range.min; v <= range.max; v++) versions.push(v);
  return versions;
}
