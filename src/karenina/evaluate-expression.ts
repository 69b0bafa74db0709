import { PySet, type CompareOperator, type Expression, type PyValue } from './expression.js';

/** A Python exception the template would have raised (a TypeError, a KeyError...): the check fails with it. */
export class PyError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(`${type}: ${message}`);
    this.name = 'PyError';
  }
}

/** One evaluation of a comparison: the values it compared and what it gave. */
export interface ComparisonOutcome {
  readonly id: number;
  readonly source: string;
  readonly operands: readonly PyValue[];
  readonly result: boolean;
}

export interface Evaluation {
  readonly value: PyValue;
  readonly comparisons: readonly ComparisonOutcome[];
  /** Set when the expression raised (the value is then null). */
  readonly error: string | null;
}

export interface EvaluationScope {
  readonly fields: Readonly<Record<string, PyValue>>;
  readonly correct: PyValue;
  readonly names?: Readonly<Record<string, PyValue>>;
}

/** At most this many comparison outcomes are kept (a comprehension over a long list compares many times). */
const MAX_RECORDED = 200;
/** A bound on the work of one evaluation, so a huge parsed list cannot hold the score stage. */
const MAX_STEPS = 200_000;

/** Evaluates an expression with Python's semantics for the values it can hold. Never throws. */
export function evaluateExpression(expression: Expression, scope: EvaluationScope): Evaluation {
  const comparisons: ComparisonOutcome[] = [];
  let steps = 0;
  const run = (node: Expression, names: ReadonlyMap<string, PyValue>): PyValue => {
    if (++steps > MAX_STEPS) throw new PyError('LimitExceeded', 'the expression took too many steps');
    switch (node.op) {
      case 'const':
        return node.value;
      case 'field':
        return Object.prototype.hasOwnProperty.call(scope.fields, node.name) ? (scope.fields[node.name] ?? null) : null;
      case 'correct':
        return scope.correct;
      case 'name': {
        if (!names.has(node.name)) throw new PyError('NameError', `name '${node.name}' is not defined`);
        return names.get(node.name)!;
      }
      case 'let':
        return run(node.body, new Map(names).set(node.name, run(node.value, names)));
      case 'if':
        return truthy(run(node.test, names)) ? run(node.then, names) : run(node.else, names);
      case 'and': {
        let value: PyValue = true;
        for (const arg of node.args) {
          value = run(arg, names);
          if (!truthy(value)) return value;
        }
        return value;
      }
      case 'or': {
        let value: PyValue = false;
        for (const arg of node.args) {
          value = run(arg, names);
          if (truthy(value)) return value;
        }
        return value;
      }
      case 'not':
        return !truthy(run(node.arg, names));
      case 'compare': {
        const operands: PyValue[] = [run(node.operands[0]!, names)];
        let result = true;
        for (let index = 0; index < node.operators.length; index++) {
          const right = run(node.operands[index + 1]!, names);
          operands.push(right);
          if (!compare(node.operators[index]!, operands[index]!, right)) {
            result = false;
            break;
          }
        }
        if (comparisons.length < MAX_RECORDED) comparisons.push({ id: node.id, source: node.source, operands, result });
        return result;
      }
      case 'arith':
        return arithmetic(node.operator, run(node.left, names), run(node.right, names));
      case 'negate': {
        const value = run(node.arg, names);
        if (typeof value === 'number' || typeof value === 'boolean') return -Number(value);
        throw new PyError('TypeError', `bad operand type for unary -: '${typeName(value)}'`);
      }
      case 'list':
        return node.items.map((item) => run(item, names));
      case 'set':
        return makeSet(node.items.map((item) => run(item, names)));
      case 'index':
        return subscript(run(node.object, names), run(node.key, names));
      case 'comprehension': {
        const results: PyValue[] = [];
        for (const element of iterate(run(node.iterable, names))) {
          const inner = new Map(names).set(node.variable, element);
          if (node.conditions.every((condition) => truthy(run(condition, inner)))) results.push(run(node.element, inner));
        }
        return node.kind === 'set' ? makeSet(results) : results;
      }
      case 'call':
        return callBuiltin(node.function, node.args.map((arg) => run(arg, names)));
    }
  };
  try {
    return { value: run(expression, new Map(Object.entries(scope.names ?? {}))), comparisons, error: null };
  } catch (error) {
    if (error instanceof PyError) return { value: null, comparisons, error: error.message };
    if (error instanceof RangeError) return { value: null, comparisons, error: 'RecursionError: the values are nested too deeply' };
    throw error;
  }
}

