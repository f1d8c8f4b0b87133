/**
 * `<skiff-run image="skiff/busybox" cmd="echo hello" autorun>`: a small terminal with the
 * command (editable), a Run button and the output. Every element on a page shares one engine
 * worker. Contract: attributes `image`, `cmd` (shell words), `autorun`, `env` (space-separated
 * K=V), `workdir`, `volume` (space-separated `name:/path[:ro]`, as `-v`), `keep` (keep the
 * container after it exits), `assets` (base URL of vm-images/), `max-output` (characters of
 * output kept, default 262144: the last ones, as Docker's log limits keep the newest; the element
 * says how much it dropped), `port` (a TCP port of the container to publish: once it listens, a
 * frame under the output shows what it serves, through the service worker's /_skiff/ports/ path,
 * and the Run button stops the container); property `output` (the kept text printed so far); events `skiff-exit` {exitCode} and `skiff-error`
 * {code, message}. The library build (dist/skiff-run.js) registers the element on import.
 */
import { SkiffError } from '../../errors.ts';
import { sharedEngineClient } from '../client/engine-client.ts';
import type { DockerFetch } from '../client/docker.ts';
import { toSkiffError } from '../rpc/errors.ts';
import { parseRunFlags } from '../../runtime/spec/options.ts';
import { joinWords, splitWords } from '../shell/words.ts';
import { humanSize } from '../../cli/present/format.ts';
import { DEFAULT_OUTPUT_LIMIT, OutputBuffer, type OutputRun } from './output-buffer.ts';
import { componentStyle } from './style.ts';
import { followPort, parsePortAttribute, type PreviewView } from './port-preview.ts';
import { defaultAssetBase } from '../client/engine-worker-url.ts';
import type { WorkerEngine } from '../rpc/protocol.ts';

export interface SkiffExitDetail { exitCode: number }
export interface SkiffErrorDetail { code: string; message: string }

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07/g;

