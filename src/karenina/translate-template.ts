import { parser } from '@lezer/python';
import type { SyntaxNode } from '@lezer/common';
import {
  BUILTIN_FUNCTIONS,
  STRING_METHODS,
  type BuiltinFunction,
  type CompareOperator,
  type Expression,
  type PyValue,
  type TemplateField,
  type TranslatedTemplate,
} from './expression.js';
import { pythonLiteral, regexFlags, translatePattern } from './python-literals.js';

/** Bump when the same Python source would translate differently: it is stored in every translated row. */
export const TRANSLATOR_VERSION = 1;

export type Translation = { readonly ok: true; readonly template: TranslatedTemplate } | { readonly ok: false; readonly reason: string };

/** Thrown inside the translator: the construct outside the subset, and where it is. */
export class Refusal extends Error {
  constructor(
    readonly construct: string,
    readonly line: number,
  ) {
    super(`${construct} (line ${line})`);
  }
}

const MODULES_ALLOWED = /^(karenina(\.[A-Za-z_][A-Za-z0-9_]*)*|pydantic|typing|typing_extensions|__future__)$/;
const METHODS = new Set(['model_post_init', 'ground_truth', 'verify', 'verify_granular', 'verify_regex']);
/** Tokens and punctuation that carry no meaning of their own once the node kind is known. */
const PUNCTUATION = new Set(['(', ')', '[', ']', '{', '}', ',', ':', '.', 'Comment']);

/*
 * One file on purpose: the walker's methods share the source text, the comparison counter and what the
 * imports allowed, and reading a construct is easiest to check beside the others it could be confused with.
 */

/**
 * Translates a karenina answer template (a pydantic class with `verify()`) into a declarative template,
 * reading the source with the Lezer Python grammar. Nothing is executed. Anything outside the subset gives
 * `ok: false` with the construct and its line.
 */
export function translateTemplate(python: string): Translation {
  try {
    return { ok: true, template: new Translator(python).translate() };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, reason: error.message };
    if (error instanceof RangeError) return { ok: false, reason: 'the code is nested too deeply to read' };
    // A tree shape the translator does not expect is refused like any construct outside the subset.
    return { ok: false, reason: `a construct the translator does not know (${error instanceof Error ? error.message.slice(0, 80) : String(error)})` };
  }
}

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) if (child.name !== 'Comment') out.push(child);
  return out;
}

/** The statements of a Body (after its ':'). */
const statementsOf = (body: SyntaxNode) => children(body).filter((child) => child.name !== ':');

const meaningful = (node: SyntaxNode) => children(node).filter((child) => !PUNCTUATION.has(child.name));

interface Scope {
  readonly locals: ReadonlySet<string>;
  readonly fields: ReadonlySet<string>;
}

class Translator {
  private compareId = 0;
  private regexImported = false;

  constructor(private readonly source: string) {}

  private text(node: SyntaxNode): string {
    return this.source.slice(node.from, node.to);
  }

  private line(node: SyntaxNode): number {
    let line = 1;
    for (let index = 0; index < node.from; index++) if (this.source.charCodeAt(index) === 10) line++;
    return line;
  }

  private refuse(construct: string, node: SyntaxNode): never {
    throw new Refusal(construct, this.line(node));
  }

  translate(): TranslatedTemplate {
    const tree = parser.parse(this.source);
    tree.iterate({
      enter: (node) => {
        if (node.type.isError) this.refuse('a Python syntax error', node.node);
      },
    });
    let classNode: SyntaxNode | null = null;
    for (const statement of children(tree.topNode)) {
      if (statement.name === 'ImportStatement') this.readImport(statement);
      else if (statement.name === 'ClassDefinition') {
        if (classNode) this.refuse('a second class', statement);
        classNode = statement;
      } else if (statement.name === 'ExpressionStatement' && isString(statement.firstChild)) continue;
      else this.refuse(`a module-level ${describeNode(statement)}`, statement);
    }
    if (!classNode) throw new Refusal('no class', 1);
    return this.readClass(classNode);
  }