export function truthy(value: PyValue): boolean {
  if (value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') return value.length > 0;
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof PySet) return value.items.length > 0;
  return Object.keys(value).length > 0;
}

export function typeName(value: PyValue): string {
  if (value === null) return 'NoneType';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'str';
  if (Array.isArray(value)) return 'list';
  if (value instanceof PySet) return 'set';
  return 'dict';
}

const isNumber = (value: PyValue): value is number | boolean => typeof value === 'number' || typeof value === 'boolean';
const isDict = (value: PyValue): value is { readonly [key: string]: PyValue } =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof PySet);

/** Python's `==`: 1 == 1.0 == True, lists element by element, sets and dicts regardless of order. */
export function equal(left: PyValue, right: PyValue): boolean {
  if (isNumber(left) && isNumber(right)) return Number(left) === Number(right);
  if (left === null || right === null) return left === right;
  if (typeof left === 'string' || typeof right === 'string') return left === right;
  if (Array.isArray(left) && Array.isArray(right)) return left.length === right.length && left.every((item, index) => equal(item, right[index]!));
  if (left instanceof PySet && right instanceof PySet) return left.items.length === right.items.length && left.items.every((item) => contains(right, item));
  if (isDict(left) && isDict(right)) {
    const keys = Object.keys(left);
    return keys.length === Object.keys(right).length && keys.every((key) => Object.prototype.hasOwnProperty.call(right, key) && equal(left[key]!, right[key]!));
  }
  return false;
}

/** Code point order, as Python compares strings (JavaScript's `<` compares UTF-16 units). */
function compareStrings(left: string, right: string): number {
  const a = Array.from(left);
  const b = Array.from(right);
  for (let index = 0; index < Math.min(a.length, b.length); index++) {
    const difference = a[index]!.codePointAt(0)! - b[index]!.codePointAt(0)!;
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

/** Python's ordering: numbers, strings, lists lexicographically; sets by inclusion; anything else raises. */
function less(operator: '<' | '<=' | '>' | '>=', left: PyValue, right: PyValue): boolean {
  const flip = operator === '>' || operator === '>=';
  const [a, b] = flip ? [right, left] : [left, right];
  const strict = operator === '<' || operator === '>';
  if (isNumber(a) && isNumber(b)) return strict ? Number(a) < Number(b) : Number(a) <= Number(b);
  if (typeof a === 'string' && typeof b === 'string') return strict ? compareStrings(a, b) < 0 : compareStrings(a, b) <= 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let index = 0; index < Math.min(a.length, b.length); index++) {
      if (!equal(a[index]!, b[index]!)) return less('<', a[index]!, b[index]!);
    }
    return strict ? a.length < b.length : a.length <= b.length;
  }
  if (a instanceof PySet && b instanceof PySet) {
    const subset = a.items.every((item) => contains(b, item));
    return strict ? subset && a.items.length < b.items.length : subset;
  }
  throw new PyError('TypeError', `'${operator}' not supported between instances of '${typeName(left)}' and '${typeName(right)}'`);
}

/** Python's `in`: a substring of a string, an element of a list or set, a key of a dict. */
function contains(container: PyValue, item: PyValue): boolean {
  if (typeof container === 'string') {
    if (typeof item !== 'string') throw new PyError('TypeError', `'in <string>' requires string as left operand, not ${typeName(item)}`);
    return container.includes(item);
  }
  if (Array.isArray(container)) return container.some((entry) => equal(entry, item));
  if (container instanceof PySet) {
    if (Array.isArray(item) || item instanceof PySet || isDict(item)) throw new PyError('TypeError', `unhashable type: '${typeName(item)}'`);
    return container.items.some((entry) => equal(entry, item));
  }
  if (isDict(container)) {
    if (Array.isArray(item) || item instanceof PySet || isDict(item)) throw new PyError('TypeError', `unhashable type: '${typeName(item)}'`);
    return typeof item === 'string' && Object.prototype.hasOwnProperty.call(container, item);
  }
  throw new PyError('TypeError', `argument of type '${typeName(container)}' is not iterable`);
}

