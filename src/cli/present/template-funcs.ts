/**
 * The functions a Docker --format template can call: Go's text/template builtins and the ones
 * docker/cli's templates package adds (json, split, join, title, lower, upper, pad, truncate).
 * Values are JS data standing in for Go's: objects are maps, arrays slices, numbers int/float64.
 * A thrown Error's message becomes Go's "error calling NAME: ..." in template.ts.
 */
import { displayJson } from './escape.ts';

export type TemplateFunc = (...args: unknown[]) => unknown;

/** Go's type names, for error messages ("wrong type for value; expected string; got int"). */
export function goType(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

/** Go's %v: [a b], map[k:v] (keys sorted), <nil>. */
export function goString(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.keys(v).sort().map((k) => `${k}:${goString((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  // float64's %v is %g: an exponent below 1e-4 (JS waits until 1e-7), at least two digits ("1e-05").
  if (typeof v === 'number' && v !== 0 && Math.abs(v) < 1e-4) return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(v);
}

/** text/template's truth: false, 0, nil, "" and empty lists and maps are false. */
export function truth(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

const utf8 = new TextEncoder();
const str = (v: unknown, what = 'value'): string => {
  if (typeof v !== 'string') throw new Error(`wrong type for ${what}; expected string; got ${goType(v)}`);
  return v;
};
const int = (v: unknown): number => {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`wrong type for value; expected int; got ${goType(v)}`);
  return v;
};

/** fmt.Sprint: spaces between operands when neither is a string. */
function sprint(args: unknown[]): string {
  return args.map((a, i) => (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string' ? ' ' : '') + goString(a)).join('');
}

/** fmt.Sprintf for the verbs templates use: %v %s %d %q %t %x %X %o %b %c %f %e %g %%, flags, width, precision. */
export function sprintf(format: string, args: unknown[]): string {
  let n = 0;
  const out = format.replace(/%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])/g, (all, flags: string, w: string | undefined, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    const width = w === '*' ? Number(args[n++]) : w ? Number(w) : 0;
    const p = prec === '*' ? Number(args[n++]) : prec !== undefined ? Number(prec || 0) : undefined;
    if (n >= args.length) return `%!${verb}(MISSING)`;
    const a = args[n++];
    let s: string;
    const num = typeof a === 'number';
    const bad = () => `%!${verb}(${goType(a)}=${goString(a)})`;
    switch (verb) {
      case 'v': s = flags.includes('#') && typeof a === 'string' ? JSON.stringify(a) : goString(a); break;
      case 's': s = typeof a === 'number' || typeof a === 'boolean' ? bad() : goString(a); if (p !== undefined) s = [...s].slice(0, p).join(''); break;
      case 'q': s = typeof a === 'string' ? JSON.stringify(a) : num && Number.isInteger(a) ? `'${String.fromCodePoint(a)}'` : bad(); break;
      case 't': s = typeof a === 'boolean' ? String(a) : bad(); break;
      case 'd': s = num && Number.isInteger(a) ? (flags.includes('+') && a >= 0 ? '+' : '') + String(a) : bad(); break;
      case 'x': case 'X': case 'o': case 'b': {
        const radix = { x: 16, X: 16, o: 8, b: 2 }[verb]!;
        if (num && Number.isInteger(a)) s = a.toString(radix);
        else if (typeof a === 'string' && (verb === 'x' || verb === 'X')) s = [...utf8.encode(a)].map((b) => b.toString(16).padStart(2, '0')).join('');
        else { s = bad(); break; }
        if (verb === 'X') s = s.toUpperCase();
        if (flags.includes('#')) s = ({ x: '0x', X: '0X', o: '0', b: '0b' }[verb] ?? '') + s;
        break;
      }
      case 'c': s = num && Number.isInteger(a) ? String.fromCodePoint(a) : bad(); break;
      case 'f': case 'F': s = num ? a.toFixed(p ?? 6) : bad(); break;
      case 'e': s = num ? a.toExponential(p ?? 6).replace(/e([+-])(\d)$/, 'e$10$2') : bad(); break;
      case 'g': s = num ? (p !== undefined ? String(Number(a.toPrecision(p))) : String(a)) : bad(); break;
      default: s = `%!${verb}(${goType(a)}=${goString(a)})`;
    }
    void all;
    if (s.length < width) s = flags.includes('-') ? s.padEnd(width) : flags.includes('0') && num ? s.padStart(width, '0') : s.padStart(width);
    return s;
  });
  return n < args.length ? `${out}%!(EXTRA ${args.slice(n).map((a) => `${goType(a)}=${goString(a)}`).join(', ')})` : out;
}

function compare(name: string, a: unknown, b: unknown): number {
  if ((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string')) return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a !== typeof b) throw new Error('incompatible types for comparison');
  throw new Error(`invalid type for comparison`);
  void name;
}

function eq(a: unknown, ...bs: unknown[]): boolean {
  if (!bs.length) throw new Error('missing argument for comparison');
  return bs.some((b) => {
    if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
    if (typeof a === 'object' || typeof b === 'object') throw new Error('non-comparable type');
    if (typeof a !== typeof b) throw new Error('incompatible types for comparison');
    return a === b;
  });
}

function index(v: unknown, ...keys: unknown[]): unknown {
  for (const k of keys) {
    if (Array.isArray(v) || typeof v === 'string') {
      const items = typeof v === 'string' ? [...utf8.encode(v)] : v;
      const i = int(k);
      if (i < 0 || i >= items.length) throw new Error(`index out of range: ${i}`);
      v = items[i];
    } else if (v && typeof v === 'object') {
      const m = v as Record<string, unknown>;
      const key = str(k, 'key');
      // A missing key gives the map's zero value: "" for a string map (Docker's labels, even empty), else nil.
      v = Object.prototype.hasOwnProperty.call(m, key) ? m[key] : Object.values(m).every((x) => typeof x === 'string') ? '' : undefined;
    } else if ((v === undefined || v === null) && typeof k === 'string') v = ''; // a nil map[string]string (Docker's Labels: null)
    else if (v === undefined || v === null) throw new Error('index of untyped nil');
    else throw new Error(`can't index item of type ${goType(v)}`);
  }
  return v;
}

function slice(v: unknown, ...idx: unknown[]): unknown {
  if (idx.length > 3) throw new Error(`too many slice indexes: ${idx.length}`);
  if (typeof v === 'string') {
    if (idx.length === 3) throw new Error('cannot 3-index slice a string');
    const bytes = utf8.encode(v);
    const [i = 0, j = bytes.length] = idx.map(int);
    if (i < 0 || j < i || j > bytes.length) throw new Error(`index out of range: ${j > bytes.length ? j : i}`);
    return new TextDecoder().decode(bytes.slice(i, j));
  }
  if (!Array.isArray(v)) throw new Error(`can't slice item of type ${goType(v)}`);
  const [i = 0, j = v.length] = idx.map(int);
  if (i < 0 || j < i || j > v.length) throw new Error(`index out of range: ${j > v.length ? j : i}`);
  return v.slice(i, j);
}

function html(...args: unknown[]): string {
  return sprint(args).replace(/[<>&'"\0]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&#34;', '\0': '\uFFFD' })[c]!);
}

