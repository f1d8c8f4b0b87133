/**
 * Which images the WASI backend runs, and where their module is. Three forms exist in the wild:
 * - platform: config os "wasi"/"wasip1" and architecture "wasm" (docker buildx --platform wasi/wasm),
 *   the module a `.wasm` file named by the entrypoint, inside an ordinary tar rootfs;
 * - artifact: the CNCF Wasm OCI artifact (config `application/vnd.wasm.config.v0+json`, a layer of
 *   media type `application/wasm` that is the module itself, not a tar);
 * - compat: crun's `module.wasm.image/variant=compat` annotation (or label) on a Linux-looking image
 *   whose entrypoint is a `.wasm` file.
 */
import { MediaType } from '../../oci/mediatypes.ts';
import type { Descriptor } from '../../oci/descriptor.ts';
import type { ImageManifest } from '../../oci/manifest.ts';

export type WasiImage =
  | { kind: 'platform'; entrypoint: string }
  | { kind: 'compat'; entrypoint: string }
  | { kind: 'artifact'; layer: Descriptor };

/** Loose: a CNCF artifact config has no rootfs, so it is not a full `ImageConfig`. */
export interface ConfigLike {
  os?: string;
  architecture?: string;
  config?: { Entrypoint?: string[] | null; Cmd?: string[] | null; Labels?: Record<string, string> | null } | null;
}

export const COMPAT_ANNOTATION = 'module.wasm.image/variant';
const WASI_OS = new Set(['wasi', 'wasip1']);
const WASM_ARCH = new Set(['wasm', 'wasm32']);

/** The program a container would run: entrypoint + cmd, first word. */
function firstWord(config: ConfigLike): string | undefined {
  const c = config.config ?? {};
  return [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])][0];
}

export function detectWasiImage(config: ConfigLike, manifest: Pick<ImageManifest, 'config' | 'layers' | 'annotations'>): WasiImage | null {
  if (manifest.config.mediaType === MediaType.wasmConfig) {
    const layer = manifest.layers.find((l) => l.mediaType === MediaType.wasmLayer || l.mediaType === MediaType.wasmContentLayer);
    if (layer) return { kind: 'artifact', layer };
  }
  const entry = firstWord(config);
  const isWasmEntry = entry !== undefined && entry.toLowerCase().endsWith('.wasm');
  const os = (config.os ?? '').toLowerCase();
  const arch = (config.architecture ?? '').toLowerCase();
  if (WASI_OS.has(os) && WASM_ARCH.has(arch) && isWasmEntry) return { kind: 'platform', entrypoint: entry };
  const variant = manifest.annotations?.[COMPAT_ANNOTATION] ?? config.config?.Labels?.[COMPAT_ANNOTATION];
  if (variant === 'compat' && isWasmEntry) return { kind: 'compat', entrypoint: entry };
  return null;
}

/** Does the WASI backend run this image (rather than the Linux VM)? */
export function isWasiImage(config: ConfigLike, manifest: Pick<ImageManifest, 'config' | 'layers' | 'annotations'>): boolean {
  return detectWasiImage(config, manifest) !== null;
}
