/**
 * The declarative expressions a karenina answer template's `verify()` is translated into (see
 * translate-template.ts). They are plain JSON, so they are part of the dataset rows, hence of the run's
 * identity, and a stored run can show exactly what was evaluated. Nothing here runs Python or any code
 * from a dataset: every node kind is one of the few below, with its meaning fixed in evaluate-expression.ts.
 */
export type Expression =
  | { readonly op: 'const'; readonly value: PyValue }
  /** A field of the filled template (`self.name`). */
  | { readonly op: 'field'; readonly name: string }
  /** The template's correct values (`self.correct`). */
  | { readonly op: 'correct' }
  /** A local variable, a comprehension variable or a method's parameter. */
  | { readonly op: 'name'; readonly name: string }
  /** `name = value`, then `body` (statements run in order, as Python runs them). */
  | { readonly op: 'let'; readonly name: string; readonly value: Expression; readonly body: Expression }
  | { readonly op: 'if'; readonly test: Expression; readonly then: Expression; readonly else: Expression }
  | { readonly op: 'and' | 'or'; readonly args: readonly Expression[] }
  | { readonly op: 'not'; readonly arg: Expression }
  /** A (possibly chained) comparison: `a < b <= c` is operands [a, b, c], operators ['<', '<=']. */
  | { readonly op: 'compare'; readonly id: number; readonly source: string; readonly operators: readonly CompareOperator[]; readonly operands: readonly Expression[] }
  | { readonly op: 'arith'; readonly operator: '+' | '-' | '*' | '/'; readonly left: Expression; readonly right: Expression }
  | { readonly op: 'negate'; readonly arg: Expression }
  | { readonly op: 'list' | 'set'; readonly items: readonly Expression[] }
  | { readonly op: 'index'; readonly object: Expression; readonly key: Expression }
  /** A built-in function (`len`, `abs`...) or a string method (`lower`...; the first argument is the string). */
  | { readonly op: 'call'; readonly function: BuiltinFunction; readonly args: readonly Expression[] }
  | {
      readonly op: 'comprehension';
      readonly kind: 'list' | 'set' | 'generator';
      readonly element: Expression;
      readonly variable: string;
      readonly iterable: Expression;
      readonly conditions: readonly Expression[];
    };

export type CompareOperator = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in' | 'is' | 'is not';

export const BUILTIN_FUNCTIONS = ['len', 'abs', 'set', 'list', 'sorted', 'all', 'any', 'sum', 'min', 'max'] as const;
export const STRING_METHODS = ['lower', 'upper', 'strip', 'lstrip', 'rstrip', 'replace'] as const;
export const REGEX_FUNCTIONS = ['re.search', 're.match', 're.fullmatch'] as const;
export type BuiltinFunction = (typeof BUILTIN_FUNCTIONS)[number] | `str.${(typeof STRING_METHODS)[number]}` | (typeof REGEX_FUNCTIONS)[number];

/**
 * A Python value as the evaluator holds it: None is null, int and float are numbers, str is a string,
 * list and tuple are arrays, a set is a {@link PySet}, a dict is a plain object.
 */
export type PyValue = null | boolean | number | string | readonly PyValue[] | PySet | { readonly [key: string]: PyValue };

export class PySet {
  constructor(readonly items: readonly PyValue[]) {}
  toJSON(): unknown {
    return { set: this.items };
  }
}

/** A translated karenina answer template: what the parser asks for and what the metric evaluates. */
export interface TranslatedTemplate {
  /** Bumped when the translation of the same Python source would change. */
  readonly translator: number;
  readonly className: string;
  readonly python: string;
  readonly fields: readonly TemplateField[];
  readonly correct: PyValue;
  readonly verify: Expression;
  /** `verify_granular()`, when the template defines it: a number in [0, 1]. */
  readonly granular: Expression | null;
  /** `verify_regex(text)`, when the template defines it: evaluated with `text` bound to the answer. */
  readonly regex: { readonly parameter: string; readonly body: Expression } | null;
}

export interface TemplateField {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'list' | 'enum';
  readonly description: string;
  readonly values?: readonly string[];
  readonly optional: boolean;
  /** The annotation as written, e.g. `Optional[List[str]]`. */
  readonly python: string;
}
