/**
 * The report as a renderer-neutral document: sections of paragraphs, lists and tables with every
 * value already formatted. The markdown and the HTML are two renderings of this one document, so they
 * cannot drift apart; the HTML adds its charts and diagrams where a section has a `figures` block.
 */
import { formatBytes, formatList, formatNumber, formatSetting } from './format.ts';
import type { Report } from './model.ts';
import { left, list, paragraph, table, type ReportDocument, type Section } from './document-model.ts';
import { connectionsSection, onboardingSection } from './document-runners.ts';
import { throughputSection } from './document-throughput.ts';
import { failuresSection } from './document-failures.ts';
import { headlineSection } from './document-headline.ts';
import { glossarySection } from './glossary.ts';

/** 2472.5 → "41 min 12.5 s". */
export function formatDurationS(s: number): string {
  if (s < 60) return `${formatNumber(s)} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = Math.round((s % 60) * 10) / 10;
  return [h > 0 ? `${h} h` : '', m > 0 || h > 0 ? `${m} min` : '', `${formatNumber(rest)} s`].filter((x) => x !== '').join(' ');
}

/** Settings flattened to dotted keys (objects only; arrays stay one value). */
export function flattenSettings(settings: Record<string, unknown>, prefix = ''): [string, string][] {
  return Object.entries(settings).flatMap(([k, v]): [string, string][] =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0
      ? flattenSettings(v as Record<string, unknown>, `${prefix}${k}.`)
      : [[`${prefix}${k}`, formatSetting(v)]]);
}

function overviewSection(r: Report): Section {
  const m = r.machine;
  const v = r.versions;
  return {
    id: 'run',
    title: 'Run',
    blocks: [
      paragraph(`Run ${r.runId} of scenario "${r.scenario.name}" (${r.scenario.file})${r.scenario.quick ? ', quick mode' : ''}, `
        + `seed ${r.seed}. Started ${r.startedAt}, finished ${r.finishedAt}, took ${formatDurationS(r.durationS)}.`),
      table({
        id: 'machine', caption: 'Machine', columns: [left('property'), left('value')],
        rows: [['CPU', m.cpuModel], ['cores', String(m.cores)], ['memory', formatBytes(m.memoryBytes)], ['OS', m.os], ['architecture', m.arch], ['host', m.hostname]],
      }),
      table({
        id: 'versions', caption: 'Versions', columns: [left('component'), left('version')],
        rows: [['untangle', v.untangle], ['Node.js', v.node], ['kafkajs', v.kafkajs], ['amqplib', v.amqplib], ...(v.autocannon ? [['autocannon', v.autocannon]] : []),
          ['RabbitMQ', v.rabbitmq ?? 'none used'], ['hub', v.hub]],
      }),
      table({ id: 'settings', caption: `Settings (the scenario as run, seed ${r.seed})`, columns: [left('setting'), left('value')], rows: flattenSettings(r.scenario.settings) }),
    ],
  };
}

function topologySection(r: Report): Section {
  const t = r.topology;
  const linkRows = (links: Report['topology']['legacyLinks']): string[][] =>
    links.map((l) => [l.id, l.from, l.to, l.protocol, l.format, formatList(l.data)]);
  const linkColumns = [left('link'), left('from'), left('to'), left('protocol'), left('format'), left('data')];
  return {
    id: 'topology',
    title: 'Topology',
    blocks: [
      paragraph(`Both layouts are built from the topology "${t.name}" (${t.file}): ${t.systems.length} systems, `
        + `${t.legacyLinks.length} legacy links and ${t.hubLinks.length} hub links.`),
      { kind: 'figures', group: 'topology' },
      table({ id: 'systems', caption: 'Systems', columns: [left('id'), left('name'), left('role')], rows: t.systems.map((s) => [s.id, s.name, s.role]) }),
      table({ id: 'legacy-links', caption: 'Legacy links (point to point; lake exports included)', columns: linkColumns, rows: linkRows(t.legacyLinks) }),
      table({ id: 'hub-links', caption: 'Hub links (every system and the lake sink to the hub)', columns: linkColumns, rows: linkRows(t.hubLinks) }),
    ],
  };
}

function notesSection(r: Report): Section | null {
  if (r.notes.length === 0) return null;
  return { id: 'notes', title: 'Notes', blocks: [list(r.notes)] };
}

export function reportTitle(r: Report): string {
  return `untangle report: ${r.scenario.name}, legacy against hub`;
}

export function reportDocument(r: Report): ReportDocument {
  const sections: (Section | null)[] = [
    overviewSection(r),
    notesSection(r),
    headlineSection(r),
    topologySection(r),
    r.runners.connections ? connectionsSection(r.runners.connections) : null,
    r.runners.failures ? failuresSection(r.runners.failures) : null,
    r.runners.throughput ? throughputSection(r.runners.throughput) : null,
    r.runners.onboarding ? onboardingSection(r.runners.onboarding) : null,
    glossarySection(r.runners),
  ];
  return { title: reportTitle(r), sections: sections.filter((s): s is Section => s !== null) };
}
