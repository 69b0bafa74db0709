// `npm run bench`: measures assay and writes the figures, with the machine they came from, to docs/benchmarks.md.
// Every scenario runs in a fresh process (so its peak RSS is its own); `--quick` runs smaller sizes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = join(root, 'bench', '.work');
mkdirSync(work, { recursive: true });
const quick = process.argv.includes('--quick');
const only = process.argv.find((argument) => argument.startsWith('--only='))?.slice('--only='.length).split(',');
const wanted = (section: string) => !only || only.includes(section);

/** A scenario's JSON output: numbers mostly, some nested figures and flags. */
type Figures = Record<string, any>;

function scenario(file: string, ...args: (string | number)[]): Figures {
  const output = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'bench', file), work, ...args.map(String)], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
    // The dataset identity cache of the benchmarks stays in the work directory.
    env: { ...process.env, ASSAY_CACHE_DIR: join(work, 'cache') },
  });
  return JSON.parse(output) as Figures;
}

const format = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const percent = (value: number) => `${format(value * 100, 1)}%`;
const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
const sections: string[] = [];

// 1. Harness overhead.
if (wanted('harness')) {
  const shapes: [number, number][] = quick ? [[10_000, 1], [100_000, 1]] : [[100_000, 1], [100_000, 10], [1_000_000, 1]];
  const rawSizes = [...new Set(shapes.map(([items, replicates]) => items * replicates))];
  console.log('1. harness overhead (in-process mock model; generate, reduce, parse, score)');
  const harness = shapes.map(([items, replicates]) => {
    const result = scenario('harness-scenario.ts', items, replicates, 256);
    console.log(`   ${format(items)} items x ${replicates}: ${format(result.tasks)} tasks in ${format(result.seconds, 2)} s, ${format(result.tasksPerSecond)} tasks/s, peak RSS ${format(result.peakRssMB)} MB`);
    return result;
  });
  const raw = new Map(
    rawSizes.map((size) => {
      const result = scenario('raw-sqlite-scenario.ts', size);
      console.log(`   raw SQLite, the same rows for ${format(size)} tasks: ${format(result.tasksPerSecond)} tasks/s`);
      return [size, result] as const;
    }),
  );
  const rows = harness
    .map((result) => {
      const reference = raw.get(result.tasks)!;
      return `| ${format(result.items)} x ${result.replicates} | ${format(result.tasks)} | ${format(result.seconds, 2)} s | ${format(result.prepareSeconds, 2)} s | ${format(result.tasksPerSecond)} | ${format(result.engineTasksPerSecond)} | ${format(result.peakRssMB)} MB | ${format(result.storeMB)} MB | ${format(reference.tasksPerSecond)} | ${percent(result.tasksPerSecond / reference.tasksPerSecond)} |`;
    })
    .join('\n');
  const largest = harness.filter((result) => result.tasks === Math.max(...harness.map((entry) => entry.tasks)));
  const smallest = harness[0]!;
  const growth = largest.map((result) => `${format(result.seconds / smallest.seconds, 2)}x for ${format(result.tasks / smallest.tasks)}x the tasks (${format(result.items)} x ${result.replicates})`).join('; ');
  const targetRows = largest
    .map((result) => `| ${format(result.items)} items x ${result.replicates} | ${format(result.tasksPerSecond)} tasks/s (${verdict(result.tasksPerSecond >= 25_000)}) | ${format(result.peakRssMB)} MB (${verdict(result.peakRssMB <= 400)}) |`)
    .join('\n');
  sections.push(`## 1. Harness overhead

The in-process mock model, so nothing but assay itself is measured: read and fingerprint the dataset, create
the run, then generate, reduce, parse and score every task, every result committed to the SQLite store
(concurrency 256, one model, one prompt). "Raw SQLite" is the physical reference: the same rows per task
(one task row created then updated, four event rows) inserted straight into the same schema with the same
pragmas and batch size, with no engine, no result building and no dataset. "Preparing" is everything before
the first task: loading the config, reading and fingerprinting the dataset (the identity cache starts empty),
and creating the run with its item rows; "tasks/s" counts it, "once prepared" does not.

| items x replicates | tasks | wall time | of which preparing | tasks/s | tasks/s once prepared | peak RSS | store size | raw SQLite tasks/s | share of raw |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows}

Growth: ${growth} (linear would be the same factor).

${
  quick
    ? ''
    : `Targets at 1M tasks: at least 25,000 tasks/s and at most 400 MB peak RSS.

| shape | throughput | peak RSS |
|---|---|---|
${targetRows}

With a million distinct rows, preparing is a quarter of the time: the rows are read twice (once to
fingerprint them for the run id, once to stream them into the store, checking the fingerprint again so a
file changed in between is refused) and a million item rows are inserted in one transaction. A CPU profile
of the whole run puts most of the rest in SQLite itself (statement execution and commits of the task and
event rows), which is why the share of the raw insert rate is the figure to watch. Rows are read from the
file a chunk at a time and no per-row state outlives a pass except the index of ids that finds duplicates,
so peak RSS is V8's heap during those passes plus SQLite's page cache (32 MB), not the dataset.
`
}`);
}

