/**
 * Karenina answer templates for tests: ones inside the translated subset, each with filled answers (some
 * making verify() true, some false), and ones assay must refuse, with the construct the refusal names.
 * The reference outcome of every case is computed by running the template with python3 at test time
 * (src/karenina/translate-template.test.ts); assay itself never runs Python.
 */
export interface TemplateCase {
  readonly fields: Record<string, unknown>;
  /** The answer text, for verify_regex. */
  readonly text?: string;
}

export interface TranslatableTemplate {
  readonly name: string;
  readonly python: string;
  readonly cases: readonly TemplateCase[];
}

const HEADER = 'from karenina.schemas.answer_class import BaseAnswer\nfrom pydantic import Field\nfrom typing import List, Literal, Optional\n\n';

export const TRANSLATABLE: readonly TranslatableTemplate[] = [
  {
    name: 'gene (issue example: upper, lower, in on strings, and)',
    python: `${HEADER}class Answer(BaseAnswer):
    gene_name: str = Field(description="The gene symbol")
    gene_function: str = Field(description="Description of gene function")

    def model_post_init(self, __context):
        self.correct = {"gene_name": "BCL2", "gene_function": "anti-apoptotic"}

    def verify(self) -> bool:
        name_match = self.gene_name.upper() == self.correct["gene_name"]
        func_match = self.correct["gene_function"].lower() in self.gene_function.lower()
        return name_match and func_match
`,
    cases: [
      { fields: { gene_name: 'bcl2', gene_function: 'An Anti-apoptotic protein' } },
      { fields: { gene_name: 'BCL2', gene_function: 'pro-apoptotic' } },
      { fields: { gene_name: 'MCL1', gene_function: 'anti-apoptotic' } },
    ],
  },
  {
    name: 'number with tolerance (abs(a - b) <= tol, int/float)',
    python: `${HEADER}class Answer(BaseAnswer):
    value: float = Field(description="The concentration in mM")

    def model_post_init(self, __context):
        self.correct = {"value": 2.5}

    def verify(self) -> bool:
        return abs(self.value - self.correct["value"]) <= 0.1
`,
    cases: [{ fields: { value: 2.55 } }, { fields: { value: 3 } }, { fields: { value: 2 } }],
  },
  {
    name: 'integer equality across int and float, != and ordering',
    python: `${HEADER}class Answer(BaseAnswer):
    count: int = Field(description="How many pairs")

    def model_post_init(self, __context):
        self.correct = {"count": 23.0}

    def verify(self) -> bool:
        return self.count == self.correct["count"] and self.count != 0 and self.count > 1 and self.count >= 2 and self.count < 100
`,
    cases: [{ fields: { count: 23 } }, { fields: { count: 22 } }, { fields: { count: 0 } }],
  },
  {
    name: 'chained comparison',
    python: `${HEADER}class Answer(BaseAnswer):
    year: int = Field(description="The year")

    def model_post_init(self, __context):
        self.correct = {"low": 1950, "high": 1960}

    def verify(self) -> bool:
        return self.correct["low"] <= self.year < self.correct["high"]
`,
    cases: [{ fields: { year: 1953 } }, { fields: { year: 1960 } }, { fields: { year: 1949 } }],
  },
  {
    name: 'Literal field, in and not in on a list',
    python: `${HEADER}class Answer(BaseAnswer):
    route: Literal["oral", "intravenous", "topical"] = Field(description="Route of administration")

    def model_post_init(self, __context):
        self.correct = {"accepted": ["oral", "intravenous"], "wrong": ["topical"]}

    def verify(self) -> bool:
        return self.route in self.correct["accepted"] and self.route not in self.correct["wrong"]
`,
    cases: [{ fields: { route: 'oral' } }, { fields: { route: 'topical' } }],
  },
  {
    name: 'list[str] with set(), len() and a list comprehension of normalised entries',
    python: `${HEADER}class Answer(BaseAnswer):
    genes: List[str] = Field(description="The genes named")

    def model_post_init(self, __context):
        self.correct = {"genes": ["BRCA1", "BRCA2"]}

    def verify(self) -> bool:
        named = [gene.strip().upper() for gene in self.genes]
        return len(named) == len(self.correct["genes"]) and set(named) == set(self.correct["genes"])
`,
    cases: [{ fields: { genes: [' brca2', 'BRCA1 '] } }, { fields: { genes: ['BRCA1'] } }, { fields: { genes: ['BRCA1', 'TP53'] } }, { fields: { genes: ['BRCA1', 'brca1'] } }],
  },
  {
    name: 'all() and any() over generators, with a condition',
    python: `${HEADER}class Answer(BaseAnswer):
    drugs: list[str] = Field(description="Drugs mentioned")

    def model_post_init(self, __context):
        self.correct = {"required": ["aspirin", "heparin"], "banned": ["warfarin"]}

    def verify(self) -> bool:
        mentioned = [drug.lower() for drug in self.drugs if drug]
        has_all = all(required in mentioned for required in self.correct["required"])
        has_banned = any(drug in self.correct["banned"] for drug in mentioned)
        return has_all and not has_banned
`,
    cases: [{ fields: { drugs: ['Aspirin', 'HEPARIN', ''] } }, { fields: { drugs: ['aspirin', 'heparin', 'Warfarin'] } }, { fields: { drugs: ['aspirin'] } }],
  },
  {
    name: 'Optional field, early returns, is None, elif and truthiness',
    python: `${HEADER}class Answer(BaseAnswer):
    """A template with early returns."""
    mechanism: Optional[str] = Field(default=None, description="The mechanism, if stated")
    confident: bool = Field(description="Whether the answer is confident")

    def model_post_init(self, __context):
        self.correct = {"mechanism": "inhibition"}

    def verify(self) -> bool:
        if self.mechanism is None:
            return False
        elif not self.mechanism:
            return False
        if self.correct["mechanism"] in self.mechanism.lower():
            return self.confident
        return False
`,
    cases: [
      { fields: { mechanism: 'Competitive INHIBITION', confident: true } },
      { fields: { mechanism: 'Competitive inhibition', confident: false } },
      { fields: { mechanism: null, confident: true } },
      { fields: { mechanism: '', confident: true } },
      { fields: { mechanism: 'activation', confident: true } },
    ],
  },
  {
    name: 'replace with literal arguments, strip with characters, or',
    python: `${HEADER}class Answer(BaseAnswer):
    code: str = Field(description="The ATC code")

    def model_post_init(self, __context):
        self.correct = {"code": "B01AC06"}

    def verify(self) -> bool:
        cleaned = self.code.replace(" ", "").replace("-", "").strip(".").upper()
        return cleaned == self.correct["code"] or cleaned == "B01AC"
`,
    cases: [{ fields: { code: 'b01 ac-06.' } }, { fields: { code: 'B01AC.' } }, { fields: { code: 'B01AC07' } }],
  },
  {
    name: 'not binds tighter than and/or (not a or b)',
    python: `${HEADER}class Answer(BaseAnswer):
    a: bool = Field(description="a")
    b: bool = Field(description="b")
    c: bool = Field(description="c")

    def ground_truth(self):
        self.correct = {}

    def verify(self) -> bool:
        return self.a and not self.b or self.c
`,
    cases: [
      { fields: { a: true, b: false, c: false } },
      { fields: { a: true, b: true, c: false } },
      { fields: { a: false, b: true, c: true } },
      { fields: { a: false, b: false, c: false } },
    ],
  },
  {
    name: 'granular share of fields correct (counting with +=, sum of booleans)',
    python: `${HEADER}class Answer(BaseAnswer):
    drug: str = Field(description="The drug")
    target: str = Field(description="Its target")

    def model_post_init(self, __context):
        self.correct = {"drug": "venetoclax", "target": "BCL2"}

    def verify(self) -> bool:
        return self.drug.lower() == self.correct["drug"] and self.target.upper() == self.correct["target"]

    def verify_granular(self) -> float:
        correct = 0
        if self.drug.lower() == self.correct["drug"]:
            correct += 1
        if self.target.upper() == self.correct["target"]:
            correct += 1
        return correct / 2
`,
    cases: [{ fields: { drug: 'Venetoclax', target: 'bcl2' } }, { fields: { drug: 'Venetoclax', target: 'MCL1' } }, { fields: { drug: 'navitoclax', target: 'MCL1' } }],
  },
  {
    name: 'verify_regex on the answer text',
    python: `import re
${HEADER}class Answer(BaseAnswer):
    answer: str = Field(description="The answer")

    def model_post_init(self, __context):
        self.correct = {"answer": "23"}

    def verify(self) -> bool:
        return self.answer.strip() == self.correct["answer"]

    def verify_regex(self, text):
        return re.search(r"[0-9]+ (chromosome )?pairs", text, re.IGNORECASE) is not None
`,
    cases: [
      { fields: { answer: '23' }, text: 'Humans have 23 Chromosome pairs.' },
      { fields: { answer: '46' }, text: 'There are 46 chromosomes.' },
    ],
  },
  {
    name: 'an exception in verify (None.lower()) fails the check',
    python: `${HEADER}class Answer(BaseAnswer):
    name: Optional[str] = Field(default=None, description="The name")

    def model_post_init(self, __context):
        self.correct = {"name": "insulin"}

    def verify(self) -> bool:
        return self.name.lower() == self.correct["name"]
`,
    cases: [{ fields: { name: 'Insulin' } }, { fields: { name: null } }],
  },
  {
    name: 'conditional expression, len of a string, list literal and sorted',
    python: `${HEADER}class Answer(BaseAnswer):
    items: list[str] = Field(description="Items")
    label: str = Field(description="Label")

    def model_post_init(self, __context):
        self.correct = ["a", "b"]

    def verify(self) -> bool:
        wanted = sorted(self.correct) if len(self.label) > 0 else []
        return sorted(self.items) == wanted and [self.label] != ["x"]
`,
    cases: [{ fields: { items: ['b', 'a'], label: 'y' } }, { fields: { items: ['b', 'a'], label: '' } }, { fields: { items: ['a', 'b'], label: 'x' } }],
  },
  {
    name: 'Python semantics: in on a list vs a string, True == 1, TypeErrors for mixed types',
    python: `${HEADER}class Answer(BaseAnswer):
    count: int = Field(description="A count")
    label: str = Field(description="Which check")

    def model_post_init(self, __context):
        self.correct = {"text": "abc 12", "n": 5}

    def verify(self) -> bool:
        if self.label == "list":
            return self.count in [1, 2, 3]
        if self.label == "bool":
            return self.count == True
        if self.label == "text":
            return self.count in self.correct["text"]
        return self.label < self.correct["n"]
`,
    cases: [
      { fields: { count: 2, label: 'list' } },
      { fields: { count: 5, label: 'list' } },
      { fields: { count: 1, label: 'bool' } },
      { fields: { count: 2, label: 'bool' } },
      { fields: { count: 1, label: 'text' } },
      { fields: { count: 1, label: 'other' } },
    ],
  },
];