  private readImport(node: SyntaxNode): void {
    const parts = children(node);
    const isFrom = parts[0]?.name === 'from';
    const modulePath = isFrom ? this.text(node).replace(/^from\s+/, '').split(/\s+import\s+/)[0]!.replace(/\s+/g, '') : null;
    if (isFrom) {
      if (!MODULES_ALLOWED.test(modulePath!)) this.refuse(`import from '${modulePath}'`, node);
      return;
    }
    const names = this.text(node).replace(/^import\s+/, '').split(',').map((name) => name.trim());
    for (const name of names) {
      if (name === 're') this.regexImported = true;
      else if (!MODULES_ALLOWED.test(name)) this.refuse(`import of '${name}'`, node);
    }
  }

  private readClass(node: SyntaxNode): TranslatedTemplate {
    const parts = children(node);
    const className = this.text(parts.find((part) => part.name === 'VariableName')!);
    const body = parts.find((part) => part.name === 'Body');
    if (!body) this.refuse('a class without a body', node);
    const fields: TemplateField[] = [];
    const methods = new Map<string, SyntaxNode>();
    for (const statement of statementsOf(body)) {
      if (statement.name === 'ExpressionStatement' && isString(statement.firstChild)) continue;
      if (statement.name === 'PassStatement') continue;
      if (statement.name === 'AssignStatement') {
        fields.push(this.readField(statement));
        continue;
      }
      if (statement.name === 'FunctionDefinition') {
        const name = this.text(children(statement).find((part) => part.name === 'VariableName')!);
        if (name.startsWith('__')) this.refuse(`dunder method '${name}'`, statement);
        if (!METHODS.has(name)) this.refuse(`method '${name}' (only model_post_init, ground_truth, verify, verify_granular and verify_regex are read)`, statement);
        if (methods.has(name)) this.refuse(`a second '${name}'`, statement);
        methods.set(name, statement);
        continue;
      }
      if (statement.name === 'DecoratedStatement') this.refuse('a decorator', statement);
      this.refuse(`a ${describeNode(statement)} in the class body`, statement);
    }
    if (fields.length === 0) this.refuse('a template without fields', node);
    const verify = methods.get('verify');
    if (!verify) this.refuse('a template without verify()', node);
    const correct = this.readCorrect(methods.get('model_post_init') ?? null, methods.get('ground_truth') ?? null, node);
    const scope = { fields: new Set(fields.map((field) => field.name)) };
    const regexMethod = methods.get('verify_regex');
    const regex = regexMethod ? this.readMethod(regexMethod, scope, 1) : null;
    return {
      translator: TRANSLATOR_VERSION,
      className,
      python: this.source,
      fields,
      correct,
      verify: this.readMethod(verify, scope, 0).body,
      granular: methods.has('verify_granular') ? this.readMethod(methods.get('verify_granular')!, scope, 0).body : null,
      regex: regex ? { parameter: regex.parameters[0]!, body: regex.body } : null,
    };
  }

  private readField(statement: SyntaxNode): TemplateField {
    const parts = children(statement);
    const [target, typeDef] = parts;
    if (target?.name !== 'VariableName' || typeDef?.name !== 'TypeDef') this.refuse('a class attribute without a type annotation', statement);
    const name = this.text(target);
    if (name.startsWith('_')) this.refuse(`field '${name}' (names starting with _ are not fields)`, statement);
    if (name === 'correct' || name === 'regex') this.refuse(`field named '${name}'`, statement);
    const annotation = meaningful(typeDef)[0]!;
    const type = this.readType(annotation, false);
    let description = name;
    const value = parts[3];
    if (value?.name === 'CallExpression') {
      const callee = children(value)[0]!;
      if (this.text(callee) !== 'Field') this.refuse(`a call to '${this.text(callee)}' as the default of field '${name}'`, value);
      const args = children(children(value)[1]!);
      for (let index = 0; index < args.length; index++) {
        if (args[index]!.name === 'VariableName' && args[index + 1]?.name === 'AssignOp' && this.text(args[index]!) === 'description') {
          const literal = pythonLiteral(args[index + 2]!, this.source);
          if (!literal.ok || typeof literal.value !== 'string') this.refuse(`a description of field '${name}' that is not a string literal`, args[index + 2]!);
          description = literal.value.trim() || name;
        }
      }
    }
    return { name, ...type, description, python: this.text(annotation) };
  }

