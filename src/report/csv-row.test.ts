import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvRow } from './csv-row.js';

describe('csvRow', () => {
  it('prefixes text cells that a spreadsheet would read as a formula with a quote', () => {
    const hostile = ['=HYPERLINK("https://evil.example","click")', '+1+1', '-2+3', '@SUM(A1:A2)', '\tTAB', '\rCR', '＝1+1'];
    const [row] = parse(csvRow(hostile)) as string[][];
    expect(row).toEqual(hostile.map((cell) => `'${cell}`));
  });

  it('keeps numbers, ordinary text and cells with a formula character later on as they are', () => {
    const cells = [-0.5, 42, 'The answer is -3.', 'a=b', ' =not first', '', "'already quoted"];
    const text = csvRow(cells);
    expect(text.startsWith('-0.5,42,')).toBe(true);
    expect(parse(text)).toEqual([cells.map(String)]);
  });

  it('quotes commas, quotes and newlines as RFC 4180 says', () => {
    expect(csvRow(['a,b', 'say "hi"', 'two\nlines'])).toBe('"a,b","say ""hi""","two\nlines"\n');
  });
});
