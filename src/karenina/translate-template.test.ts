import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REFUSED, TRANSLATABLE } from '../testing/karenina-templates.js';
import { evaluateExpression, truthy } from './evaluate-expression.js';
import type { PyValue } from './expression.js';
import { translateTemplate } from './translate-template.js';

/**
 * The reference: each template run by python3 (test time only; assay never runs Python) with stand-ins for
 * karenina's BaseAnswer and pydantic's Field, so the classes are plain Python. For every case: bool(verify()),
 * verify_granular() and bool(verify_regex(text)) where defined, or the name of the exception raised.
 */
const REFERENCE_SCRIPT = String.raw`
import json, sys, types
karenina = types.ModuleType("karenina"); schemas = types.ModuleType("karenina.schemas"); answer_class = types.ModuleType("karenina.schemas.answer_class")
class BaseAnswer:
    def __init__(self, **values):
        for key, value in values.items():
            setattr(self, key, value)
        if hasattr(self, "model_post_init"):
            self.model_post_init(None)
        if hasattr(self, "ground_truth"):
            self.ground_truth()
answer_class.BaseAnswer = BaseAnswer
pydantic = types.ModuleType("pydantic")
pydantic.Field = lambda *args, **kwargs: kwargs.get("default")
sys.modules.update({"karenina": karenina, "karenina.schemas": schemas, "karenina.schemas.answer_class": answer_class, "pydantic": pydantic})

def outcome(call):
    try:
        return {"value": call()}
    except Exception as error:
        return {"error": type(error).__name__}

out = []
for template in json.load(sys.stdin):
    namespace = {}
    exec(template["python"], namespace)
    cls = [v for v in namespace.values() if isinstance(v, type) and issubclass(v, BaseAnswer) and v is not BaseAnswer][0]
    results = []
    for case in template["cases"]:
        answer = cls(**case["fields"])
        result = {"verify": outcome(lambda: bool(answer.verify()))}
        if hasattr(answer, "verify_granular"):
            result["granular"] = outcome(lambda: float(answer.verify_granular()))
        if hasattr(answer, "verify_regex"):
            result["regex"] = outcome(lambda: bool(answer.verify_regex(case.get("text", ""))))
        results.append(result)
    out.append(results)
print(json.dumps(out))
`;

type Reference = { value?: boolean | number; error?: string };

const reference = JSON.parse(execFileSync('python3', ['-c', REFERENCE_SCRIPT], { input: JSON.stringify(TRANSLATABLE), encoding: 'utf8' })) as {
  verify: Reference;
  granular?: Reference;
  regex?: Reference;
}[][];

describe('karenina template translation', () => {
  it.each(TRANSLATABLE.map((template, index) => [template.name, index] as const))('%s: assay evaluates as Python does', (_name, index) => {
    const template = TRANSLATABLE[index]!;
    const translation = translateTemplate(template.python);
    if (!translation.ok) throw new Error(`not translated: ${translation.reason}`);
    const translated = translation.template;
    const verdicts: boolean[] = [];
    template.cases.forEach((testCase, caseIndex) => {
      const expected = reference[index]![caseIndex]!;
      const scope = { fields: testCase.fields as Record<string, PyValue>, correct: translated.correct };
      const verify = evaluateExpression(translated.verify, scope);
      const got = verify.error === null ? { value: truthy(verify.value) } : { error: verify.error.split(':')[0] };
      expect(got, `case ${caseIndex}: ${JSON.stringify(testCase.fields)}`).toEqual(expected.verify);
      verdicts.push(got.value === true);
      if (expected.granular) {
        const granular = evaluateExpression(translated.granular!, scope);
        expect(granular.error === null ? { value: granular.value } : { error: granular.error.split(':')[0] }).toEqual(expected.granular);
      } else expect(translated.granular).toBeNull();
      if (expected.regex) {
        const regex = evaluateExpression(translated.regex!.body, { ...scope, names: { [translated.regex!.parameter]: testCase.text ?? '' } });
        expect(regex.error === null ? { value: truthy(regex.value) } : { error: regex.error }).toEqual(expected.regex);
      }
    });
    // Every template is exercised both ways (or, for the exception case, with an error).
    expect(verdicts.some((verdict) => verdict)).toBe(true);
    expect(verdicts.some((verdict) => !verdict)).toBe(true);
  });

  it('reads field types, descriptions and correct values', () => {
    const translation = translateTemplate(TRANSLATABLE.find((template) => template.name.startsWith('Optional'))!.python);
    expect(translation.ok).toBe(true);
    if (!translation.ok) return;
    expect(translation.template.fields).toEqual([
      { name: 'mechanism', type: 'string', optional: true, description: 'The mechanism, if stated', python: 'Optional[str]' },
      { name: 'confident', type: 'boolean', optional: false, description: 'Whether the answer is confident', python: 'bool' },
    ]);
    expect(translation.template.correct).toEqual({ mechanism: 'inhibition' });
    const literal = translateTemplate(TRANSLATABLE.find((template) => template.name.startsWith('Literal'))!.python);
    expect(literal.ok && literal.template.fields[0]).toMatchObject({ type: 'enum', values: ['oral', 'intravenous', 'topical'] });
    const list = translateTemplate(TRANSLATABLE.find((template) => template.name.startsWith('list[str]'))!.python);
    expect(list.ok && list.template.fields[0]).toMatchObject({ type: 'list', python: 'List[str]' });
    // A translation is plain JSON: it survives a round trip unchanged (it is stored in the dataset row).
    expect(JSON.parse(JSON.stringify(translation.template))).toEqual(translation.template);
  });

  it('records every comparison it evaluated, with its operands and outcome', () => {
    const translation = translateTemplate(TRANSLATABLE[0]!.python);
    if (!translation.ok) throw new Error(translation.reason);
    const evaluation = evaluateExpression(translation.template.verify, { fields: { gene_name: 'bcl2', gene_function: 'pro-apoptotic' }, correct: translation.template.correct });
    expect(evaluation.comparisons).toEqual([
      { id: 0, source: 'self.gene_name.upper() == self.correct["gene_name"]', operands: ['BCL2', 'BCL2'], result: true },
      { id: 1, source: 'self.correct["gene_function"].lower() in self.gene_function.lower()', operands: ['anti-apoptotic', 'pro-apoptotic'], result: false },
    ]);
  });

  it('reads a field the answer left out as None, whatever its name (no inherited JavaScript properties)', () => {
    const python = 'class Answer(BaseAnswer):\n    constructor: Optional[str] = None\n\n    def model_post_init(self, __context):\n        self.correct = {"toString": 1}\n\n    def verify(self):\n        return self.constructor is None and "valueOf" not in self.correct and self.correct == {"toString": 1}\n';
    const translation = translateTemplate(python);
    if (!translation.ok) throw new Error(translation.reason);
    expect(evaluateExpression(translation.template.verify, { fields: {}, correct: translation.template.correct }).value).toBe(true);
    expect(evaluateExpression(translation.template.verify, { fields: { constructor: 'x' } as Record<string, PyValue>, correct: translation.template.correct }).value).toBe(false);
  });

  it.each(REFUSED.map((template) => [template.name, template] as const))('refuses %s, naming the construct', (_name, template) => {
    const translation = translateTemplate(template.python);
    expect(translation.ok).toBe(false);
    if (translation.ok) return;
    expect(translation.reason).toMatch(template.construct);
    expect(translation.reason).toMatch(/\(line \d+\)$/);
  });
});