// 2. Latency-bound.
if (wanted('latency')) {
  const requests = quick ? 5_000 : 20_000;
  const rounds = quick ? 1 : 5;
  console.log(`2. latency-bound: ${format(requests)} requests, server answers after 100 ms, concurrency 256, ${rounds} round(s)`);
  // The three clients take turns, round after round, so a slower stretch of the machine (another tenant of the
  // host takes CPU time from this VM: "steal") falls on all three; each figure is the median over the rounds.
  const clients = {
    reference: () => scenario('raw-client-scenario.ts', requests, 100, 256),
    assay: () => scenario('latency-scenario.ts', requests, 100, 256),
    fleet: () => scenario('latency-scenario.ts', requests, 100, 256, 2),
  };
  const runs: Record<keyof typeof clients, Figures[]> = { reference: [], assay: [], fleet: [] };
  const stealBefore = stealSeconds();
  const loadBefore = loadavg()[0]!;
  for (let round = 0; round < rounds; round++) {
    for (const name of Object.keys(clients) as (keyof typeof clients)[]) {
      const figures = clients[name]();
      runs[name].push(figures);
      console.log(`   round ${round + 1} ${name}: ${format(figures.requestsPerSecond)} req/s`);
    }
  }
  const loadAfter = loadavg()[0]!;
  const steal = stealBefore === null ? null : stealSeconds()! - stealBefore;
  const medianOf = (name: keyof typeof clients) => {
    const sorted = [...runs[name]].sort((left, right) => left.requestsPerSecond - right.requestsPerSecond);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  const median = (values: number[]) => [...values].sort((left, right) => left - right)[Math.floor(values.length / 2)]!;
  const reference = medianOf('reference');
  const assay = medianOf('assay');
  const fleet = medianOf('fleet');
  const fleetShare = fleet.requestsPerSecond / reference.requestsPerSecond;
  const roundShares = runs.fleet.map((entry, index) => entry.requestsPerSecond / runs.reference[index]!.requestsPerSecond);
  const steadyShare = median(runs.fleet.map((entry) => entry.afterThreeSecondsRequestsPerSecond)) / median(runs.reference.map((entry) => entry.afterThreeSecondsRequestsPerSecond));
  console.log(`   bare HTTP client: ${format(reference.requestsPerSecond)} req/s (${percent(reference.fraction)} of 2,560)`);
  console.log(`   assay: ${format(assay.requestsPerSecond)} req/s (${percent(assay.fraction)} of 2,560), ${format(assay.seconds, 2)} s end to end, peak RSS ${format(assay.peakRssMB)} MB`);
  console.log(`   assay --workers 2: ${format(fleet.requestsPerSecond)} req/s (${percent(fleetShare)} of the bare client), calls by worker ${fleet.callsByWorker.join(' / ')}`);
  const row = (label: string, entry: Figures, share: string, rss: string) =>
    `| ${label} | ${format(entry.requestsPerSecond)} | ${percent(entry.fraction)} | ${share} | ${format(entry.firstSecondRequestsPerSecond)} | ${format(entry.afterThreeSecondsRequestsPerSecond)} | ${format(entry.seconds, 2)} s | ${rss} |`;
  const perRound = (name: keyof typeof clients) => runs[name].map((entry) => format(entry.requestsPerSecond)).join(', ');
  sections.push(`## 2. Latency-bound

A local OpenAI-compatible server (in its own process) answers every request after 100 ms; \`assay run\`
sends ${format(requests)} requests through the \`openai-compatible\` provider at concurrency 256, storing,
parsing and scoring every answer. The physical limit is concurrency / latency = 2,560 requests/s. Throughput
is read at the server, from its first request to its last answer; the bare HTTP client (undici, no SDK, no
store, its own process, the same server) shows what this two-core machine allows. The three clients took
turns for ${rounds} round(s); each row is the round with the median rate (rounds: bare client ${perRound('reference')};
assay run ${perRound('assay')}; \`--workers 2\` ${perRound('fleet')} requests/s). "First second" and "after 3 s" are the
rates the server saw in the first second after the first request and from 3 s on to the last answer.

| client | requests/s | share of 2,560 | share of the bare client | first second | after 3 s | wall time | peak RSS |
|---|---:|---:|---:|---:|---:|---:|---:|
${row('bare HTTP client', reference, '100%', `${format(reference.peakRssMB)} MB`)}
${row('assay run', assay, percent(assay.requestsPerSecond / reference.requestsPerSecond), `${format(assay.peakRssMB)} MB`)}
${row('assay run --workers 2 --concurrency 128', fleet, percent(fleetShare), `${format(fleet.peakRssMB)} MB (the parent and its two workers)`)}

Target: at least 90% of concurrency / latency: ${verdict(assay.fraction >= 0.9)}${assay.fraction >= 0.9 ? '' : ` by ${format((0.9 - assay.fraction) * 100, 1)} points`}.
Target for \`assay run --workers 2\` (two worker processes sharing the run through the SQLite store, 128 calls
in flight each, the same 256 in all): at least 0.9 of the bare client: ${verdict(fleetShare >= 0.9)} (${format(fleetShare, 3)} for the medians; round by round
${roundShares.map((share) => format(share, 3)).join(', ')}; from 3 s on ${format(steadyShare, 3)}; calls by worker ${fleet.callsByWorker.join(' / ')}; its wall time includes
starting the run and the two workers, ${format(fleet.startupSeconds, 2)} s until the first request).
${fleet.requestsPerSecond < assay.requestsPerSecond ? `Here two workers were slower than one process (${format(fleet.requestsPerSecond)} against ${format(assay.requestsPerSecond)} requests/s): the model server, the two workers and their parent share the two cores, so the second worker gains no core of its own. ` : ''}Two workers can only beat one process when the second core is free: the machine's one-minute load average
was ${format(loadBefore, 1)} before the rounds and ${format(loadAfter, 1)} after${steal === null ? '' : `, and the hypervisor took ${format(steal, 1)} s of CPU time from this VM
("steal" in /proc/stat) over the ${format(rounds * 3)} runs`} (on two cores, a load above 2 or much steal means the processes
here shared their cores with others and every row is lower than on a quiet machine).
The start of \`assay run\` (Node, config, dataset, store) until its first request took ${format(assay.startupSeconds, 2)} s and is not in
the rate. What bounds the rate is CPU per call on one thread: the answers of 256 calls arrive together every
100 ms, so the last answer of a wave waits for the ones before it (the AI SDK provider building the request
and validating the reply, undici, the store's group commit). The first seconds cost most: every process
runs its hot path unoptimized until V8 has compiled it, and two workers each do that for themselves, on half
the calls each. The bare client does far less per call and still loses some of the limit the same way. See
ADR 0008 for the call path chosen to get here (it was 35% with \`generateText\` over Node's fetch) and ADR 0018
for what moved \`--workers 2\` from 0.74 to the figure above.`);
}

/** CPU time (s) the hypervisor gave to others while this VM wanted it, from /proc/stat; null where there is none. */
function stealSeconds(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
    return Number(fields[8]) / 100;
  } catch {
    return null;
  }
}

