import { Command } from 'commander';
import { getExecutionState } from '../../experiment/summary.js';
import { getTaskInput } from '../../experiment/inspect.js';
import { UserError } from '../../core/errors.js';
import { STAGES, stageName } from '../../spec/stage.js';
import { printJson, printLine, table } from '../output.js';
import { resolveRun } from '../resolve-run.js';
import { STORE_HELP } from '../arguments.js';
import type { TranslatedTemplate } from '../../karenina/expression.js';

function snapshotCommand(): Command {
  return new Command('snapshot')
    .description('identity (the snapshot hashed into the run id) and provenance of a run')
    .argument('<run>', 'experiment config file, or a run id (or unique prefix)')
    .option('--store <path>', STORE_HELP.reference)
    .option('--json', 'print JSON')
    .action(async (reference: string, options: { store?: string; json?: boolean }) => {
      const { store, runId } = await resolveRun(reference, options.store);
      try {
        const run = (await store.getRun(runId))!;
        const document = { runId, name: run.name, status: run.status, createdAt: run.createdAt, snapshot: run.snapshot, provenance: run.provenance };
        if (options.json) printJson(document);
        else printLine((await import('yaml')).stringify(document, { lineWidth: 0 }).replace(/\n$/, ''));
      } finally {
        await store.close();
      }
    });
}

function stateCommand(): Command {
  return new Command('state')
    .description('per-stage counts of a run: completed, failed, pending')
    .argument('<run>', 'experiment config file, or a run id (or unique prefix)')
    .option('--store <path>', STORE_HELP.reference)
    .option('--json', 'print JSON')
    .action(async (reference: string, options: { store?: string; json?: boolean }) => {
      const { store, runId } = await resolveRun(reference, options.store);
      try {
        const state = await getExecutionState(store, runId);
        if (options.json) {
          printJson(state);
          return;
        }
        const through = state.completedThroughStage ?? 'none';
        printLine(`run ${runId}`);
        printLine(`status ${state.status} · complete through ${through} · ${state.tasks} tasks`);
        printLine();
        printLine(
          table(
            ['stage', 'completed', 'failed', 'pending'],
            STAGES.map((stage) => {
              const counts = state.stages[stage];
              return counts.enabled ? [stage, counts.completed, counts.failed, counts.pending] : [`${stage} (no judges)`, 0, 0, 0];
            }),
          ),
        );
      } finally {
        await store.close();
      }
    });
}

function evaluationCommand(): Command {
  return new Command('evaluation')
    .description("one task's evaluation: input, target, the prompt as sent, answer, parse, scores, and every judge prompt, raw reply and parsed judgment")
    .argument('<run>', 'experiment config file, or a run id (or unique prefix)')
    .requiredOption('--task <key>', 'the task key, e.g. dataset/item/model/prompt/0')
    .option('--metric <id>', 'only this judge (its id) or score (judge.trait)')
    .option('--store <path>', STORE_HELP.reference)
    .option('--json', 'print JSON')
    .action(async (reference: string, options: { task: string; metric?: string; store?: string; json?: boolean }) => {
      const { store, runId } = await resolveRun(reference, options.store);
      try {
        const record = await store.getTask(runId, options.task);
        if (!record) {
          throw new UserError('task_not_found', `run ${runId.slice(0, 12)} has no task '${options.task}'`, {
            hint: 'task keys look like dataset/item/model/prompt/replicate; see `assay quickcheck` for examples',
          });
        }
        const artifacts = (await store.loadArtifacts(runId, [record.ord])).get(record.ord)!;
        const given = await getTaskInput(store, runId, record);
        const wanted = options.metric;
        const matches = (name: string) => wanted === undefined || name === wanted || name.startsWith(`${wanted}.`);
        const judgments = (artifacts.judgments ?? []).filter((judgment) => wanted === undefined || judgment.judge === wanted || Object.keys(judgment.scores).some(matches));
        const scores = Object.fromEntries(Object.entries(artifacts.scores ?? {}).filter(([name]) => matches(name)));
        const document = {
          runId,
          task: { key: record.key, ord: record.ord, nextStage: stageName(record.progress.nextStage), failed: record.progress.failed, failure: record.progress.failure },
          input: given.input,
          target: given.target,
          prompt: given.prompt,
          candidates: artifacts.candidates,
          reduced: artifacts.reduced,
          parsed: artifacts.parsed,
          scores,
          judgments: judgments.map((judgment) => ({ ...judgment, scores: Object.fromEntries(Object.entries(judgment.scores).filter(([name]) => matches(name))) })),
          ...(given.answerTemplate ? { answerTemplate: await describeTemplate(given.answerTemplate) } : {}),
        };
        if (options.json) {
          printJson(document);
          return;
        }
        printLine(`task ${record.key} · next stage ${document.task.nextStage}${record.progress.failed ? ` · FAILED: ${record.progress.failure?.message}` : ''}`);
        printLine(`input:  ${clip(given.input, 400)}`);
        printLine(`target: ${given.target === null || given.target === undefined ? '(none)' : clip(typeof given.target === 'string' ? given.target : JSON.stringify(given.target), 400)}`);
        printLine(`prompt ${given.prompt.id}, as sent to the answering model:`);
        if (given.prompt.messages) {
          for (const message of given.prompt.messages) printLine(`  ${`${message.role}:`.padEnd(11)}${clip(message.content, message.role === 'user' ? 1200 : 600)}`);
        } else {
          if (given.prompt.system !== null) printLine(`  system: ${clip(given.prompt.system, 600)}`);
          printLine(`  user:   ${clip(given.prompt.user, 1200)}`);
        }
        printLine(`answer: ${clip(artifacts.reduced?.text ?? '(none yet)', 400)}`);
        printLine(`parsed: ${artifacts.parsed ? (artifacts.parsed.ok ? JSON.stringify(artifacts.parsed.value) : `unparseable (${artifacts.parsed.reason})`) : '(not yet)'}`);
        if (document.answerTemplate) printTemplate(document.answerTemplate, artifacts.parsed?.ok ? artifacts.parsed.value : null, scores);
        for (const [name, score] of Object.entries(scores)) printLine(`score ${name}: ${score.value}${score.parts ? ` ${JSON.stringify(score.parts)}` : ''}`);
        const judged = (await store.getRun(runId))!.snapshot.judges.length > 0;
        if (!judged) printLine('this run has no judges');
        else if (judgments.length === 0) printLine(artifacts.judgments === null ? 'no judgments yet' : 'no judgment matches');
        for (const judgment of judgments) {
          printLine();
          printLine(`judge ${judgment.judge} (${judgment.kind}) · aggregation ${JSON.stringify(judgment.aggregation)}`);
          for (const execution of judgment.executions) {
            printLine(`  ${execution.model}${execution.swapped ? ' (positions swapped)' : ''} · reply read as ${execution.readAs}${execution.abstained ? ' · flagged an abstention' : ''}`);
            if (execution.prompt.system) printLine(`    system: ${clip(execution.prompt.system, 300)}`);
            printLine(`    prompt: ${clip(execution.prompt.user, 600)}`);
            printLine(`    reply:  ${clip(execution.rawResponse, 600)}`);
            printLine(`    parsed: ${JSON.stringify(execution.parsed)}`);
          }
          for (const [name, score] of Object.entries(judgment.scores)) {
            printLine(`  ${name}: ${score.value.toFixed(3)}${score.parts ? ` ${JSON.stringify(score.parts)}` : ''}`);
          }
        }
      } finally {
        await store.close();
      }
    });
}

