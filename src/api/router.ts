/**
 * The routing table: "METHOD /path/{param}" patterns to handlers, after the optional `/v1.xx`
 * prefix (API versions MIN_API_VERSION..API_VERSION accepted, as Docker's daemon does). A path
 * Docker has but skiff does not serve gets 501 naming it; a path Docker does not have, 404.
 */
import type { Call } from './call.ts';
import { ApiError, notImplemented } from './errors.ts';

export const API_VERSION = '1.43';
export const MIN_API_VERSION = '1.24';

export type Handler = (call: Call) => Promise<void>;

interface Route {
  method: string;
  re: RegExp;
  names: string[];
  handler: Handler;
}

/** Docker's top-level paths: anything under them that is not routed is "not implemented". */
const DOCKER_PATHS = /^\/(containers|images|volumes|networks|exec|build|swarm|nodes|services|tasks|secrets|configs|plugins|distribution|session|grpc|system|events|auth|commit|info|version|_ping)(\/|$)/;

function versionNumber(v: string): number {
  const [maj, min] = v.split('.').map(Number);
  return (maj ?? 0) * 1000 + (min ?? 0);
}

export class Router {
  readonly #routes: Route[] = [];

  add(spec: string, handler: Handler): this {
    const [method, pattern] = spec.split(' ') as [string, string];
    const names: string[] = [];
    // {name} is one segment, except a trailing {name*} which may contain slashes (image names do).
    const re = pattern.replace(/\{(\w+)(\*?)\}/g, (_m, name: string, star: string) => {
      names.push(name);
      return star ? '(.+)' : '([^/]+)';
    });
    this.#routes.push({ method, re: new RegExp(`^${re}$`), names, handler });
    return this;
  }

  /** The path without its version prefix and the version (400 when out of range). */
  static version(pathname: string): { path: string; version: string } {
    const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(pathname);
    if (!m) return { path: pathname, version: API_VERSION };
    const v = m[1]!;
    if (versionNumber(v) > versionNumber(API_VERSION)) throw new ApiError(400, `client version ${v} is too new. Maximum supported API version is ${API_VERSION}`);
    if (versionNumber(v) < versionNumber(MIN_API_VERSION)) throw new ApiError(400, `client version ${v} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
    return { path: m[2]!, version: v };
  }

  /** The handler and path parameters for a request; throws 404/405/501 as Docker would. */
  match(method: string, path: string): { handler: Handler; params: Record<string, string> } {
    // HEAD is answered by the GET handler (Node drops the body).
    const wanted = method === 'HEAD' ? ['HEAD', 'GET'] : [method];
    let pathKnown = false;
    for (const m of wanted) {
      for (const r of this.#routes) {
        const hit = r.re.exec(path);
        if (!hit) continue;
        pathKnown = true;
        if (r.method !== m) continue;
        const params: Record<string, string> = {};
        r.names.forEach((n, i) => (params[n] = decodeURIComponent(hit[i + 1]!)));
        return { handler: r.handler, params };
      }
    }
    if (DOCKER_PATHS.test(path) || pathKnown) throw notImplemented(`${method} ${path}`);
    throw new ApiError(404, 'page not found');
  }
}