  private readType(node: SyntaxNode, optional: boolean): Omit<TemplateField, 'name' | 'description' | 'python'> {
    const text = this.text(node).replace(/\s+/g, '');
    const simple: Record<string, TemplateField['type']> = { str: 'string', int: 'integer', float: 'number', bool: 'boolean' };
    if (simple[text]) return { type: simple[text]!, optional };
    if (/^(List|list|typing\.List)\[str\]$/.test(text)) return { type: 'list', optional };
    if (node.name === 'BinaryExpression') {
      const [left, operator, right] = children(node);
      if (this.text(operator!) === '|' && right?.name === 'None') return this.readType(left!, true);
      if (this.text(operator!) === '|' && left?.name === 'None') return this.readType(right!, true);
    }
    if (node.name === 'MemberExpression') {
      const parts = meaningful(node);
      const head = this.text(parts[0]!);
      if (head === 'Optional' && parts.length === 2) return this.readType(parts[1]!, true);
      if (head === 'Union' && parts.length === 3 && parts.some((part) => part.name === 'None')) return this.readType(parts.find((part) => part.name !== 'None' && part !== parts[0])!, true);
      if (head === 'Literal') {
        const values = parts.slice(1).map((part) => pythonLiteral(part, this.source));
        if (values.length === 0 || values.some((value) => !value.ok || typeof value.value !== 'string' || value.value === '')) this.refuse(`type ${text} (Literal of anything but non-empty strings)`, node);
        return { type: 'enum', values: values.map((value) => (value as { value: string }).value), optional };
      }
    }
    this.refuse(`type ${text}`, node);
  }

  private readCorrect(postInit: SyntaxNode | null, groundTruth: SyntaxNode | null, classNode: SyntaxNode): PyValue {
    let correct: PyValue | undefined;
    for (const method of [postInit, groundTruth]) {
      if (!method) continue;
      const body = children(method).find((part) => part.name === 'Body')!;
      for (const statement of statementsOf(body)) {
        if (statement.name === 'ExpressionStatement' && isString(statement.firstChild)) continue;
        if (statement.name === 'PassStatement') continue;
        if (statement.name === 'ExpressionStatement' && /^super\(\)\.model_post_init\(\s*[A-Za-z_]*\s*\)$/.test(this.text(statement))) continue;
        const parts = children(statement);
        const assigned = statement.name === 'AssignStatement' && parts.length === 3 && this.text(parts[0]!).replace(/\s+/g, '') === 'self.correct';
        const returned = statement.name === 'ReturnStatement' && method === groundTruth && parts.length === 2;
        if (!assigned && !returned) this.refuse(`a ${describeNode(statement)} in ${method === postInit ? 'model_post_init' : 'ground_truth'} (only self.correct = <literal> is read)`, statement);
        if (correct !== undefined) this.refuse('self.correct set twice', statement);
        const literal = pythonLiteral(parts.at(-1)!, this.source);
        if (!literal.ok) this.refuse(`correct values that are not a literal (${literal.construct})`, parts.at(-1)!);
        correct = literal.value;
      }
    }
    if (correct === undefined) this.refuse('a template without self.correct', classNode);
    return correct;
  }

  private readMethod(method: SyntaxNode, scope: { fields: ReadonlySet<string> }, extraParameters: number): { parameters: string[]; body: Expression } {
    const parts = children(method);
    const parameters = meaningful(parts.find((part) => part.name === 'ParamList')!);
    if (parameters.some((parameter) => parameter.name !== 'VariableName')) this.refuse('parameters with defaults or annotations', method);
    const names = parameters.map((parameter) => this.text(parameter));
    if (names[0] !== 'self' || names.length !== 1 + extraParameters) this.refuse(`${this.text(parts[1]!)}() with parameters (${names.join(', ')})`, method);
    const body = statementsOf(parts.find((part) => part.name === 'Body')!);
    const locals = new Set(names.slice(1));
    this.collectAssigned(body, locals);
    return { parameters: names.slice(1), body: this.block(body, { locals, fields: scope.fields }) };
  }

  /** Every local name a function assigns, so that a read of any other name is refused at translation. */
  private collectAssigned(statements: readonly SyntaxNode[], into: Set<string>): void {
    for (const statement of statements) {
      if (statement.name === 'AssignStatement' || statement.name === 'UpdateStatement') {
        const target = children(statement)[0]!;
        if (target.name === 'VariableName') into.add(this.text(target));
      } else if (statement.name === 'IfStatement') {
        for (const body of children(statement).filter((part) => part.name === 'Body')) this.collectAssigned(statementsOf(body), into);
      }
    }
  }