// 3 and 4. Resume and reading.
if (wanted('resume')) {
  const tasks = quick ? 100_000 : 1_000_000;
  console.log(`3. resume: ${format(tasks)} tasks over HTTP, SIGKILL half way, restart`);
  const result = scenario('resume-scenario.ts', tasks, 256);
  console.log(`   first request ${format(result.firstRequestSeconds, 2)} s after restart; ${result.repeatedCompleted} repeats of stored answers; ${result.repeatedInFlight} answers in flight at the kill asked again`);
  const timing = (entry: unknown) => {
    const { best, median } = entry as { best: number; median: number };
    return `${format(median)} ms (best ${format(best)} ms)`;
  };
  console.log(`4. reading the ${format(tasks)}-task store: inspect state ${timing(result.inspectStateMs)}, quickcheck ${timing(result.quickcheckMs)}`);
  const nodeStart = scenario('node-start-scenario.ts');
  sections.push(`## 3. Resume after kill -9

A run of ${format(tasks)} tasks against a local OpenAI-compatible server (answering at once, concurrency 256) is
killed with SIGKILL once the server has seen half the requests; then \`assay run\` is started again on the
same config. The server counts every request per prompt.

| | |
|---|---:|
| requests before the kill | ${format(result.requestsBeforeKill)} |
| answers durable in the store at the kill | ${format(result.storedAtKill)} |
| answers in flight or not yet committed at the kill | ${format(result.inFlightAtKill)} (bounded by the concurrency) |
| time from the restart to its first request | ${format(result.firstRequestSeconds, 2)} s (target <= 2 s: ${verdict(result.firstRequestSeconds <= 2)}) |
| requests repeated for stored answers | ${result.repeatedCompleted} (must be 0: ${verdict(result.repeatedCompleted === 0)}) |
| requests repeated for answers that were in flight | ${format(result.repeatedInFlight)} |
| the restarted run: requests, wall time, peak RSS | ${format(result.resumedRequests)}, ${format(result.resumedSeconds, 1)} s, ${format(result.resumedPeakRssMB)} MB |

The restart reads no dataset rows: the dataset's identity comes from the cache (ADR 0007) and each claimed
batch's items from the store.

## 4. Reading a ${format(tasks)}-task store

Wall time of the whole command (a new Node process each time), median of five with the best in brackets.
Node itself takes ${format(nodeStart.medianMs)} ms to start and exit on this machine (\`node -e 0\`, median of five).

| command | wall time | target <= 200 ms |
|---|---:|---|
| \`assay inspect state <run id>\` | ${timing(result.inspectStateMs)} | ${verdict((result.inspectStateMs as unknown as { median: number }).median <= 200)} |
| \`assay quickcheck <run id>\` | ${timing(result.quickcheckMs)} | ${verdict((result.quickcheckMs as unknown as { median: number }).median <= 200)} |
| \`assay inspect state <config>\` | ${timing(result.inspectStateByConfigMs)} | (by config) |

By run id, a command reads the maintained counters (indexed, no scan of tasks or events); most of its time is
Node starting and loading modules (commander, better-sqlite3, assay's own). By config, it also loads the YAML
parser and the zod schemas (about 180 ms here) to validate the config and derive the run id.`);
}

