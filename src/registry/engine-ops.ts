/**
 * The Engine's registry verbs (pullImage, pushImage, login, logout), kept here so engine.ts only
 * forwards to them. An engine opened without a registry client refuses them with one clear error.
 */
import { SkiffError } from '../errors.ts';
import type { EngineContext } from '../engine/context.ts';
import type { Platform } from '../oci/platform.ts';
import type { RegistryClient } from './client.ts';
import type { Credentials } from './credentials.ts';
import { loginDomain } from './hosts.ts';
import { listTags } from './manifests.ts';
import { familiarName, parseReference } from '../oci/reference.ts';
import { pullImage, type PullEvent, type PullResult } from './pull.ts';
import { pushImage, type PushResult } from './push.ts';

export interface PullImageOptions {
  ref: string;
  platform?: string | Platform;
  onProgress?: (e: PullEvent) => unknown;
  /** Credentials for the reference's registry, this call only (the Engine API's X-Registry-Auth). */
  auth?: Credentials;
}

export interface PushImageOptions {
  ref: string;
  onProgress?: (e: PullEvent) => unknown;
  /** Credentials for the reference's registry, this call only (the Engine API's X-Registry-Auth). */
  auth?: Credentials;
}

export interface LoginOptions {
  /** "docker.io" when absent. */
  registry?: string;
  username: string;
  password: string;
  /** false: check the credentials only, keep nothing (the Engine API's /auth: the docker client keeps them). */
  store?: boolean;
}

function need(client: RegistryClient | undefined): RegistryClient {
  if (!client) throw new SkiffError('UNSUPPORTED', 'this engine has no registry access (it was opened without a registry client)');
  return client;
}

/** The client for one call: with `auth`, those credentials answer for the reference's registry. */
function clientFor(client: RegistryClient | undefined, ref: string, auth: Credentials | undefined): RegistryClient {
  const c = need(client);
  return auth ? c.withCredentials(parseReference(ref).domain, auth) : c;
}

export function enginePull(ctx: EngineContext, client: RegistryClient | undefined, o: PullImageOptions): Promise<PullResult> {
  return pullImage({ ctx, client: clientFor(client, o.ref, o.auth), ref: o.ref, ...(o.platform ? { platform: o.platform } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
}

export function enginePush(ctx: EngineContext, client: RegistryClient | undefined, o: PushImageOptions): Promise<PushResult> {
  return pushImage({ ctx, client: clientFor(client, o.ref, o.auth), ref: o.ref, ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
}

/** Checks the credentials against the registry, then stores them (unless `store` is false); returns the registry's domain. */
export async function engineLogin(client: RegistryClient | undefined, o: LoginOptions): Promise<{ registry: string }> {
  const c = need(client);
  const registry = loginDomain(o.registry);
  if (!o.username) throw new SkiffError('INVALID_ARGUMENT', 'login: a username is required');
  if (!o.password) throw new SkiffError('INVALID_ARGUMENT', 'login: a password is required');
  const store = o.store !== false;
  if (store && !c.credentials.set) throw new SkiffError('UNSUPPORTED', 'login: this engine has nowhere to keep credentials');
  await c.checkLogin(registry, { username: o.username, password: o.password });
  if (store) await c.credentials.set!(registry, { username: o.username, password: o.password });
  return { registry };
}

/** Forgets skiff's stored credentials for a registry; `removed` false when there were none. */
export async function engineLogout(client: RegistryClient | undefined, o: { registry?: string }): Promise<{ registry: string; removed: boolean }> {
  const c = need(client);
  const registry = loginDomain(o.registry);
  const removed = c.credentials.delete ? await c.credentials.delete(registry) : false;
  c.forget(registry);
  return { registry, removed };
}

/** The tags of the repository a reference names (`pull -a`). */
export function engineTags(client: RegistryClient | undefined, o: { ref: string }): Promise<string[]> {
  const r = parseReference(o.ref, { defaultTag: false });
  if (r.tag !== undefined || r.digest !== undefined) throw new SkiffError('INVALID_ARGUMENT', `tag can't be used with --all-tags/-a`);
  return listTags(need(client), { domain: r.domain, path: r.path }, familiarName(r));
}
