/**
 * Browser stand-in for src/engine/node.ts (Engine.open over $SKIFF_HOME), aliased by
 * vite.config.ts so no Node filesystem code reaches the bundle. The browser opens its engine
 * over IndexedDB in src/web/worker/open-engine.ts instead.
 */
import { SkiffError } from '../../errors.ts';
import type { Engine } from '../../engine/engine.ts';

export function defaultHome(): string {
  throw new SkiffError('UNSUPPORTED', 'there is no $SKIFF_HOME in a browser: the engine stores its data in IndexedDB');
}

export async function openNodeEngine(): Promise<Engine> {
  throw new SkiffError('UNSUPPORTED', 'Engine.open() is the Node entry point; in a browser use openBrowserEngine() from src/web/worker/open-engine.ts');
}
