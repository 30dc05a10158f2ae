/**
 * `ModuleDict`: modules held by name, as `torch.nn.ModuleDict`. Each is a registered child under
 * its key, so `parameters()`, `stateDict()` ('key.weight', …), `train()`/`eval()`, `to()` and
 * `dispose()` see them, in insertion order; like ModuleList it has no `forward`: the owner picks
 * which module to call (a head per task, an encoder per modality).
 */
import { fail } from '../errors';
import type { Tensor } from '../tensor';
import { describe } from '../validate';
import { Module } from './module';

/**
 * @example
 * class MultiHead extends nn.Module {
 *   heads = this.registerModule('heads', new nn.ModuleDict({ digits: new nn.Linear(64, 10), parity: new nn.Linear(64, 2) }));
 *   forward(x: Tensor, task: string) { return this.heads.get(task).call(x); }
 * }
 */
export class ModuleDict extends Module implements Iterable<string> {
  readonly #items = new Map<string, Module>();

  /** `modules`: an object of name -> module, or [name, module] pairs (kept in their order). */
  constructor(modules: Record<string, Module> | Iterable<readonly [string, Module]> = {}) {
    super();
    this.update(modules);
  }

  protected override childReplaced(name: string, _old: Module, module: Module): void {
    this.#items.set(name, module);
  }

  /**
   * Adds `module` under `key` (PyTorch's `dict[key] = module`); a key already there gets the new
   * module in its place (the old one is returned for the caller to dispose or keep), else null.
   */
  set(key: string, module: Module): Module | null {
    if (!(module instanceof Module)) fail('E_ARG', `ModuleDict.set: expected a Module for ${describe(key)}, got ${describe(module)}`);
    const old = this.#items.get(key);
    if (old !== undefined) return this.replaceModule(key, module);
    this.registerModule(key, module);   // checks the name (letters, digits and _)
    this.#items.set(key, module);
    return null;
  }

  /** Adds every entry of `modules` (an object or [name, module] pairs), as PyTorch's update. Returns this. */
  update(modules: Record<string, Module> | Iterable<readonly [string, Module]>): this {
    if (modules === null || typeof modules !== 'object') fail('E_ARG', `ModuleDict: expected an object of modules or [name, module] pairs, got ${describe(modules)}`);
    // Walked, not copied: a sparse array of 2^31 - 1 holes fails at its first entry.
    const entries = typeof (modules as Iterable<unknown>)[Symbol.iterator] === 'function'
      ? modules as Iterable<readonly [string, Module]>
      : Object.entries(modules as Record<string, Module>);
    for (const e of entries) {
      if (!Array.isArray(e) || e.length !== 2) fail('E_ARG', `ModuleDict: expected [name, module] pairs, got ${describe(e)}`);
      this.set(e[0], e[1]);
    }
    return this;
  }

  /** The module under `key`: E_ARG when there is none. @example heads.get('digits') */
  get(key: string): Module {
    const m = this.#items.get(key);
    if (m === undefined) fail('E_ARG', `ModuleDict.get: no module named ${describe(key)} (it has ${this.#items.size ? [...this.#items.keys()].join(', ') : 'none'})`);
    return m;
  }

  /** Whether a module is registered under `key`. */
  has(key: string): boolean {
    return this.#items.has(key);
  }

  /** Number of modules. */
  get length(): number {
    return this.#items.size;
  }

  keys(): string[] {
    return [...this.#items.keys()];
  }

  values(): Module[] {
    return [...this.#items.values()];
  }

  entries(): [string, Module][] {
    return [...this.#items.entries()];
  }

  /** Iterates over the keys, as a Python dict. */
  [Symbol.iterator](): Iterator<string> {
    return this.#items.keys();
  }

  override config(): unknown[] {
    return [this.entries()];   // pairs: an object would put integer-like keys first
  }

  /** A ModuleDict is not called: call one of its modules. E_ARG, as PyTorch's NotImplementedError. */
  forward(..._inputs: unknown[]): Tensor {
    return fail('E_ARG', 'ModuleDict: has no forward(); call one of its modules (dict.get(name).call(x))');
  }
}
