/** A registry that cannot be reached: the CORS hint only for what a browser's fetch throws (told by the error, not by sniffing). */
import { describe, expect, it } from 'vitest';
import { unreachable } from '../../src/registry/client.ts';

describe('unreachable', () => {
  it('names CORS for a browser-blocked fetch and not for a Node network failure', async () => {
    for (const message of ['Failed to fetch', 'NetworkError when attempting to fetch resource.', 'Load failed']) {
      expect(unreachable('r.example', new TypeError(message)).message).toMatch(/the browser blocked the request/);
    }
    const node = await fetch('http://127.0.0.1:1/v2/').catch((e: unknown) => e);
    expect((node as Error).name).toBe('TypeError');
    const err = unreachable('127.0.0.1:1', node);
    expect(err.code).toBe('REGISTRY');
    expect(err.message).toMatch(/^cannot reach registry 127\.0\.0\.1:1: /);
    expect(err.message).not.toMatch(/browser/);
  });
});
