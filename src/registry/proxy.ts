/**
 * The registry proxy's URL scheme, shared by the page (which rewrites every registry URL through
 * it) and the server that forwards (proxy-node.ts): `<proxy>/<scheme>/<host>/<path>?<query>`.
 * Browsers need it because a registry must send CORS headers for a page to read its answers, and
 * Docker Hub (registry and token service) sends none. What passes: the distribution API (`/v2/...`)
 * and a token request (GET with `service` or `scope`), nothing else. Sans-IO.
 */

/** The rewrite a RegistryClient takes (`rewriteUrl`) for a proxy at `base` ("http://host/registry-proxy/"). */
export function viaProxy(base: string): (url: string) => string {
  const b = base.endsWith('/') ? base : `${base}/`;
  return (url) => {
    const u = new URL(url);
    return `${b}${u.protocol.slice(0, -1)}/${u.host}${u.pathname}${u.search}`;
  };
}

export interface ProxyTarget {
  url: string;
  kind: 'api' | 'token';
}

/**
 * Where a proxied request goes, from the path under the proxy's mount ("/https/host/v2/..."), or
 * a reason it does not pass.
 */
export function proxyTarget(path: string, method: string): ProxyTarget | { refused: string } {
  const m = /^\/(https?)\/([^/?#]+)(\/[^?#]*)?(\?[^#]*)?$/.exec(path);
  if (!m) return { refused: 'expected /<http|https>/<host>/<path>' };
  const [, scheme, host, rest = '/', query = ''] = m;
  if (!/^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9a-fA-F:]+\](?::\d{1,5})?$/.test(host!)) return { refused: `"${host}" is not a host[:port]` };
  if (rest.split('/').some((s) => s === '..' || s === '.')) return { refused: 'dot segments are not forwarded' };
  const url = `${scheme}://${host}${rest}${query}`;
  if (rest === '/v2/' || rest.startsWith('/v2/')) {
    if (!['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) return { refused: `method ${method}` };
    return { url, kind: 'api' };
  }
  const q = new URLSearchParams(query);
  if (method === 'GET' && (q.has('service') || q.has('scope'))) return { url, kind: 'token' };
  return { refused: 'only the distribution API (/v2/...) and token requests pass' };
}

/** Request headers forwarded upstream; everything else (cookies, origin) stays behind. */
export const FORWARD_REQUEST = ['authorization', 'accept', 'range', 'content-type', 'content-range', 'user-agent'];
/** Response headers passed back to the page. */
export const FORWARD_RESPONSE = [
  'content-type', 'content-length', 'content-range', 'docker-content-digest', 'docker-distribution-api-version', 'docker-upload-uuid',
  'location', 'range', 'www-authenticate', 'retry-after', 'etag', 'accept-ranges',
];

/** Set by the proxy on a 502 when the registry could not be reached: the network error's text. */
export const PROXY_ERROR_HEADER = 'x-skiff-proxy-error';
