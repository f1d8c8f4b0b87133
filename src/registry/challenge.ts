/**
 * WWW-Authenticate (RFC 9110 section 11.6.1) as registries send it:
 *   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"
 *   Basic realm="Registry Realm"
 * One header may carry several challenges (and fetch joins repeated headers with ", "), so this is
 * a small tokenizer rather than a split on commas: a quoted scope holds commas itself. Sans-IO.
 */

export interface Challenge {
  /** Lower-cased: "bearer", "basic". */
  scheme: string;
  /** Parameter names lower-cased, values unquoted. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;

export function parseChallenges(header: string | null | undefined): Challenge[] {
  const out: Challenge[] = [];
  if (!header) return out;
  const s = header;
  let i = 0;
  const skipWs = (): void => { while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++; };
  const token = (): string | undefined => {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(s);
    if (!m) return undefined;
    i += m[0].length;
    return m[0];
  };
  const quoted = (): string => {
    let v = '';
    i++; // opening quote
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\' && i + 1 < s.length) i++;
      v += s[i++];
    }
    i++; // closing quote (or end)
    return v;
  };
  let cur: Challenge | undefined;
  while (i < s.length) {
    skipWs();
    if (s[i] === ',') { i++; continue; }
    const start = i;
    const t = token();
    if (t === undefined) { i++; continue; } // junk: skip a character
    skipWs();
    if (s[i] === '=' && cur) {
      i++;
      skipWs();
      // Unquoted values should be tokens; registries send bare URLs too, so take up to ',' or a space.
      let v: string;
      if (s[i] === '"') v = quoted();
      else {
        const from = i;
        while (i < s.length && s[i] !== ',' && s[i] !== ' ' && s[i] !== '\t') i++;
        v = s.slice(from, i);
      }
      cur.params[t.toLowerCase()] = v;
      continue;
    }
    // token68 (Basic's "realm"-less form) after a scheme: keep it as a parameter-less value.
    if (s[i] === '=' && !cur) { i = start + t.length + 1; continue; }
    cur = { scheme: t.toLowerCase(), params: {} };
    out.push(cur);
  }
  return out;
}

/** A resource scope, as the distribution token spec writes it: "repository:library/alpine:pull,push". */
export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

export function formatScope(s: Scope): string {
  return `${s.type}:${s.name}:${[...new Set(s.actions)].sort().join(',')}`;
}

export function parseScope(s: string): Scope | undefined {
  // The name may hold a ':' (a registry with a port in some setups): type is first, actions last.
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  return { type: s.slice(0, first), name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',').filter(Boolean) };
}

/** Union of scopes, one per resource, actions merged; sorted so it makes a stable cache key. */
export function mergeScopes(scopes: readonly Scope[]): Scope[] {
  const by = new Map<string, Scope>();
  for (const s of scopes) {
    const k = `${s.type}:${s.name}`;
    const cur = by.get(k);
    by.set(k, cur ? { ...cur, actions: [...new Set([...cur.actions, ...s.actions])].sort() } : { ...s, actions: [...new Set(s.actions)].sort() });
  }
  return [...by.values()].sort((a, b) => formatScope(a).localeCompare(formatScope(b)));
}

export function repositoryScope(repo: string, actions: string[]): Scope {
  return { type: 'repository', name: repo, actions };
}