  /** Statements in order, as one expression: assignments bind, `if` branches carry the rest with them. */
  private block(statements: readonly SyntaxNode[], scope: Scope): Expression {
    if (statements.length === 0) return { op: 'const', value: null };
    const [statement, ...rest] = statements as [SyntaxNode, ...SyntaxNode[]];
    switch (statement.name) {
      case 'PassStatement':
        return this.block(rest, scope);
      case 'ExpressionStatement':
        if (isString(statement.firstChild)) return this.block(rest, scope);
        return this.refuse(`an expression statement '${clip(this.text(statement))}' (its value is unused: a call with side effects?)`, statement);
      case 'ReturnStatement': {
        const value = children(statement)[1];
        return value ? this.expression(value, scope) : { op: 'const', value: null };
      }
      case 'AssignStatement': {
        const parts = children(statement);
        const target = parts[0]!;
        if (target.name !== 'VariableName') this.refuse(`assignment to ${clip(this.text(target))} (only local variables may be assigned)`, statement);
        if (parts.filter((part) => part.name === 'AssignOp').length !== 1 || parts[1]!.name === ',') this.refuse('a multiple or unpacking assignment', statement);
        const value = parts.at(-1)!;
        return { op: 'let', name: this.text(target), value: this.expression(value, scope), body: this.block(rest, scope) };
      }
      case 'UpdateStatement': {
        const [target, operator, value] = children(statement);
        const symbol = this.text(operator!).slice(0, -1);
        if (target!.name !== 'VariableName') this.refuse(`an update of ${clip(this.text(target!))}`, statement);
        if (!['+', '-', '*', '/'].includes(symbol)) this.refuse(`operator ${this.text(operator!)}`, statement);
        const name = this.text(target!);
        return {
          op: 'let',
          name,
          value: { op: 'arith', operator: symbol as '+', left: { op: 'name', name }, right: this.expression(value!, scope) },
          body: this.block(rest, scope),
        };
      }
      case 'IfStatement':
        return this.ifStatement(children(statement), rest, scope);
      case 'ForStatement':
        return this.refuse('a for loop (loops are refused: use all(), any() or a comprehension)', statement);
      case 'WhileStatement':
        return this.refuse('a while loop', statement);
      default:
        return this.refuse(`a ${describeNode(statement)}`, statement);
    }
  }

  private ifStatement(parts: readonly SyntaxNode[], rest: readonly SyntaxNode[], scope: Scope): Expression {
    // parts: if test Body (elif test Body)* (else Body)?
    const keyword = parts[0]!.name;
    if (keyword === 'else') return this.block([...statementsOf(parts[1]!), ...rest], scope);
    const test = this.expression(parts[1]!, scope);
    const then = this.block([...statementsOf(parts[2]!), ...rest], scope);
    const otherwise = parts.length > 3 ? this.ifStatement(parts.slice(3), rest, scope) : this.block(rest, scope);
    return { op: 'if', test, then, else: otherwise };
  }