export interface RefusedTemplate {
  readonly name: string;
  readonly python: string;
  /** What the refusal must name. */
  readonly construct: RegExp;
}

const body = (verify: string, extra = '') => `${HEADER}${extra}class Answer(BaseAnswer):
    value: str = Field(description="The value")

    def model_post_init(self, __context):
        self.correct = {"value": "x"}

    def verify(self) -> bool:
${verify
  .split('\n')
  .map((line) => `        ${line}`)
  .join('\n')}
`;

export const REFUSED: readonly RefusedTemplate[] = [
  { name: 'import os', python: body('return True', 'import os\n'), construct: /import of 'os'/ },
  { name: 'from subprocess import run', python: body('return True', 'from subprocess import run\n'), construct: /import from 'subprocess'/ },
  { name: 'a call to an unknown function', python: body('return check(self.value)'), construct: /call to unknown function 'check'/ },
  { name: 'print', python: body('print(self.value)\nreturn True'), construct: /expression statement 'print\(self\.value\)'/ },
  { name: 'open', python: body('return open("/etc/passwd") == self.value'), construct: /call to unknown function 'open'/ },
  { name: 'attribute access outside the fields', python: body('return self.secret == self.value'), construct: /attribute access self\.secret outside the fields/ },
  { name: 'a method call on self', python: body('return self.helper()'), construct: /call to method self\.helper\(\)/ },
  { name: 'a for loop with side effects', python: body('seen = []\nfor v in self.value:\n    seen.append(v)\nreturn len(seen) > 0'), construct: /for loop/ },
  { name: 'a while loop', python: body('while True:\n    pass\nreturn True'), construct: /while loop/ },
  { name: 'exec', python: body('exec("x = 1")\nreturn True'), construct: /expression statement 'exec/ },
  { name: 'exec as a value', python: body('return exec("1") is None'), construct: /call to exec/ },
  { name: 'eval', python: body('return eval(self.value) == 1'), construct: /call to eval/ },
  { name: 'dunder attribute', python: body('return self.value.__class__ == str'), construct: /dunder access \.__class__/ },
  { name: 'dunder on self', python: body('return self.__dict__ == {}'), construct: /dunder access \.__dict__/ },
  { name: '__import__', python: body('return __import__("os") is None'), construct: /dunder function '__import__'/ },
  { name: 'a lambda', python: body('f = lambda v: v\nreturn True'), construct: /lambda/ },
  { name: 'an unknown string method', python: body('return self.value.encode() == self.value'), construct: /unknown method \.encode\(\)/ },
  { name: 'replace with a non-literal argument', python: body('return self.value.replace(self.value, "") == ""'), construct: /\.replace\(\) with an argument that is not a literal/ },
  { name: 'assigning to a field', python: body('self.value = "x"\nreturn True'), construct: /assignment to self\.value/ },
  { name: 'correct values that are computed', python: `${HEADER}class Answer(BaseAnswer):\n    value: str = Field(description="v")\n\n    def model_post_init(self, __context):\n        self.correct = {"value": compute()}\n\n    def verify(self):\n        return True\n`, construct: /correct values that are not a literal/ },
  { name: 'a try statement', python: body('try:\n    return self.value == "x"\nexcept Exception:\n    return False'), construct: /try statement/ },
  { name: 'an unknown name', python: body('return self.value == CONSTANT'), construct: /unknown name 'CONSTANT'/ },
  { name: 'no verify', python: `${HEADER}class Answer(BaseAnswer):\n    target: str\n`, construct: /without verify\(\)/ },
  { name: 'a field type outside the subset', python: `${HEADER}class Answer(BaseAnswer):\n    value: dict = Field(description="v")\n\n    def model_post_init(self, __context):\n        self.correct = {}\n\n    def verify(self):\n        return True\n`, construct: /type dict/ },
  { name: 'a syntax error', python: body('return self.value ==== 1'), construct: /syntax error/ },
  { name: 'an f-string', python: body('return f"{self.value}" == "x"'), construct: /f-string/ },
];

/** A karenina checkpoint holding these questions, in either JSON-LD layout karenina writes. */
export function kareninaCheckpoint(
  layout: 'DataFeed' | 'Dataset',
  questions: readonly { id: string; text: string; answer: string; python?: string; rating?: unknown[] }[],
): Record<string, unknown> {
  const question = (entry: (typeof questions)[number]) => ({
    '@type': 'Question',
    text: entry.text,
    acceptedAnswer: { '@type': 'Answer', text: entry.answer },
    ...(entry.python ? { hasPart: { '@type': 'SoftwareSourceCode', name: 'Answer', programmingLanguage: 'Python', text: entry.python } } : {}),
    ...(entry.rating ? { rating: entry.rating } : {}),
  });
  const context = { '@version': 1.1, '@vocab': 'http://schema.org/' };
  if (layout === 'DataFeed') {
    return {
      '@context': context,
      '@type': 'DataFeed',
      name: 'test checkpoint',
      dataFeedElement: questions.map((entry) => ({ '@type': 'DataFeedItem', '@id': entry.id, item: question(entry) })),
    };
  }
  return { '@context': context, '@type': 'Dataset', name: 'test checkpoint', hasPart: questions.map((entry) => ({ '@id': entry.id, ...question(entry) })) };
}
