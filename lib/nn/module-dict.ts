/**
 * `ModuleDict`: modules held by name, as `torch.nn.ModuleDict`. Each is a registered child under
 * its key, so `parameters()`, `stateDict()` ('key.weight', …), `train()`/`eval()`, `to()` and
 * `dispose()` see them, in insertion order; like ModuleList it has no `forward`: the owner picks
 * which module to call (a head per task, an encoder per modality).
 */
import { fail } from '../errors';
import { describe } from '../validate';
import { Module } from './module';
import { NamedContainer } from './named-container';

/**
 * @example
 * class MultiHead extends nn.Module {
 *   heads = this.registerModule('heads', new nn.ModuleDict({ digits: new nn.Linear(64, 10), parity: new nn.Linear(64, 2) }));
 *   forward(x: Tensor, task: string) { return this.heads.get(task).call(x); }
 * }
 */
export class ModuleDict extends NamedContainer<Module> {
  protected readonly noun = 'module';
  protected readonly usage = 'call one of its modules (dict.get(name).call(x))';

  /** `modules`: an object of name -> module, or [name, module] pairs (kept in their order). */
  constructor(modules: Record<string, Module> | Iterable<readonly [string, Module]> = {}) {
    super();
    this.update(modules);
  }

  protected override childReplaced(name: string, _old: Module, module: Module): void {
    this.items.set(name, module);
  }

  /**
   * Adds `module` under `key` (PyTorch's `dict[key] = module`); a key already there gets the new
   * module in its place (the old one is returned for the caller to dispose or keep), else null.
   */
  set(key: string, module: Module): Module | null {
    if (!(module instanceof Module)) fail('E_ARG', `ModuleDict.set: expected a Module for ${describe(key)}, got ${describe(module)}`);
    const old = this.items.get(key);
    if (old !== undefined) return this.replaceModule(key, module);
    this.registerModule(key, module);   // checks the name (letters, digits and _)
    this.items.set(key, module);
    return null;
  }
}
