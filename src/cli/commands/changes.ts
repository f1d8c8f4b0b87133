/**
 * `--change` instructions for `skiff commit` (Docker accepts CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
 * USER, VOLUME, WORKDIR): parsed to config fields. Exec form is JSON; shell form wraps in sh -c.
 */
import { SkiffError } from '../../errors.ts';
import type { ContainerConfig } from '../../oci/config.ts';

function argv(rest: string, what: string): string[] {
  const t = rest.trim();
  if (t.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      throw new SkiffError('INVALID_ARGUMENT', `--change "${what} ${rest}": not a JSON array of strings`);
    }
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new SkiffError('INVALID_ARGUMENT', `--change "${what} ${rest}": not a JSON array of strings`);
    return v;
  }
  return ['/bin/sh', '-c', t];
}

function pairs(rest: string): Array<[string, string]> {
  const t = rest.trim();
  if (!t.includes('=')) {
    const sp = t.indexOf(' ');
    return sp < 0 ? [[t, '']] : [[t.slice(0, sp), t.slice(sp + 1).trim()]];
  }
  return (t.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []).map((p) => {
    const i = p.indexOf('=');
    return [p.slice(0, i < 0 ? p.length : i), i < 0 ? '' : p.slice(i + 1).replace(/^"(.*)"$/, '$1')];
  });
}

export function parseChanges(changes: string[], base: ContainerConfig = {}): Partial<ContainerConfig> {
  const out: Partial<ContainerConfig> = {};
  for (const change of changes) {
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(change);
    if (!m) throw new SkiffError('INVALID_ARGUMENT', `--change "${change}": expected INSTRUCTION arguments`);
    const [, instr, rest] = m as unknown as [string, string, string];
    switch (instr.toUpperCase()) {
      case 'CMD': out.Cmd = argv(rest, 'CMD'); break;
      case 'ENTRYPOINT': out.Entrypoint = argv(rest, 'ENTRYPOINT'); break;
      case 'WORKDIR': out.WorkingDir = rest.trim(); break;
      case 'USER': out.User = rest.trim(); break;
      case 'ENV': {
        const env = new Map((out.Env ?? base.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] as [string, string]));
        for (const [k, v] of pairs(rest)) env.set(k, v);
        out.Env = [...env].map(([k, v]) => `${k}=${v}`);
        break;
      }
      case 'LABEL': out.Labels = { ...(out.Labels ?? base.Labels ?? {}), ...Object.fromEntries(pairs(rest)) }; break;
      case 'EXPOSE': {
        const ports = { ...(out.ExposedPorts ?? base.ExposedPorts ?? {}) };
        for (const p of rest.trim().split(/\s+/)) ports[p.includes('/') ? p : `${p}/tcp`] = {};
        out.ExposedPorts = ports;
        break;
      }
      case 'VOLUME': {
        const vols = { ...(out.Volumes ?? base.Volumes ?? {}) };
        for (const v of rest.trim().startsWith('[') ? argv(rest, 'VOLUME') : rest.trim().split(/\s+/)) vols[v] = {};
        out.Volumes = vols;
        break;
      }
      default:
        throw new SkiffError('INVALID_ARGUMENT', `--change "${change}": ${instr} is not supported (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR)`);
    }
  }
  return out;
}
