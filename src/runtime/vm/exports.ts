/**
 * Small filesystems the VM runtime exports beside container roots: a container's generated /etc
 * files (bind-mounted over /etc/hosts, /etc/hostname, /etc/resolv.conf, writable as Docker's are)
 * and the --init binary.
 */
import type { TarEntry } from '../../archive/types.ts';
import { applyLayer } from '../../fs/layer.ts';
import { Overlay } from '../../fs/overlay.ts';
import type { FileSystem } from '../../fs/types.ts';
import type { EtcFiles } from '../spec/etc.ts';
import { skiffInitBinary } from './skiff-init-binary.ts';

function file(name: string, data: Uint8Array, mode = 0o644): TarEntry {
  return {
    header: { name, type: 'file', mode, uid: 0, gid: 0, size: data.length, mtime: Math.floor(Date.now() / 1000), linkname: '', devmajor: 0, devminor: 0 },
    data,
  };
}

const enc = new TextEncoder();

export function etcExport(files: EtcFiles): FileSystem {
  return new Overlay({
    lower: applyLayer(null, [
      file('hosts', enc.encode(files.hosts)),
      file('hostname', enc.encode(files.hostname)),
      file('resolv.conf', enc.encode(files.resolvConf)),
    ]),
  });
}

export function initExport(): FileSystem {
  return new Overlay({ lower: applyLayer(null, [file('docker-init', skiffInitBinary(), 0o755)]), readOnly: true });
}