// 5. Side by side with promptfoo.
if (wanted('peers')) {
  const items = quick ? 2_000 : 20_000;
  console.log(`5. side by side with promptfoo: ${format(items)} items`);
  const rows: string[] = [];
  const kills: string[] = [];
  const exitNotes: string[] = [];
  let unavailable: string | undefined;
  const results: Record<string, Figures> = {};
  for (const delay of [100, 0]) {
    for (const tool of ['assay', 'promptfoo']) {
      const result = scenario('peer-scenario.ts', tool, items, delay, 256, 'full');
      if (typeof result.unavailable === 'string') {
        unavailable = result.unavailable;
        continue;
      }
      results[`${tool}-${delay}`] = result;
      console.log(`   ${tool}, ${delay} ms: ${format(result.seconds, 1)} s, ${format(result.requestsPerSecond)} req/s, peak RSS ${format(result.peakRssMB)} MB`);
      rows.push(`| ${tool} | ${delay} ms | ${format(result.seconds, 1)} s | ${format(result.requestsPerSecond)} | ${format(result.peakRssMB)} MB | ${result.exitCode} |`);
    }
  }
  for (const tool of ['assay', 'promptfoo']) {
    if (unavailable) break;
    const result = scenario('peer-scenario.ts', tool, items, 100, 256, 'kill');
    console.log(`   ${tool} after kill -9: restart made ${format(result.requestsAfterRestart)} requests, ${format(result.repeatedAfterRestart)} repeated (${format(result.repeatedSettled)} answered over a second before the kill), finished: ${result.finished}`);
    kills.push(`| ${tool} | ${format(result.requestsBeforeKill)} | ${format(result.requestsAfterRestart)} | ${format(result.repeatedAfterRestart)} | ${format(result.repeatedSettled)} of ${format(result.settledBeforeKill)} | ${format(result.distinctAnswered)} of ${format(items)} | ${result.restartExit} |`);
    if (!result.finished && typeof result.restartTail === 'string') {
      // The last line the tool printed says why it did not exit cleanly.
      const lines = result.restartTail.replace(/\u001b\[[0-9;]*m/g, '').split('\n').map((line: string) => line.trim()).filter(Boolean);
      exitNotes.push(`${tool}'s restart exited ${result.restartExit}; the last line it printed: \`${(lines.at(-1) ?? '').slice(0, 200)}\``);
    }
  }
  const ratio = (key: string, field: string) => {
    const assay = results[`assay-${key}`];
    const peer = results[`promptfoo-${key}`];
    return assay && peer ? format((peer[field] as number) / (assay[field] as number), 1) : 'n/a';
  };
  sections.push(`## 5. Side by side with promptfoo

promptfoo ${(JSON.parse(readFileSync(join(root, 'bench', 'peers', 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies.promptfoo} is installed only for this
benchmark, in \`bench/peers/\` with its own package.json (\`npm install\` there); it is not a dependency of
assay. Both tools get the same ${format(items)} questions, the same local server and concurrency 256
(\`-j 256\` for promptfoo, caching off), and check each answer (promptfoo: a \`contains\` assertion; assay:
last-number parse and numeric match, every result stored). Wall time is the whole command; throughput is
read at the server. Node ${process.version}: promptfoo warns that it wants Node 22 but runs.

${
  unavailable
    ? `Not measured: ${unavailable}.`
    : `| tool | server latency | wall time | requests/s | peak RSS | exit code |
|---|---|---:|---:|---:|---:|
${rows.join('\n')}

From the same run: promptfoo took ${ratio('100', 'seconds')}x assay's wall time at 100 ms latency and ${ratio('0', 'seconds')}x with no latency, with
${ratio('100', 'peakRssMB')}x and ${ratio('0', 'peakRssMB')}x its peak RSS.

After a kill -9 half way (100 ms latency), each tool is restarted the way its documentation says to continue:
\`assay run\` with the same config, \`promptfoo eval --resume\`. "Repeated" counts requests for questions the
server had already been asked before the kill (answers in flight at the kill are lost to any tool); the next
column counts only those the server had answered more than a second before the kill, which a tool that saves
as it goes has had time to keep.

| tool | requests before the kill | requests after the restart | repeated | of which answered > 1 s before the kill | questions asked in all | restart exit code |
|---|---:|---:|---:|---:|---:|---:|
${kills.join('\n')}
${exitNotes.length > 0 ? `\n${exitNotes.join('\n\n')}\n` : ''}
Across runs of this benchmark, promptfoo's restart has sometimes exited 1 after asking every remaining
question (its logger failing with "write after end" on Node 20), sometimes 0; the exit code is the one from
this run.`
}`);
}

// 6. The report on a large store.
if (wanted('report')) {
  const shapes: [number, number, number][] = quick ? [[50_000, 2, 1]] : [[500_000, 2, 1], [100_000, 2, 5]];
  console.log('6. assay report on a large store');
  const rows: string[] = [];
  for (const [items, models, replicates] of shapes) {
    const built = scenario('report-scenario.ts', 'build', items, models, replicates);
    console.log(`   built ${format(built.tasks)} tasks in ${format(built.buildSeconds, 1)} s (${format(built.storeMB)} MB)`);
    const runs = [[], ['--by', 'subject'], ['--cluster', 'passage', '--last']].map((extra) => {
      const result = scenario('report-scenario.ts', 'report', items, models, replicates, ...extra);
      console.log(`   report ${result.options}: ${format(result.seconds, 2)} s, peak RSS ${format(result.peakRssMB)} MB, ${result.groups} groups, ${result.comparisons} comparisons`);
      return result;
    });
    for (const result of runs) {
      rows.push(`| ${format(items)} items x ${models} models x ${replicates} | ${format(result.tasks)} | \`${result.options}\` | ${format(result.seconds, 2)} s (${verdict(result.seconds <= 10)}) | ${format(result.peakRssMB)} MB (${verdict(result.peakRssMB <= 400)}) | ${result.groups} | ${result.comparisons} |`);
    }
  }
  sections.push(`## 6. The report on a large store

\`buildReport\` (what \`assay report\` runs) over a store of mock runs built for it, in a fresh process each
time, so the peak RSS is the report's own (Node included). The report reads the run's task results a page
of 10,000 at a time in manifest order (one indexed range query per page, the scores pulled out of the
events by SQLite) and the items it splits by a page of 5,000 at a time; it keeps a few numbers per item and
score, never the answers. Targets: <= 10 s and <= 400 MB on a 1M-task store.

| store | tasks | options | time | peak RSS | groups | comparisons |
|---|---:|---|---:|---:|---:|---:|
${rows.join('\n')}`);
}

