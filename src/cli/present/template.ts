/**
 * Docker's --format: Go's text/template executed over skiff's JS rows and inspect documents
 * (parser in template-parse.ts, functions in template-funcs.ts). Objects behave as Go maps: a
 * missing field prints "<no value>", ranges visit keys in sorted order. Neutral (no Node, no DOM):
 * the browser terminal formats the same way. Every printed value is escaped for display
 * (escape.ts); a plain field's tabs and newlines too, so one value stays in its table cell.
 */
import { SkiffError } from '../../errors.ts';
import { displayText } from './escape.ts';
import { FUNC_NAMES, FUNCS, goString, goType, truth, type TemplateFunc } from './template-funcs.ts';
import { type Arg, type Cmd, type Control, lineOf, type Node, parseTemplate, type Pipe, TemplateParseError } from './template-parse.ts';

export interface CompiledTemplate {
  /** The output for `data`; throws SkiffError with Go's "template: :L:C: executing ..." wording. */
  execute(data: unknown, o?: { funcs?: Record<string, TemplateFunc> }): string;
}

/** Parses once (rows share it); a syntax error is Docker's "template parsing error: template: :1: ...". */
export function compileTemplate(src: string): CompiledTemplate {
  let nodes: Node[];
  try {
    nodes = parseTemplate(src, FUNC_NAMES);
  } catch (err) {
    if (err instanceof TemplateParseError) throw new SkiffError('INVALID_ARGUMENT', `template parsing error: ${err.message}`);
    throw err;
  }
  return {
    execute: (data, o = {}) => {
      const ex = new Exec(src, { ...FUNCS, ...o.funcs });
      ex.vars.push({ name: '$', value: data });
      ex.walk(nodes, data);
      return ex.out;
    },
  };
}

class ExecError extends Error {}
const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');

class Exec {
  out = '';
  vars: Array<{ name: string; value: unknown }> = [];
  constructor(private readonly src: string, private readonly funcs: Record<string, TemplateFunc>) {}

  fail(pos: number, at: string, msg: string): never {
    const before = this.src.slice(0, pos);
    const col = pos - (before.lastIndexOf('\n') + 1);
    throw new SkiffError('INVALID_ARGUMENT', `template: :${lineOf(this.src, pos)}:${col}: executing "" at <${at}>: ${msg}`);
  }

  walk(nodes: Node[], dot: unknown): void {
    for (const n of nodes) {
      switch (n.k) {
        case 'text': this.out += n.text; break;
        case 'action': {
          const v = this.pipe(n.pipe, dot);
          if (n.pipe.decl.length) break;
          const last = n.pipe.cmds[n.pipe.cmds.length - 1]!;
          const plain = last.args.length === 1 && ['field', 'var', 'dot', 'chain'].includes(last.args[0]!.k);
          this.out += displayText(goString(v), { multiline: !plain });
          break;
        }
        case 'if': case 'with': {
          const mark = this.vars.length;
          const v = this.pipe(n.pipe, dot);
          if (truth(v)) this.walk(n.list, n.k === 'with' ? v : dot);
          else if (n.else) this.walk(n.else, dot);
          this.vars.length = mark;
          break;
        }
        case 'range': this.range(n, dot); break;
        case 'break': throw BREAK;
        case 'continue': throw CONTINUE;
      }
    }
  }

