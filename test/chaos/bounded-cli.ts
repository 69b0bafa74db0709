import { startCli, type CliResult } from '../support/cli.js';

export interface BoundedResult extends CliResult {
  /** The command was still running at the deadline. */
  readonly timedOut: boolean;
  /** It had timed out and then stopped cleanly on Ctrl+C (exit 130): slow, not hung. */
  readonly interruptedCleanly: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * Runs `assay ...args` with a deadline. A command still running at the deadline gets Ctrl+C twice (stop, then
 * cancel calls in flight), as a user would press it; one that does not then exit 130 within a few seconds
 * is killed and counts as hung.
 */
export async function runBounded(args: readonly string[], options: { cwd: string; env: Record<string, string>; timeoutMs: number }): Promise<BoundedResult> {
  const running = startCli(args, { cwd: options.cwd, env: options.env });
  let timedOut = false;
  let exited = false;
  const signal = (name: NodeJS.Signals) => {
    if (!exited) running.child.kill(name);
  };
  void (async () => {
    await sleep(options.timeoutMs);
    if (exited) return;
    timedOut = true;
    signal('SIGINT');
    await sleep(2_000);
    signal('SIGINT');
    await sleep(8_000);
    signal('SIGKILL');
  })();
  const result = await running.done;
  exited = true;
  return { ...result, timedOut, interruptedCleanly: timedOut && result.code === 130 };
}
