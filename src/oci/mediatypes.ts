/** OCI image-spec and Docker v2 schema 2 media types, and what they tell us about a blob. */
import { SkiffError } from '../errors.ts';

export const MediaType = {
  // OCI
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayout: 'application/vnd.oci.layout.header.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondist: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  // Docker v2 schema 2
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  // WebAssembly (CNCF wasm OCI artifact layout)
  wasmConfig: 'application/vnd.wasm.config.v0+json',
  wasmLayer: 'application/wasm',
  wasmContentLayer: 'application/vnd.wasm.content.layer.v1+wasm',
} as const;
export type KnownMediaType = (typeof MediaType)[keyof typeof MediaType];

export type Compression = 'none' | 'gzip' | 'zstd';

const LAYERS: Record<string, Compression> = {
  [MediaType.ociLayer]: 'none',
  [MediaType.ociLayerGzip]: 'gzip',
  [MediaType.ociLayerZstd]: 'zstd',
  [MediaType.ociLayerNondist]: 'none',
  [MediaType.ociLayerNondistGzip]: 'gzip',
  [MediaType.ociLayerNondistZstd]: 'zstd',
  [MediaType.dockerLayer]: 'none',
  [MediaType.dockerLayerGzip]: 'gzip',
  [MediaType.dockerLayerZstd]: 'zstd',
  [MediaType.dockerForeignLayerGzip]: 'gzip',
};

export function isManifestType(mt: string): boolean {
  return mt === MediaType.ociManifest || mt === MediaType.dockerManifest;
}
export function isIndexType(mt: string): boolean {
  return mt === MediaType.ociIndex || mt === MediaType.dockerManifestList;
}
export function isConfigType(mt: string): boolean {
  return mt === MediaType.ociConfig || mt === MediaType.dockerConfig || mt === MediaType.wasmConfig;
}
/** A tar layer (any compression) that unpacks into the rootfs. */
export function isTarLayerType(mt: string): boolean {
  return mt in LAYERS;
}
/** A raw WebAssembly module layer (not a tar): the module is the whole blob. */
export function isWasmLayerType(mt: string): boolean {
  return mt === MediaType.wasmLayer || mt === MediaType.wasmContentLayer;
}
export function isLayerType(mt: string): boolean {
  return isTarLayerType(mt) || isWasmLayerType(mt);
}
export function isNondistributable(mt: string): boolean {
  return mt.includes('.nondistributable.') || mt.includes('.foreign.');
}

/**
 * The compression a layer media type declares. Unknown `+suffix` values are UNSUPPORTED rather
 * than guessed; non-layer types are INVALID_ARGUMENT.
 */
export function layerCompression(mt: string): Compression {
  const c = LAYERS[mt];
  if (c !== undefined) return c;
  if (isWasmLayerType(mt)) return 'none';
  const m = /^application\/vnd\.(?:oci|docker)\.image\.(?:layer|rootfs)\.[^+]*\+(.+)$/.exec(mt);
  if (m) throw new SkiffError('UNSUPPORTED', `layer media type "${mt}": compression "${m[1]}" is not supported`);
  throw new SkiffError('INVALID_ARGUMENT', `media type "${mt}" is not a layer type`);
}

/** The layer media type to write for a compression, in the OCI or Docker family. */
export function layerMediaType(compression: Compression, family: 'oci' | 'docker' = 'oci'): KnownMediaType {
  if (family === 'docker') {
    return compression === 'gzip' ? MediaType.dockerLayerGzip
      : compression === 'zstd' ? MediaType.dockerLayerZstd : MediaType.dockerLayer;
  }
  return compression === 'gzip' ? MediaType.ociLayerGzip
    : compression === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer;
}
