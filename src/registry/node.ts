/**
 * The registry client as a Node process runs it: credentials from skiff's logins and Docker's
 * config.json (credentials-node.ts), insecure registries from $SKIFF_HOME/config.json
 * (`{"insecure-registries": ["myhost:5000"]}`, Docker's daemon.json key), and SKIFF_TRACE=registry
 * logging each HTTP exchange (method, URL, status; never headers) to stderr.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SkiffError } from '../errors.ts';
import { RegistryClient } from './client.ts';
import { nodeCredentials } from './credentials-node.ts';

export function readInsecureRegistries(home: string): string[] {
  const file = join(home, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new SkiffError('INVALID_ARGUMENT', `${file}: ${(err as Error).message}`);
  }
  const list = (doc as { 'insecure-registries'?: unknown })?.['insecure-registries'];
  if (list === undefined) return [];
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    throw new SkiffError('INVALID_ARGUMENT', `${file}: "insecure-registries" must be a list of host[:port] strings`);
  }
  return list;
}

export function nodeRegistryClient(home: string, env: NodeJS.ProcessEnv = process.env): RegistryClient {
  const trace = /\bregistry\b|^1$|^all$/.test(env['SKIFF_TRACE'] ?? '') ? (line: string) => void process.stderr.write(`[skiff registry] ${line}\n`) : undefined;
  let insecure: string[] = [];
  try {
    insecure = readInsecureRegistries(home);
  } catch (err) {
    // Commands that never reach a registry must not fail over it: say so and go on without the list.
    process.stderr.write(`skiff: ignoring insecure-registries: ${(err as Error).message}\n`);
  }
  return new RegistryClient({ credentials: nodeCredentials(home), insecure, streamBodies: true, ...(trace ? { trace } : {}) });
}
