/**
 * Which engine runs a container. The VM and the WASI workers live in the process (or page) whose
 * engine started the container, so the record names that owner (`runtimeData.owner`): another
 * skiff process can then tell a live container from one whose process is gone (killed, crashed)
 * and reach the live one through its process (signals; the owning CLI passes them on).
 */
import type { ContainerRecord } from './types.ts';

/** This engine instance (a random id), plus the process id on Node. */
export interface Owner {
  session: string;
  pid?: number;
}

const SESSION = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
const nodeProcess = (globalThis as { process?: { pid?: number; kill?: (pid: number, sig: number | string) => boolean; versions?: { node?: string } } }).process;
const onNode = typeof nodeProcess?.versions?.node === 'string';

export function thisOwner(): Owner {
  return onNode && nodeProcess?.pid ? { session: SESSION, pid: nodeProcess.pid } : { session: SESSION };
}

export function ownerOf(rec: ContainerRecord): Owner | undefined {
  const o = rec.runtimeData?.['owner'] as Owner | undefined;
  return o && typeof o.session === 'string' ? o : undefined;
}

export function ownedHere(rec: ContainerRecord): boolean {
  return ownerOf(rec)?.session === SESSION;
}

/**
 * Is the owner still there? Ours: yes. Another Node process: if its pid answers signal 0. A page
 * cannot be asked, so another page's container counts as gone (its page was closed or reloaded).
 */
export function ownerAlive(owner: Owner | undefined): boolean {
  if (!owner) return false;
  if (owner.session === SESSION) return true;
  if (!onNode || owner.pid === undefined || typeof nodeProcess?.kill !== 'function') return false;
  try {
    nodeProcess.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/** Sends a signal to the owning process (Node). False when there is none to send it to. */
export function signalOwner(owner: Owner | undefined, signal: string | number): boolean {
  if (!owner?.pid || owner.session === SESSION || !onNode || typeof nodeProcess?.kill !== 'function') return false;
  try {
    nodeProcess.kill(owner.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Docker's exit status for a container that could not start: 127 when the command does not exist,
 * 126 when it cannot be executed, else 125 (the engine's own failure).
 */
export function startFailureExitCode(err: unknown): number {
  const msg = err instanceof Error ? err.message : String(err);
  if (/executable file .* not found|not found in \$PATH|exec: .*: no such file or directory/i.test(msg)) return 127;
  if (/permission denied|EACCES/i.test(msg) && /exec/i.test(msg)) return 126;
  return 125;
}
