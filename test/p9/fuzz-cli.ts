/**
 * `npm run fuzz -- --messages 1000000 [--seed N] [--target overlay|hostdir|both]`: the long 9P
 * fuzz run; prints messages/s and findings per target, exits 1 on any finding.
 */
import { fuzz9p, type FuzzTarget } from './fuzz.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
};
const messages = Number(opt('messages', '100000'));
const seed = Number(opt('seed', String(Date.now() % 1e9)));
const which = opt('target', 'both');
if (!Number.isInteger(messages) || messages <= 0) throw new Error(`--messages ${opt('messages', '')}: a positive integer`);
const targets: FuzzTarget[] = which === 'both' ? ['overlay', 'hostdir'] : [which as FuzzTarget];
let failed = false;
for (const target of targets) {
  // Each target gets the whole count, in chunks with their own seeds so progress shows.
  const chunk = 100_000;
  let done = 0;
  let ok = 0;
  let ms = 0;
  const findings: string[] = [];
  const errnos: Record<string, number> = {};
  for (let k = 0; done < messages; k++) {
    const n = Math.min(chunk, messages - done);
    const r = fuzz9p({ target, seed: seed + k, messages: n });
    done += n;
    ok += r.ok;
    ms += r.elapsedMs;
    findings.push(...r.findings.map((f) => `seed ${seed + k}: ${f}`));
    for (const [e, c] of Object.entries(r.errnos)) errnos[e] = (errnos[e] ?? 0) + c;
    process.stderr.write(`${target}: ${done}/${messages} messages, ${Math.round(done / (ms / 1000))} msg/s, ${findings.length} findings\n`);
    if (findings.length) break;
  }
  const top = Object.entries(errnos).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([e, c]) => `${e} ${c}`).join(', ');
  process.stdout.write(`${target}: ${done} messages (seed ${seed}) in ${(ms / 1000).toFixed(1)} s = ${Math.round(done / (ms / 1000))} msg/s; ${ok} ok; errors: ${top}; findings: ${findings.length}\n`);
  for (const f of findings) process.stdout.write(`  ${f}\n`);
  failed ||= findings.length > 0;
}
process.exitCode = failed ? 1 : 0;
