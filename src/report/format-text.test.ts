import { describe, expect, it } from 'vitest';
import { latexText, levelText, md, pValueText } from './format-text.js';

describe('text from a run made inert in each format', () => {
  it('LaTeX: every special character of text mode is escaped, so a name cannot break a table or run a command', () => {
    expect(latexText('a_b & 50% #1 $x$ {y} ~z ^w \\cmd')).toBe('a\\_b \\& 50\\% \\#1 \\$x\\$ \\{y\\} \\textasciitilde{}z \\textasciicircum{}w \\textbackslash{}cmd');
    expect(latexText('rec|A<script>"q"')).toBe("rec\\textbar{}A\\textless{}script\\textgreater{}''q''");
  });

  it('Markdown: markup, HTML and math are escaped; underscores inside words are left alone', () => {
    expect(md('<script>alert(1)</script>')).toBe('\\<script\\>alert(1)\\</script\\>');
    expect(md('*bold* `code` [link](x) $y$ _it_')).toBe('\\*bold\\* \\`code\\` \\[link\\](x) \\$y\\$ \\_it\\_');
    expect(md('6b_finetuning')).toBe('6b_finetuning');
  });

  it('formats levels and p-values as a reader expects', () => {
    expect(levelText(0.95)).toBe('95');
    expect(levelText(0.999999)).toBe('99.9999');
    expect(pValueText(0.0004)).toBe('<0.001');
    expect(pValueText(0.0312)).toBe('0.031');
    expect(pValueText(0.5)).toBe('0.50');
    expect(pValueText(null)).toBe('–');
  });
});
