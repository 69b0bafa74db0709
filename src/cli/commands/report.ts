import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { UserError } from '../../core/errors.js';
import type { CompareDocument, ReportDocument } from '../../report/report-document.js';
import { printErrorLine, printJson, printLine } from '../output.js';
import { resolveRun } from '../resolve-run.js';
import { STORE_HELP } from '../arguments.js';

const FORMATS = ['md', 'json', 'csv', 'html', 'latex'] as const;
type Format = (typeof FORMATS)[number];

const collect = (value: string, previous: string[] = []) => [...previous, value];

function parseLevel(text: string): number {
  const level = Number(text);
  if (!(level > 0 && level < 1)) throw new UserError('bad_option', `--level must be a number between 0 and 1, got '${text}'`, { hint: 'for example --level 0.95' });
  return level;
}

/** Renders a document in a format; the HTML renderer (and its chart library) is loaded only when asked for. */
async function render(format: Format, doc: ReportDocument | CompareDocument): Promise<string> {
  const text = await import('../../report/format-text.js');
  const isReport = doc.schema === 'assay.report.v1';
  switch (format) {
    case 'json':
      return `${JSON.stringify(doc, null, 2)}\n`;
    case 'md':
      return isReport ? text.reportMarkdown(doc) : text.compareMarkdown(doc);
    case 'csv':
      return isReport ? text.reportCsv(doc) : text.compareCsv(doc);
    case 'latex':
      return isReport ? text.reportLatex(doc) : text.compareLatex(doc);
    case 'html': {
      const html = await import('../../report/format-html.js');
      return isReport ? html.renderReportHtml(doc) : html.renderCompareHtml(doc);
    }
  }
}

/** Writes the rendered document to --out, or to stdout (JSON through the JSON printer, text through the safe one). */
async function emit(doc: ReportDocument | CompareDocument, options: { format: Format; out?: string; json?: boolean }): Promise<void> {
  if (options.json && options.format !== 'json' && options.format !== 'md') {
    throw new UserError('usage', `--json prints the JSON document; it cannot go with --format ${options.format}`, { hint: `drop --json, or use --format json` });
  }
  const format = options.json ? 'json' : options.format;
  if (options.out) {
    const path = resolve(options.out);
    const text = await render(format, doc);
    try {
      writeFileSync(path, text);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'its folder does not exist' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOSPC' ? 'the disk is full' : (error as Error).message;
      throw new UserError('output_unwritable', `cannot write the report to ${path}: ${why}`, { hint: 'give --out a file path in an existing, writable folder' });
    }
    printErrorLine(`wrote ${path} (${format})`);
    return;
  }
  if (format === 'json') printJson(doc);
  else printLine((await render(format, doc)).replace(/\n$/, ''));
}

const formatOption = () => new Option('--format <format>', 'md, json, csv, html or latex').choices(FORMATS).default('md');

export function reportCommand(): Command {
  return new Command('report')
    .description('scores with standard errors and intervals, paired comparisons, usage, latency, failures and judge agreement')
    .argument('<run>', 'experiment config file, a run id (or unique prefix), or a progressive-save results file')
    .addOption(formatOption())
    .option('--out <file>', 'write the report to a file instead of stdout')
    .option('--by <field>', 'also split every group by this item field (repeatable)', collect)
    .option('--cluster <field>', 'cluster standard errors by this item field (items sharing a passage or template)')
    .option('--baseline <model>', 'compare every other model with this one only')
    .option('--metric <name>', 'report only this score (repeatable; a metric, judge.trait or pass@k name)', collect)
    .option('--level <level>', 'confidence level of every interval', parseLevel, 0.95)
    .option('--store <path>', STORE_HELP.reference)
    .option('--json', 'print the JSON document (same as --format json)')
    .action(async (reference: string, options: { format: Format; out?: string; by?: string[]; cluster?: string; baseline?: string; metric?: string[]; level: number; store?: string; json?: boolean }) => {
      const { store, runId } = await resolveRun(reference, options.store);
      try {
        const { buildReport } = await import('../../report/build-report.js');
        const doc = await buildReport(store, runId, {
          level: options.level,
          ...(options.by ? { by: options.by } : {}),
          ...(options.cluster ? { cluster: options.cluster } : {}),
          ...(options.baseline ? { baseline: options.baseline } : {}),
          ...(options.metric ? { metrics: options.metric } : {}),
        });
        await emit(doc, options);
      } finally {
        await store.close();
      }
    });
}

export function compareCommand(): Command {
  return new Command('compare')
    .description('two runs paired by item: differences with paired errors and tests, and the items that flipped')
    .argument('<runA>', 'the first run (config, run id or progressive-save results file): a')
    .argument('<runB>', 'the second run: b (differences are a minus b)')
    .addOption(formatOption())
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--metric <name>', 'compare only this score (repeatable; default every score both runs have)', collect)
    .option('--level <level>', 'confidence level of every interval', parseLevel, 0.95)
    .option('--store <path>', 'store file holding both runs (default: each config\'s own store, as for report)')
    .option('--json', 'print the JSON document (same as --format json)')
    .action(async (first: string, second: string, options: { format: Format; out?: string; metric?: string[]; level: number; store?: string; json?: boolean }) => {
      const left = await resolveRun(first, options.store);
      let right;
      try {
        right = await resolveRun(second, options.store);
      } catch (error) {
        await left.store.close();
        throw error;
      }
      try {
        const { compareRuns } = await import('../../report/compare-runs.js');
        const doc = await compareRuns(left, right, { level: options.level, ...(options.metric ? { metrics: options.metric } : {}) });
        await emit(doc, options);
      } finally {
        await left.store.close();
        await right.store.close();
      }
    });
}
