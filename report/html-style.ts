/** The inline stylesheet of report.html: system fonts only, nothing loaded from anywhere. */
export const REPORT_CSS = `
:root { color-scheme: light; --ink: #1d2430; --muted: #5a6475; --rule: #d9dee7; --head: #f3f5f9; --legacy: #c0504d; --hub: #2f6fb0; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink); background: #fff; }
header, main, footer, nav { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 40px 0 12px; padding-bottom: 4px; border-bottom: 2px solid var(--rule); }
.subtitle { color: var(--muted); margin: 0 0 12px; }
nav.toc { display: flex; flex-wrap: wrap; gap: 6px 14px; padding-top: 6px; padding-bottom: 6px; border-top: 1px solid var(--rule); border-bottom: 1px solid var(--rule); }
nav.toc a { color: var(--hub); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
p { max-width: 80ch; }
.table-wrap { overflow-x: auto; margin: 14px 0 22px; }
table { border-collapse: collapse; font-size: 13.5px; }
caption { text-align: left; font-weight: 600; padding: 0 0 6px; }
th, td { border: 1px solid var(--rule); padding: 4px 8px; vertical-align: top; }
th { background: var(--head); text-align: left; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fafbfd; }
.figures { display: flex; flex-wrap: wrap; gap: 18px; margin: 16px 0 24px; }
figure { margin: 0; padding: 12px; border: 1px solid var(--rule); border-radius: 6px; background: #fff; max-width: 100%; }
figure.diagram { flex: 1 1 100%; }
figure .figure-body { overflow-x: auto; }
figure svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 8px; max-width: 80ch; }
footer { color: var(--muted); font-size: 12.5px; padding-top: 28px; padding-bottom: 28px; }
@media print { nav.toc { display: none; } figure, table { break-inside: avoid; } }
`;
