/**
 * `Sequential`: modules applied one after another, as `torch.nn.Sequential`. Children are
 * named '0', '1', … (or by the keys of an object), so parameters are `0.weight`, `3.bias`, …
 * exactly as PyTorch's state-dict keys.
 */
import { fail } from '../errors';
import type { Tensor } from '../tensor';
import { checkInt, describe } from '../validate';
import { runLayers } from './fused-activation';
import { Module } from './module';

/**
 * @example
 * const model = new nn.Sequential(
 *   new nn.Conv2d(1, 6, 5), new nn.ReLU(), new nn.MaxPool2d(2),
 *   new nn.Flatten(), new nn.Linear(6 * 12 * 12, 10),
 * );
 * const logits = model.call(x);   // x: [N, 1, 28, 28]
 * const named = new nn.Sequential({ conv: new nn.Conv2d(1, 6, 5), relu: new nn.ReLU() });
 */
export class Sequential extends Module {
  readonly #layers: Module[] = [];

  constructor(...layers: Module[] | [Record<string, Module>]) {
    super();
    if (layers.length === 1 && !(layers[0] instanceof Module) && typeof layers[0] === 'object' && layers[0] !== null) {
      for (const [name, m] of Object.entries(layers[0] as Record<string, Module>)) this.#add(name, m);
    } else {
      for (const m of layers as Module[]) this.append(m);
    }
  }

  #add(name: string, m: unknown): void {
    if (!(m instanceof Module)) fail('E_ARG', `Sequential: layer \`${name}\` must be a Module, got ${describe(m)}`);
    this.registerModule(name, m);
    this.#layers.push(m);
  }

  protected override childReplaced(name: string, _old: Module, module: Module): void {
    this.#layers[this.namedChildren().findIndex(([n]) => n === name)] = module;
  }

  /** Adds a layer at the end (named by its position). Returns this. @example model.append(new nn.ReLU()) */
  append(layer: Module): this {
    this.#add(String(this.#layers.length), layer);
    return this;
  }

  /** Number of layers. */
  get length(): number {
    return this.#layers.length;
  }

  /** The layer at position i (negative counts from the end). @example model.at(-1) */
  at(i: number): Module {
    checkInt('Sequential.at', 'i', i);
    const k = i < 0 ? i + this.#layers.length : i;
    if (k < 0 || k >= this.#layers.length) fail('E_INDEX', `Sequential.at: index ${i} is out of range for ${this.#layers.length} layers`);
    return this.#layers[k];
  }

  /**
   * The layers as constructor arguments: positional when they are named '0', '1', … in order,
   * otherwise one object by name (E_ARG if JavaScript's key order, which puts integer-like keys
   * first, would reorder them).
   */
  override config(): unknown[] {
    const named = this.namedChildren();
    if (named.every(([name], i) => name === String(i))) return named.map(([, m]) => m);
    const byName = Object.fromEntries(named);
    if (Object.keys(byName).some((k, i) => k !== named[i][0])) {
      fail('E_ARG', `Sequential.config: layers named ${named.map(([k]) => `"${k}"`).join(', ')} cannot be given back in this order as an object`);
    }
    return [byName];
  }

  forward(x: Tensor): Tensor {
    // With gradients off, a convolution and the activation after it run as one op
    // (fused-activation.ts).
    return runLayers(this.#layers, x);
  }
}
