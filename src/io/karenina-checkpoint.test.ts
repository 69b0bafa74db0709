import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { traitSchema } from '../judges/traits.js';
import { readKareninaCheckpoint } from './karenina-checkpoint.js';
import { templateOfRow } from '../karenina/template-of-row.js';
import { kareninaCheckpoint, REFUSED, TRANSLATABLE } from '../testing/karenina-templates.js';

const FIXTURE = fileURLToPath(new URL('../../examples/data/pharmacology.jsonld', import.meta.url));

describe('karenina checkpoints', () => {
  const { rows, warning } = readKareninaCheckpoint(readFileSync(FIXTURE, 'utf8'), FIXTURE);

  it('reads questions, accepted answers, keywords and metadata', () => {
    expect(rows).toHaveLength(2);
    expect(rows[0]!.row).toMatchObject({
      id: 'urn:uuid:question-target-of-venetoclax-1a2b3c4d',
      question: 'Which protein does venetoclax inhibit?',
      answer: 'BCL2',
      keywords: ['oncology', 'drugs'],
      finished: true,
    });
    expect(rows[1]!.row).toMatchObject({ question: 'How many chromosome pairs do humans have?', answer: '23' });
  });

  it('turns global and question traits into assay traits, global first', () => {
    const names = (index: number) => (rows[index]!.row.rubric as { name: string }[]).map((trait) => trait.name);
    expect(names(0)).toEqual(['Is_concise', 'no_hedging', 'detail', 'entities']);
    expect(names(1)).toEqual(['Is_concise', 'no_hedging', 'tone']);
    const [concise, hedging, detail, entities] = rows[0]!.row.rubric as Record<string, unknown>[];
    expect(concise).toEqual({ name: 'Is_concise', kind: 'boolean', description: 'Is the response under three sentences?' });
    expect(hedging).toEqual({ name: 'no_hedging', kind: 'regex', pattern: '\\b(maybe|perhaps)\\b', caseSensitive: false, invert: true });
    expect(detail).toMatchObject({ kind: 'score', min: 1, max: 5 });
    expect(entities).toEqual({ name: 'entities', kind: 'keywords', mustInclude: ['BCL2', 'apoptosis'], mustExclude: ['MCL1'], measure: 'precision' });
    expect((rows[1]!.row.rubric as Record<string, unknown>[])[2]).toMatchObject({ kind: 'class', classes: ['formal', 'casual'] });
    for (const row of rows) for (const trait of row.row.rubric as unknown[]) expect(() => traitSchema.parse(trait)).not.toThrow();
  });

  it('skips what holds code, and says so in one warning', () => {
    expect(warning).toMatch(/skipped 2 item\(s\) holding Python code or unsupported traits, which assay never runs/);
    expect(warning).toMatch(/global callable trait 'custom_check'/);
    expect(warning).toMatch(/urn:uuid:question-target-of-venetoclax-1a2b3c4d: answer template/);
    expect(warning!.split('\n')).toHaveLength(1);
  });

  it('refuses a file that is not a checkpoint', () => {
    expect(() => readKareninaCheckpoint('[1, 2]', 'x.jsonld')).toThrow(/x\.jsonld: not a karenina checkpoint/);
    expect(() => readKareninaCheckpoint('{', 'x.jsonld')).toThrow(/x\.jsonld: not valid JSON/);
  });
});

describe('karenina answer templates', () => {
  const questions = [
    ...TRANSLATABLE.map((template, index) => ({ id: `t${index}`, text: `question ${index}`, answer: 'x', python: template.python })),
    ...REFUSED.map((template, index) => ({ id: `r${index}`, text: `refused ${index}`, answer: 'x', python: template.python })),
    { id: 'plain', text: 'a question without a template', answer: 'y' },
  ];

  it.each(['DataFeed', 'Dataset'] as const)('translates the templates of a %s checkpoint and names what it refuses', (layout) => {
    const reading = readKareninaCheckpoint(JSON.stringify(kareninaCheckpoint(layout, questions)), `${layout}.jsonld`);
    expect(reading.rows).toHaveLength(questions.length);
    expect(reading.templates).toEqual({ total: TRANSLATABLE.length + REFUSED.length, translated: TRANSLATABLE.length });
    const byId = new Map(reading.rows.map(({ row }) => [row.id, row]));
    for (let index = 0; index < TRANSLATABLE.length; index++) {
      const template = templateOfRow(byId.get(`t${index}`));
      expect(template?.python).toBe(TRANSLATABLE[index]!.python);
      expect(template?.verify).toBeDefined();
    }
    for (let index = 0; index < REFUSED.length; index++) expect(byId.get(`r${index}`)).not.toHaveProperty('answerTemplate');
    expect(byId.get('plain')).not.toHaveProperty('answerTemplate');
    expect(reading.warning).toMatch(new RegExp(`\\(${TRANSLATABLE.length} of ${TRANSLATABLE.length + REFUSED.length} answer templates translated\\)`));
    expect(reading.warning).toMatch(/r0: answer template not translated: import of 'os' \(line 5\)/);
  });

  it('reports on the test checkpoints the share docs/karenina.md states', () => {
    const reading = readKareninaCheckpoint(JSON.stringify(kareninaCheckpoint('DataFeed', questions)), 'x.jsonld');
    const docs = readFileSync(fileURLToPath(new URL('../../docs/karenina.md', import.meta.url)), 'utf8');
    expect(docs).toContain(`${reading.templates.translated} of ${reading.templates.total} templates`);
  });
});