export class SkiffRunElement extends HTMLElement {
  static observedAttributes = ['image', 'cmd'];
  #output: OutputBuffer = new OutputBuffer();
  readonly #spans = new WeakMap<OutputRun, Text>();
  #running = false;
  #ran = false;
  readonly #root: ShadowRoot;
  readonly #pre: HTMLPreElement;
  readonly #input: HTMLInputElement;
  readonly #button: HTMLButtonElement;
  readonly #label: HTMLElement;
  readonly #status: HTMLElement;
  readonly #preview: HTMLElement;
  /** The running container's ID while a `port` run can be stopped. */
  #stoppable: string | undefined;

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: 'open' });
    this.#root.innerHTML = `<style>${componentStyle}</style>
      <div class="bar"><span class="image" part="image"></span>
        <label class="prompt">$ <input class="cmd" part="command" spellcheck="false" aria-label="command"></label>
        <button class="run" part="run" type="button">Run</button></div>
      <div class="trimmed" part="trimmed" hidden></div>
      <pre class="out" part="output" aria-live="polite"></pre>
      <div class="status" part="status"></div>
      <div class="preview" part="preview" hidden><div class="link"></div></div>`;
    this.#pre = this.#root.querySelector('pre')!;
    this.#input = this.#root.querySelector('input')!;
    this.#button = this.#root.querySelector('button')!;
    this.#label = this.#root.querySelector('.image')!;
    this.#status = this.#root.querySelector('.status')!;
    this.#preview = this.#root.querySelector('.preview')!;
    this.#button.addEventListener('click', () => void (this.#stoppable ? this.stop() : this.run()));
    this.#input.addEventListener('keydown', (e) => { if (e.key === 'Enter') void this.run(); });
  }

  /** Text printed so far by the last run (stdout and stderr interleaved, escapes removed). */
  get output(): string {
    return this.#output.text();
  }

  get running(): boolean {
    return this.#running;
  }

  connectedCallback(): void {
    this.#sync();
    // Get the image (and, for Linux, the VM) ready at once: while the reader reads, or in
    // parallel with an autorun's own setup.
    if (!this.#ran && this.getAttribute('image')) void this.#client().prepare(this.getAttribute('image')!, { run: this.hasAttribute('autorun') }).catch(() => {});
    if (this.hasAttribute('autorun') && !this.#ran) queueMicrotask(() => void this.run());
  }

  #assetBase(): string | undefined {
    const assets = this.getAttribute('assets');
    return assets ? new URL(assets, document.baseURI).href : undefined;
  }

  #client(): ReturnType<typeof sharedEngineClient> {
    const assets = this.getAttribute('assets');
    // Components load only the images they run (on first use), not every bundled one.
    const proxy = this.getAttribute('registry-proxy');
    return sharedEngineClient({ seedBundled: false, ...(assets ? { assetBase: new URL(assets, document.baseURI).href } : {}), ...(proxy ? { registryProxy: new URL(proxy, document.baseURI).href } : {}) });
  }

  attributeChangedCallback(): void {
    this.#sync();
  }

  #sync(): void {
    this.#label.textContent = this.getAttribute('image') ?? '';
    if (document.activeElement !== this && !this.#running) this.#input.value = this.getAttribute('cmd') ?? '';
  }

  #print(text: string, stream: OutputRun['stream'] = 'stdout'): void {
    this.#output.append(text.replace(ANSI, ''), stream);
    const dropped = this.#output.dropped;
    const notice = this.#root.querySelector<HTMLElement>('.trimmed')!;
    notice.hidden = dropped === 0;
    if (dropped) notice.textContent = `… ${humanSize(dropped)} of earlier output not shown (the last ${humanSize(this.#output.limit)} are kept)`;
    this.#pre.scrollTop = this.#pre.scrollHeight;
  }

  /** A fresh buffer for a run, mirrored into the <pre> one span per run of a stream. */
  #newOutput(): OutputBuffer {
    this.#pre.textContent = '';
    const limit = Number(this.getAttribute('max-output') ?? DEFAULT_OUTPUT_LIMIT);
    return new OutputBuffer(Number.isFinite(limit) && limit > 0 ? limit : DEFAULT_OUTPUT_LIMIT, {
      added: (run) => {
        const span = document.createElement('span');
        if (run.stream === 'stderr') span.className = 'err';
        const node = document.createTextNode(run.text);
        span.append(node);
        this.#spans.set(run, node);
        this.#pre.append(span);
      },
      grew: (run, text) => this.#spans.get(run)?.appendData(text),
      trimmed: (run, n) => this.#spans.get(run)?.deleteData(0, n),
      removed: (run) => this.#spans.get(run)?.parentElement?.remove(),
    });
  }

  /** Runs the (edited) command once; resolves with the exit code, or undefined on an error. */
  async run(): Promise<number | undefined> {
    if (this.#running) return undefined;
    this.#running = true;
    this.#ran = true;
    this.#button.disabled = true;
    this.#output = this.#newOutput();
    this.#print('');
    this.#status.textContent = 'running…';
    this.#status.className = 'status';
    const image = this.getAttribute('image') ?? '';
    this.#clearPreview();
    let alive = true;
    try {
      if (!image) throw new SkiffError('INVALID_ARGUMENT', '<skiff-run> needs an image attribute');
      const portAttr = this.getAttribute('port');
      const port = portAttr === null ? undefined : parsePortAttribute(portAttr);
      const words = splitWords(this.#input.value);
      const env = (this.getAttribute('env') ?? '').split(/\s+/).filter(Boolean);
      const workdir = this.getAttribute('workdir');
      const volume = (this.getAttribute('volume') ?? '').split(/\s+/).filter(Boolean);
      const run = volume.length || port ? parseRunFlags({ ...(volume.length ? { volume } : {}), ...(port ? { publish: [String(port)] } : {}) }) : undefined;
      const client = this.#client();
      const out = new TextDecoder();
      const err = new TextDecoder();
      const started = performance.now();
      const r = await client.run({
        image, ...(words.length ? { cmd: words } : {}), ...(env.length ? { env } : {}), ...(workdir ? { workdir } : {}), ...(run ? { run } : {}),
        rm: !this.hasAttribute('keep'),
      }, {
        stdout: (d) => this.#print(out.decode(d, { stream: true })),
        stderr: (d) => this.#print(err.decode(d, { stream: true }), 'stderr'),
        status: (text) => { this.#status.textContent = text; },
        started: ({ id }) => {
          this.#status.textContent = 'running…';
          if (port === undefined) return;
          this.#stoppable = id;
          this.#button.textContent = 'Stop';
          this.#button.disabled = false;
          followPort({ client, assetBase: this.#assetBase() ?? defaultAssetBase(), id, port, alive: () => alive && this.#stoppable === id, view: this.#previewView() })
            .catch((e) => this.#print(`${toSkiffError(e).message}\n`, 'stderr'));
        },
      });
      this.#status.textContent = `exit ${r.exitCode} · ${Math.round(performance.now() - started)} ms`;
      this.#status.className = r.exitCode === 0 ? 'status ok' : 'status fail';
      this.dispatchEvent(new CustomEvent<SkiffExitDetail>('skiff-exit', { detail: { exitCode: r.exitCode }, bubbles: true, composed: true }));
      return r.exitCode;
    } catch (e) {
      const se = toSkiffError(e);
      this.#print(`${se.message}\n`, 'stderr');
      this.#status.textContent = `error: ${se.code}`;
      this.#status.className = 'status fail';
      this.dispatchEvent(new CustomEvent<SkiffErrorDetail>('skiff-error', { detail: { code: se.code, message: se.message }, bubbles: true, composed: true }));
      return undefined;
    } finally {
      alive = false;
      this.#stoppable = undefined;
      this.#running = false;
      this.#button.disabled = false;
      this.#button.textContent = 'Run';
      // The server is gone: its frame would show an error page; the link stays as a record.
      this.#preview.querySelector('iframe')?.remove();
    }
  }

  /** Stops a `port` run's container (the Run button reads Stop meanwhile). */
  async stop(): Promise<void> {
    const id = this.#stoppable;
    if (!id) return;
    this.#button.disabled = true;
    await (this.#client().api.engine as unknown as WorkerEngine).killContainer({ id }).catch(() => {});
  }

  /** The frame showing the `port` run's server, once it listens (null before). */
  get preview(): HTMLIFrameElement | null {
    return this.#preview.querySelector('iframe');
  }

  #clearPreview(): void {
    this.#preview.hidden = true;
    this.#preview.querySelector('iframe')?.remove();
    this.#preview.querySelector('.link')!.textContent = '';
  }

  #previewView(): PreviewView {
    const link = this.#preview.querySelector<HTMLElement>('.link')!;
    return {
      note: ({ text, href }) => {
        this.#preview.hidden = false;
        link.textContent = '';
        if (!href || !text.includes(href)) { link.textContent = text; return; }
        const a = document.createElement('a');
        a.href = href;
        a.target = '_blank';
        a.rel = 'noopener';
        a.textContent = href;
        const [before, after] = [text.slice(0, text.indexOf(href)), text.slice(text.indexOf(href) + href.length)];
        link.append(before, a, after);
      },
      show: (url) => {
        const frame = document.createElement('iframe');
        frame.title = 'what the container serves';
        frame.setAttribute('part', 'frame');
        frame.src = url;
        this.#preview.append(frame);
      },
    };
  }

  /** The command as shell words, quoted back (what the input shows). */
  get command(): string {
    return joinWords(splitWords(this.#input.value));
  }
}

if (!customElements.get('skiff-run')) customElements.define('skiff-run', SkiffRunElement);

/**
 * The Docker Engine API over the page's engine, as `fetch` (client/docker.ts): `await
 * skiffDocker()('/v1.43/containers/json')`. The same engine worker as the page's elements.
 */
export function skiffDocker(o: { assets?: string } = {}): DockerFetch {
  return sharedEngineClient({ seedBundled: false, ...(o.assets ? { assetBase: new URL(o.assets, document.baseURI).href } : {}) }).docker;
}

declare global {
  interface HTMLElementTagNameMap { 'skiff-run': SkiffRunElement }
  interface HTMLElementEventMap {
    'skiff-exit': CustomEvent<SkiffExitDetail>;
    'skiff-error': CustomEvent<SkiffErrorDetail>;
  }
}