function compare(operator: CompareOperator, left: PyValue, right: PyValue): boolean {
  switch (operator) {
    case '==':
      return equal(left, right);
    case '!=':
      return !equal(left, right);
    case 'in':
      return contains(right, left);
    case 'not in':
      return !contains(right, left);
    // The translator allows `is` only against None, True and False, whose identity is their value and type.
    case 'is':
      return left === right;
    case 'is not':
      return left !== right;
    default:
      return less(operator, left, right);
  }
}

function arithmetic(operator: '+' | '-' | '*' | '/', left: PyValue, right: PyValue): PyValue {
  if (isNumber(left) && isNumber(right)) {
    const a = Number(left);
    const b = Number(right);
    if (operator === '/' && b === 0) throw new PyError('ZeroDivisionError', 'division by zero');
    return operator === '+' ? a + b : operator === '-' ? a - b : operator === '*' ? a * b : a / b;
  }
  if (operator === '+' && typeof left === 'string' && typeof right === 'string') return left + right;
  if (operator === '+' && Array.isArray(left) && Array.isArray(right)) return [...left, ...right];
  throw new PyError('TypeError', `unsupported operand type(s) for ${operator}: '${typeName(left)}' and '${typeName(right)}'`);
}

function subscript(object: PyValue, key: PyValue): PyValue {
  if (isDict(object)) {
    if (typeof key !== 'string' || !Object.prototype.hasOwnProperty.call(object, key)) throw new PyError('KeyError', JSON.stringify(key));
    return object[key]!;
  }
  if (Array.isArray(object) || typeof object === 'string') {
    if (typeof key !== 'number' || !Number.isInteger(key)) throw new PyError('TypeError', `indices must be integers, not ${typeName(key)}`);
    const items = typeof object === 'string' ? Array.from(object) : object;
    const index = key < 0 ? items.length + key : key;
    if (index < 0 || index >= items.length) throw new PyError('IndexError', 'index out of range');
    return items[index]!;
  }
  throw new PyError('TypeError', `'${typeName(object)}' object is not subscriptable`);
}

function iterate(value: PyValue): readonly PyValue[] {
  if (typeof value === 'string') return Array.from(value);
  if (Array.isArray(value)) return value;
  if (value instanceof PySet) return value.items;
  if (isDict(value)) return Object.keys(value);
  throw new PyError('TypeError', `'${typeName(value)}' object is not iterable`);
}

function makeSet(items: readonly PyValue[]): PySet {
  const kept: PyValue[] = [];
  for (const item of items) {
    if (Array.isArray(item) || item instanceof PySet || isDict(item)) throw new PyError('TypeError', `unhashable type: '${typeName(item)}'`);
    if (!kept.some((entry) => equal(entry, item))) kept.push(item);
  }
  return new PySet(kept);
}

/** The characters Python's `str.strip()` removes (str.isspace), which differ from JavaScript's `trim()`. */
const PYTHON_SPACE = '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

function strip(text: string, characters: PyValue, left: boolean, right: boolean): string {
  if (characters !== null && typeof characters !== 'string') throw new PyError('TypeError', `strip arg must be None or str`);
  const set = new Set(Array.from(characters ?? PYTHON_SPACE));
  const chars = Array.from(text);
  let start = 0;
  let end = chars.length;
  while (left && start < end && set.has(chars[start]!)) start++;
  while (right && end > start && set.has(chars[end - 1]!)) end--;
  return chars.slice(start, end).join('');
}

