import cliProgress from 'cli-progress';
import type { ModelProgress, ProgressSnapshot, ProgressTracker } from '../engine/progress-tracker.js';
import { terminalSafe } from '../core/terminal-safe.js';
import { formatDuration, printErrorLine } from './output.js';

export interface ProgressDisplay {
  attach(tracker: ProgressTracker): void;
  /** Prints a notice without breaking the bars. */
  notice(message: string): void;
  stop(): void;
}

function failures(byCategory: ModelProgress['failuresByCategory']): string {
  const parts = Object.entries(byCategory).map(([category, count]) => `${category} ${count}`);
  return parts.length > 0 ? ` · errors ${parts.join(', ')}` : '';
}

function cost(value: number | null): string {
  return value === null ? 'cost ?' : `$${value.toFixed(value < 1 ? 4 : 2)}`;
}

function tokens(count: number): string {
  return count >= 1_000_000 ? `${(count / 1_000_000).toFixed(1)}M` : count >= 10_000 ? `${Math.round(count / 1000)}k` : String(count);
}

function eta(seconds: number | null): string {
  return seconds === null ? '?' : formatDuration(seconds);
}

/** One line for the whole run. */
export function overallLine(snapshot: ProgressSnapshot): string {
  const done = snapshot.completed + snapshot.failed;
  const percent = snapshot.total > 0 ? ((100 * done) / snapshot.total).toFixed(1) : '100.0';
  const retries = snapshot.retries > 0 ? ` · ${snapshot.retries} retries` : '';
  const stopping = snapshot.stopping ? ' · stopping' : '';
  return `${done}/${snapshot.total} tasks (${percent}%) · ${snapshot.ratePerSecond.toFixed(1)}/s · ETA ${eta(snapshot.etaSeconds)} · ${snapshot.failed} failed${failures(snapshot.failuresByCategory)} · ${tokens(snapshot.inputTokens + snapshot.outputTokens)} tokens · ${cost(snapshot.cost)}${retries}${stopping}`;
}

/** One line per model: tasks for answering models, calls for evaluators; tokens, cost, errors, concurrency. */
export function modelLine(model: ModelProgress): string {
  const work = model.total > 0 ? `${model.completed + model.failed}/${model.total} · ${model.ratePerSecond.toFixed(1)}/s · ETA ${eta(model.etaSeconds)}` : `${model.calls} calls`;
  const concurrency = model.concurrency !== null ? ` · concurrency ${model.concurrency}` : '';
  return `${terminalSafe(model.modelId)}: ${work} · ${tokens(model.inputTokens + model.outputTokens)} tokens · ${cost(model.cost)}${failures(model.failuresByCategory)}${concurrency}`;
}

/** Live bars on a terminal: the run, then one per model. */
class TerminalDisplay implements ProgressDisplay {
  private readonly bars = new cliProgress.MultiBar(
    { format: '{bar} {line}', barsize: 20, hideCursor: true, clearOnComplete: false, stream: process.stderr, fps: 5, autopadding: true },
    cliProgress.Presets.shades_classic,
  );
  private overall: cliProgress.SingleBar | undefined;
  private readonly perModel = new Map<string, cliProgress.SingleBar>();
  private timer: NodeJS.Timeout | undefined;
  private tracker: ProgressTracker | undefined;

  attach(tracker: ProgressTracker): void {
    this.tracker = tracker;
    const snapshot = tracker.snapshot();
    this.overall = this.bars.create(snapshot.total, snapshot.completed + snapshot.failed, { line: overallLine(snapshot) });
    this.timer = setInterval(() => this.update(), 200);
    this.timer.unref();
  }

  private update(): void {
    if (!this.tracker || !this.overall) return;
    const snapshot = this.tracker.snapshot();
    this.overall.setTotal(snapshot.total);
    this.overall.update(snapshot.completed + snapshot.failed, { line: overallLine(snapshot) });
    // A single model adds nothing the run's own bar does not say.
    if (snapshot.models.length < 2) return;
    for (const model of snapshot.models) {
      let bar = this.perModel.get(model.modelId);
      if (!bar) {
        bar = this.bars.create(Math.max(1, model.total), 0, { line: '' });
        this.perModel.set(model.modelId, bar);
      }
      bar.update(model.total > 0 ? model.completed + model.failed : 0, { line: `  ${modelLine(model)}` });
    }
  }

  notice(message: string): void {
    if (this.overall) this.bars.log(`${terminalSafe(message)}\n`);
    else printErrorLine(message);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.tracker) this.update();
    this.bars.stop();
  }
}

/** Plain lines every few seconds, for logs and pipes: the run, then each model. */
class LineDisplay implements ProgressDisplay {
  private timer: NodeJS.Timeout | undefined;
  private tracker: ProgressTracker | undefined;

  constructor(private readonly intervalMs: number) {}

  attach(tracker: ProgressTracker): void {
    this.tracker = tracker;
    this.timer = setInterval(() => this.print(), this.intervalMs);
    this.timer.unref();
  }

  private print(): void {
    if (!this.tracker) return;
    const snapshot = this.tracker.snapshot();
    const lines = [`[assay] ${overallLine(snapshot)}`];
    if (snapshot.models.length > 1) for (const model of snapshot.models) lines.push(`[assay]   ${modelLine(model)}`);
    printErrorLine(lines.join('\n'));
  }

  notice(message: string): void {
    printErrorLine(`[assay] ${message}`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.print();
  }
}

/** Nothing at all (`--quiet`). */
class SilentDisplay implements ProgressDisplay {
  attach(): void {}
  notice(): void {}
  stop(): void {}
}

export function createProgressDisplay(options: { quiet: boolean; json: boolean }): ProgressDisplay {
  if (options.quiet) return new SilentDisplay();
  if (process.stderr.isTTY && !options.json) return new TerminalDisplay();
  const interval = Number(process.env.ASSAY_PROGRESS_INTERVAL_MS ?? 10_000);
  return new LineDisplay(Number.isFinite(interval) && interval > 0 ? interval : 10_000);
}
