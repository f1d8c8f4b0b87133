/** OCI content descriptors: the typed pointer from one document to a blob. */
import { parseDigest, type Digest } from './digest.ts';
import { fail, isObject, int, optStr, optStrArray, optStrMap, str, type Json } from './fields.ts';
import { parsePlatformObject, type Platform } from './platform.ts';

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
  /** Inline content, base64 (image-spec 1.1 `data`). */
  data?: string;
}

/** Validate one descriptor; `path` names it in errors ("manifest: field \"layers[2].digest\" ..."). */
export function parseDescriptor(v: unknown, doc: string, path: string): Descriptor {
  if (!isObject(v)) fail(doc, path, 'must be a descriptor object');
  const o = v as Json;
  const mediaType = str(o, 'mediaType', doc, `${path}.mediaType`);
  const digestStr = str(o, 'digest', doc, `${path}.digest`);
  const digest: Digest = parseDigest(digestStr, `${doc}: field "${path}.digest"`);
  const d: Descriptor = { mediaType, digest, size: int(o, 'size', doc, `${path}.size`) };
  const urls = optStrArray(o, 'urls', doc, `${path}.urls`);
  if (urls) d.urls = urls;
  const annotations = optStrMap(o, 'annotations', doc, `${path}.annotations`);
  if (annotations) d.annotations = annotations;
  if (o['platform'] !== undefined) d.platform = parsePlatformObject(o['platform'], doc, `${path}.platform`);
  const artifactType = optStr(o, 'artifactType', doc, `${path}.artifactType`);
  if (artifactType) d.artifactType = artifactType;
  const data = optStr(o, 'data', doc, `${path}.data`);
  if (data !== undefined) d.data = data;
  return d;
}

/** Annotation keys we read and write. */
export const Annotation = {
  refName: 'org.opencontainers.image.ref.name',
  created: 'org.opencontainers.image.created',
  containerdImageName: 'io.containerd.image.name',
} as const;
