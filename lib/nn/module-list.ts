/**
 * `ModuleList`: modules held in a list, as `torch.nn.ModuleList`. The children are registered
 * under their positions ('0', '1', …), so `parameters()`, `stateDict()` ('0.weight', …),
 * `train()`/`eval()`, `to()` and `dispose()` see them; the list has no `forward` of its own:
 * the owner decides how its modules are called.
 */
import { fail } from '../errors';
import type { Tensor } from '../tensor';
import { checkInt, describe } from '../validate';
import { Module } from './module';

/**
 * @example
 * class Mlp extends nn.Module {
 *   layers = this.registerModule('layers', new nn.ModuleList([new nn.Linear(4, 8), new nn.Linear(8, 2)]));
 *   forward(x: Tensor) { for (const l of this.layers) x = F.relu(l.call(x)); return x; }
 * }
 */
export class ModuleList extends Module implements Iterable<Module> {
  readonly #items: Module[] = [];

  constructor(modules: Iterable<Module> = []) {
    super();
    if (modules === null || typeof (modules as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') {
      fail('E_ARG', `ModuleList: expected an array (or iterable) of modules, got ${describe(modules)}`);
    }
    this.extend(modules);
  }

  protected override childReplaced(name: string, _old: Module, module: Module): void {
    this.#items[Number(name)] = module;   // children are named by position
  }

  /** Adds a module at the end (named by its position). Returns this. @example list.append(new nn.ReLU()) */
  append(module: Module): this {
    if (!(module instanceof Module)) fail('E_ARG', `ModuleList.append: expected a Module, got ${describe(module)}`);
    this.registerModule(String(this.#items.length), module);
    this.#items.push(module);
    return this;
  }

  /** Appends every module of `modules`, in order. Returns this. */
  extend(modules: Iterable<Module>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  /** Number of modules. */
  get length(): number {
    return this.#items.length;
  }

  /** The module at position i (negative counts from the end). @example list.at(-1) */
  at(i: number): Module {
    checkInt('ModuleList.at', 'i', i);
    const k = i < 0 ? i + this.#items.length : i;
    if (k < 0 || k >= this.#items.length) fail('E_INDEX', `ModuleList.at: index ${i} is out of range for ${this.#items.length} modules`);
    return this.#items[k];
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.#items[Symbol.iterator]();
  }

  override config(): unknown[] {
    return [this.#items.slice()];
  }

  /** A ModuleList is not called: iterate over it. E_ARG, as PyTorch's NotImplementedError. */
  forward(..._inputs: unknown[]): Tensor {
    return fail('E_ARG', 'ModuleList: has no forward(); call its modules (for (const m of list) x = m.call(x))');
  }
}
