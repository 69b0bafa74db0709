import type { Behaviour, RecordedRequest, Reply } from './openai-server.js';
import { solve } from './openai-server.js';

/** The number a "What is a + b?" question asks for. */
function expected(question: string): number | undefined {
  const match = /(-?\d+)\s*([-+*])\s*(-?\d+)/.exec(question);
  if (!match) return undefined;
  const [left, right] = [Number(match[1]), Number(match[3])];
  return match[2] === '+' ? left + right : match[2] === '-' ? left - right : left * right;
}

function section(prompt: string, heading: string): string {
  const start = prompt.indexOf(`${heading}\n`);
  if (start < 0) return '';
  const rest = prompt.slice(start + heading.length + 1);
  const end = rest.search(/\n\n[A-Z][A-Za-z ]*(?:\(.*\))?:\n/);
  return end < 0 ? rest : rest.slice(0, end);
}

const mentions = (text: string, value: number | undefined) => value !== undefined && new RegExp(`(^|[^\\d])${value}([^\\d]|$)`).test(text);

export interface JudgeScript {
  /** Per answering model name: questions it refuses. */
  readonly refuse?: Readonly<Record<string, readonly string[]>>;
  /** Per answering model name: questions it gets wrong (answers one more). */
  readonly wrong?: Readonly<Record<string, readonly string[]>>;
  /** How judge replies are written: strict JSON, JSON in prose, or labelled lines; per judge model name. */
  readonly judgeStyle?: Readonly<Record<string, 'json' | 'prose' | 'labelled' | 'garbage'>>;
}

/**
 * A deterministic stand-in for real models behind one OpenAI-compatible server: the answering models solve
 * sums (refusing or erring on cue), the parsing model fills templates, and judges grade by checking the
 * number, all decided from the request itself, the way a real judge reads its prompt.
 */
export function judgeBehaviour(script: JudgeScript = {}): Behaviour {
  return (request: RecordedRequest): Reply => {
    const format = (request.body.response_format as { json_schema?: { name?: string } } | undefined)?.json_schema?.name;
    const style = script.judgeStyle?.[request.model] ?? 'json';
    const reply = (values: Record<string, unknown>): Reply => {
      if (style === 'garbage') return { kind: 'answer', text: 'I think it is fine overall.' };
      if (style === 'prose') return { kind: 'answer', text: `Here is my assessment.\n\`\`\`json\n${JSON.stringify(values)}\n\`\`\`\nDone.` };
      if (style === 'labelled') return { kind: 'answer', text: Object.entries(values).map(([key, value]) => `${key}: ${Array.isArray(value) ? value.join(', ') : String(value)}`).join('\n') };
      return { kind: 'answer', text: JSON.stringify(values) };
    };
    if (format?.startsWith('rubric_')) {
      const question = section(request.prompt, 'Question:');
      const answer = section(request.prompt, 'Answer to judge:');
      const correct = mentions(answer, expected(question));
      const values: Record<string, unknown> = { reasoning: correct ? 'the number is right' : 'the number is wrong', correct, clarity: correct ? 5 : 2, tone: 'formal' };
      if (request.prompt.includes('abstained')) values.abstained = /can't help/.test(answer);
      return reply(values);
    }
    if (format?.startsWith('pairwise_')) {
      const question = section(request.prompt, 'Question:');
      const value = expected(question);
      const a = mentions(section(request.prompt, 'Answer A:'), value);
      const b = mentions(section(request.prompt, 'Answer B:'), value);
      return reply({ reasoning: 'compared the numbers', winner: a === b ? 'tie' : a ? 'A' : 'B' });
    }
    if (format === 'answer_template') {
      const answer = section(request.prompt, 'Answer to read:');
      const number = /(-?\d+)\.?\s*$/.exec(answer.trim())?.[1];
      return reply({ answer: number === undefined ? null : Number(number), unit: 'none' });
    }
    if (format === 'best_of') {
      const value = expected(section(request.prompt, 'Question:'));
      const candidates = [...request.prompt.matchAll(/Candidate (\d+):\n([^\n]*)/g)];
      const best = candidates.find((candidate) => mentions(candidate[2]!, value)) ?? candidates[0]!;
      return reply({ best: Number(best[1]), reason: 'it has the right number' });
    }
    // An answering model.
    if (script.refuse?.[request.model]?.includes(request.prompt)) return { kind: 'answer', text: "I'm sorry, but I can't help with that." };
    if (script.wrong?.[request.model]?.includes(request.prompt)) {
      const value = expected(request.prompt);
      return { kind: 'answer', text: `The answer is ${(value ?? 0) + 1}.` };
    }
    return { kind: 'answer', text: solve(request.prompt) };
  };
}
