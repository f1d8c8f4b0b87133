/** Image manifests and indexes (OCI image-spec 1.1 and Docker v2 schema 2), parsed and validated. */
import { SkiffError } from '../errors.ts';
import { parseDescriptor, type Descriptor } from './descriptor.ts';
import { arr, fail, int, isObject, obj, optStr, optStrMap, parseJsonObject, type Json } from './fields.ts';
import { MediaType, isIndexType, isManifestType } from './mediatypes.ts';

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type ManifestOrIndex =
  | { kind: 'manifest'; manifest: ImageManifest }
  | { kind: 'index'; index: ImageIndex };

type Input = string | Uint8Array | object;

function schemaVersion(o: Json, doc: string): 2 {
  const v = int(o, 'schemaVersion', doc);
  if (v === 1) throw new SkiffError('UNSUPPORTED', `${doc}: Docker schema 1 manifests are not supported`);
  if (v !== 2) fail(doc, 'schemaVersion', `must be 2, got ${v}`);
  return 2;
}

function common(o: Json, doc: string, into: { mediaType?: string; artifactType?: string; subject?: Descriptor; annotations?: Record<string, string> }): void {
  const mt = optStr(o, 'mediaType', doc);
  if (mt !== undefined) into.mediaType = mt;
  const at = optStr(o, 'artifactType', doc);
  if (at !== undefined) into.artifactType = at;
  if (o['subject'] !== undefined) into.subject = parseDescriptor(o['subject'], doc, 'subject');
  const ann = optStrMap(o, 'annotations', doc);
  if (ann) into.annotations = ann;
}

/** Parse an image manifest; `doc` names it in errors (e.g. "manifest sha256:ab12..."). */
export function parseManifest(input: Input, doc = 'image manifest'): ImageManifest {
  const o = parseJsonObject(input, doc);
  const sv = schemaVersion(o, doc);
  const mt = o['mediaType'];
  if (typeof mt === 'string' && !isManifestType(mt)) {
    fail(doc, 'mediaType', `is "${mt}", expected ${MediaType.ociManifest} or ${MediaType.dockerManifest}`);
  }
  if (o['manifests'] !== undefined && o['layers'] === undefined) fail(doc, 'layers', 'is missing (this looks like an image index)');
  obj(o, 'config', doc);
  const m: ImageManifest = {
    schemaVersion: sv,
    config: parseDescriptor(o['config'], doc, 'config'),
    layers: arr(o, 'layers', doc).map((l, i) => parseDescriptor(l, doc, `layers[${i}]`)),
  };
  common(o, doc, m);
  return m;
}

/** Parse an image index or Docker manifest list. */
export function parseIndex(input: Input, doc = 'image index'): ImageIndex {
  const o = parseJsonObject(input, doc);
  const sv = schemaVersion(o, doc);
  const mt = o['mediaType'];
  if (typeof mt === 'string' && !isIndexType(mt)) {
    fail(doc, 'mediaType', `is "${mt}", expected ${MediaType.ociIndex} or ${MediaType.dockerManifestList}`);
  }
  const idx: ImageIndex = {
    schemaVersion: sv,
    manifests: arr(o, 'manifests', doc).map((d, i) => parseDescriptor(d, doc, `manifests[${i}]`)),
  };
  common(o, doc, idx);
  return idx;
}

/**
 * Parse a document that may be either; `mediaType` (from the referring descriptor or an HTTP
 * Content-Type) wins, then the document's own mediaType, then its shape.
 */
export function parseManifestOrIndex(input: Input, opts: { mediaType?: string; doc?: string } = {}): ManifestOrIndex {
  const doc = opts.doc ?? 'manifest';
  const o = parseJsonObject(input, doc);
  const own = typeof o['mediaType'] === 'string' ? (o['mediaType'] as string) : undefined;
  const mt = opts.mediaType ?? own;
  if (mt !== undefined && isIndexType(mt)) return { kind: 'index', index: parseIndex(o, doc) };
  if (mt !== undefined && isManifestType(mt)) return { kind: 'manifest', manifest: parseManifest(o, doc) };
  if (mt !== undefined && opts.mediaType !== undefined) {
    throw new SkiffError('UNSUPPORTED', `${doc}: media type "${mt}" is neither an image manifest nor an index`);
  }
  if (Array.isArray(o['manifests'])) return { kind: 'index', index: parseIndex(o, doc) };
  if (isObject(o['config']) || Array.isArray(o['layers'])) return { kind: 'manifest', manifest: parseManifest(o, doc) };
  throw new SkiffError('INVALID_ARGUMENT', `${doc}: neither an image manifest (config, layers) nor an index (manifests)`);
}

/** Stable JSON for documents we write (two-space indent like Docker/umoci are not required; compact). */
export function encodeJson(doc: object): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(doc));
}
