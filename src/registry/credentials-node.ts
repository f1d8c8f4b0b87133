/**
 * Credentials on Node: skiff's own logins in $SKIFF_HOME/auth.json (mode 0600, written whole to a
 * temporary file and renamed, so a crash never leaves half a file), then Docker's
 * $DOCKER_CONFIG/config.json (default ~/.docker/config.json), read only. A credential helper
 * ("credsStore") in Docker's file is not run.
 */
import { chmod, open, readFile, rename, unlink } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { SkiffError } from '../errors.ts';
import { chainCredentials, findAuth, withAuth, type AuthsDocument, type CredentialStore } from './credentials.ts';

async function readDoc(file: string): Promise<AuthsDocument> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new SkiffError('STORAGE', `reading credentials from ${file}: ${(err as Error).message}`);
  }
  try {
    const doc = JSON.parse(text) as unknown;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not a JSON object');
    return doc as AuthsDocument;
  } catch (err) {
    throw new SkiffError('INVALID_ARGUMENT', `reading credentials from ${file}: ${(err as Error).message}`);
  }
}

/** A read-only store over Docker's config.json. */
export function dockerConfigCredentials(file: string = join(process.env['DOCKER_CONFIG'] ?? join(homedir(), '.docker'), 'config.json')): CredentialStore {
  return { get: async (domain) => findAuth(await readDoc(file), domain) };
}

/** skiff's own login file: read, written 0600. */
export function fileCredentials(file: string): CredentialStore {
  const write = async (doc: AuthsDocument): Promise<void> => {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    // Created 0600 from the start: the secret is never readable by others, even for a moment.
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(JSON.stringify(doc, null, 2) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await chmod(tmp, 0o600);
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw new SkiffError('STORAGE', `writing credentials to ${file}: ${(err as Error).message}`);
    }
  };
  return {
    get: async (domain) => findAuth(await readDoc(file), domain),
    async set(domain, creds) {
      await write(withAuth(await readDoc(file), domain, creds).doc);
    },
    async delete(domain) {
      const { doc, changed } = withAuth(await readDoc(file), domain, undefined);
      if (changed) await write(doc);
      return changed;
    },
  };
}

/** What the CLI uses: skiff's logins under `home`, then Docker's. */
export function nodeCredentials(home: string, dockerConfig?: string): CredentialStore {
  return chainCredentials(fileCredentials(join(home, 'auth.json')), dockerConfigCredentials(dockerConfig));
}
