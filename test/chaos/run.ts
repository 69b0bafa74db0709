/**
 * `npm run chaos`: the full chaos suite. Runs every scenario at full size, prints the figures and writes them
 * to docs/reliability.md with the machine noted. Exits 1 if any guarantee did not hold.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MUTATIONS, runBundleMutations } from './bundle-mutations.js';
import { inputMutationCampaign } from './input-mutations.js';
import { killRestartScenario, ROLES } from './kill-restart.js';
import { pauseScenario } from './pause-scenario.js';
import { canMount, diskFullScenario, errorLines, garbageStoreScenario, readOnlyScenario } from './store-faults.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const DOC = join(root, 'docs', 'reliability.md');
const log = (line: string) => process.stdout.write(`${line}\n`);
const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  if (!ok) failures.push(what);
  return ok ? 'holds' : 'FAILED';
};
const oneLine = (stderr: string) => {
  const { lines, stack } = errorLines(stderr);
  return lines.length === 1 && lines[0]!.startsWith('assay: error: ') && !stack;
};

const sum = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((total, count) => total + count, 0);
const started = Date.now();
const sections: string[] = [];

log('kill -9 and restart, 50 times...');
const kills = await killRestartScenario({ kills: 50, items: 400, concurrency: 4, seed: 20261202, log });
const bound = kills.kills * kills.concurrency;
sections.push(`## kill -9 at random moments, 50 times

A run of ${kills.tasks} items with \`samples: 3\`, a best-of chooser model, a template parser model and a
two-judge panel (five model roles), concurrency ${kills.concurrency}, against a local OpenAI-compatible server
that answers every role deterministically after 5-40 ms. The process was killed with SIGKILL ${kills.kills}
times at random moments (${kills.killsMidWork} while it was asking models, the others during start-up),
restarted after each kill, then left to finish. The same config ran once without interruption as the
reference.

| model role | requests, uninterrupted | requests, killed ${kills.kills} times | asked again | bound (kills x concurrency) |
|---|---|---|---|---|
${ROLES.map((role) => `| ${role} | ${kills.reference[role]} | ${kills.interrupted[role]} | ${kills.repeats[role]} | ${bound} |`).join('\n')}
| all roles together | ${sum(kills.reference)} | ${sum(kills.interrupted)} | ${sum(kills.repeats)} | ${bound} |

- Final results (every task's answers, reduction, parse, scores and judgments) equal the uninterrupted
  run's: ${check(kills.resultsEqual, 'kill-restart results differ')}${kills.differences.length ? ` (differs: ${kills.differences.slice(0, 5).join(', ')})` : ''}.
- Repeated requests within kills x concurrency, per role and for all roles together (a call keeps its slot
  until its reply is committed, whatever its role, so at most \`concurrency\` replies are lost per kill):
  ${check(ROLES.every((role) => kills.repeats[role] >= 0) && sum(kills.repeats) <= bound, 'repeats above the bound')}.
- Stored events never went down across the ${kills.eventCounts.length} restarts (${kills.eventCounts[0]} -> ${kills.eventCounts.at(-1)}): ${check(kills.eventsNeverDecreased, 'events went down')}.
- Exit of each killed process: ${Object.entries(kills.exitCodes).map(([code, count]) => `${count} x ${code}`).join(', ')}.
`);

log('SIGSTOP past the lease, three times...');
const pauses = [];
for (const pauseMs of [1500, 2500, 4000]) pauses.push(await pauseScenario({ tasks: 160, concurrency: 4, pauseMs }));
sections.push(`## A process paused past its lease

One process works a run of 160 tasks (concurrency 4, lease 1 s); it is stopped with SIGSTOP, a second
process joins the run, and the first is continued with SIGCONT while the second still works.

| paused for | calls by the paused / the second process | questions asked twice | answers stored for one task, at most | notice from the paused process |
|---|---|---|---|---|
${pauses.map((figures, index) => `| ${[1500, 2500, 4000][index]! / 1000} s | ${figures.callsByProcess.join(' / ')} | ${figures.repeated} | ${figures.maxAnswersPerTask} | ${/longer than its lease|took over/.test(figures.paused.stderr) ? 'yes' : 'no'} |`).join('\n')}

- No question asked by both beyond the calls in flight (at most ${4} per pause): ${check(pauses.every((figures) => figures.repeated <= 4 && figures.maxAskedPerQuestion <= 2), 'a paused process repeated calls')}.
- No result written twice (one stored answer per task): ${check(pauses.every((figures) => figures.maxAnswersPerTask === 1), 'a result was written twice')}.
- Both processes exited 0 and the run completed: ${check(pauses.every((figures) => figures.paused.code === 0 && figures.second.code === 0 && figures.finalStatus === 'completed'), 'a paused run did not complete')}.
`);

if (canMount) {
  log('disk full, read-only, garbage...');
  const disks = [];
  for (const size of ['300k', '900k', '2m']) disks.push(await diskFullScenario(size));
  for (const size of ['200k', '600k']) disks.push(await diskFullScenario(size, { progressive: true }));
  const readOnly = await readOnlyScenario();
  const garbage = await garbageStoreScenario();
  sections.push(`## Store faults

A run of 400 tasks whose store (a SQLite file, or a progressive save's \`.tmp\` and \`.state\`) sits on a
tmpfs too small for it; once it fails, the tmpfs is grown with
\`mount -o remount,size=64m\` and the same command is run again.

| store | disk | exit | one error line | answers stored when it filled | asked again of those | tasks done after freeing |
|---|---|---|---|---|---|---|
${disks.map((figures) => `| ${figures.store} | ${figures.size} | ${figures.full.code} | ${oneLine(figures.full.stderr) ? 'yes' : 'no'} | ${figures.storedBeforeFreeing} | ${figures.savedAskedAgain} | ${figures.doneAfter} of ${figures.tasks} |`).join('\n')}

The line, for the ${disks[1]!.size} disk: \`${errorLines(disks[1]!.full.stderr).lines[0] ?? ''}\`

- A full disk exits 1 with one line, loses no stored answer, and the same command finishes the run: ${check(
    disks.every((figures) => figures.full.code === 1 && oneLine(figures.full.stderr) && figures.savedAskedAgain === 0 && figures.doneAfter === figures.tasks),
    'disk full',
  )}.
- A read-only store: exit ${readOnly.refused.code}, \`${errorLines(readOnly.refused.stderr).lines[0] ?? ''}\`; its bytes unchanged: ${check(readOnly.refused.code === 1 && oneLine(readOnly.refused.stderr) && readOnly.bytesUnchanged && readOnly.resumed.code === 0, 'read-only store')}.
- A store file replaced by garbage: ${garbage.results.map(({ command, result }) => `\`assay ${command}\` exit ${result.code}`).join(', ')}; the file is never overwritten: ${check(
    garbage.bytesUnchanged && garbage.results.every(({ result }) => result.code === 1 && oneLine(result.stderr)),
    'garbage store',
  )}.
`);
} else {
  sections.push('## Store faults\n\nNot run: mounting a tmpfs needs root.\n');
}

log('mutated bundles...');
const bundles = await runBundleMutations({ count: 300, seed: 20261202 });
const byMutation = new Map<string, { tried: number; accepted: number }>();
for (const entry of bundles.cases) {
  const row = byMutation.get(entry.mutation) ?? { tried: 0, accepted: 0 };
  row.tried++;
  if (entry.code === 0) row.accepted++;
  byMutation.set(entry.mutation, row);
}
sections.push(`## Mutated and forged bundles

${bundles.tried} bundles (every kind, plain and gzipped) exported from a real run, each damaged or forged one
way (seed ${bundles.seed}), then imported with \`assay import\` into a store that holds the run. A forged one
has its counts, checksum and, where it edits the snapshot, run id recomputed, as a forger would: the
checksum catches damage, not forgery, so the checks behind it (schemas for the header and every record, the
snapshot against the run id and the items against the dataset fingerprints, plugins that can be rebuilt)
are what refuse those.

| mutation | tried | imported (harmless) |
|---|---|---|
${[...byMutation].sort(([left], [right]) => left.localeCompare(right)).map(([mutation, row]) => `| ${mutation} | ${row.tried} | ${row.accepted} |`).join('\n')}

- Every import exited 0 or 1; each refusal was one \`assay: error:\` line with no stack trace and left the
  store's bytes unchanged; after each accepted one, quickcheck, inspect state and export still worked:
  ${check(bundles.violations.length === 0, 'bundle mutations')} (${bundles.refused} refused, ${bundles.accepted} accepted, ${bundles.violations.length} broke a promise${bundles.violations.length ? `: ${bundles.violations.slice(0, 3).map((entry) => entry.description).join('; ')}` : ''}).
- Mutations in the suite: ${Object.keys(MUTATIONS).length}.
`);

log('mutated configs and datasets...');
const inputs = await inputMutationCampaign({ count: 1000, seed: 20261202 });
sections.push(`## Mutated configs and datasets

${inputs.tried} inputs (seed ${inputs.seed}): one file of a valid experiment (the examples, and configs like the
tests write, over JSONL, CSV, JSON and karenina JSON-LD datasets) damaged or mutated, then \`assay run\` (three
in four) or \`assay estimate\` against a store that already holds the experiment's run. Mutations by family:
${Object.entries(inputs.byFamily).sort(([left], [right]) => left.localeCompare(right)).map(([family, count]) => `${family} ${count}`).join(', ')}
(byte flips, truncations, inserted and invalid bytes, BOMs and UTF-16, CRLF; wrong types, missing and unknown
keys, extreme numbers, deep nesting, long strings; YAML anchors, aliases and tags; duplicate ids, missing
fields; forged checkpoint headers). Exit codes: ${Object.entries(inputs.exitCodes).map(([code, count]) => `${code}: ${count}`).join(', ')}.

- Every input exited 0 or 1; every exit 1 was one \`assay: error:\` line (after any warnings), under 1,000
  characters, with no stack trace, and left the store's bytes unchanged; none hung: ${check(inputs.failures.length === 0, 'input mutations')}
  (${inputs.failures.length} broke a promise${inputs.failures.length ? `: ${inputs.failures.slice(0, 3).map((entry) => `${entry.kind} (${entry.problems.join(', ')})`).join('; ')}` : ''}).
`);

log('hostile outputs...');
const hostile = spawnSync(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/e2e/hostile-output.test.ts'], { cwd: root, encoding: 'utf8' });
const tally = /(\d+) passed, (\d+) failed/.exec(hostile.stdout ?? '');
sections.push(`## Hostile model output

Answers holding \`ESC[2J\` and colour sequences, an OSC 8 hyperlink and a window-title sequence, BEL, NUL, C1
controls, bidi overrides and isolates, HTML with script, invalid UTF-8 bytes on the wire, a spreadsheet
formula, and a 10 MB answer, from a local server (test/e2e/hostile-output.test.ts): each is stored exactly
(invalid UTF-8 as U+FFFD), \`--json\` and the JSON results file keep the exact text, every plain-text line of
run, quickcheck, inspect, runs and status shows the control characters as visible escapes, and the CSV cell
that would start a formula gets a leading quote: ${check(hostile.status === 0, 'hostile outputs')} (${tally ? `${tally[1]} checks passed, ${tally[2]} failed` : 'no tally'}).
`);

const minutes = ((Date.now() - started) / 60_000).toFixed(1);
const document = `# Reliability

What assay promises under faults, and the figures that show it, from \`npm run chaos\` (${minutes} min) on
${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version},
${new Date().toISOString().slice(0, 10)}. A reduced version of each scenario runs inside \`npm test\`
(test/chaos/chaos.test.ts, test/e2e/leases.test.ts, test/e2e/store-failures.test.ts,
test/e2e/durable-calls.test.ts, test/e2e/bundle-trust.test.ts, test/e2e/hostile-output.test.ts,
test/e2e/hostile-inputs.test.ts).

${sections.join('\n')}
Bytes lost: 0. Every answer a store had committed before a kill, a pause or a fault was there afterwards
and was never paid for again.
`;
// Temporary folders differ from run to run; the page shows where a path began, not which folder it was.
writeFileSync(DOC, document.replace(/\/tmp\/assay-[a-z-]+-[A-Za-z0-9]+\//g, '.../'));
log(document);
if (failures.length > 0) {
  log(`chaos: ${failures.length} guarantee(s) did not hold: ${failures.join('; ')}`);
  process.exitCode = 1;
}
