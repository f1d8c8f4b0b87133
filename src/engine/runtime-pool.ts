/**
 * The engine's container runtimes by name ('vm', 'wasi'), each made on first use from the factory
 * the entry point gave (src/node.ts, src/browser.ts) and shut down with the engine.
 */
import { SkiffError } from '../errors.ts';
import type { ContainerRuntime, RuntimeName } from '../runtime/types.ts';

export type RuntimeFactories = Partial<Record<RuntimeName, () => ContainerRuntime | Promise<ContainerRuntime>>>;

export class RuntimePool {
  private readonly made = new Map<RuntimeName, Promise<ContainerRuntime>>();

  /** `onMade` sees each runtime once, when made (the engine hands it its name resolver). */
  constructor(private readonly factories: RuntimeFactories, private readonly onMade?: (rt: ContainerRuntime) => void) {}

  /** The runtime named `name`; UNSUPPORTED when this engine has none by that name. */
  get(name: string): Promise<ContainerRuntime> {
    const key = name as RuntimeName;
    let rt = this.made.get(key);
    if (!rt) {
      const make = this.factories[key];
      if (!make) throw new SkiffError('UNSUPPORTED', `no "${name}" runtime in this engine (it has: ${Object.keys(this.factories).join(', ') || 'none'})`);
      rt = Promise.resolve().then(make).then((made) => { this.onMade?.(made); return made; });
      this.made.set(key, rt);
      rt.catch(() => this.made.delete(key));
    }
    return rt;
  }

  /** Shuts down every runtime made so far (VM, workers). */
  async shutdown(): Promise<void> {
    for (const rt of this.made.values()) await (await rt).shutdown().catch(() => {});
    this.made.clear();
  }
}
