/** Docker's container filters (engine/container-filter.ts) over plain records. */
import { describe, expect, it } from 'vitest';
import { filterContainers } from '../../src/engine/container-filter.ts';
import type { ContainerRecord } from '../../src/engine/types.ts';

const rec = (name: string, labels: Record<string, string>, health?: 'healthy'): ContainerRecord =>
  ({ id: `${name}0000`, name, state: 'running', labels, imageRef: 'busybox', imageId: 'sha256:ab', ...(health ? { health: { Status: health, FailingStreak: 0, Log: [] } } : {}) }) as unknown as ContainerRecord;

describe('container filters', () => {
  const rows = [rec('a', { tier: 'web' }, 'healthy'), rec('b', { tier: 'db', constructor: 'x' })];
  const names = (f: Record<string, string[]>) => filterContainers(rows, f).map((c) => c.name);

  it('label matches own labels only (not Object.prototype names)', () => {
    expect(names({ label: ['tier'] })).toEqual(['a', 'b']);
    expect(names({ label: ['tier=db'] })).toEqual(['b']);
    expect(names({ label: ['toString'] })).toEqual([]);
    expect(names({ label: ['constructor'] })).toEqual(['b']);
    expect(names({ label: ['hasOwnProperty=x'] })).toEqual([]);
  });

  it('health: none for a container without a healthcheck; unknown values refused', () => {
    expect(names({ health: ['healthy'] })).toEqual(['a']);
    expect(names({ health: ['none'] })).toEqual(['b']);
    expect(() => names({ health: ['ok'] })).toThrow("invalid filter 'health=ok'");
  });
});