function js(...args: unknown[]): string {
  return sprint(args).replace(/[\\'"<>&=\u0000-\u001f]/g, (c) => (c === '\\' || c === "'" || c === '"' ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`));
}

function urlquery(...args: unknown[]): string {
  return [...utf8.encode(sprint(args))].map((b) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : b === 32 ? '+' : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

/** Go's builtins and Docker's additions. `and`/`or` are evaluated lazily in template.ts. */
export const FUNCS: Record<string, TemplateFunc> = {
  not: (v) => !truth(v),
  len: (v) => {
    if (typeof v === 'string') return utf8.encode(v).length;
    if (Array.isArray(v)) return v.length;
    if (v && typeof v === 'object') return Object.keys(v).length;
    throw new Error(`len of ${v === undefined || v === null ? 'nil pointer' : `type ${goType(v)}`}`);
  },
  index, slice,
  print: (...a) => sprint(a),
  printf: (f, ...a) => sprintf(str(f), a),
  println: (...a) => `${a.map(goString).join(' ')}\n`,
  eq, ne: (a, b) => !eq(a, b),
  lt: (a, b) => compare('lt', a, b) < 0, le: (a, b) => compare('le', a, b) <= 0,
  gt: (a, b) => compare('gt', a, b) > 0, ge: (a, b) => compare('ge', a, b) >= 0,
  html, js, urlquery,
  call: () => { throw new Error('call is not supported in --format (no functions in the data)'); },
  // docker/cli templates.go
  json: (v) => displayJson(v === undefined ? null : v),
  split: (s, sep) => (str(sep) === '' ? [...str(s)] : str(s).split(str(sep))),
  join: (a, sep) => {
    if (!Array.isArray(a) || !a.every((x) => typeof x === 'string')) throw new Error(`wrong type for value; expected []string; got ${goType(a)}`);
    return a.join(str(sep));
  },
  title: (s) => str(s).replace(/(^|[^\p{L}\p{N}_])(\p{L})/gu, (_, pre: string, c: string) => pre + c.toUpperCase()),
  lower: (s) => str(s).toLowerCase(),
  upper: (s) => str(s).toUpperCase(),
  pad: (s, pre, post) => (str(s) === '' ? '' : ' '.repeat(Math.max(0, int(pre))) + str(s) + ' '.repeat(Math.max(0, int(post)))),
  truncate: (s, n) => ([...str(s)].length < int(n) ? str(s) : [...str(s)].slice(0, int(n)).join('')),
};

/** docker/cli's HeaderFunctions: in a table's header row Docker's functions pass the header text through. */
export const HEADER_FUNCS: Record<string, TemplateFunc> = {
  json: (v) => v, split: (v) => v, join: (v) => v, title: (v) => v, lower: (v) => v, upper: (v) => v, pad: (v) => v, truncate: (v) => v,
};

export const FUNC_NAMES: ReadonlySet<string> = new Set([...Object.keys(FUNCS), 'and', 'or']);
