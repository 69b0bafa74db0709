import { Command, CommanderError } from 'commander';
import { ConfigError, UserError } from '../core/errors.js';
import { redactText } from '../core/redact.js';
import { toolVersion } from '../experiment/tool-version.js';
import { exportCommand, importCommand } from './commands/bundles.js';
import { estimateCommand } from './commands/estimate.js';
import { inspectCommand } from './commands/inspect.js';
import { quickcheckCommand } from './commands/quickcheck.js';
import { replayCommand } from './commands/replay.js';
import { resultsCommand } from './commands/results.js';
import { compareCommand, reportCommand } from './commands/report.js';
import { runCommand } from './commands/run.js';
import { runsCommand } from './commands/runs.js';
import { storeCommand } from './commands/store.js';
import { statusCommand } from './commands/status.js';
import { submitCommand, workerCommand } from './commands/worker.js';
import { viewCommand } from './commands/view.js';
import { oneLine, printErrorLine, printJson } from './output.js';

export { stderrClosed } from './output.js';

export function buildProgram(): Command {
  return withAssayErrors(buildCommands());
}

/**
 * Commander's own usage errors (an unknown option, a bad argument) in assay's form, `assay: error: ...`, on
 * every command and subcommand, like the errors assay raises itself.
 */
function withAssayErrors(command: Command): Command {
  command.configureOutput({ outputError: (text, write) => write(text.startsWith('error: ') ? `assay: ${text}` : text) });
  for (const sub of command.commands) withAssayErrors(sub);
  return command;
}

function buildCommands(): Command {
  return new Command('assay')
    .description('durable, resumable evaluation of language models')
    .version(toolVersion())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addCommand(runCommand())
    .addCommand(submitCommand())
    .addCommand(workerCommand())
    .addCommand(estimateCommand())
    .addCommand(replayCommand())
    .addCommand(quickcheckCommand())
    .addCommand(resultsCommand())
    .addCommand(reportCommand())
    .addCommand(compareCommand())
    .addCommand(inspectCommand())
    .addCommand(runsCommand())
    .addCommand(storeCommand())
    .addCommand(statusCommand())
    .addCommand(exportCommand())
    .addCommand(importCommand())
    .addCommand(viewCommand())
    .addHelpText(
      'after',
      `
Start here:
  assay run examples/quickstart.yaml      run an example end to end (mock models, no API key)
  assay quickcheck examples/quickstart.yaml

Every command takes --store PATH and --json. Exit codes: 0 done, 1 a problem you can fix,
2 an internal error, 130 stopped by Ctrl+C, 143 by SIGTERM (finished work is saved). Documentation: docs/README.md`,
    );
}

/**
 * The problems of a config after its summary line: one line each, `file:line: field: what`, when there are
 * several; with --json, also the whole error as one object on stdout.
 */
function reportConfigProblems(error: ConfigError, line: string, json: boolean): void {
  const problems = error.problems.map((problem) => ({ location: problem.location, message: oneLine(redactText(problem.message)) }));
  if (problems.length > 1) {
    for (const problem of problems) printErrorLine(`  ${problem.location}: ${problem.message}`);
    if (error.unlisted > 0) printErrorLine(`  (and ${error.unlisted} more)`);
  }
  if (json) printJson({ error: { code: error.code, message: line, problems, ...(error.unlisted > 0 ? { unlisted: error.unlisted } : {}) } });
}

/** The one place errors are turned into exit codes: 1 for what the user can fix, 2 for bugs. Nothing printed carries a secret. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? 0 : 1;
    }
    if (UserError.isInstance(error)) {
      const line = oneLine(redactText(error.line()));
      printErrorLine(`assay: error: ${line}`);
      if (ConfigError.isInstance(error)) reportConfigProblems(error, line, argv.includes('--json'));
      return 1;
    }
    printErrorLine(`assay: internal error (please report it): ${redactText(error instanceof Error ? (error.stack ?? error.message) : String(error))}`);
    return 2;
  }
}