  private expression(node: SyntaxNode, scope: Scope): Expression {
    switch (node.name) {
      case 'ParenthesizedExpression': {
        const inner = meaningful(node);
        if (inner.length !== 1) this.refuse('a parenthesized expression of several parts', node);
        return this.expression(inner[0]!, scope);
      }
      case 'Number':
      case 'String':
      case 'ContinuedString':
      case 'Boolean':
      case 'None':
      case 'DictionaryExpression':
      case 'FormatString': {
        const literal = pythonLiteral(node, this.source);
        if (!literal.ok) this.refuse(literal.construct, node);
        return { op: 'const', value: literal.value };
      }
      case 'VariableName': {
        const name = this.text(node);
        if (name === 'self') this.refuse('self used as a value', node);
        if (name.startsWith('__')) this.refuse(`dunder name '${name}'`, node);
        if (!scope.locals.has(name)) this.refuse(`unknown name '${name}'`, node);
        return { op: 'name', name };
      }
      case 'MemberExpression':
        return this.member(node, scope);
      case 'CallExpression':
        return this.call(node, scope);
      case 'UnaryExpression': {
        const [operator, operand] = children(node);
        if (operator!.name === 'not') return this.boolean(node, scope);
        const symbol = this.text(operator!);
        if (symbol === '-') return { op: 'negate', arg: this.expression(operand!, scope) };
        if (symbol === '+') return this.expression(operand!, scope);
        return this.refuse(`unary operator ${symbol}`, node);
      }
      case 'BinaryExpression':
        return this.binary(node, scope);
      case 'ConditionalExpression': {
        const parts = meaningful(node).filter((part) => part.name !== 'if' && part.name !== 'else');
        return { op: 'if', test: this.expression(parts[1]!, scope), then: this.expression(parts[0]!, scope), else: this.expression(parts[2]!, scope) };
      }
      case 'ArrayExpression':
      case 'TupleExpression':
      case 'SetExpression': {
        const items = meaningful(node);
        if (items.some((item) => item.name === '*' || item.name === '**')) this.refuse('unpacking with *', node);
        return { op: node.name === 'SetExpression' ? 'set' : 'list', items: items.map((item) => this.expression(item, scope)) };
      }
      case 'ArrayComprehensionExpression':
      case 'SetComprehensionExpression':
      case 'ComprehensionExpression':
        return this.comprehension(meaningful(node), node.name === 'ArrayComprehensionExpression' ? 'list' : node.name === 'SetComprehensionExpression' ? 'set' : 'generator', node, scope);
      case 'LambdaExpression':
        return this.refuse('a lambda', node);
      case 'NamedExpression':
        return this.refuse('an assignment expression (:=)', node);
      default:
        return this.refuse(`a ${describeNode(node)}`, node);
    }
  }

  private comprehension(parts: readonly SyntaxNode[], kind: 'list' | 'set' | 'generator', node: SyntaxNode, scope: Scope): Expression {
    // element for VariableName in iterable (if condition)*
    const [element, forKeyword, variable, inKeyword, iterable, ...conditions] = parts;
    if (forKeyword?.name !== 'for' || inKeyword?.name !== 'in') this.refuse('a comprehension of an unexpected shape', node);
    if (variable!.name !== 'VariableName') this.refuse('a comprehension that unpacks its variable', node);
    if (conditions.some((part) => part.name === 'for' || part.name === 'async')) this.refuse('a nested comprehension (several for clauses)', node);
    const name = this.text(variable!);
    const inner: Scope = { locals: new Set([...scope.locals, name]), fields: scope.fields };
    return {
      op: 'comprehension',
      kind,
      element: this.expression(element!, inner),
      variable: name,
      iterable: this.expression(iterable!, scope),
      conditions: conditions.filter((part) => part.name !== 'if').map((condition) => this.expression(condition, inner)),
    };
  }

  private member(node: SyntaxNode, scope: Scope): Expression {
    const parts = children(node);
    const object = parts[0]!;
    if (parts[1]?.name === '.') {
      const property = this.text(parts[2]!);
      if (property.startsWith('__')) this.refuse(`dunder access .${property}`, node);
      if (object.name === 'VariableName' && this.text(object) === 'self') {
        if (property === 'correct') return { op: 'correct' };
        if (scope.fields.has(property)) return { op: 'field', name: property };
        this.refuse(`attribute access self.${property} outside the fields`, node);
      }
      this.refuse(`attribute access ${clip(this.text(node))}`, node);
    }
    const inside = parts.slice(2, -1);
    if (inside.length !== 1 || inside[0]!.name === ':' || parts.some((part) => part.name === ':')) this.refuse('a slice or multiple subscript', node);
    return { op: 'index', object: this.expression(object, scope), key: this.expression(inside[0]!, scope) };
  }

