/**
 * The report as a renderer-neutral document: sections of paragraphs, lists and tables with every
 * value already formatted. The markdown and the HTML are two renderings of this one document, so they
 * cannot drift apart; the HTML adds its charts and diagrams where a section has a `figures` block.
 */
import { formatBytes, formatList, formatNumber, formatSetting } from './format.ts';
import type { Report } from './model.ts';
import { code, left, paragraph, table, type Block, type ReportDocument, type Section } from './document-model.ts';
import { connectionsSection, onboardingSection } from './document-runners.ts';
import { throughputSection } from './document-throughput.ts';
import { failuresSection } from './document-failures.ts';
import { headlineSection } from './document-headline.ts';
import { glossarySection } from './glossary.ts';
import { limitationsSection, summarySection } from './document-summary.ts';
import { sourceText } from './provenance.ts';
import { projectionSection } from './document-projection.ts';
import { operationalSection } from './document-operational.ts';
import { moneySection } from './document-money.ts';

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

/** The command that runs this scenario again (the seed is the scenario's own). */
function rerunCommand(r: Report): string {
  const repeat = r.scenario.settings.repeat;
  return `untangle run ${r.scenario.file}${r.scenario.quick ? ' --quick' : ''}${typeof repeat === 'number' ? ` --repeat ${repeat}` : ''}`;
}

/** "scenarios/compare.yaml (sha256 0123…)", or the file alone when the report did not record its hash. */
function fileWithHash(file: string, sha: string | undefined): string {
  return sha === undefined ? `${file} (its hash was not recorded)` : `${file}, sha256 ${sha}`;
}

/** Everything needed to run this again and to tell whether another run was like this one: the appendix. */
function reproducibilitySection(r: Report): Section {
  const m = r.machine;
  const v = r.versions;
  const blocks: Block[] = [
    paragraph(`Run ${r.runId} of scenario "${r.scenario.name}" (${r.scenario.file})${r.scenario.quick ? ', quick mode' : ''}, `
      + `seed ${r.seed}. Started ${r.startedAt}, finished ${r.finishedAt}, took ${formatDurationS(r.durationS)}.`),
    paragraph(`${sourceText(r)} Scenario file ${fileWithHash(r.scenario.file, r.scenario.sha256)}; topology file `
      + `${fileWithHash(r.topology.file, r.topology.sha256)}. To run it again: ${rerunCommand(r)}; untangle diff compares two runs and says when `
      + 'their topologies or scenarios differ.'),
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
  ];
  blocks.push(r.scenario.text !== undefined
    ? code(`The scenario file as run (${r.scenario.file})`, r.scenario.text)
    : paragraph('The scenario file\'s text was not recorded (report made before it was).'));
  blocks.push(r.topology.text !== undefined
    ? code(`The topology file as run (${r.topology.file})`, r.topology.text)
    : paragraph('The topology file\'s text was not recorded (report made before it was).'));
  return { id: 'run', title: 'Reproducibility', blocks };
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

export function reportTitle(r: Report): string {
  return `untangle report: ${r.scenario.name}, legacy against hub`;
}

export function reportDocument(r: Report): ReportDocument {
  const sections: (Section | null)[] = [
    summarySection(r),
    limitationsSection(r),
    headlineSection(r),
    topologySection(r),
    r.runners.connections ? connectionsSection(r.runners.connections) : null,
    projectionSection(r),
    operationalSection(r),
    r.runners.failures ? failuresSection(r.runners.failures) : null,
    r.runners.throughput ? throughputSection(r.runners.throughput) : null,
    moneySection(r),
    r.runners.onboarding ? onboardingSection(r.runners.onboarding) : null,
    glossarySection(r),
    reproducibilitySection(r),
  ];
  return { title: reportTitle(r), sections: sections.filter((s): s is Section => s !== null) };
}