  private range(n: Control, dot: unknown): void {
    const mark = this.vars.length;
    const v = this.pipe({ ...n.pipe, decl: [] }, dot);
    let entries: Array<[unknown, unknown]>;
    if (Array.isArray(v)) entries = v.map((e, i) => [i, e]);
    else if (typeof v === 'number' && Number.isInteger(v)) entries = Array.from({ length: Math.max(0, v) }, (_, i) => [i, i]);
    else if (v && typeof v === 'object') entries = Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]);
    else if (v === undefined || v === null) entries = [];
    else this.fail(n.pipe.pos, n.pipe.cmds[0]!.src, `range can't iterate over ${goString(v)}`);
    for (const [k, e] of entries) {
      this.vars.length = mark;
      if (n.pipe.decl.length === 1) this.vars.push({ name: n.pipe.decl[0]!, value: e });
      else if (n.pipe.decl.length === 2) this.vars.push({ name: n.pipe.decl[0]!, value: k }, { name: n.pipe.decl[1]!, value: e });
      try {
        this.walk(n.list, e);
      } catch (sig) {
        if (sig === BREAK) break;
        if (sig !== CONTINUE) throw sig;
      }
    }
    this.vars.length = mark;
    if (!entries.length && n.else) this.walk(n.else, dot);
  }

  pipe(p: Pipe, dot: unknown): unknown {
    let v: unknown;
    let piped = false;
    for (const c of p.cmds) {
      v = this.command(c, dot, piped ? [v] : []);
      piped = true;
    }
    if (p.decl.length) {
      if (p.assign) this.vars.findLast((x) => x.name === p.decl[0])!.value = v;
      else this.vars.push({ name: p.decl[0]!, value: v });
    }
    return v;
  }

  private command(c: Cmd, dot: unknown, final: unknown[]): unknown {
    const [head, ...rest] = c.args;
    try {
      switch (head!.k) {
        case 'ident': return this.call(head.name, rest, dot, final, c);
        case 'field': return this.fields(dot, head.names, head.src, c.pos, rest, dot, final);
        case 'var': return this.fields(this.variable(head.name), head.names, head.src, c.pos, rest, dot, final);
        case 'chain': return this.fields(this.arg(head.node, dot), head.names, head.src, c.pos, rest, dot, final);
        default:
          if (rest.length || final.length) this.fail(c.pos, c.src, `can't give argument to non-function ${c.src.split(/\s/)[0]}`);
          return this.arg(head!, dot);
      }
    } catch (err) {
      if (err instanceof ExecError) this.fail(c.pos, c.src, err.message);
      throw err;
    }
  }

  private call(name: string, argNodes: Arg[], dot: unknown, final: unknown[], c: Cmd): unknown {
    if (name === 'and' || name === 'or') {
      // Go 1.18+: evaluated left to right, stopping at the first false (and) or true (or) value.
      const thunks = [...argNodes.map((a) => () => this.arg(a, dot)), ...final.map((f) => () => f)];
      if (!thunks.length) throw new ExecError(`wrong number of args for ${name}: want at least 1 got 0`);
      let v: unknown;
      for (const t of thunks) {
        v = t();
        if (truth(v) === (name === 'or')) return v;
      }
      return v;
    }
    const fn = this.funcs[name]!;
    const args = [...argNodes.map((a) => this.arg(a, dot)), ...final];
    try {
      return fn(...args);
    } catch (err) {
      if (err instanceof SkiffError) throw err;
      this.fail(c.pos, c.src, `error calling ${name}: ${(err as Error).message}`);
    }
  }

  private arg(a: Arg, dot: unknown): unknown {
    switch (a.k) {
      case 'dot': return dot;
      case 'lit': return a.value;
      case 'nil': return null;
      case 'pipe': return this.pipe(a.pipe, dot);
      case 'ident': return this.call(a.name, [], dot, [], { pos: 0, args: [], src: a.name });
      case 'field': return this.fields(dot, a.names, a.src, 0, [], dot, []);
      case 'var': return this.fields(this.variable(a.name), a.names, a.src, 0, [], dot, []);
      case 'chain': return this.fields(this.arg(a.node, dot), a.names, a.src, 0, [], dot, []);
    }
  }

  private variable(name: string): unknown {
    return this.vars.findLast((x) => x.name === name)?.value;
  }

  /** `.A.B.C` from `v`; the last name may be a function (a method with arguments, like Docker's `.Label "k"`). */
  private fields(v: unknown, names: string[], src: string, pos: number, argNodes: Arg[], dot: unknown, final: unknown[]): unknown {
    for (const [i, name] of names.entries()) {
      const lastName = i === names.length - 1;
      // A missing map entry gives no value, and so does every field after it (skiff is lenient here).
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'object' || Array.isArray(v)) throw new ExecError(`can't evaluate field ${name} in type ${goType(v)}`);
      const own = Object.prototype.hasOwnProperty.call(v, name);
      const f = own ? (v as Record<string, unknown>)[name] : undefined;
      if (typeof f === 'function') {
        const args = lastName ? [...argNodes.map((a) => this.arg(a, dot)), ...final] : [];
        v = (f as TemplateFunc)(...args);
      } else {
        if (lastName && (argNodes.length || final.length)) throw new ExecError(`${name} is not a method but has arguments`);
        v = f;
      }
    }
    if (!names.length && (argNodes.length || final.length)) throw new ExecError(`can't give argument to non-function ${src}`);
    void pos;
    return v;
  }
}

/** A one-off render (inspect -f): `\t` and `\n` as Docker's formatter turns them into tabs and newlines. */
export function renderGoTemplate(src: string, data: unknown): string {
  return compileTemplate(unescapeFormat(src)).execute(data);
}

/** docker/cli's formatter replaces the two-character `\t` and `\n` before parsing. */
export function unescapeFormat(src: string): string {
  return src.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}
