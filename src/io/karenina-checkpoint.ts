import { DatasetError } from '../core/errors.js';
import { jsonSyntaxProblem } from './json-syntax.js';
import { translateTemplate } from '../karenina/translate-template.js';
import { TEMPLATE_FIELD } from '../karenina/template-of-row.js';

/** A question of a checkpoint as a dataset row: id, question, answer, keywords, rubric (traits), metadata. */
export interface CheckpointRow {
  readonly row: Record<string, unknown>;
  readonly line: number;
}

interface Rating {
  readonly '@type'?: string;
  readonly name?: string;
  readonly description?: string;
  readonly bestRating?: number;
  readonly worstRating?: number;
  readonly additionalType?: string;
  readonly additionalProperty?: readonly { readonly name?: string; readonly value?: unknown }[];
}

function properties(rating: { additionalProperty?: readonly { name?: string; value?: unknown }[] }): Map<string, unknown> {
  const given = rating.additionalProperty;
  if (!Array.isArray(given)) return new Map();
  return new Map(given.filter((entry) => entry !== null && typeof entry === 'object' && typeof entry.name === 'string').map((entry) => [entry.name!, entry.value]));
}

/** Trait names in assay are identifiers: anything else becomes `_`. */
function traitName(name: string): string {
  const cleaned = name.trim().replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^[^A-Za-z_]+/, '');
  return cleaned === '' ? 'trait' : cleaned;
}

/** A karenina rubric trait as an assay trait, or why it is skipped. */
function convertRating(rating: Rating): { trait: Record<string, unknown> } | { skipped: string } {
  const kind = (rating.additionalType ?? '').replace(/^karenina:/, '');
  const props = properties(rating);
  const name = traitName(rating.name ?? 'trait');
  const description = rating.description?.trim() || rating.name || name;
  switch (kind) {
    case 'GlobalRubricTrait':
    case 'QuestionSpecificRubricTrait': {
      const best = rating.bestRating ?? 1;
      const worst = rating.worstRating ?? 0;
      if ((worst === 0 && best === 1) || props.get('kind') === 'boolean') return { trait: { name, kind: 'boolean', description } };
      return { trait: { name, kind: 'score', description, min: Math.round(worst), max: Math.round(best) } };
    }
    case 'GlobalLLMRubricTrait':
    case 'QuestionSpecificLLMRubricTrait': {
      const raw = props.get('classes');
      const classes = Array.isArray(raw) ? raw.map(String) : raw !== null && typeof raw === 'object' ? Object.keys(raw) : [];
      if (classes.length < 2) return { skipped: `trait '${rating.name}' (a literal trait without classes)` };
      return { trait: { name, kind: 'class', description, classes } };
    }
    case 'GlobalRegexTrait':
    case 'QuestionSpecificRegexTrait': {
      const pattern = props.get('pattern');
      if (typeof pattern !== 'string') return { skipped: `trait '${rating.name}' (a regex trait without a pattern)` };
      return { trait: { name, kind: 'regex', pattern, caseSensitive: props.get('case_sensitive') === true, invert: props.get('invert_result') === true } };
    }
    case 'GlobalMetricRubricTrait':
    case 'QuestionSpecificMetricRubricTrait': {
      const metrics = (props.get('metrics') as unknown[] | undefined) ?? [];
      const measure = (['f1', 'precision', 'recall'] as const).find((candidate) => metrics.includes(candidate)) ?? 'f1';
      return {
        trait: {
          name,
          kind: 'keywords',
          mustInclude: ((props.get('tp_instructions') as unknown[] | undefined) ?? []).map(String),
          mustExclude: ((props.get('tn_instructions') as unknown[] | undefined) ?? []).map(String),
          measure,
        },
      };
    }
    case 'GlobalCallableTrait':
    case 'QuestionSpecificCallableTrait':
      return { skipped: `callable trait '${rating.name}'` };
    default:
      return { skipped: `trait '${rating.name}' of unknown type '${rating.additionalType}'` };
  }
}

/**
 * Reads a karenina benchmark checkpoint (JSON-LD: a schema.org DataFeed of Question items with accepted
 * answers, keywords and Rating traits). Questions become rows; LLM, regex and metric traits become assay
 * traits under `rubric` (global ones first). Answer templates are translated (never run) into declarative
 * ones under `answerTemplate` when they keep to the subset translate-template.ts reads; the others, and
 * callable traits, are skipped and reported in one warning.
 */