  private call(node: SyntaxNode, scope: Scope): Expression {
    const [callee, argList] = children(node);
    const args = children(argList!).filter((part) => part.name !== '(' && part.name !== ')');
    if (args.some((part) => part.name === '*' || part.name === '**')) this.refuse('a call with * or ** arguments', node);
    if (args.some((part) => part.name === 'AssignOp')) this.refuse(`a call with keyword arguments (${clip(this.text(node))})`, node);
    let values: SyntaxNode[] = args.filter((part) => part.name !== ',');
    // A generator as the only argument: all(x for x in y).
    const translateArgs = (inner: Scope): Expression[] =>
      values.some((part) => part.name === 'for') ? [this.comprehension(values, 'generator', node, inner)] : values.map((value) => this.expression(value, inner));
    if (callee!.name === 'VariableName') {
      const name = this.text(callee!);
      if (name === 'exec' || name === 'eval' || name === 'compile') this.refuse(`a call to ${name}`, node);
      if (name.startsWith('__')) this.refuse(`a call to dunder function '${name}'`, node);
      if (!(BUILTIN_FUNCTIONS as readonly string[]).includes(name)) this.refuse(`a call to unknown function '${name}'`, node);
      const translated = translateArgs(scope);
      const arity: Record<string, [number, number]> = { len: [1, 1], abs: [1, 1], set: [0, 1], list: [0, 1], sorted: [1, 1], all: [1, 1], any: [1, 1], sum: [1, 2], min: [1, 9], max: [1, 9] };
      const [low, high] = arity[name]!;
      if (translated.length < low || translated.length > high) this.refuse(`${name}() with ${translated.length} arguments`, node);
      return { op: 'call', function: name as BuiltinFunction, args: translated };
    }
    if (callee!.name === 'MemberExpression' && children(callee!)[1]?.name === '.') {
      const calleeParts = children(callee!);
      const object = calleeParts[0]!;
      const method = this.text(calleeParts[2]!);
      if (method.startsWith('__')) this.refuse(`dunder access .${method}`, node);
      if (object.name === 'VariableName' && this.text(object) === 're') return this.regexCall(method, values, node, scope);
      if (object.name === 'VariableName' && this.text(object) === 'self') this.refuse(`a call to method self.${method}()`, node);
      if (!(STRING_METHODS as readonly string[]).includes(method)) this.refuse(`a call to unknown method .${method}()`, node);
      const literals = values.map((value) => {
        const literal = pythonLiteral(value, this.source);
        if (!literal.ok || (literal.value !== null && typeof literal.value !== 'string' && typeof literal.value !== 'number')) this.refuse(`.${method}() with an argument that is not a literal`, value);
        return { op: 'const', value: literal.value } as Expression;
      });
      const limits: Record<string, [number, number]> = { lower: [0, 0], upper: [0, 0], strip: [0, 1], lstrip: [0, 1], rstrip: [0, 1], replace: [2, 3] };
      const [low, high] = limits[method]!;
      if (literals.length < low || literals.length > high) this.refuse(`.${method}() with ${literals.length} arguments`, node);
      values = [];
      return { op: 'call', function: `str.${method}` as BuiltinFunction, args: [this.expression(object, scope), ...literals] };
    }
    return this.refuse(`a call to ${clip(this.text(callee!))}`, node);
  }

  private regexCall(method: string, values: readonly SyntaxNode[], node: SyntaxNode, scope: Scope): Expression {
    if (!this.regexImported) this.refuse(`re.${method}() without import re`, node);
    if (!['search', 'match', 'fullmatch'].includes(method)) this.refuse(`a call to re.${method}()`, node);
    if (values.length < 2 || values.length > 3) this.refuse(`re.${method}() with ${values.length} arguments`, node);
    const pattern = pythonLiteral(values[0]!, this.source);
    if (!pattern.ok || typeof pattern.value !== 'string') this.refuse(`re.${method}() with a pattern that is not a string literal`, values[0]!);
    const translated = translatePattern(pattern.value);
    if (!translated.ok) this.refuse(`a regular expression with ${translated.construct}`, values[0]!);
    const flags = values[2] ? regexFlags(this.text(values[2])) : '';
    if (flags === null) this.refuse(`regex flags ${clip(this.text(values[2]!))}`, values[2]!);
    return { op: 'call', function: `re.${method}` as BuiltinFunction, args: [{ op: 'const', value: translated.pattern }, this.expression(values[1]!, scope), { op: 'const', value: flags }] };
  }