// 7. Coordinating a fleet through the store.
if (wanted('fleet')) {
  console.log('7. fleet coordination: store operations a fleet of workers makes (SQLite)');
  const fleet = scenario('fleet-scenario.ts');
  const perSecond = (micros: number) => format(1e6 / micros);
  console.log(`   grant ${format(fleet.grantMicros, 1)} us, pause read ${format(fleet.pauseReadMicros, 1)} us, heartbeat (${fleet.heldPerHeartbeat} leases) ${format(fleet.heartbeatMicros, 1)} us, listOwners (${fleet.owners}) ${format(fleet.listOwnersMicros, 1)} us`);
  sections.push(`## 7. Coordinating a fleet through the store

What the workers of a run ask the store besides claiming and writing (see [scale-out](concepts/scale-out.md)
and ADR 0014), one operation at a time in one process on the SQLite store (each is one transaction; on a
shared file the writers queue for one lock, so these are also the most per second the fleet gets).

| operation | who, how often | time | most per second |
|---|---|---:|---:|
| \`reserveCalls\`, a block of ${fleet.grantBlock} calls | each worker, per block of calls to a rate-limited model | ${format(fleet.grantMicros, 1)} us | ${perSecond(fleet.grantMicros)} grants (${format((1e6 / fleet.grantMicros) * fleet.grantBlock)} calls) |
| \`reserveCalls\` with 0 requests (the pause read) | each worker, each model, once a second | ${format(fleet.pauseReadMicros, 1)} us | ${perSecond(fleet.pauseReadMicros)} |
| \`heartbeat\` renewing ${fleet.heldPerHeartbeat} leases | each worker, every leaseMs / 4 | ${format(fleet.heartbeatMicros, 1)} us | ${perSecond(fleet.heartbeatMicros)} |
| \`listOwners\` of ${fleet.owners} owners | each worker, once a second | ${format(fleet.listOwnersMicros, 1)} us | ${perSecond(fleet.listOwnersMicros)} |

With the default lease (300 s, renewed every 75 s), a hundred workers make under two heartbeats a second;
their pause reads and owner lists, one each per worker per second, are reads. A grant's time grows with the
grants in its window (they are summed), so a fleet asking for small blocks against a high limit pays more
per grant: the block is every call waiting at that moment. The bound of a fleet is elsewhere: the model
server, and the store's write transactions for results (one per group commit per worker).`);
}

