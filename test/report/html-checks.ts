/** Checks on a rendered report.html for the report tests: what it would load, and what it contains. */

/**
 * Everything in the page that would make a browser fetch something: URLs other than the SVG/XLink
 * namespace names (which are identifiers, never fetched), src/href-like attributes that are not
 * in-page fragments, url() that is not a fragment, @import, and elements that load or run things.
 */
export function externalReferences(html: string): string[] {
  const found: string[] = [];
  const withoutNamespaces = html.replace(/\sxmlns(?::[a-z]+)?="http:\/\/www\.w3\.org\/(?:2000\/svg|1999\/xlink)"/g, '');
  for (const m of withoutNamespaces.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"'<>)]*/gi)) found.push(`url ${m[0]}`);
  for (const m of html.matchAll(/\s((?:xlink:)?href|src|srcset|action|formaction|poster|data|background)\s*=\s*"([^"]*)"/gi)) {
    if (!m[2].startsWith('#')) found.push(`attribute ${m[1]}="${m[2]}"`);
  }
  for (const m of html.matchAll(/url\(\s*['"]?([^)'"]*)/gi)) if (!m[1].startsWith('#')) found.push(`url(${m[1]})`);
  if (/@import/i.test(html)) found.push('@import');
  for (const m of html.matchAll(/<(script|link|iframe|object|embed|img|image|video|audio|source|base)\b/gi)) found.push(`element <${m[1]}>`);
  return found;
}

export interface FigureInHtml { kind: 'chart' | 'diagram'; id: string; body: string }

/** The <figure class="chart|diagram" id=...> elements of the page, with their inner HTML. */
export function figuresOf(html: string): FigureInHtml[] {
  return [...html.matchAll(/<figure class="(chart|diagram)" id="([^"]+)">([\s\S]*?)<\/figure>/g)]
    .map((m) => ({ kind: m[1] as 'chart' | 'diagram', id: m[2], body: m[3] }));
}
