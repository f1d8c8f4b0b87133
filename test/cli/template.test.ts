/**
 * Docker's --format as Go's text/template (src/cli/present/template*.ts): templates Docker users
 * write, each with the output Go's text/template (plus docker/cli's functions) gives for the same
 * data, and Go's error wording for bad ones.
 */
import { describe, expect, it } from 'vitest';
import { formatRows, renderTemplate } from '../../src/cli/present/format.ts';
import { PS_HEADERS } from '../../src/cli/present/headers.ts';

const doc = {
  Name: '/web', Args: ['-c', 'echo hi'], RestartCount: 0,
  State: { Running: true, Status: 'running', Pid: 42, ExitCode: 0 },
  Config: { Image: 'busybox', Env: ['A=1', 'PATH=/bin'], Labels: { 'com.example.tier': 'front', app: 'shop' } },
  Mounts: [{ Source: '/v', Destination: '/data' }],
  NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] }, Networks: { bridge: { IPAddress: '10.0.0.2' } } },
};
const run = (tpl: string, data: unknown = doc) => renderTemplate(tpl, data);
const err = (tpl: string, data: unknown = doc) => { try { run(tpl, data); } catch (e) { return (e as Error).message; } return 'no error'; };

describe('Go text/template for --format', () => {
  it('actions, conditionals, with, and Go\'s truth', () => {
    expect(run('{{if .State.Running}}up{{else}}down{{end}}')).toBe('up');
    expect(run('{{if .State.ExitCode}}failed{{else if .State.Running}}running{{else}}stopped{{end}}')).toBe('running');
    expect(run('{{with .Config}}{{.Image}}{{end}}')).toBe('busybox');
    expect(run('{{with .Nope}}x{{else}}none{{end}}|{{with .Nope}}x{{else with .Config.Image}}{{.}}{{end}}')).toBe('none|busybox');
    expect(run('{{if .RestartCount}}a{{end}}{{if ""}}b{{end}}{{if .Config.Env}}c{{end}}{{if .Nope}}d{{end}}')).toBe('c');
    expect(run('{{if and .State.Running (not .State.ExitCode)}}ok{{end}} {{or .Nope "default"}} {{and 1 0 2}}')).toBe('ok default 0');
    expect(run('{{eq .State.Status "running"}} {{eq .State.Status "a" "running"}} {{ne 1 2}} {{lt 1 2}} {{le "b" "a"}} {{gt 2.5 1.5}} {{ge 2 2}}'))
      .toBe('true true true true false true true');
  });

  it('ranges over lists, maps in key order, ints; variables; break and continue; else', () => {
    expect(run('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}} {{end}}')).toBe('app=shop com.example.tier=front ');
    expect(run('{{range $i, $e := .Config.Env}}{{if $i}},{{end}}{{$e}}{{end}}')).toBe('A=1,PATH=/bin');
    expect(run('{{range $e := .Mounts}}{{$e.Source}}:{{.Destination}}{{end}}')).toBe('/v:/data');
    expect(run('{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')).toBe('10.0.0.2');
    expect(run('{{range 3}}{{.}}{{end}}')).toBe('012');
    expect(run('{{range .Nope}}x{{else}}empty{{end}}{{range .Args}}{{if eq . "-c"}}{{continue}}{{end}}{{.}}{{break}}{{end}}')).toBe('emptyecho hi');
    expect(run('{{$n := 0}}{{range .Config.Env}}{{$n = len .}}{{end}}{{$n}} {{$.Name}} {{range .Mounts}}{{$.Config.Image}}{{end}}')).toBe('9 /web busybox');
  });

  it('pipelines, parentheses, index, len, slice', () => {
    expect(run('{{.Name | printf "%s!" | printf "%q"}}')).toBe('"/web!"');
    expect(run('{{(index .NetworkSettings.Ports "80/tcp") }}')).toBe('[map[HostIp:0.0.0.0 HostPort:8080]]');
    expect(run('{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}')).toBe('8080');
    expect(run('{{index .Config.Labels "com.example.tier"}}|{{index .Config.Labels "missing"}}|{{index .Args 1}}')).toBe('front||echo hi');
    expect(run('[{{index .Labels "a"}}][{{index .Nil "a"}}][{{index .Objs "a"}}]', { Labels: {}, Nil: null, Objs: { b: { X: 1 } } })).toBe('[][][<no value>]');
    expect(run('{{len .Mounts}} {{len .Name}} {{len .Config.Labels}} {{len "é"}}')).toBe('1 4 2 2');
    expect(run('{{slice .Args 1}} {{slice .Name 1 3}} {{slice .Args 0 0}}')).toBe('[echo hi] we []');
  });

  it('Docker\'s functions: json, join, split, upper, lower, title, pad, truncate', () => {
    expect(run('{{json .Config.Env}} {{json .Nope}} {{json .State.Pid}}')).toBe('["A=1","PATH=/bin"] null 42');
    expect(run('{{join .Args ","}} {{split "a:b:c" ":"}} {{len (split "a:b" ":")}}')).toBe('-c,echo hi [a b c] 2');
    expect(run('{{.Config.Image | upper}} {{lower "ABC"}} {{title "hello wide-world"}}')).toBe('BUSYBOX abc Hello Wide-World');
    expect(run('[{{pad .Config.Image 1 2}}][{{pad "" 1 1}}] {{truncate .Config.Image 4}} {{truncate "ab" 5}}')).toBe('[ busybox  ][] busy ab');
  });

  it('print, printf, println as fmt does', () => {
    expect(run('{{print 1 2 "a" "b" 3}}|{{println "a" 1}}|{{println}}|')).toBe('1 2ab3|a 1\n|\n|');
    expect(run('{{printf "%s:%d" .Config.Image 3}} {{printf "%5s|%-5s|%05d" "r" "l" 42}} {{printf "%x %X %o %t %.2f %c %%" 255 255 8 true 3.14159 65}}'))
      .toBe('busybox:3     r|l    |00042 ff FF 10 true 3.14 A %');
    expect(run('{{printf "%v %q %v" .Args "a\\"b" .State.Running}} {{printf "%d" "x"}} {{printf "%s"}} {{printf "a" 1}}'))
      .toBe('[-c echo hi] "a\\"b" true %!d(string=x) %!s(MISSING) a%!(EXTRA int=1)');
    expect(run('{{html "<a href=\'x\'>&"}} {{js "it\'s <b>"}} {{urlquery "a b&c/é"}}')).toBe('&lt;a href=&#39;x&#39;&gt;&amp; it\\\'s \\u003Cb\\u003E a+b%26c%2F%C3%A9');
  });

  it('literals, whitespace trimming, comments, \\t and \\n', () => {
    expect(run('{{"\\u00e9\\x41\\t"}}|{{`raw\\n`}}|{{\'a\'}}|{{-3}}|{{1.5}} {{0.00001}} {{0.0001}}|{{0x1F}}|{{true}}|{{nil | print}}')).toBe('éA\t|raw\n|97|-3|1.5 1e-05 0.0001|31|true|<nil>');
    expect(run('a  {{- .Config.Image -}}  b\n{{- /* a comment */ -}}\n c{{/* another */}}')).toBe('abusyboxbc');
    expect(run('{{.Name}}\\t{{.Config.Image}}\\n')).toBe('/web\tbusybox\n');
  });

  it('missing fields print <no value> (maps); fields of a string are Go\'s error', () => {
    expect(run('{{.Nope}} {{.Config.Nope}} {{.Nope.Deeper}} {{.Config.Labels.app}}')).toBe('<no value> <no value> <no value> shop');
    expect(err('{{.Name.Foo}}')).toBe('template: :1:2: executing "" at <.Name.Foo>: can\'t evaluate field Foo in type string');
    expect(err('x\n {{index .Args 5}}')).toBe('template: :2:3: executing "" at <index .Args 5>: error calling index: index out of range: 5');
    expect(err('{{lt 1 "a"}}')).toBe('template: :1:2: executing "" at <lt 1 "a">: error calling lt: incompatible types for comparison');
    expect(err('{{upper 3}}')).toBe('template: :1:2: executing "" at <upper 3>: error calling upper: wrong type for value; expected string; got int');
    expect(err('{{.Name 3}}')).toBe('template: :1:2: executing "" at <.Name 3>: Name is not a method but has arguments');
    expect(err('{{range .Name}}{{end}}')).toMatch(/^template: :1:8: executing "" at <.*>: range can't iterate over \/web$/);
    expect(err('{{call .Name}}')).toMatch(/call is not supported/);
  });

  it('parse errors in Go\'s words, as Docker reports them', () => {
    const cases: Array<[string, string]> = [
      ['{{if .X}}', 'template: :1: unexpected EOF'],
      ['{{end}}', 'template: :1: unexpected {{end}}'],
      ['{{else}}', 'template: :1: unexpected {{else}}'],
      ['{{foo .X}}', 'template: :1: function "foo" not defined'],
      ['{{.X', 'template: :1: unclosed action'],
      ['a\n{{$y}}', 'template: :2: undefined variable "$y"'],
      ['{{}}', 'template: :1: missing value for command'],
      ['{{if}}{{end}}', 'template: :1: missing value for if'],
      ['{{.X | "s"}}', 'template: :1: non executable command in pipeline stage 2'],
      ['{{(.X}}', 'template: :1: unclosed left paren'],
      ['{{.X)}}', 'template: :1: unexpected right paren'],
      ['{{break}}', 'template: :1: {{break}} outside {{range}}'],
      ['{{"abc}}', 'template: :1: unterminated quoted string'],
      ['{{#}}', "template: :1: unrecognized character in action: U+0023 '#'"],
      ['{{/* x }}', 'template: :1: unclosed comment'],
      ['{{range $a, $b, $c := .}}{{end}}', 'template: :1: too many declarations in command'],
      ['{{define "x"}}{{end}}', 'template: :1: {{define}} is not supported in --format'],
    ];
    for (const [tpl, msg] of cases) expect(err(tpl)).toBe(`template parsing error: ${msg}`);
  });

  it('values are escaped for the terminal; a plain field keeps to one line', () => {
    const evil = { T: 'a\x1b[2Jb\tc\nd' };
    expect(run('{{.T}}', evil)).toBe('a\\x1b[2Jb\\x09c\\x0ad');
    expect(run('{{printf "%s" .T}}', evil)).toBe('a\\x1b[2Jb\tc\nd');
    // Docker turns the two characters \\n into a newline before parsing: inside quotes that is Go's error.
    expect(err('{{printf "%s\\n" .T}}', evil)).toBe('template parsing error: template: :1: unterminated quoted string');
  });

  it('tables: docker/cli\'s header names, the template run over them, tabwriter columns', () => {
    const rows = [{ ID: 'abc123', Names: 'web', Status: 'Up 2 minutes', CreatedBy: 'x' }, { ID: 'def', Names: 'database', Status: 'Exited (0)', CreatedBy: 'y' }];
    expect(formatRows('table {{.ID}}\\t{{.Names | upper}}\\t{{.Status}}', rows, PS_HEADERS))
      .toBe('CONTAINER ID   NAMES      STATUS\nabc123         WEB        Up 2 minutes\ndef            DATABASE   Exited (0)\n');
    expect(formatRows('table {{.Names}}: {{.CreatedBy}}', rows, PS_HEADERS)).toBe('NAMES: CREATED BY\nweb: x\ndatabase: y\n');
    expect(formatRows('{{.Names}}', rows)).toBe('web\ndatabase\n');
    // ps rows carry docker/cli's .Labels string and .Label "key" method (absent from json, as in Docker).
    const labelled = [{ Names: 'web', Labels: 'a=1,tier=x', Label: (k: unknown) => (k === 'tier' ? 'x' : '') }];
    expect(formatRows('table {{.Names}}\t{{.Label "tier"}}|{{.Label "none"}}\t{{.Labels}}', labelled, PS_HEADERS)).toBe('NAMES     LABEL|LABEL   LABELS\nweb       x|            a=1,tier=x\n');
    expect(formatRows('json', labelled)).toBe('{"Names":"web","Labels":"a=1,tier=x"}\n');
    expect(formatRows('table {{.Names}}', [], PS_HEADERS)).toBe('NAMES\n');
    expect(formatRows('table {{$.Names}}\\t{{with $x := .ID}}{{$x}}{{end}}', rows, PS_HEADERS)).toBe('NAMES      CONTAINER ID\nweb        abc123\ndatabase   def\n');
    expect(() => formatRows('table {{.Names', rows)).toThrow('template parsing error: template: :1: unclosed action');
  });
});