  private binary(node: SyntaxNode, scope: Scope): Expression {
    const operator = this.operatorOf(node);
    if (operator === 'and' || operator === 'or') return this.boolean(node, scope);
    if (COMPARE.has(operator)) {
      // a < b <= c arrives as ((a < b) <= c): a comparison directly on the left (not in parentheses) is a chain.
      const operands: SyntaxNode[] = [];
      const operators: CompareOperator[] = [];
      let current: SyntaxNode = node;
      while (current.name === 'BinaryExpression' && COMPARE.has(this.operatorOf(current))) {
        const parts = children(current);
        operators.unshift(normalizeCompare(this.operatorOf(current)));
        operands.unshift(parts.at(-1)!);
        current = parts[0]!;
      }
      operands.unshift(current);
      operators.forEach((symbol, index) => {
        if (symbol === 'is' || symbol === 'is not') {
          const sides = [operands[index]!, operands[index + 1]!];
          if (!sides.some((side) => side.name === 'None' || side.name === 'Boolean')) this.refuse(`'${symbol}' with something other than None, True or False`, node);
        }
      });
      return { op: 'compare', id: this.compareId++, source: this.text(node), operators, operands: operands.map((operand) => this.expression(operand, scope)) };
    }
    if (['+', '-', '*', '/'].includes(operator)) {
      const parts = children(node);
      return { op: 'arith', operator: operator as '+', left: this.expression(parts[0]!, scope), right: this.expression(parts.at(-1)!, scope) };
    }
    return this.refuse(`operator ${operator}`, node);
  }

  private operatorOf(node: SyntaxNode): string {
    const parts = children(node);
    return parts
      .slice(1, -1)
      .map((part) => this.text(part))
      .join(' ');
  }

  /**
   * `and`, `or` and `not` rebuilt with Python's precedence (not > and > or) from the operands and keywords
   * in source order: the Lezer grammar lets `not` take in a following `and`/`or` (`not a or b` comes back
   * as `not (a or b)`), so its tree shape is not used for these three.
   */
  private boolean(node: SyntaxNode, scope: Scope): Expression {
    const tokens: (SyntaxNode | 'and' | 'or' | 'not')[] = [];
    const flatten = (current: SyntaxNode) => {
      if (current.name === 'BinaryExpression' && ['and', 'or'].includes(this.operatorOf(current))) {
        const parts = children(current);
        flatten(parts[0]!);
        tokens.push(this.operatorOf(current) as 'and');
        flatten(parts.at(-1)!);
      } else if (current.name === 'UnaryExpression' && children(current)[0]!.name === 'not') {
        tokens.push('not');
        flatten(children(current)[1]!);
      } else tokens.push(current);
    };
    flatten(node);
    let position = 0;
    const parseOr = (): Expression => {
      const args = [parseAnd()];
      while (tokens[position] === 'or') {
        position++;
        args.push(parseAnd());
      }
      return args.length === 1 ? args[0]! : { op: 'or', args };
    };
    const parseAnd = (): Expression => {
      const args = [parseNot()];
      while (tokens[position] === 'and') {
        position++;
        args.push(parseNot());
      }
      return args.length === 1 ? args[0]! : { op: 'and', args };
    };
    const parseNot = (): Expression => {
      const token = tokens[position++];
      if (token === 'not') return { op: 'not', arg: parseNot() };
      if (token === undefined || typeof token === 'string') this.refuse('a malformed boolean expression', node);
      return this.expression(token, scope);
    };
    const result = parseOr();
    if (position !== tokens.length) this.refuse('a malformed boolean expression', node);
    return result;
  }
}

const COMPARE = new Set(['==', '!=', '<', '<=', '>', '>=', 'in', 'not in', 'is', 'is not']);
const normalizeCompare = (operator: string) => operator as CompareOperator;

function isString(node: SyntaxNode | null): boolean {
  return node?.name === 'String' || node?.name === 'ContinuedString';
}

function describeNode(node: SyntaxNode): string {
  const named: Record<string, string> = {
    TryStatement: 'try statement',
    WithStatement: 'with statement',
    RaiseStatement: 'raise statement',
    AssertStatement: 'assert statement',
    DeleteStatement: 'del statement',
    ScopeStatement: 'global/nonlocal statement',
    FunctionDefinition: 'function definition',
    ClassDefinition: 'class definition',
    AssignStatement: 'assignment',
    ExpressionStatement: 'expression statement',
    ImportStatement: 'import',
    YieldExpression: 'yield',
    AwaitExpression: 'await',
    FormatString: 'f-string',
    MatchStatement: 'match statement',
  };
  return named[node.name] ?? node.name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > 60 ? `${flat.slice(0, 60)}...` : flat;
}
