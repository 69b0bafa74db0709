import cliProgress from 'cli-progress';
import type { ProgressSnapshot, ProgressTracker } from '../engine/progress-tracker.js';
import { formatDuration } from './output.js';

export interface ProgressDisplay {
  attach(tracker: ProgressTracker): void;
  /** Prints a notice without breaking the bar. */
  notice(message: string): void;
  stop(): void;
}

function failureText(snapshot: ProgressSnapshot): string {
  const categories = Object.entries(snapshot.failuresByCategory)
    .map(([category, count]) => `${category} ${count}`)
    .join(', ');
  return categories ? `${snapshot.failed} failed (${categories})` : `${snapshot.failed} failed`;
}

function line(snapshot: ProgressSnapshot): string {
  const percent = snapshot.total > 0 ? ((100 * (snapshot.completed + snapshot.failed)) / snapshot.total).toFixed(1) : '100.0';
  const eta = snapshot.etaSeconds === null ? '?' : formatDuration(snapshot.etaSeconds);
  const retries = snapshot.retries > 0 ? ` · ${snapshot.retries} retries` : '';
  const stopping = snapshot.stopping ? ' · stopping' : '';
  return `${snapshot.completed + snapshot.failed}/${snapshot.total} tasks (${percent}%) · ${snapshot.ratePerSecond.toFixed(1)}/s · ETA ${eta} · ${failureText(snapshot)}${retries}${stopping}`;
}

/** A live bar on a terminal. */
class TerminalDisplay implements ProgressDisplay {
  private readonly bar = new cliProgress.SingleBar(
    {
      format: '{bar} {done}/{total} · {speed}/s · ETA {remaining} · {failures}{extra}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  private timer: NodeJS.Timeout | undefined;
  private tracker: ProgressTracker | undefined;

  attach(tracker: ProgressTracker): void {
    this.tracker = tracker;
    const snapshot = tracker.snapshot();
    this.bar.start(snapshot.total, snapshot.completed + snapshot.failed, this.payload(snapshot));
    this.timer = setInterval(() => this.update(), 200);
    this.timer.unref();
  }

  private payload(snapshot: ProgressSnapshot) {
    return {
      done: snapshot.completed + snapshot.failed,
      speed: snapshot.ratePerSecond.toFixed(1),
      remaining: snapshot.etaSeconds === null ? '?' : formatDuration(snapshot.etaSeconds),
      failures: failureText(snapshot),
      extra: (snapshot.retries > 0 ? ` · ${snapshot.retries} retries` : '') + (snapshot.stopping ? ' · stopping' : ''),
    };
  }

  private update(): void {
    if (!this.tracker) return;
    const snapshot = this.tracker.snapshot();
    this.bar.update(snapshot.completed + snapshot.failed, this.payload(snapshot));
  }

  notice(message: string): void {
    if (this.tracker) {
      this.bar.stop();
      process.stderr.write(`${message}\n`);
      const snapshot = this.tracker.snapshot();
      this.bar.start(snapshot.total, snapshot.completed + snapshot.failed, this.payload(snapshot));
    } else {
      process.stderr.write(`${message}\n`);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.tracker) {
      this.update();
      this.bar.stop();
    }
  }
}

/** Plain lines every few seconds, for logs and pipes. */
class LineDisplay implements ProgressDisplay {
  private timer: NodeJS.Timeout | undefined;
  private tracker: ProgressTracker | undefined;

  constructor(private readonly intervalMs: number) {}

  attach(tracker: ProgressTracker): void {
    this.tracker = tracker;
    this.timer = setInterval(() => process.stderr.write(`[assay] ${line(tracker.snapshot())}\n`), this.intervalMs);
    this.timer.unref();
  }

  notice(message: string): void {
    process.stderr.write(`[assay] ${message}\n`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.tracker) process.stderr.write(`[assay] ${line(this.tracker.snapshot())}\n`);
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
