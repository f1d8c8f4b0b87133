/**
 * The parser half of Docker's --format: Go's text/template syntax (the part Docker users write),
 * into a small tree template.ts executes. Errors carry Go's own wording ("template: :1: unexpected
 * EOF", `function "foo" not defined`) because users paste them into searches and bug reports.
 * Neutral: the browser terminal parses the same way.
 */

export type Arg =
  | { k: 'dot' }
  | { k: 'field'; names: string[]; src: string }
  | { k: 'var'; name: string; names: string[]; src: string }
  | { k: 'chain'; node: Arg; names: string[]; src: string }
  | { k: 'ident'; name: string }
  | { k: 'pipe'; pipe: Pipe }
  | { k: 'lit'; value: unknown }
  | { k: 'nil' };
export interface Cmd { pos: number; args: Arg[]; src: string }
export interface Pipe { pos: number; decl: string[]; assign: boolean; cmds: Cmd[] }
export interface Control { k: 'if' | 'with' | 'range'; pos: number; pipe: Pipe; list: Node[]; else?: Node[] }
export type Node =
  | { k: 'text'; text: string }
  | { k: 'action'; pos: number; pipe: Pipe }
  | Control
  | { k: 'break' | 'continue'; pos: number };

/** A parse error, already in Go's words; template.ts prefixes Docker's "template parsing error: ". */
export class TemplateParseError extends Error {}

interface Tok { t: string; v: string; pos: number; space: boolean }

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'break', 'continue', 'define', 'template', 'block']);
const NUMBER = /^[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)/;

export function lineOf(src: string, pos: number): number {
  return src.slice(0, pos).split('\n').length;
}

export function parseTemplate(src: string, funcs: ReadonlySet<string>): Node[] {
  return new Parser(src, funcs).parse();
}

class Parser {
  private at = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  constructor(private readonly src: string, private readonly funcs: ReadonlySet<string>) {}

  fail(msg: string, pos = this.at): never {
    throw new TemplateParseError(`template: :${lineOf(this.src, pos)}: ${msg}`);
  }

  parse(): Node[] {
    const { list, stop } = this.list();
    if (stop) this.fail(`unexpected {{${stop.toks[0]!.v}}}`, stop.pos);
    return list;
  }

  /** Nodes up to {{end}}/{{else}} (returned as `stop`) or the end of the text (stop undefined). */
  private list(): { list: Node[]; stop?: { toks: Tok[]; pos: number } } {
    const list: Node[] = [];
    for (;;) {
      const open = this.src.indexOf('{{', this.at);
      let text = this.src.slice(this.at, open < 0 ? undefined : open);
      if (open < 0) {
        if (text) list.push({ k: 'text', text });
        this.at = this.src.length;
        return { list };
      }
      let p = open + 2;
      if (this.src[p] === '-' && /[ \t\r\n]/.test(this.src[p + 1] ?? '')) {
        text = text.replace(/[ \t\r\n]+$/, '');
        p += 2;
      }
      if (text) list.push({ k: 'text', text });
      const { toks, end, trimRight } = this.action(p);
      this.at = end;
      if (trimRight) this.at += /^[ \t\r\n]*/.exec(this.src.slice(end))![0].length;
      if (!toks) continue; // a comment
      if (!toks.length) this.fail('missing value for command', open);
      const node = this.node(toks, open);
      if ('stop' in node) return { list, stop: { toks, pos: open } };
      list.push(node);
    }
  }

