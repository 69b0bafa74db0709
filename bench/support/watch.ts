// Runs a command as a child process and reports its wall time and peak memory. Peak RSS is read from
// /proc (VmHWM, the kernel's own high-water mark) for the child and every process it starts, sampled
// every 50 ms; the figure is the sum of their peaks.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface Watched {
  readonly child: ChildProcess;
  readonly startedAt: number;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; seconds: number; peakRssMB: number; stdout: string; stderr: string }>;
}

function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  const found = [root];
  for (let index = 0; index < found.length; index++) {
    for (const [pid, ppid] of parents) if (ppid === found[index]) found.push(pid);
  }
  return found;
}

function highWaterKB(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

export function watch(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Watched {
  const startedAt = performance.now();
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
  const peaks = new Map<number, number>();
  const sample = () => {
    if (child.pid === undefined) return;
    for (const pid of descendants(child.pid)) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, highWaterKB(pid)));
  };
  const timer = setInterval(sample, 50);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; seconds: number; peakRssMB: number; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => sample());
    child.on('close', (code, signal) => {
      clearInterval(timer);
      const peakKB = [...peaks.values()].reduce((sum, value) => sum + value, 0);
      resolve({ code, signal, seconds: (performance.now() - startedAt) / 1000, peakRssMB: peakKB / 1024, stdout, stderr });
    });
  });
  return { child, startedAt, done };
}
