/** Display escaping (Low 11): control characters in image metadata or input never reach a terminal raw. */
import { describe, expect, it } from 'vitest';
import { displayJson, displayText } from '../../src/cli/present/escape.ts';
import { renderTemplate, table } from '../../src/cli/present/format.ts';

describe('displayText', () => {
  it('shows C0, DEL, C1 and bidi controls as escapes; keeps the rest', () => {
    expect(displayText('a\x1b[2Jb\x07\x7f\u009b\u202eZ é 日本')).toBe('a\\x1b[2Jb\\x07\\x7f\\x9b\\u202eZ é 日本');
    expect(displayText('one\ntwo\tthree')).toBe('one\\x0atwo\\x09three');
    expect(displayText('one\ntwo\tthree\r', { multiline: true })).toBe('one\ntwo\tthree\\x0d');
  });

  it('JSON stays valid and round-trips while C1 and bidi controls are escaped', () => {
    const v = { s: '\x1b]0;t\x07\u009b\u2066' };
    const text = displayJson(v, 2);
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u2066]/);
    expect(JSON.parse(text)).toEqual(v);
  });

  it('tables and templates escape every value they lay out', () => {
    expect(table(['A', 'B'], [['x\x1b[31m', 'y\nz']])).toBe('A           B\nx\\x1b[31m   y\\x0az\n');
    expect(renderTemplate('{{.C}} {{json .C}}', { C: '\x1b[2J' })).toBe('\\x1b[2J "\\u001b[2J"');
  });
});
