/** The terminal's readline, fed exactly what xterm.js sends for keys. */
import { describe, expect, it } from 'vitest';
import { LineEditor } from '../../src/web/terminal/line-editor.ts';

const KEY = { left: '\x1b[D', right: '\x1b[C', up: '\x1b[A', down: '\x1b[B', home: '\x1b[H', end: '\x1b[F', del: '\x1b[3~', bs: '\x7f' };

describe('LineEditor', () => {
  it('typing and Enter give the line; echo shows it', () => {
    const ed = new LineEditor('$ ');
    const r = ed.feed('images -a\r');
    expect(r.lines).toEqual(['images -a']);
    expect(r.echo).toBe('images -a\r\n');
  });

  it('cursor movement, insert, backspace, delete', () => {
    const ed = new LineEditor('$ ');
    ed.feed('ps a');
    ed.feed(KEY.left + '-');
    expect(ed.line).toBe('ps -a');
    ed.feed(KEY.home + KEY.del + 'P');
    expect(ed.line).toBe('Ps -a');
    ed.feed(KEY.end + KEY.bs + 'q');
    expect(ed.line).toBe('Ps -q');
    ed.feed('\x01'); // Ctrl-A
    ed.feed('\x0b'); // Ctrl-K
    expect(ed.line).toBe('');
  });

  it('Ctrl-W deletes a word, Ctrl-U the line before the cursor, Ctrl-C drops the line', () => {
    const ed = new LineEditor('$ ');
    ed.feed('run --rm busybox');
    ed.feed('\x17');
    expect(ed.line).toBe('run --rm ');
    ed.feed('\x15');
    expect(ed.line).toBe('');
    ed.feed('half typed');
    const r = ed.feed('\x03');
    expect(r.interrupted).toBe(true);
    expect(r.lines).toEqual([]);
    expect(ed.line).toBe('');
  });

  it('history: up recalls, down returns to the draft; duplicates and blanks are not stored', () => {
    const ed = new LineEditor('$ ');
    ed.feed('images\rps -a\rps -a\r\r');
    expect(ed.history).toEqual(['images', 'ps -a']);
    ed.feed('dra');
    ed.feed(KEY.up);
    expect(ed.line).toBe('ps -a');
    ed.feed(KEY.up + KEY.up);
    expect(ed.line).toBe('images');
    ed.feed(KEY.down + KEY.down);
    expect(ed.line).toBe('dra');
  });

  it('a paste with several lines runs each; CRLF counts once', () => {
    const ed = new LineEditor('$ ');
    expect(ed.feed('images\r\nps\r\n').lines).toEqual(['images', 'ps']);
  });

  it('redraw puts the cursor back where it was', () => {
    const ed = new LineEditor('$ ');
    ed.feed('abc' + KEY.left + KEY.left);
    expect(ed.redrawAll()).toBe('\r\x1b[2K$ abc\x1b[2D');
  });
});

describe('Tab completion', () => {
  const names = ['images', 'image ls', 'image load', 'inspect', 'ps', 'rm', 'rmi', 'run'];
  const complete = (before: string): string[] => {
    const words = before.split(/\s+/);
    const typed = words.join(' ');
    return [...new Set(names.filter((n) => n.startsWith(typed)).map((n) => n.split(' ')[words.length - 1]!))].sort();
  };

  it('one candidate completes with a space; several complete their common prefix, then list', () => {
    const ed = new LineEditor('$ ', 200, complete);
    ed.feed('ru\t');
    expect(ed.line).toBe('run ');
    const ed2 = new LineEditor('$ ', 200, complete);
    ed2.feed('im\t');
    expect(ed2.line).toBe('image');
    const r = ed2.feed('\t');
    expect(r.echo).toContain('image  images');
    ed2.feed(' l\t');
    expect(ed2.line).toBe('image l');
    expect(ed2.feed('\t').echo).toContain('load  ls');
  });

  it('no candidate rings the bell; no completer ignores Tab', () => {
    expect(new LineEditor('$ ', 200, complete).feed('zz\t').echo).toBe('zz\x07');
    const plain = new LineEditor('$ ');
    plain.feed('ps\t');
    expect(plain.line).toBe('ps');
  });
});
