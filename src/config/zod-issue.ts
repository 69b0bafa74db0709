import type { z } from 'zod';

/** `models[0].params.maxTokens` from `['models', 0, 'params', 'maxTokens']`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text === '' ? '(top level)' : text;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function editDistance(left: string, right: string): number {
  const row = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let i = 1; i <= left.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= right.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (left[i - 1] === right[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[right.length]!;
}

/** The known name closest to a misspelt one, if any is close. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= Math.max(2, Math.floor(candidate.length / 3)) && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

export interface LocatedIssue {
  /** Path of the offending value (for an unknown field, the field itself). */
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * A zod issue as one sentence a user can act on. `input` is the raw document, used to say what was found
 * and which field names would have been accepted.
 */
export function explainIssue(issue: z.core.$ZodIssue, valueAt: (path: readonly PropertyKey[]) => unknown, knownKeys: (path: readonly PropertyKey[]) => readonly string[]): LocatedIssue {
  const path = issue.path;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const key = issue.keys[0]!;
      const suggestion = closest(key, knownKeys(path));
      const others = issue.keys.length > 1 ? ` (also: ${issue.keys.slice(1).join(', ')})` : '';
      return {
        path: [...path, key],
        message: `unknown field${others}${suggestion ? `; did you mean '${suggestion}'?` : `; allowed here: ${knownKeys(path).join(', ')}`}`,
      };
    }
    case 'invalid_type': {
      const found = valueAt(path);
      if (found === undefined) return { path, message: `is required (expected ${issue.expected})` };
      return { path, message: `expected ${issue.expected}, got ${describe(found)}` };
    }
    case 'invalid_union': {
      const note = issue as unknown as { discriminator?: string; options?: unknown[] };
      if (note.discriminator && note.options) {
        const found = valueAt(path);
        const options = note.options.map(String);
        if (found === undefined) return { path, message: `is required; expected one of ${options.join(', ')}` };
        const suggestion = closest(String(found), options);
        return {
          path,
          message: `'${String(found)}' is not known; ${suggestion ? `did you mean '${suggestion}'? ` : ''}expected one of ${options.join(', ')}`,
        };
      }
      return { path, message: issue.message };
    }
    case 'invalid_value':
      return { path, message: `expected one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}, got ${describe(valueAt(path))}` };
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const inclusive = issue.inclusive !== false;
      const relation = issue.code === 'too_small' ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
      const found = valueAt(path);
      if (issue.origin === 'array') return { path, message: `expected ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} entries` };
      if (issue.origin === 'string') return { path, message: `expected ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} characters` };
      return { path, message: `expected a number ${relation} ${String(bound)}, got ${describe(found)}` };
    }
    case 'invalid_format':
    case 'custom':
    default: {
      const found = valueAt(path);
      const message = issue.message.replace(/^Invalid input: /, '');
      return { path, message: found === undefined ? message : `${message} (got ${describe(found)})` };
    }
  }
}
