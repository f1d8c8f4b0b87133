/**
 * vitest globalSetup: before any test runs, the Debian packages the tests need (.ci/debian-packages)
 * are there, or `npm test` installs them (root or passwordless sudo, on Debian or Ubuntu, through
 * .ci/install-peers, the same installer CI runs), or it stops with one message naming the command
 * to run. When everything is present this is a few file lookups: no dpkg, no apt.
 *
 * SKIFF_PEERS=check never installs (only checks and names the command).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { findTool, INSTALLER, missingPeers, ROOT, type Peer } from './peers.ts';

export interface Host {
  root: boolean;
  /** sudo is installed ... */
  hasSudo: boolean;
  /** ... and `sudo -n true` succeeds (passwordless). */
  sudo: () => boolean;
  /** Debian, Ubuntu or a derivative, with apt-get. */
  debian: boolean;
}

export type Plan =
  | { action: 'ok' }
  | { action: 'install'; command: string[]; missing: Peer[] }
  | { action: 'stop'; message: string };

const names = (missing: Peer[]) => missing.map((p) => p.deb).join(', ');

/** What to do about the missing peers on this host (sans-IO: the host is described, not probed). */
export function planPeers(missing: Peer[], host: Host, o: { install?: boolean } = {}): Plan {
  if (!missing.length) return { action: 'ok' };
  if (!host.debian) {
    return { action: 'stop', message: `the tests need these Debian packages, which are missing: ${names(missing)}. `
      + 'This is not Debian or Ubuntu: install their equivalents (see .ci/debian-packages for what each provides), then run npm test again.' };
  }
  if (o.install !== false && host.root) return { action: 'install', command: [INSTALLER], missing };
  if (o.install !== false && host.sudo()) return { action: 'install', command: ['sudo', '-n', INSTALLER], missing };
  const run = host.root ? INSTALLER : host.hasSudo ? `sudo ${INSTALLER}` : `su -c ${INSTALLER}`;
  return { action: 'stop', message: `the tests need Debian packages that are missing (${names(missing)}). Run: ${run}   (then npm test again)` };
}

export function probeHost(): Host {
  let debian = false;
  try {
    debian = existsSync('/etc/debian_version') || /^ID(_LIKE)?=.*\b(debian|ubuntu)\b/m.test(readFileSync('/etc/os-release', 'utf8'));
  } catch { /* not Linux, or no os-release */ }
  const hasSudo = findTool('sudo') !== null;
  return {
    root: process.getuid?.() === 0,
    hasSudo,
    sudo: () => hasSudo && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore', timeout: 10_000 }).status === 0,
    debian: debian && findTool('apt-get') !== null,
  };
}

/**
 * The one message, then exit before anything runs. Not a thrown error: vitest would wrap it in an
 * "Unhandled Error" banner after a misleading "No test files found".
 */
function stop(message: string): never {
  process.stderr.write(`\nskiff: ${message}\n\n`);
  process.exit(1);
}

export default function setup(): void {
  const missing = missingPeers();
  const plan = planPeers(missing, probeHost(), { install: process.env['SKIFF_PEERS'] !== 'check' });
  if (plan.action === 'ok') return;
  if (plan.action === 'stop') stop(plan.message);
  process.stderr.write(`skiff: installing the test peers (missing: ${names(plan.missing)}): ${plan.command.join(' ')}\n`);
  const r = spawnSync(plan.command[0]!, plan.command.slice(1), { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const still = missingPeers();
  if (r.status !== 0 || still.length) {
    stop(`${plan.command.join(' ')} ${r.status !== 0 ? `failed (exit ${r.status ?? r.signal})` : 'ran'}`
      + `${still.length ? `; still missing: ${names(still)}` : ''}. Fix what it reported above, then run: ${plan.command.join(' ').replace(/^sudo -n /, 'sudo ')}`);
  }
}
