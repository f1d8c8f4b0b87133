/**
 * The registry client as a page's engine worker runs it: credentials in an origin-scoped
 * IndexedDB store (never localStorage, which every script of the origin reads synchronously and
 * which survives as plain text), and every URL through the registry proxy when one is configured.
 */
import { createStore, del, get, set } from 'idb-keyval';
import { RegistryClient } from './client.ts';
import type { CredentialStore, Credentials } from './credentials.ts';
import { domainOfKey } from './hosts.ts';
import { viaProxy } from './proxy.ts';

export function idbCredentials(dbName: string): CredentialStore {
  const store = createStore(dbName, 'auths');
  return {
    get: async (d) => (await get<Credentials>(domainOfKey(d), store)) ?? undefined,
    set: (d, c) => set(domainOfKey(d), { username: c.username, password: c.password }, store),
    async delete(d) {
      const had = (await get(domainOfKey(d), store)) !== undefined;
      if (had) await del(domainOfKey(d), store);
      return had;
    },
  };
}

export function browserRegistryClient(o: { dbPrefix: string; proxy?: string }): RegistryClient {
  return new RegistryClient({ credentials: idbCredentials(`${o.dbPrefix}-registry`), ...(o.proxy ? { rewriteUrl: viaProxy(o.proxy) } : {}) });
}
