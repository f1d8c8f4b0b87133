/**
 * `--link NAME[:ALIAS]` on run/create (HostConfig.Links), as Docker's daemon treats it:
 *  - on a user network the link lives in the endpoint and the embedded DNS answers ALIAS for the
 *    linking container only (network-dns.ts); nothing is checked at create, as Docker;
 *  - on the default bridge (and `none`) it is a legacy link: at create NAME must name a container
 *    (followed through `container:` modes, not `host`), and at start it must be running on the
 *    default bridge; the linking container's /etc/hosts then gets "IP  ALIAS HOSTNAME [NAME]" and
 *    its process Docker's ALIAS_PORT_* / ALIAS_NAME / ALIAS_ENV_* variables (runtime/spec/link-env.ts).
 */
import { SkiffError } from '../errors.ts';
import { linkEnv } from '../runtime/spec/link-env.ts';
import { networkModeKind, parseLink, type SpecNetwork } from '../runtime/spec/network.ts';
import { findContainer } from './container-records.ts';
import type { StateReader } from './state/store.ts';
import type { ContainerRecord } from './types.ts';

/** The links a container's record carries as Docker's legacy links (default bridge or none). */
export function legacyLinks(network: SpecNetwork | undefined): string[] {
  if (!network) return [];
  const kind = networkModeKind(network.mode);
  if (kind !== 'bridge' && kind !== 'none') return [];
  return network.links ?? [];
}

async function linkedContainer(state: StateReader, name: string): Promise<ContainerRecord> {
  let child: ContainerRecord;
  try {
    child = await findContainer(state, name);
    // A container sharing another's namespace is reached at that one's address.
    for (let hops = 0; networkModeKind(child.spec.network?.mode ?? 'none') === 'container' && hops < 16; hops++) {
      child = await findContainer(state, child.spec.network!.mode.slice('container:'.length));
    }
  } catch (err) {
    // Docker: a link to a missing container is a bad parameter (not "no such image").
    if (err instanceof SkiffError && err.code === 'NOT_FOUND') throw new SkiffError('INVALID_ARGUMENT', `could not get container for ${name}: ${err.message}`);
    throw err;
  }
  if (networkModeKind(child.spec.network?.mode ?? 'none') === 'host') {
    throw new SkiffError('INVALID_ARGUMENT', "conflicting options: host type networking can't be used with links. This would result in undefined behavior");
  }
  return child;
}

/** At create (Docker's registerLinks): every legacy link names a container. */
export async function checkLinks(state: StateReader, network: SpecNetwork | undefined): Promise<void> {
  for (const l of legacyLinks(network)) await linkedContainer(state, parseLink(l).name);
}

/**
 * At start (Docker's setupLinkedContainers and its sandbox's extra hosts): the /etc/hosts lines
 * and the process variables of `rec`'s legacy links, in link order (Docker walks a map: any
 * order). A linked container removed since is left out, as Docker drops its link.
 */
export async function legacyLinkSetup(state: StateReader, rec: ContainerRecord): Promise<{ hosts: { host: string; ip: string }[]; env: string[] }> {
  const hosts: { host: string; ip: string }[] = [];
  const env: string[] = [];
  // Docker's variables need the linking container on the default bridge itself (not `none`).
  const onBridge = rec.spec.network?.endpoints['bridge'] !== undefined;
  for (const l of legacyLinks(rec.spec.network)) {
    const { name, alias } = parseLink(l);
    let child: ContainerRecord;
    try {
      child = await linkedContainer(state, name);
    } catch (err) {
      if (err instanceof SkiffError && err.code === 'INVALID_ARGUMENT' && err.message.startsWith('could not get container')) continue;
      throw err;
    }
    if (child.state !== 'running' && child.state !== 'paused') {
      throw new SkiffError('CONFLICT', `Cannot link to a non running container: /${child.name} AS /${rec.name}/${alias}`);
    }
    const ip = child.spec.network?.endpoints['bridge']?.ip;
    if (!ip) throw new SkiffError('CONFLICT', `Cannot link to /${child.name}, as it does not belong to the default network`);
    // The alias, the child's hostname, and its name unless the alias is the name (Docker's order).
    const names = [alias, child.spec.hostname, ...(alias === child.name ? [] : [child.name])];
    hosts.push({ host: names.join(' '), ip });
    if (onBridge) env.push(...linkEnv({ name: `/${rec.name}/${alias}`, ip, env: child.spec.env, exposedPorts: child.spec.exposedPorts ?? legacyExposed(child) }));
  }
  return { hosts, env };
}

/** A record from before spec.exposedPorts: its published ports are all it says it exposes. */
function legacyExposed(child: ContainerRecord): string[] {
  return (child.spec.ports ?? []).map((p) => `${p.containerPort}/${p.proto}`);
}