export function readKareninaCheckpoint(text: string, path: string): CheckpointReading {
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new DatasetError(path, jsonSyntaxProblem(error, text));
  }
  try {
    return convertCheckpoint(document, path);
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    // A structure this reader does not expect where it looks (a null rating, a list that is not one).
    throw new DatasetError(path, `not a karenina checkpoint assay can read: its structure is damaged (${(error as Error).message.slice(0, 120)})`, {
      hint: 'export the checkpoint again from karenina',
    });
  }
}

export interface CheckpointReading {
  readonly rows: CheckpointRow[];
  readonly warning: string | null;
  /** How many questions carry an answer template, and how many of those were translated. */
  readonly templates: { readonly total: number; readonly translated: number };
}

function convertCheckpoint(document: Record<string, unknown>, path: string): CheckpointReading {
  if (document === null || typeof document !== 'object') throw new DatasetError(path, 'not a karenina checkpoint (not a JSON object)');
  const type = document['@type'];
  if (type !== 'DataFeed' && type !== 'Dataset') {
    throw new DatasetError(path, `not a karenina checkpoint (expected @type DataFeed, got ${JSON.stringify(type ?? null)})`, { hint: 'or set format: json for a plain JSON array' });
  }
  const elements = (document.dataFeedElement ?? document.hasPart ?? []) as Record<string, unknown>[];
  if (!Array.isArray(elements)) throw new DatasetError(path, 'dataFeedElement is not a list');
  const skipped: string[] = [];
  const templates = { total: 0, translated: 0 };
  const globalTraits: Record<string, unknown>[] = [];
  for (const rating of (document.rating ?? []) as Rating[]) {
    const converted = convertRating(rating);
    if ('trait' in converted) globalTraits.push(converted.trait);
    else skipped.push(`global ${converted.skipped}`);
  }
  const rows: CheckpointRow[] = elements.map((element, index) => {
    const question = (element.item ?? element) as Record<string, unknown>;
    const text = question.text;
    if (typeof text !== 'string') throw new DatasetError(`${path} dataFeedElement[${index}]`, 'question has no text');
    const id = typeof element['@id'] === 'string' ? element['@id'] : typeof question['@id'] === 'string' ? question['@id'] : `question-${index}`;
    const answer = (question.acceptedAnswer as { text?: unknown } | undefined)?.text;
    const traits = [...globalTraits];
    for (const rating of (question.rating ?? []) as Rating[]) {
      const converted = convertRating(rating);
      if ('trait' in converted) traits.push(converted.trait);
      else skipped.push(`${id}: ${converted.skipped}`);
    }
    const part = question.hasPart as { '@type'?: string; text?: unknown } | undefined;
    let template: Record<string, unknown> | null = null;
    if (part && part['@type'] === 'SoftwareSourceCode') {
      templates.total++;
      const translation = typeof part.text === 'string' ? translateTemplate(part.text) : { ok: false as const, reason: 'no source text' };
      if (translation.ok) {
        templates.translated++;
        template = translation.template as unknown as Record<string, unknown>;
      } else skipped.push(`${id}: answer template not translated: ${translation.reason}`);
    }
    const metadata = Object.fromEntries([...properties(question as { additionalProperty?: { name?: string; value?: unknown }[] })]);
    return {
      line: index,
      row: {
        ...metadata,
        id,
        question: text,
        answer: typeof answer === 'string' ? answer : null,
        keywords: question.keywords ?? [],
        rubric: traits,
        // Only when translated: a checkpoint read before templates were translated keeps its identity.
        ...(template ? { [TEMPLATE_FIELD]: template } : {}),
      },
    };
  });
  const warning =
    skipped.length === 0
      ? null
      : `${path}: skipped ${skipped.length} item(s) holding Python code or unsupported traits, which assay never runs${templates.total > 0 ? ` (${templates.translated} of ${templates.total} answer templates translated)` : ''}: ${skipped.slice(0, 5).join('; ')}${skipped.length > 5 ? `; and ${skipped.length - 5} more` : ''}`;
  return { rows, warning, templates };
}
