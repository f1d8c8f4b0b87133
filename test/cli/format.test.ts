import { describe, expect, it } from 'vitest';
import { formatRows, humanDuration, humanSize, renderTemplate, table } from '../../src/cli/present/format.ts';
import { progressBar } from '../../src/cli/present/progress.ts';

describe('cli formatting (Docker conventions)', () => {
  it('sizes like go-units HumanSize', () => {
    expect([0, 999, 1000, 4_261_000, 1_234_567_890].map(humanSize)).toEqual(['0B', '999B', '1kB', '4.26MB', '1.23GB']);
  });

  it('durations like go-units HumanDuration', () => {
    expect([500, 1000, 30_000, 60_000, 45 * 60_000, 3_600_000, 5 * 3_600_000, 3 * 86_400_000, 30 * 86_400_000].map(humanDuration))
      .toEqual(['Less than a second', '1 second', '30 seconds', 'About a minute', '45 minutes', 'About an hour', '5 hours', '3 days', '4 weeks']);
  });

  it('tables pad columns by three spaces', () => {
    expect(table(['A', 'LONGER'], [['xyz', '1'], ['q', '22']])).toBe('A     LONGER\nxyz   1\nq     22\n');
  });

  it('templates: fields, nested fields, json, missing values, table headers', () => {
    const row = { Repository: 'busybox', Tag: 'latest', Config: { Cmd: ['sh'] } };
    expect(renderTemplate('{{.Repository}}:{{.Tag}}', row)).toBe('busybox:latest');
    expect(renderTemplate('{{json .Config.Cmd}} {{.Nope}}', row)).toBe('["sh"] <no value>');
    expect(renderTemplate('{{json .}}', row)).toBe(JSON.stringify(row));
    expect(renderTemplate('{{.Config.Cmd}} {{.Config}}', row)).toBe('[sh] map[Cmd:[sh]]');
    expect(formatRows('table {{.Repository}}\\t{{.Tag}}', [row])).toBe('REPOSITORY   TAG\nbusybox      latest\n');
    expect(formatRows('json', [{ a: 1 }, { a: 2 }])).toBe('{"a":1}\n{"a":2}\n');
    expect(formatRows(undefined, [row])).toBeUndefined();
  });

  it('templates: range over a list and a map\'s values (key order), nested, with the dot as each element', () => {
    const net = { Name: 'n', IPAM: { Config: [{ Subnet: '10.1.0.0/16', Gateway: '10.1.0.1' }, { Subnet: '10.2.0.0/16' }] }, Containers: { b: { Name: 'two' }, a: { Name: 'one' } } };
    expect(renderTemplate('{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}};{{end}}', net)).toBe('10.1.0.0/16 10.1.0.1;10.2.0.0/16 <no value>;');
    expect(renderTemplate('{{.Name}}:{{range .Containers}} {{.Name}}{{end}}', net)).toBe('n: one two');
    expect(renderTemplate('{{range .Nope}}x{{end}}{{range .IPAM.Config}}{{range .Missing}}y{{end}}{{json .Subnet}}{{end}}', net)).toBe('"10.1.0.0/16""10.2.0.0/16"');
    expect(renderTemplate('{{if .Name}}kept{{end}}', net)).toBe('kept');
  });

  it('the progress bar draws only on a terminal', () => {
    const written: string[] = [];
    const tty = { isTTY: true, columns: 100, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const bar = progressBar(tty);
    bar.update('Reading', 500_000, 1_000_000);
    bar.update('Reading', 1_000_000, 1_000_000);
    bar.finish();
    expect(written.some((w) => w.includes('Reading [') && w.includes('1MB/1MB'))).toBe(true);
    expect(written.at(-1)).toBe('\r\x1b[2K');
    const piped: string[] = [];
    const pipe = progressBar({ isTTY: false, write: (s: string) => piped.push(s) } as unknown as NodeJS.WriteStream);
    pipe.update('Reading', 1, 2);
    pipe.finish();
    expect(piped).toEqual([]);
  });
});
