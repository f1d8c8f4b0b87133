/**
 * Per-layer progress as Docker draws it: a line per layer once it is done, and on a terminal a
 * block of rows (one per layer still moving, with its own bar) redrawn in place below them, in
 * the CLI (cli/present/progress.ts) and the page's terminal (web/terminal/progress.ts).
 */
import { describe, expect, it } from 'vitest';
import { progressPrinter } from '../../src/cli/commands/registry.ts';
import type { CommandContext, ProgressSink } from '../../src/cli/commands/context.ts';
import { progressBar } from '../../src/cli/present/progress.ts';
import { terminalProgress } from '../../src/web/terminal/progress.ts';

function recorder(withLines: boolean): { sink: ProgressSink; log: string[] } {
  const log: string[] = [];
  const sink: ProgressSink = {
    update: (label, done, total) => log.push(`bar ${label} ${done}/${total}`),
    finish: () => log.push('finish'),
    ...(withLines ? { lines: (rows: string[]) => log.push(`lines ${JSON.stringify(rows)}`) } : {}),
  };
  return { sink, log };
}

const events = [
  { status: 'latest: Pulling from seed/layered' },
  { id: 'aaaaaaaaaaaa', status: 'Pulling fs layer' },
  { id: 'bbbbbbbbbbbb', status: 'Pulling fs layer' },
  { id: 'aaaaaaaaaaaa', status: 'Downloading', current: 5_000_000, total: 10_000_000 },
  { id: 'bbbbbbbbbbbb', status: 'Downloading', current: 1_000_000, total: 4_000_000 },
  { id: 'aaaaaaaaaaaa', status: 'Download complete' },
  { id: 'aaaaaaaaaaaa', status: 'Pull complete' },
  { id: 'bbbbbbbbbbbb', status: 'Pull complete' },
  { status: 'Digest: sha256:1234' },
];

describe('pull progress per layer', () => {
  it('a bar per moving layer under the done lines, where the host can draw a block', () => {
    const { sink, log } = recorder(true);
    const written: string[] = [];
    const p = progressPrinter({ host: { progress: () => sink } } as unknown as Pick<CommandContext, 'host'>, (t) => written.push(t), 'Downloading');
    for (const e of events) p.onProgress(e);
    p.done();
    expect(written).toEqual(['latest: Pulling from seed/layered\n', 'aaaaaaaaaaaa: Pull complete\n', 'bbbbbbbbbbbb: Pull complete\n', 'Digest: sha256:1234\n']);
    const lines = log.filter((l) => l.startsWith('lines ')).map((l) => JSON.parse(l.slice(6)) as string[]);
    expect(lines[1]).toEqual(['aaaaaaaaaaaa: Pulling fs layer', 'bbbbbbbbbbbb: Pulling fs layer']);
    expect(lines[3]).toEqual([
      `aaaaaaaaaaaa: Downloading [==============>               ] 5MB/10MB`,
      `bbbbbbbbbbbb: Downloading [=======>                      ] 1MB/4MB`,
    ]);
    expect(lines[4]![0]).toBe('aaaaaaaaaaaa: Download complete');
    // A layer's done line clears the block, prints, and the rest is drawn again below it.
    const done = log.indexOf('lines ' + JSON.stringify(lines[4]));
    expect(log.slice(done + 1, done + 3)).toEqual(['finish', `lines ${JSON.stringify([lines[4]![1]])}`]);
    expect(log.at(-1)).toBe('finish');
  });

  it('one bar for all layers where the host draws one line', () => {
    const { sink, log } = recorder(false);
    const p = progressPrinter({ host: { progress: () => sink } } as unknown as Pick<CommandContext, 'host'>, () => {}, 'Downloading');
    for (const e of events) p.onProgress(e);
    expect(log.filter((l) => l.startsWith('bar '))).toEqual(['bar Downloading 1 layer 5000000/10000000', 'bar Downloading 2 layers 6000000/14000000']);
  });

  it('the CLI terminal redraws the block in place; rows never wrap; nothing on a pipe', () => {
    const out: string[] = [];
    const bar = progressBar({ isTTY: true, columns: 30, write: (s) => out.push(s) });
    bar.lines!(['a: Pulling fs layer', 'b: Pulling fs layer']);
    bar.lines!(['a: Downloading [=====>      ] 1MB/2MB', 'b: Pulling fs layer', 'c: Pulling fs layer']);
    bar.finish();
    expect(out[0]).toBe('\r\x1b[Ja: Pulling fs layer\r\nb: Pulling fs layer');
    // Up one line (the cursor is on the block's last), erase down, three rows cut to 29 columns.
    expect(out[1]).toBe('\r\x1b[1A\x1b[Ja: Downloading [=====>      ]\r\nb: Pulling fs layer\r\nc: Pulling fs layer');
    expect(out[2]).toBe('\r\x1b[2A\x1b[J');
    const piped: string[] = [];
    const pipe = progressBar({ isTTY: false, write: (s) => piped.push(s) });
    pipe.lines?.(['a: x']);
    pipe.finish();
    expect(piped).toEqual([]);
  });

  it('the page\'s terminal draws the same block', () => {
    const out: string[] = [];
    const view = terminalProgress((s) => out.push(s), () => 80);
    view.lines(['a: Pulling fs layer', 'b: Pulling fs layer']);
    view.lines(['b: Downloading']);
    view.done();
    expect(out).toEqual(['\r\x1b[Ja: Pulling fs layer\r\nb: Pulling fs layer', '\r\x1b[1A\x1b[Jb: Downloading', '\r\x1b[2K']);
  });
});