// 8. One run on PostgreSQL: one process on SQLite against 1, 2 and 4 workers on PostgreSQL.
if (wanted('postgres')) {
  const { postgresBinaries } = await import('../src/testing/postgres-server.js');
  if (!postgresBinaries()) console.log('8. postgres: skipped, no PostgreSQL server binaries in /usr/lib/postgresql/*/bin');
  else {
    const size = quick ? 20_000 : Number(process.env.ASSAY_BENCH_PG_TASKS ?? 1_000_000);
    const pgLoad = loadavg()[0]!;
    console.log(`8. one run of ${format(size)} mock tasks: one process on SQLite, 1, 2 and 4 workers on PostgreSQL`);
    const runs = [scenario('postgres-scenario.ts', 'fleet', size, 1, 'sqlite'), ...[1, 2, 4].map((workers) => scenario('postgres-scenario.ts', 'fleet', size, workers, 'postgres'))];
    for (const run of runs) {
      console.log(`   ${run.backend} x ${run.workers}: ${format(run.tasksPerSecond)} tasks/s (${format(run.seconds, 1)} s; submit ${format(run.submitSeconds, 1)} s), peak RSS ${run.peakRssMB.map((mb: number) => format(mb)).join(', ')} MB`);
    }
    const cost = scenario('postgres-scenario.ts', 'store-cost', quick ? 20_000 : 100_000);
    console.log(`   store alone, per task: SQLite ${format(cost.sqliteMicros, 1)} us, PostgreSQL ${format(cost.postgresMicros, 1)} us`);
    const coordination = scenario('postgres-scenario.ts', 'coordination');
    const perSecond = (micros: number) => format(1e6 / micros);
    console.log(`   grant ${format(coordination.grantMicros, 1)} us, heartbeat ${format(coordination.heartbeatMicros, 1)} us`);
    const rows = runs
      .map((run) => `| ${run.backend === 'sqlite' ? 'SQLite, one process' : `PostgreSQL, ${run.workers} worker${run.workers > 1 ? 's' : ''}`} | ${format(run.tasksPerSecond)} | ${format(run.seconds, 1)} s | ${format(run.submitSeconds, 1)} s | ${run.peakRssMB.map((mb: number) => format(mb)).join(', ')} MB | ${run.callsPerWorker.map((calls: number) => format(calls)).join(', ')} |`)
      .join('\n');
    sections.push(`## 8. One run on PostgreSQL

A run of ${format(size)} tasks on the in-process mock model (generate, parse, score), created with
\`assay submit\` ("submit": reading the dataset and writing the run and its item rows) and then worked to the
end by \`assay worker\` processes started together ("wall time": from their start to the last one's exit;
tasks/s is tasks over that). The PostgreSQL ${'15'} server is started by the benchmark on the same machine
(fsync on, \`synchronous_commit = off\`: like SQLite's default, a commit survives a killed process, the last
ones may be lost on power loss); it shares the two cores with the workers.

| store, processes | tasks/s | wall time | submit | peak RSS per worker | tasks per worker |
|---|---:|---:|---:|---:|---:|
${rows}

The store alone (one process, no engine: claim 256 tasks, append their four events, release them, until the
run is done, ${format(cost.tasks)} tasks): ${format(cost.sqliteMicros, 1)} us per task on SQLite, ${format(cost.postgresMicros, 1)} us on PostgreSQL
(${format(cost.postgresMicros / cost.sqliteMicros, 1)}x). Each batch is a constant number of statements whatever its size (one
multi-row insert of the events, one update of the task rows from arrays, one statement upserting the
three counter tables).

On one two-core machine the workers, the PostgreSQL server and the benchmark share the same two cores (the
one-minute load average was ${format(pgLoad, 1)} when the runs began): a PostgreSQL worker makes the server's backends
spend at least as much CPU as it spends itself, so past two processes more workers only add contention. A fleet
gains from machines, each adding its cores, with the database on a machine of its own; what one database
takes is in [scale-out](concepts/scale-out.md#what-limits-a-fleet).

Coordination on PostgreSQL, one operation at a time from one process (each a transaction on a pooled
connection):

| operation | time | most per second, one connection |
|---|---:|---:|
| \`reserveCalls\`, a block of ${coordination.grantBlock} calls | ${format(coordination.grantMicros, 1)} us | ${perSecond(coordination.grantMicros)} |
| \`reserveCalls\` with 0 requests (the pause read) | ${format(coordination.pauseReadMicros, 1)} us | ${perSecond(coordination.pauseReadMicros)} |
| \`heartbeat\` renewing ${coordination.heldPerHeartbeat} leases | ${format(coordination.heartbeatMicros, 1)} us | ${perSecond(coordination.heartbeatMicros)} |
| \`listOwners\` of 16 owners | ${format(coordination.listOwnersMicros, 1)} us | ${perSecond(coordination.listOwnersMicros)} |
| \`getStageHistogram\` (summed over the counter slots) | ${format(coordination.histogramMicros, 1)} us | ${perSecond(coordination.histogramMicros)} |`);
  }
}

