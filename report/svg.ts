/**
 * Makes an SVG produced by vega or Graphviz fit to sit inline in report.html: drops the XML prolog,
 * DOCTYPE and comments, and prefixes every id (and every reference to one) so that the several SVGs
 * in one page cannot clash (Graphviz numbers its nodes node1, node2... in every diagram).
 */

/** An SVG larger than this is refused rather than inlined (a sign of runaway input). */
export const MAX_INLINE_SVG_CHARS = 8 * 1024 * 1024;

export function inlineSvg(svg: string, idPrefix: string, source: string): string {
  if (svg.length > MAX_INLINE_SVG_CHARS) throw new Error(`${source}: rendered SVG is ${svg.length} characters, more than the ${MAX_INLINE_SVG_CHARS} allowed`);
  const start = svg.indexOf('<svg');
  const end = svg.lastIndexOf('</svg>');
  if (start < 0 || end < start) throw new Error(`${source}: the renderer returned no <svg> element`);
  return svg
    .slice(start, end + '</svg>'.length)
    .replace(/<!--[\s\S]*?-->\n?/g, '')
    .replace(/\sid="([^"]+)"/g, (_m, id: string) => ` id="${idPrefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${idPrefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_m, id: string) => `href="#${idPrefix}-${id}"`);
}