function numbers(values: readonly PyValue[], name: string): number[] {
  return values.map((value) => {
    if (!isNumber(value)) throw new PyError('TypeError', `${name}: unsupported operand type '${typeName(value)}'`);
    return Number(value);
  });
}

function callBuiltin(name: string, args: readonly PyValue[]): PyValue {
  if (name.startsWith('str.')) {
    const method = name.slice(4);
    const [self, ...rest] = args;
    if (typeof self !== 'string') throw new PyError('AttributeError', `'${typeName(self ?? null)}' object has no attribute '${method}'`);
    switch (method) {
      case 'lower':
        return self.toLowerCase();
      case 'upper':
        return self.toUpperCase();
      case 'strip':
        return strip(self, rest[0] ?? null, true, true);
      case 'lstrip':
        return strip(self, rest[0] ?? null, true, false);
      case 'rstrip':
        return strip(self, rest[0] ?? null, false, true);
      case 'replace': {
        const [old, replacement, count] = rest;
        if (typeof old !== 'string' || typeof replacement !== 'string') throw new PyError('TypeError', 'replace() arguments must be str');
        return replaceText(self, old, replacement, typeof count === 'number' && count >= 0 ? count : Infinity);
      }
    }
  }
  if (name.startsWith('re.')) {
    const [pattern, text, flags] = args;
    if (typeof text !== 'string') throw new PyError('TypeError', `expected string, got '${typeName(text ?? null)}'`);
    const expression = new RegExp(name === 're.fullmatch' ? `^(?:${String(pattern)})$` : name === 're.match' ? `^(?:${String(pattern)})` : String(pattern), `${String(flags ?? '')}u`);
    // A match object stands as {match: text}: never None, and true even when it matched an empty string.
    const found = expression.exec(text);
    return found ? { match: found[0] } : null;
  }
  const [first] = args;
  switch (name) {
    case 'len': {
      if (typeof first === 'string') return Array.from(first).length;
      if (Array.isArray(first)) return first.length;
      if (first instanceof PySet) return first.items.length;
      if (first !== undefined && isDict(first)) return Object.keys(first).length;
      throw new PyError('TypeError', `object of type '${typeName(first ?? null)}' has no len()`);
    }
    case 'abs': {
      if (first === undefined || !isNumber(first)) throw new PyError('TypeError', `bad operand type for abs(): '${typeName(first ?? null)}'`);
      return Math.abs(Number(first));
    }
    case 'set':
      return makeSet(first === undefined ? [] : iterate(first));
    case 'list':
      return first === undefined ? [] : [...iterate(first)];
    case 'sorted':
      return [...iterate(first ?? null)].sort((a, b) => (less('<', a, b) ? -1 : less('<', b, a) ? 1 : 0));
    case 'all':
      return iterate(first ?? null).every(truthy);
    case 'any':
      return iterate(first ?? null).some(truthy);
    case 'sum':
      return numbers(iterate(first ?? null), 'sum').reduce((total, value) => total + value, args[1] === undefined ? 0 : numbers([args[1]], 'sum')[0]!);
    case 'min':
    case 'max': {
      const items = args.length === 1 ? iterate(first!) : args;
      if (items.length === 0) throw new PyError('ValueError', `${name}() arg is an empty sequence`);
      return items.reduce((best, item) => (name === 'min' ? less('<', item, best) : less('>', item, best)) ? item : best);
    }
  }
  throw new PyError('NameError', `name '${name}' is not defined`);
}

function replaceText(text: string, old: string, replacement: string, count: number): string {
  if (old === '') {
    // Python inserts the replacement between every character (and at both ends).
    const chars = Array.from(text);
    const out: string[] = [];
    let done = 0;
    for (let index = 0; index <= chars.length; index++) {
      if (done < count) {
        out.push(replacement);
        done++;
      }
      if (index < chars.length) out.push(chars[index]!);
    }
    return out.join('');
  }
  let result = '';
  let rest = text;
  for (let done = 0; done < count; done++) {
    const at = rest.indexOf(old);
    if (at < 0) break;
    result += rest.slice(0, at) + replacement;
    rest = rest.slice(at + old.length);
  }
  return result + rest;
}
