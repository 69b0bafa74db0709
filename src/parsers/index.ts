import type { ParserDefinition } from '../spec/definition.js';
import { exactTextParser } from './exact-text.js';
import { lastNumberParser } from './last-number.js';
import { regexParser } from './regex.js';

/** Built-in parsers by kind. */
export const PARSERS: readonly ParserDefinition[] = [lastNumberParser, regexParser, exactTextParser];