type TemplateView = Awaited<ReturnType<typeof describeTemplate>>;

/** What `inspect evaluation` shows of a translated karenina template: the Python, and what was evaluated. */
async function describeTemplate(template: TranslatedTemplate) {
  const { renderExpression } = await import('../../karenina/render-expression.js');
  return {
    className: template.className,
    python: template.python,
    fields: template.fields,
    correct: template.correct,
    verify: { expression: template.verify, rendered: renderExpression(template.verify) },
    granular: template.granular ? { expression: template.granular, rendered: renderExpression(template.granular) } : null,
    regex: template.regex ? { parameter: template.regex.parameter, expression: template.regex.body, rendered: renderExpression(template.regex.body) } : null,
  };
}

function printTemplate(view: TemplateView, parsed: unknown, scores: Record<string, { value: number; details?: Readonly<Record<string, unknown>> }>): void {
  printLine(`answer template ${view.className} (karenina, translated from its Python; never run):`);
  for (const line of view.python.replace(/\n$/, '').split('\n')) printLine(`  | ${line}`);
  printLine(`  fields: ${view.fields.map((field) => `${field.name}: ${field.python}`).join(', ')}`);
  printLine(`  correct: ${JSON.stringify(view.correct)}`);
  printLine(`  verify() evaluated as: ${clip(view.verify.rendered, 1200)}`);
  if (view.granular) printLine(`  verify_granular() evaluated as: ${clip(view.granular.rendered, 800)}`);
  if (view.regex) printLine(`  verify_regex(${view.regex.parameter}) evaluated as: ${clip(view.regex.rendered, 800)}`);
  printLine(`  parsed fields: ${parsed === null ? '(none)' : JSON.stringify(parsed)}`);
  for (const [name, score] of Object.entries(scores)) {
    const details = score.details as { verify?: { value: unknown; error: string | null; comparisons: { id: number; source: string; operands: unknown[]; result: boolean }[] } | null; granular?: { comparisons: { id: number; source: string; operands: unknown[]; result: boolean }[] } } | undefined;
    if (!details?.verify) continue;
    printLine(`  ${name}: verify() gave ${JSON.stringify(details.verify.value)}${details.verify.error ? ` (raised ${details.verify.error})` : ''}; comparisons in the order evaluated:`);
    for (const outcome of details.verify.comparisons) {
      printLine(`    #${outcome.id} ${outcome.result ? 'true ' : 'false'}  ${clip(outcome.source, 200)}   with ${outcome.operands.map((operand) => JSON.stringify(operand)).join(', ')}`);
    }
    if (details.verify.comparisons.length === 0) printLine('    (no comparison was evaluated)');
  }
}

function clip(text: string, length: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > length ? `${flat.slice(0, length)}...` : flat;
}

export function inspectCommand(): Command {
  return new Command('inspect')
    .description('look inside a stored run')
    .addCommand(snapshotCommand())
    .addCommand(stateCommand())
    .addCommand(evaluationCommand());
}