// 9. assay view on a 1M-task store.
if (wanted('view')) {
  const items = quick ? 50_000 : 500_000;
  console.log(`9. assay view on a ${format(items * 2)}-task store`);
  const built = scenario('report-scenario.ts', 'build', items, 2, 1);
  console.log(`   built ${format(built.tasks)} tasks in ${format(built.buildSeconds, 1)} s (${format(built.storeMB)} MB)`);
  const view = scenario('view-scenario.ts', join(work, `report-${items}x2x1.db`));
  const { postgresBinaries } = await import('../src/testing/postgres-server.js');
  const onPostgres = postgresBinaries() ? scenario('view-postgres-scenario.ts', items) : null;
  if (!onPostgres) console.log('   postgres: skipped, no PostgreSQL server binaries in /usr/lib/postgresql/*/bin');
  const writes = scenario('task-scores-scenario.ts', quick ? 20_000 : 100_000);
  console.log(`   appending ${format(writes.tasks)} tasks: ${format(writes.withSeconds, 2)} s with task_scores, ${format(writes.withoutSeconds, 2)} s without`);
  const queryRows = (view.queries as { name: string; params: string; api: { median: number; best: number }; rows: number }[]).map(
    (row) => `| ${row.name} | \`${row.params || '(none)'}\` | ${format(row.api.median, 1)} ms (best ${format(row.api.best, 1)}) | ${row.rows} | ${verdict(row.api.median <= 1000)} |`,
  );
  type QueryRow = { name: string; params: string; api: { median: number; best: number }; rows: number };
  const pgQueries = new Map(((onPostgres?.queries ?? []) as QueryRow[]).map((row) => [row.name, row]));
  const bothRows = (view.queries as QueryRow[]).map((row) => {
    const pgRow = pgQueries.get(row.name);
    return `| ${row.name} | ${format(row.api.median, 1)} ms | ${pgRow ? `${format(pgRow.api.median, 1)} ms (best ${format(pgRow.api.best, 1)})` : '-'} | ${pgRow ? pgRow.rows : '-'} | ${pgRow ? verdict(pgRow.api.median <= 1000) : '-'} |`;
  });
  const postgresText = onPostgres
    ? `

The same queries on PostgreSQL 15 (a local server started by the bench, as section 8; synchronous_commit off):
the same experiment (${format(onPostgres.tasks)} tasks) run into it in ${format(onPostgres.buildSeconds, 1)} s (${format(onPostgres.databaseMB)} MB database), then
VACUUM ANALYZE; the viewer opened on its URL (read-only sessions), same requests, same medians:

| query | SQLite | PostgreSQL | rows | target (PostgreSQL) |
|---|---:|---:|---:|---|
${bothRows.join('\n')}

On PostgreSQL the filters are the same SQL shape (schema 2's \`task_scores\`, \`tasks_by_stage\`,
\`tasks_by_failure\`, ADR 0017); the text search is an ILIKE over the JSON text of the items and of the answer
events (sequential scans, no trigram index), then the exact check. While a fresh viewer built the report in its
worker thread (its own read-only connection), the progress read took ${format(onPostgres.progressDuringReport.median, 1)} ms.`
    : '';
  const pageRows = (view.pages as { name: string; ms: number }[]).map((row) => `| ${row.name} | ${format(row.ms)} ms |`);
  sections.push(`## 9. assay view on a large store

\`assay view\` (docs/commands/view.md) over a store of ${format(view.tasks)} mock tasks (${format(items)} items x 2
models, built by the report section's scenario in ${format(built.buildSeconds, 1)} s, ${format(built.storeMB)} MB, schema 6 with
\`task_scores\`). Each task-table query is one request to the viewer's JSON API (\`/api/runs/RUN/tasks?...\`,
a page of 50 with each row's coordinates, input and answer), in-process, median of five (three for text).
Target: the first page and any filter <= 1 s.

| query | parameters | time | rows | target |
|---|---|---:|---:|---|
${queryRows.join('\n')}

The mock models never fail, so the two failure queries find nothing (an index range that is empty); sorted
by a score walks \`task_scores_by_value\`, so it is as fast as the first page.
The text search is two sequential scans (the items' rows and the answer events, by SQLite's LIKE) that narrow
the tasks to check, then an exact check of each candidate (ADR 0017): about the same time whether the text is
common, rare or absent, because both scans run to the end before the first row.

Pages in headless Chromium (Debian's), from navigation until the page's content is in the DOM, median of three:

| page | time |
|---|---:|
${pageRows.join('\n')}

The run page's report is the report's own HTML (\`buildReport\` over every task, several seconds on a million,
section 6); the viewer builds it once per state of the run, in a worker thread with its own read-only
connection, and serves it from memory after that. Meanwhile the counts are answered as usual: the run's
progress read while a fresh viewer builds the report took ${format(view.progressDuringReport.median, 1)} ms (median of three, the last
${format(view.progressDuringReport.reportLeftMs)} ms before the report was done).

What the query tables cost the writes: the same ${format(writes.tasks)} tasks (generate, reduce, parse and score events,
${writes.scoresPerTask} scores each, batches of 256 tasks per transaction) appended to a fresh store as it is, and to one whose
\`task_scores\` statements do nothing (the table replaced by a view with empty triggers), median of three:
${format(writes.withSeconds, 2)} s against ${format(writes.withoutSeconds, 2)} s, ${percent(writes.withSeconds / writes.withoutSeconds - 1)} more time in the store's append (one index
entry and one row per score; the engine's own work per task, section 1, is not in either figure).${postgresText}`);
}

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${format(totalmem() / 2 ** 30, 0)} GiB RAM, ${platform()} ${release()}, Node ${process.version}`;
const document = `# Benchmarks

