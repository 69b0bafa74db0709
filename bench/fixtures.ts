import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/** A deterministic arithmetic dataset of `count` rows, written once and reused. */
export function arithmeticDataset(directory: string, count: number): string {
  const path = join(directory, `arithmetic-${count}.jsonl`);
  if (existsSync(path)) return path;
  mkdirSync(directory, { recursive: true });
  const lines: string[] = [];
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % 997;
  for (let index = 0; index < count; index++) {
    const left = next() + 2;
    const right = next() + 2;
    lines.push(JSON.stringify({ id: `i${index}`, question: `What is ${left} + ${right}?`, answer: String(left + right) }));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** A config for the in-process mock model over a dataset (generate, parse, score). */
export function mockConfig(directory: string, dataset: string, store: string, concurrency: number, replicates = 1): string {
  const path = join(directory, `bench-${Date.now()}-${Math.random().toString(16).slice(2)}.yaml`);
  writeFileSync(
    path,
    `name: harness-overhead
datasets: [{ id: d, path: ${JSON.stringify(dataset)}, input: question, target: answer, idField: id }]
models: [{ id: mock, provider: mock }]
parse: { kind: last-number }
metrics: [{ kind: numeric-match }]
replicates: ${replicates}
runtime: { concurrency: ${concurrency}, store: ${JSON.stringify(store)} }
`,
  );
  return path;
}

/** Like `arithmeticDataset`, but every question is distinct (it carries its row number), so a server can tell calls apart. */
export function distinctArithmeticDataset(directory: string, count: number): string {
  const path = join(directory, `distinct-arithmetic-${count}.jsonl`);
  if (existsSync(path)) return path;
  mkdirSync(directory, { recursive: true });
  const lines: string[] = [];
  for (let index = 0; index < count; index++) {
    const left = (index % 997) + 2;
    const right = ((index * 7) % 991) + 2;
    lines.push(JSON.stringify({ id: `i${index}`, question: `Question ${index}: what is ${left} + ${right}?`, answer: String(left + right) }));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** A config for an OpenAI-compatible model at `baseURL` (generate, parse, score). */
export function httpConfig(directory: string, dataset: string, store: string, baseURL: string, concurrency: number, name = 'http-bench'): string {
  const path = join(directory, `${name}.yaml`);
  writeFileSync(
    path,
    `name: ${name}
datasets: [{ id: d, path: ${JSON.stringify(dataset)}, input: question, target: answer, idField: id }]
models: [{ id: local, provider: openai-compatible, model: bench-model, baseURL: ${JSON.stringify(baseURL)}, params: { temperature: 0 } }]
parse: { kind: last-number }
metrics: [{ kind: numeric-match }]
runtime: { concurrency: ${concurrency}, store: ${JSON.stringify(store)}, timeoutMs: 60000 }
`,
  );
  return path;
}
