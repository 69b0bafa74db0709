import type { Expression, PyValue } from './expression.js';

/** A translated expression as one readable line, in Python-like notation, for `assay inspect evaluation`. */
export function renderExpression(node: Expression): string {
  switch (node.op) {
    case 'const':
      return renderValue(node.value);
    case 'field':
      return `self.${node.name}`;
    case 'correct':
      return 'self.correct';
    case 'name':
      return node.name;
    case 'let':
      return `let ${node.name} = ${renderExpression(node.value)}; ${renderExpression(node.body)}`;
    case 'if':
      return `(if ${renderExpression(node.test)} then ${renderExpression(node.then)} else ${renderExpression(node.else)})`;
    case 'and':
    case 'or':
      return `(${node.args.map(renderExpression).join(` ${node.op} `)})`;
    case 'not':
      return `not ${renderExpression(node.arg)}`;
    case 'compare':
      return `[#${node.id} ${node.operands.map((operand, index) => (index === 0 ? renderExpression(operand) : `${node.operators[index - 1]} ${renderExpression(operand)}`)).join(' ')}]`;
    case 'arith':
      return `(${renderExpression(node.left)} ${node.operator} ${renderExpression(node.right)})`;
    case 'negate':
      return `-${renderExpression(node.arg)}`;
    case 'list':
      return `[${node.items.map(renderExpression).join(', ')}]`;
    case 'set':
      return `{${node.items.map(renderExpression).join(', ')}}`;
    case 'index':
      return `${renderExpression(node.object)}[${renderExpression(node.key)}]`;
    case 'call':
      if (node.function.startsWith('str.')) return `${renderExpression(node.args[0]!)}.${node.function.slice(4)}(${node.args.slice(1).map(renderExpression).join(', ')})`;
      return `${node.function}(${node.args.map(renderExpression).join(', ')})`;
    case 'comprehension': {
      const conditions = node.conditions.map((condition) => ` if ${renderExpression(condition)}`).join('');
      const inner = `${renderExpression(node.element)} for ${node.variable} in ${renderExpression(node.iterable)}${conditions}`;
      return node.kind === 'list' ? `[${inner}]` : node.kind === 'set' ? `{${inner}}` : `(${inner})`;
    }
  }
}

export function renderValue(value: PyValue | unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string' || typeof value === 'number') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(renderValue).join(', ')}]`;
  const record = value as Record<string, unknown>;
  if (Array.isArray(record.set) && Object.keys(record).length === 1) return `{${(record.set as unknown[]).map(renderValue).join(', ')}}`;
  return `{${Object.entries(record).map(([key, entry]) => `${JSON.stringify(key)}: ${renderValue(entry)}`).join(', ')}}`;
}
