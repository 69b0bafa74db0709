// The floor under every command's wall time: how long Node takes to start and exit (`node -e 0`), median of five.
import { execFileSync } from 'node:child_process';

const times: number[] = [];
for (let attempt = 0; attempt < 5; attempt++) {
  const started = performance.now();
  execFileSync(process.execPath, ['-e', '0']);
  times.push(performance.now() - started);
}
times.sort((a, b) => a - b);
process.stdout.write(JSON.stringify({ medianMs: times[2], bestMs: times[0] }));
