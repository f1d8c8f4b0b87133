/**
 * Which engine runs a container. The VM and the WASI workers live in the process (or page) whose
 * engine started the container, so the record names that owner (`runtimeData.owner`): its
 * session (a random nonce), and on Node its pid, start time and control socket (engine/control).
 * Another process tells a live owner from a dead one, or from an unrelated process that got its
 * pid since, by those; it reaches the live one only through its control socket.
 */
import type { ControlPlane, Owner } from './control/types.ts';
import type { ContainerRecord } from './types.ts';

export type { Owner } from './control/types.ts';
export { ownerOf } from './control/remote.ts';

function randomHex(bytes: number): string {
  return Array.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The identity of an engine with no control plane (a page): a session nothing else can reach. */
export function localOwner(): Owner {
  return { session: randomHex(16) };
}

/**
 * Does a live engine other than `self` run the container? Ours counts only while in our running
 * map (`runningHere`); another engine's only when the control plane can vouch for its process.
 */
export function ownerAlive(rec: ContainerRecord, self: Owner, runningHere: boolean, plane: ControlPlane | undefined): boolean {
  const owner = rec.runtimeData?.['owner'] as Owner | undefined;
  if (!owner || typeof owner.session !== 'string') return false;
  if (owner.session === self.session) return runningHere;
  return plane?.alive(owner) ?? false;
}
