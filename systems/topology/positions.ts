/** Maps a data path (flows[2].to) to the line and column of its node in the YAML source. */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { PathSegment } from './errors.ts';

export interface Position {
  readonly line: number;
  readonly col: number;
}

function keyMatches(key: unknown, segment: PathSegment): boolean {
  if (isScalar(key)) return String(key.value) === String(segment);
  return String(key) === String(segment);
}

/**
 * The position of the deepest node along `path` that exists in the document: a missing key points
 * at the mapping that should hold it, a path through an alias at the alias. With at='key', a found
 * last segment points at its key.
 */
export function locate(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PathSegment[],
  at: 'key' | 'value' = 'value',
): Position {
  let node: unknown = doc.contents;
  let offset = firstOffset(node) ?? 0;
  for (let i = 0; i < path.length; i += 1) {
    // Inside an alias (*name) the nodes belong to the anchor elsewhere; point at the alias itself.
    if (isAlias(node)) break;
    const segment = path[i];
    let next: unknown;
    let keyNode: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyMatches(p.key, segment));
      if (!pair) break;
      keyNode = pair.key;
      next = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    } else {
      break;
    }
    if (next === undefined || next === null) break;
    const isLast = i === path.length - 1;
    const target = isLast && at === 'key' && keyNode !== undefined ? keyNode : next;
    offset = firstOffset(target) ?? offset;
    node = next;
  }
  return lineCounter.linePos(offset);
}

function firstOffset(node: unknown): number | undefined {
  if (node === null || node === undefined || typeof node !== 'object') return undefined;
  const range = (node as Node).range;
  return range ? range[0] : undefined;
}