Produced by \`npm run bench${quick ? ' -- --quick' : ''}\` on ${new Date().toISOString().slice(0, 10)}.
Machine: ${machine}.

These figures are measured, not asserted: tests never depend on wall-clock speed. Each scenario runs in a
fresh process, so its peak RSS (the kernel's high-water mark) is its own. Rerun them with \`npm run bench\`
(\`-- --quick\` for smaller sizes, \`-- --only=harness,latency,resume,peers\` for some sections).

${sections.join('\n\n')}
`;
const docPath = join(root, 'docs', 'benchmarks.md');
if (!only) {
  writeFileSync(docPath, document);
  console.log('wrote docs/benchmarks.md');
} else if (!quick && existsSync(docPath)) {
  // A partial run replaces only the sections it measured (matched by their "## N." heading), noting when and
  // on what machine, and keeps the others as they were measured.
  let current = readFileSync(docPath, 'utf8');
  for (const section of sections) {
    const number = /^## (\d+)\./.exec(section)![1]!;
    const stamped = section.replace(/\n/, `\n\n(Measured on ${new Date().toISOString().slice(0, 10)} by \`npm run bench -- --only=${only.join(',')}\`, ${machine}.)\n`);
    const pattern = new RegExp(`## ${number}\\. [\\s\\S]*?(?=\\n## \\d+\\. |$)`);
    current = pattern.test(current) ? current.replace(pattern, `${stamped}\n`) : `${current.trimEnd()}\n\n${stamped}\n`;
  }
  writeFileSync(docPath, current);
  console.log(`updated sections ${only.join(', ')} of docs/benchmarks.md`);
} else {
  writeFileSync(join(work, 'benchmarks-partial.md'), document);
  console.log(`wrote ${join(work, 'benchmarks-partial.md')} (a quick or first partial run does not replace docs/benchmarks.md)`);
}