  /** One action's tokens, from just after `{{` (and a trim marker) to past `}}`. */
  private action(start: number): { toks: Tok[] | undefined; end: number; trimRight: boolean } {
    const s = this.src;
    let p = start;
    while (/[ \t\r\n]/.test(s[p] ?? '')) p++;
    if (s.startsWith('/*', p)) {
      const close = s.indexOf('*/', p + 2);
      if (close < 0) this.fail('unclosed comment', start);
      const m = /^(?:[ \t\r\n]+-)?\}\}/.exec(s.slice(close + 2));
      if (!m) this.fail('comment ends before closing delimiter', start);
      return { toks: undefined, end: close + 2 + m[0].length, trimRight: m[0].length > 2 };
    }
    const toks: Tok[] = [];
    for (;;) {
      const sp = p;
      while (/[ \t\r\n]/.test(s[p] ?? '')) p++;
      const space = p > sp;
      if (p >= s.length) this.fail('unclosed action', start);
      if (s.startsWith('}}', p)) return { toks, end: p + 2, trimRight: false };
      if (space && s.startsWith('-}}', p)) return { toks, end: p + 3, trimRight: true };
      const rest = s.slice(p);
      let m: RegExpExecArray | null;
      const tok = (t: string, v: string, len = v.length) => { toks.push({ t, v, pos: p, space }); p += len; };
      if ((m = NUMBER.exec(rest)) && !/^[+-]?\.?[A-Za-z_]/.test(rest)) tok('number', m[0]);
      else if ((m = /^\.([A-Za-z_]\w*)/.exec(rest))) tok('field', m[1]!, m[0].length);
      else if (rest[0] === '.') tok('dot', '.');
      else if ((m = /^\$\w*/.exec(rest))) tok('var', m[0]);
      else if ((m = /^[A-Za-z_]\w*/.exec(rest))) tok('ident', m[0]);
      else if ((m = /^"(?:[^"\\\n]|\\.)*"/.exec(rest))) tok('string', m[0]);
      else if (rest[0] === '"') this.fail('unterminated quoted string', p);
      else if ((m = /^`[^`]*`/.exec(rest))) tok('raw', m[0]);
      else if (rest[0] === '`') this.fail('unterminated raw quoted string', p);
      else if ((m = /^'(?:[^'\\\n]|\\.[^']*)'/.exec(rest))) tok('char', m[0]);
      else if (rest.startsWith(':=')) tok(':=', ':=');
      else if ('()|=,'.includes(rest[0]!)) tok(rest[0]!, rest[0]!);
      else {
        const c = rest.codePointAt(0)!;
        this.fail(`unrecognized character in action: U+${c.toString(16).toUpperCase().padStart(4, '0')} '${String.fromCodePoint(c)}'`, p);
      }
    }
  }

  private node(toks: Tok[], pos: number): Node | { stop: true } {
    const head = toks[0]!;
    const word = head.t === 'ident' ? head.v : '';
    if (word === 'end' || word === 'else') return { stop: true };
    if (word === 'if' || word === 'with' || word === 'range') return this.control(word, toks.slice(1), pos);
    if (word === 'break' || word === 'continue') {
      if (toks.length > 1) this.fail(`unexpected ${quote(toks[1]!)} in {{${word}}}`, pos);
      if (!this.rangeDepth) this.fail(`{{${word}}} outside {{range}}`, pos);
      return { k: word, pos };
    }
    if (word === 'define' || word === 'template' || word === 'block') this.fail(`{{${word}}} is not supported in --format`, pos);
    return { k: 'action', pos, pipe: this.pipeline(toks, 'command', false) };
  }

  private control(k: 'if' | 'with' | 'range', toks: Tok[], pos: number): Node {
    const mark = this.vars.length;
    const pipe = this.pipeline(toks, k, k === 'range');
    if (k === 'range') this.rangeDepth++;
    const body = this.list();
    if (k === 'range') this.rangeDepth--;
    const node: Node = { k, pos, pipe, list: body.list };
    let stop = body.stop;
    if (!stop) this.fail('unexpected EOF');
    if (stop.toks[0]!.v === 'else') {
      const rest = stop.toks.slice(1);
      if (rest.length && rest[0]!.t === 'ident' && (rest[0]!.v === 'if' || rest[0]!.v === 'with') && k !== 'range') {
        // {{else if ...}} / {{else with ...}}: a nested control sharing this one's {{end}}.
        node.else = [this.control(rest[0]!.v as 'if' | 'with', rest.slice(1), stop.pos)];
        this.vars.length = mark;
        return node;
      }
      if (rest.length) this.fail(`unexpected ${quote(rest[0]!)} in else`, stop.pos);
      const alt = this.list();
      if (!alt.stop) this.fail('unexpected EOF');
      if (alt.stop.toks[0]!.v !== 'end') this.fail('expected end; found {{else}}', alt.stop.pos);
      node.else = alt.list;
      stop = alt.stop;
    }
    if (stop.toks.length > 1) this.fail(`unexpected ${quote(stop.toks[1]!)} in end`, stop.pos);
    this.vars.length = mark;
    return node;
  }

  private pipeline(toks: Tok[], context: string, rangeDecl: boolean): Pipe {
    const pos = toks[0]?.pos ?? this.at;
    if (!toks.length) this.fail(`missing value for ${context}`);
    let i = 0;
    const decl: string[] = [];
    let assign = false;
    const declEnd = toks.findIndex((t) => t.t === ':=' || t.t === '=');
    if (declEnd > 0 && toks.slice(0, declEnd).every((t, j) => (j % 2 === 0 ? t.t === 'var' : t.t === ','))) {
      for (let j = 0; j < declEnd; j += 2) decl.push(toks[j]!.v);
      if (decl.length > (rangeDecl ? 2 : 1)) this.fail('too many declarations in command', pos);
      assign = toks[declEnd]!.t === '=';
      if (assign) for (const v of decl) if (!this.vars.includes(v)) this.fail(`undefined variable "${v}"`, pos);
      i = declEnd + 1;
    }
    const cmds: Cmd[] = [];
    const body = toks.slice(i);
    let depth = 0;
    let startCmd = 0;
    const split: Tok[][] = [];
    for (let j = 0; j < body.length; j++) {
      const t = body[j]!;
      if (t.t === '(') depth++;
      else if (t.t === ')' && --depth < 0) this.fail('unexpected right paren', t.pos);
      else if (t.t === '|' && depth === 0) { split.push(body.slice(startCmd, j)); startCmd = j + 1; }
    }
    if (depth > 0) this.fail('unclosed left paren', pos);
    split.push(body.slice(startCmd));
    for (const [n, part] of split.entries()) {
      if (!part.length) this.fail(`missing value for ${context}`, pos);
      const cmd = this.command(part);
      if (n > 0 && !['field', 'var', 'chain', 'ident'].includes(cmd.args[0]!.k)) this.fail(`non executable command in pipeline stage ${n + 1}`, part[0]!.pos);
      cmds.push(cmd);
    }
    if (!assign) this.vars.push(...decl);
    return { pos, decl, assign, cmds };
  }

  private command(toks: Tok[]): Cmd {
    const args: Arg[] = [];
    let i = 0;
    while (i < toks.length) {
      const [arg, next] = this.operand(toks, i);
      args.push(arg);
      i = next;
    }
    const first = toks[0]!.pos;
    const last = toks[toks.length - 1]!;
    return { pos: first, args, src: this.src.slice(first, last.pos + last.v.length + (last.t === 'field' ? 1 : 0)) };
  }

  private operand(toks: Tok[], i: number): [Arg, number] {
    const t = toks[i]!;
    let node: Arg;
    let j = i + 1;
    const names = (): string[] => {
      const out: string[] = [];
      while (j < toks.length && toks[j]!.t === 'field' && !toks[j]!.space) out.push(toks[j++]!.v);
      return out;
    };
    const srcTo = (from: number) => this.src.slice(from, toks[j - 1]!.pos + toks[j - 1]!.v.length + (toks[j - 1]!.t === 'field' ? 1 : 0));
    switch (t.t) {
      case 'field': { const n = [t.v, ...names()]; return [{ k: 'field', names: n, src: srcTo(t.pos) }, j]; }
      case 'dot': return [{ k: 'dot' }, j];
      case 'var': {
        if (!this.vars.includes(t.v)) this.fail(`undefined variable "${t.v}"`, t.pos);
        const n = names();
        return [{ k: 'var', name: t.v, names: n, src: srcTo(t.pos) }, j];
      }
      case '(': {
        let depth = 1;
        while (j < toks.length && depth) { if (toks[j]!.t === '(') depth++; else if (toks[j]!.t === ')') depth--; j++; }
        if (depth) this.fail('unclosed left paren', t.pos);
        node = { k: 'pipe', pipe: this.pipeline(toks.slice(i + 1, j - 1), 'command', false) };
        const n = names();
        return [n.length ? { k: 'chain', node, names: n, src: srcTo(t.pos) } : node, j];
      }
      case 'ident':
        if (t.v === 'true' || t.v === 'false') return [{ k: 'lit', value: t.v === 'true' }, j];
        if (t.v === 'nil') return [{ k: 'nil' }, j];
        if (KEYWORDS.has(t.v)) this.fail(`unexpected <${t.v}> in command`, t.pos);
        if (!this.funcs.has(t.v)) this.fail(`function "${t.v}" not defined`, t.pos);
        return [{ k: 'ident', name: t.v }, j];
      case 'string': return [{ k: 'lit', value: unquote(t.v, () => this.fail(`invalid syntax: ${t.v}`, t.pos)) }, j];
      case 'raw': return [{ k: 'lit', value: t.v.slice(1, -1) }, j];
      case 'char': {
        const c = unquote(`"${t.v.slice(1, -1).replace(/"/g, '\\"')}"`, () => this.fail(`malformed character constant: ${t.v}`, t.pos));
        if ([...c].length !== 1) this.fail(`malformed character constant: ${t.v}`, t.pos);
        return [{ k: 'lit', value: c.codePointAt(0) }, j];
      }
      case 'number': {
        const n = Number(t.v.replace(/_/g, '').replace(/^([+-]?)0[oO]/, '$10o'));
        if (Number.isNaN(n)) this.fail(`illegal number syntax: "${t.v}"`, t.pos);
        return [{ k: 'lit', value: n }, j];
      }
      default: this.fail(`unexpected ${quote(t)} in operand`, t.pos);
    }
  }
}

function quote(t: Tok): string {
  return t.t === 'ident' ? `<${t.v}>` : `"${t.v}"`;
}

/** A Go interpreted string literal's value: JSON covers most escapes; \x, \a, \v and \' need help. */
function unquote(lit: string, bad: () => never): string {
  const body = lit.slice(1, -1).replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1').replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b').replace(/\\'/g, "'")
    .replace(/\\U([0-9a-fA-F]{8})/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/\\([0-7]{3})/g, (_, o: string) => `\\u00${parseInt(o, 8).toString(16).padStart(2, '0')}`)
    .replace(/\t/g, '\\t');
  try {
    return JSON.parse(`"${body}"`) as string;
  } catch {
    return bad();
  }
}
