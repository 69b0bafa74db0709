import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A throwaway directory with helpers to write datasets and configs into it. */
export class Workspace {
  readonly dir = mkdtempSync(join(tmpdir(), 'assay-test-'));

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  write(name: string, content: string): string {
    const path = this.path(name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    return path;
  }

  /** `count` arithmetic questions "What is a + b?" with ids q1..qN and their answers. */
  arithmetic(name = 'questions.jsonl', count = 20, offset = 0): string {
    const lines = [];
    for (let index = 1; index <= count; index++) {
      const left = 10 + index + offset;
      const right = 3 * index + 7;
      lines.push(JSON.stringify({ id: `q${index}`, question: `What is ${left} + ${right}?`, answer: String(left + right) }));
    }
    return this.write(name, `${lines.join('\n')}\n`);
  }

  exists(name: string): boolean {
    return existsSync(this.path(name));
  }

  files(): string[] {
    return readdirSync(this.dir);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A config for an OpenAI-compatible model at `baseURL` over the arithmetic dataset. */
export function httpConfig(baseURL: string, extra: { concurrency?: number; maxAttempts?: number; retryBaseDelayMs?: number; dataset?: string; name?: string; more?: string } = {}): string {
  return `name: ${extra.name ?? 'http-test'}
datasets:
  - id: arith
    path: ${extra.dataset ?? 'questions.jsonl'}
    input: question
    target: answer
    idField: id
models:
  - id: local
    provider: openai-compatible
    model: test-model
    baseURL: ${baseURL}
    params: { temperature: 0, maxTokens: 64 }
prompt: { system: "Answer with a number.", user: "{{input}}" }
parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
runtime:
  concurrency: ${extra.concurrency ?? 4}
  store: store.db
  maxAttempts: ${extra.maxAttempts ?? 3}
  retryBaseDelayMs: ${extra.retryBaseDelayMs ?? 20}
${extra.more ?? ''}`;
}
