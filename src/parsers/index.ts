import type { ParserDefinition } from '../spec/definition.js';
import { afterMarkerParser } from './after-marker.js';
import { boxedParser } from './boxed.js';
import { choiceLetterParser } from './choice-letter.js';
import { exactTextParser } from './exact-text.js';
import { jsonParser } from './json.js';
import { kareninaTemplateParser } from './karenina-template.js';
import { lastNumberParser } from './last-number.js';
import { regexParser } from './regex.js';
import { templateParser } from './template.js';

/** Built-in parsers by kind. */
export const PARSERS: readonly ParserDefinition[] = [
  lastNumberParser,
  afterMarkerParser,
  choiceLetterParser,
  boxedParser,
  regexParser,
  jsonParser,
  exactTextParser,
  templateParser,
  kareninaTemplateParser,
];
