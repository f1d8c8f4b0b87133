/**
 * From a reference's domain to the endpoint that serves it, by Docker's rules: "docker.io" is served
 * by registry-1.docker.io; HTTPS always, except that registries on loopback (localhost, 127.0.0.0/8,
 * ::1) and those the user lists as insecure (Docker's `insecure-registries`) may fall back to plain
 * HTTP when HTTPS fails. Sans-IO.
 */

export const DOCKER_HUB_DOMAIN = 'docker.io';
export const DOCKER_HUB_HOST = 'registry-1.docker.io';
/** The key `docker login` writes Docker Hub credentials under in ~/.docker/config.json. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

export type Scheme = 'https' | 'http';

export interface RegistryEndpoint {
  /** As in references: "docker.io", "localhost:5000". */
  domain: string;
  /** What is connected to: "registry-1.docker.io", "localhost:5000". */
  host: string;
  /** Schemes to try, in order. */
  schemes: Scheme[];
}

export interface HostOptions {
  /** Registries (host[:port], or a CIDR-less host) that may be reached over plain HTTP. */
  insecure?: readonly string[];
}

/** The host part of "host[:port]" or "[v6]:port", lower-cased. */
export function hostOnly(hostPort: string): string {
  const h = hostPort.toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']'));
  const c = h.lastIndexOf(':');
  return c >= 0 && h.indexOf(':') === c ? h.slice(0, c) : h;
}

export function isLoopback(hostPort: string): boolean {
  const h = hostOnly(hostPort);
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export function registryEndpoint(domain: string, opts: HostOptions = {}): RegistryEndpoint {
  const d = domain.toLowerCase();
  const host = d === DOCKER_HUB_DOMAIN || d === 'index.docker.io' ? DOCKER_HUB_HOST : domain;
  const insecure = isLoopback(domain) || (opts.insecure ?? []).some((i) => i.toLowerCase() === d || i.toLowerCase() === hostOnly(d));
  return { domain, host, schemes: insecure ? ['https', 'http'] : ['https'] };
}

/**
 * The key a registry's credentials are stored under. Docker writes Docker Hub's under its legacy
 * v1 URL and others under the bare host; older clients wrote "https://host" too, which `lookupKeys`
 * also accepts.
 */
export function credentialKey(domain: string): string {
  const d = domain.toLowerCase();
  return d === DOCKER_HUB_DOMAIN || d === 'index.docker.io' || d === DOCKER_HUB_HOST ? DOCKER_HUB_AUTH_KEY : domain;
}

/** The registry a stored credentials key names ("https://index.docker.io/v1/" -> "docker.io"). */
export function domainOfKey(key: string): string {
  let k = key.trim();
  k = k.replace(/^[a-z]+:\/\//i, '');
  k = k.replace(/\/.*$/, '');
  k = k.toLowerCase();
  return k === 'index.docker.io' || k === DOCKER_HUB_HOST ? DOCKER_HUB_DOMAIN : k;
}

/** Normalize what a user gives `login`/`logout` ("", "docker.io", "https://index.docker.io/v1/", "localhost:5000"). */
export function loginDomain(arg: string | undefined): string {
  if (!arg) return DOCKER_HUB_DOMAIN;
  return domainOfKey(arg);
}
