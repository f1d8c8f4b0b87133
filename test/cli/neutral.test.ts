/**
 * The command table and the output helpers are shared with the browser terminal: nothing in
 * src/cli/commands or src/cli/present may reach Node (node: modules, `process`, or the CLI's Node
 * adapters), so what web/ imports from cli/ bundles for a page.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', 'src', 'cli');
const NODE_ADAPTERS = ['host', 'attach', 'io', 'output', 'main', 'node-commands'];

describe('cli/commands and cli/present are environment-free', () => {
  for (const dir of ['commands', 'present']) {
    for (const file of readdirSync(join(root, dir)).filter((f) => f.endsWith('.ts'))) {
      it(`${dir}/${file}`, () => {
        const text = readFileSync(join(root, dir, file), 'utf8');
        expect(text).not.toMatch(/from ['"]node:/);
        expect(text).not.toMatch(/\bprocess\.(env|argv|on|stdout|stderr|stdin|exit)/);
        for (const a of NODE_ADAPTERS) expect(text).not.toContain(`'../${a}.ts'`);
      });
    }
  }

  it('web/ imports from cli/ only the neutral folders', () => {
    const web = join(root, '..', 'web');
    const files = (readdirSync(web, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    for (const f of files) {
      for (const m of readFileSync(join(web, f), 'utf8').matchAll(/from ['"]([^'"]*\/cli\/[^'"]*)['"]/g)) {
        expect(m[1], `${f} imports ${m[1]}`).toMatch(/\/cli\/(commands|present)\//);
      }
    }
  });
});
