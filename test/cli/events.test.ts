/**
 * `skiff events` through the command table (as the CLI and the page's terminal run it) over an
 * engine in memory: Docker's line format, --format, --filter, --since/--until, following until
 * interrupted, and usage errors.
 */
import { describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { CommandTable } from '../../src/cli/commands/table.ts';
import type { CommandContext, CommandHost } from '../../src/cli/commands/context.ts';
import { eventTime } from '../../src/cli/commands/events.ts';

function context(engine: Engine) {
  let out = '';
  let err = '';
  let interrupt: (() => void) | undefined;
  const host = { kind: 'browser', env: {}, onInterrupt: (cb: () => void) => { interrupt = cb; return () => { interrupt = undefined; }; } } as unknown as CommandHost;
  const ctx: CommandContext = { engine: engine as never, host, stdout: (t) => void (out += t), stderr: (t) => void (err += t) };
  return { ctx, out: () => out, err: () => err, interrupt: () => interrupt?.() };
}

describe('skiff events', () => {
  const engine = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore() });
  const table = new CommandTable();

  it('prints past events as Docker does, filtered and formatted', async () => {
    await engine.createVolume({ name: 'v1', labels: { team: 'a' } });
    const n = await engine.createNetwork({ name: 'n1' });
    const c = context(engine);
    expect(await table.execute(['events', '--since', '1m', '--until', '0s'], c.ctx)).toBe(0);
    const lines = c.out().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}000000(Z|[+-]\d\d:\d\d) volume create v1 \(driver=local\)$/);
    expect(lines[1]).toMatch(new RegExp(` network create ${n.id} \\(name=n1, type=bridge\\)$`));
    const f = context(engine);
    expect(await table.execute(['system', 'events', '--since', '1m', '--until', '0s', '-f', 'type=network', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Status}}'], f.ctx)).toBe(0);
    expect(f.out()).toBe('network create n1 \n');
    const j = context(engine);
    expect(await table.execute(['events', '--since', '1m', '--until', '0s', '--filter', 'volume=v1', '--format', 'json'], j.ctx)).toBe(0);
    expect(JSON.parse(j.out())).toMatchObject({ Type: 'volume', Action: 'create', Actor: { ID: 'v1' }, scope: 'local' });
  });

  it('follows until interrupted when --until is absent', async () => {
    const c = context(engine);
    const running = table.execute(['events', '--filter', 'event=destroy'], c.ctx);
    await new Promise((r) => setTimeout(r, 50));
    await engine.removeVolume({ name: 'v1' });
    for (let i = 0; i < 100 && !c.out(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(c.out()).toMatch(/ volume destroy v1 \(driver=local\)\n$/);
    c.interrupt();
    expect(await running).toBe(0);
  });

  it('refuses bad times and filters with Docker\'s statuses', async () => {
    const a = context(engine);
    expect(await table.execute(['events', '--until', 'soon'], a.ctx)).toBe(125);
    expect(a.err()).toContain('--until: "soon"');
    const b = context(engine);
    expect(await table.execute(['events', '--filter', 'colour=red', '--until', '0s'], b.ctx)).toBe(1);
    expect(b.err()).toBe("Error: invalid filter 'colour'\n");
    const s = context(engine);
    expect(await table.execute(['events', '--since', '0s', '--until', '10m'], s.ctx)).toBe(1);
    expect(s.err()).toMatch(/`since` time .* cannot be after `until` time/);
  });

  it('prints times as Go\'s RFC3339NanoFixed', () => {
    expect(eventTime(1_700_000_000_123 * 1e6)).toMatch(/^2023-11-1\dT\d\d:\d\d:20\.123000000(Z|[+-]\d\d:\d\d)$/);
  });
});
