/** The image configuration blob (OCI image-spec config.md; Docker's image JSON is a superset). */
import { SkiffError } from '../errors.ts';
import { parseDigest, type DiffID } from './digest.ts';
import { arr, fail, isObject, obj, optSet, optStr, optStrArray, optStrMap, parseJsonObject, str, type Json } from './fields.ts';
import { normalizePlatform, type Platform } from './platform.ts';

/** Execution defaults for a container (config.config). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  /** Docker's extensions (builds write them; inspect shows them). Durations in nanoseconds. */
  Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
  Shell?: string[];
  OnBuild?: string[];
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  created?: string;
  author?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: DiffID[] };
  history?: HistoryEntry[];
}

/** Parse and validate an image config; errors name the field ("image config: field \"rootfs.diff_ids[1]\" ..."). */
export function parseImageConfig(input: string | Uint8Array | object, doc = 'image config'): ImageConfig {
  let o = parseJsonObject(input, doc);
  // The CNCF Wasm artifact config (application/vnd.wasm.config.v0+json) names its layers in
  // `layerDigests` and has no rootfs: its layers are uncompressed modules, so diff_id == digest.
  if (!('rootfs' in o) && Array.isArray(o['layerDigests'])) {
    o = { ...o, rootfs: { type: 'layers', diff_ids: o['layerDigests'] } };
  }
  const rootfs = obj(o, 'rootfs', doc);
  const type = str(rootfs, 'type', doc, 'rootfs.type');
  if (type !== 'layers') fail(doc, 'rootfs.type', `must be "layers", got "${type}"`);
  const diffIds = arr(rootfs, 'diff_ids', doc, 'rootfs.diff_ids').map((d, i) => {
    if (typeof d !== 'string') fail(doc, `rootfs.diff_ids[${i}]`, 'must be a string');
    return parseDigest(d, `${doc}: field "rootfs.diff_ids[${i}]"`) as string as DiffID;
  });
  const c: ImageConfig = {
    architecture: str(o, 'architecture', doc),
    os: str(o, 'os', doc),
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
  const variant = optStr(o, 'variant', doc);
  if (variant) c.variant = variant;
  const osVersion = optStr(o, 'os.version', doc);
  if (osVersion) c['os.version'] = osVersion;
  const features = optStrArray(o, 'os.features', doc);
  if (features) c['os.features'] = features;
  const created = optStr(o, 'created', doc);
  if (created) c.created = created;
  const author = optStr(o, 'author', doc);
  if (author) c.author = author;
  if (o['config'] !== undefined && o['config'] !== null) c.config = parseContainerConfig(obj(o, 'config', doc), doc);
  if (o['history'] !== undefined && o['history'] !== null) {
    c.history = arr(o, 'history', doc).map((h, i) => parseHistory(h, doc, `history[${i}]`));
  }
  return c;
}

export function parseContainerConfig(o: Json, doc: string): ContainerConfig {
  const p = (k: string): string => `config.${k}`;
  const cc: ContainerConfig = {};
  const user = optStr(o, 'User', doc, p('User'));
  if (user !== undefined && user !== '') cc.User = user;
  const ports = optSet(o, 'ExposedPorts', doc, p('ExposedPorts'));
  if (ports) cc.ExposedPorts = ports;
  const env = optStrArray(o, 'Env', doc, p('Env'));
  if (env) {
    env.forEach((e, i) => { if (!e.includes('=')) fail(doc, `config.Env[${i}]`, `"${e}" is not of the form KEY=value`); });
    cc.Env = env;
  }
  const ep = optStrArray(o, 'Entrypoint', doc, p('Entrypoint'));
  if (ep) cc.Entrypoint = ep;
  const cmd = optStrArray(o, 'Cmd', doc, p('Cmd'));
  if (cmd) cc.Cmd = cmd;
  const vols = optSet(o, 'Volumes', doc, p('Volumes'));
  if (vols) cc.Volumes = vols;
  const wd = optStr(o, 'WorkingDir', doc, p('WorkingDir'));
  if (wd !== undefined && wd !== '') cc.WorkingDir = wd;
  const labels = optStrMap(o, 'Labels', doc, p('Labels'));
  if (labels) cc.Labels = labels;
  const sig = optStr(o, 'StopSignal', doc, p('StopSignal'));
  if (sig !== undefined && sig !== '') cc.StopSignal = sig;
  if (typeof o['ArgsEscaped'] === 'boolean') cc.ArgsEscaped = o['ArgsEscaped'];
  const shell = optStrArray(o, 'Shell', doc, p('Shell'));
  if (shell) cc.Shell = shell;
  const onBuild = optStrArray(o, 'OnBuild', doc, p('OnBuild'));
  if (onBuild) cc.OnBuild = onBuild;
  const hc = o['Healthcheck'];
  if (isObject(hc)) {
    const test = optStrArray(hc, 'Test', doc, p('Healthcheck.Test'));
    if (test) {
      const h: NonNullable<ContainerConfig['Healthcheck']> = { Test: test };
      for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
        if (typeof hc[k] === 'number') h[k] = hc[k];
      }
      cc.Healthcheck = h;
    }
  }
  return cc;
}

function parseHistory(v: unknown, doc: string, path: string): HistoryEntry {
  if (!isObject(v)) fail(doc, path, 'must be an object');
  const h: HistoryEntry = {};
  for (const k of ['created', 'created_by', 'author', 'comment'] as const) {
    const s = optStr(v, k, doc, `${path}.${k}`);
    if (s !== undefined) h[k] = s;
  }
  if (v['empty_layer'] !== undefined) {
    if (typeof v['empty_layer'] !== 'boolean') fail(doc, `${path}.empty_layer`, 'must be a boolean');
    h.empty_layer = v['empty_layer'];
  }
  return h;
}

/** The image's platform, normalized. */
export function configPlatform(c: ImageConfig): Platform {
  const p: Platform = { os: c.os, architecture: c.architecture };
  if (c.variant) p.variant = c.variant;
  return normalizePlatform(p);
}

/** Env list to a map (later entries win, as in Docker). */
export function envToMap(env: readonly string[] = []): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env) {
    const i = e.indexOf('=');
    if (i <= 0) throw new SkiffError('INVALID_ARGUMENT', `environment entry "${e}" is not of the form KEY=value`);
    m.set(e.slice(0, i), e.slice(i + 1));
  }
  return m;
}
