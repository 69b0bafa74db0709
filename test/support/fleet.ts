import { expect } from 'vitest';
import type { Store } from '../../src/spec/store.js';
import { openStore } from '../../src/stores/open-store.js';
import { runCli, startCli } from './cli.js';
import { FakeOpenAIServer, solve } from './openai-server.js';
import { httpConfig, Workspace } from './workspace.js';

/**
 * The setting of the tests where several processes share a run (workers.test.ts, fleet-signals.test.ts): a
 * workspace, a local model server answering every arithmetic question after `delayMs`, and the store the
 * processes share: an SQLite file in the workspace, or the store at $ASSAY_TEST_WORKER_STORE (a PostgreSQL
 * database, say), where each test makes a run of its own (its own dataset) so runs of other tests sharing
 * the store are never touched.
 */
export class FleetScenario {
  readonly workspace = new Workspace();
  readonly location = process.env.ASSAY_TEST_WORKER_STORE ?? this.workspace.path('store.db');
  private static offset = Math.floor(Math.random() * 1e6);

  private constructor(readonly server: FakeOpenAIServer) {}

  static async start(delayMs: number): Promise<FleetScenario> {
    return new FleetScenario(await new FakeOpenAIServer((request) => ({ kind: 'answer', text: solve(request.prompt), delayMs })).start());
  }

  /**
   * Writes a dataset of `tasks` questions, never used by another test of this process, and `exp.yaml` for it;
   * `runtime` goes under runtime:, `model` under the model's entry.
   */
  experiment(tasks: number, options: { concurrency?: number; runtime?: string; model?: string } = {}): void {
    FleetScenario.offset += 1000;
    this.workspace.arithmetic('questions.jsonl', tasks, FleetScenario.offset);
    let config = httpConfig(this.server.baseURL, { concurrency: options.concurrency ?? 4 }).replace('  store: store.db\n', '');
    if (options.runtime) config = config.replace('runtime:\n', `runtime:\n${options.runtime}`);
    if (options.model) config = config.replace('    params: { temperature: 0, maxTokens: 64 }\n', `    params: { temperature: 0, maxTokens: 64 }\n${options.model}`);
    this.workspace.write('exp.yaml', config);
  }

  /** `assay submit exp.yaml`: the run's id. */
  async submit(): Promise<string> {
    const result = await runCli(['submit', 'exp.yaml', '--store', this.location], { cwd: this.workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    const runId = result.stdout.trim();
    expect(runId).toMatch(/^[0-9a-f]{64}$/);
    return runId;
  }

  /** Starts `assay worker RUN --json` on the shared store. */
  worker(runId: string, ...extra: string[]) {
    return startCli(['worker', runId, '--store', this.location, '--json', ...extra], { cwd: this.workspace.dir });
  }

  /** Opens the shared store (it must exist), hands it to `use`, and closes it again. */
  async withStore<T>(use: (store: Store) => Promise<T>): Promise<T> {
    const store = await openStore(this.location, { create: false });
    try {
      return await use(store);
    } finally {
      await store.close();
    }
  }

  async stop(): Promise<void> {
    await this.server.stop();
    this.workspace.remove();
  }
}
