/**
 * `ParameterDict`: parameters held by name, as `torch.nn.ParameterDict`. Each is registered
 * under its key, in insertion order, so `parameters()`, `stateDict()` ('key', or 'owner.key'),
 * `to()` and `dispose()` see them; a plain tensor becomes a Parameter (sharing its memory).
 * It has no `forward`: the owner picks the parameters it uses (an embedding per language, a
 * bias per task).
 */
import { fail } from '../errors';
import type { Tensor } from '../tensor';
import { describe } from '../validate';
import { Module, type Parameter } from './module';
import { asParameter } from './parameter-list';

/**
 * @example
 * const biases = new nn.ParameterDict({ digits: cc.zeros([10]), parity: cc.zeros([2]) });
 * const logits = cc.add(head.call(x), biases.get('digits'));
 */
export class ParameterDict extends Module implements Iterable<string> {
  readonly #items = new Map<string, Parameter>();

  /** `values`: an object of name -> parameter (or tensor), or [name, parameter] pairs (kept in their order). */
  constructor(values: Record<string, Parameter | Tensor> | Iterable<readonly [string, Parameter | Tensor]> = {}) {
    super();
    this.update(values);
  }

  /**
   * Adds `value` (a parameter, or a tensor made one) under `key` (PyTorch's `dict[key] = p`); a
   * key already there gets it in its place, keeping its position (the old one is returned for
   * the caller to dispose or keep), else null.
   */
  set(key: string, value: Parameter | Tensor): Parameter | null {
    const p = asParameter('ParameterDict.set', value);
    const old = this.#items.get(key);
    if (old !== undefined) this.replaceParameter(key, p);
    else this.registerParameter(key, p);   // checks the name (letters, digits and _)
    this.#items.set(key, p);
    return old ?? null;
  }

  /** Adds every entry of `values` (an object or [name, parameter] pairs), as PyTorch's update. Returns this. */
  update(values: Record<string, Parameter | Tensor> | Iterable<readonly [string, Parameter | Tensor]>): this {
    if (values === null || typeof values !== 'object') fail('E_ARG', `ParameterDict: expected an object of parameters or [name, parameter] pairs, got ${describe(values)}`);
    const iterable = typeof (values as Iterable<unknown>)[Symbol.iterator] === 'function' && !('shape' in values);
    // Walked, not copied: a sparse array of 2^31 - 1 holes fails at its first entry.
    const entries = iterable ? values as Iterable<readonly [string, Parameter | Tensor]> : Object.entries(values as Record<string, Parameter | Tensor>);
    for (const e of entries) {
      if (!Array.isArray(e) || e.length !== 2) fail('E_ARG', `ParameterDict: expected [name, parameter] pairs, got ${describe(e)}`);
      this.set(e[0], e[1]);
    }
    return this;
  }

  /** The parameter under `key`: E_ARG when there is none. @example biases.get('digits') */
  get(key: string): Parameter {
    const p = this.#items.get(key);
    if (p === undefined) fail('E_ARG', `ParameterDict.get: no parameter named ${describe(key)} (it has ${this.#items.size ? [...this.#items.keys()].join(', ') : 'none'})`);
    return p;
  }

  /** Whether a parameter is registered under `key`. */
  has(key: string): boolean {
    return this.#items.has(key);
  }

  /** Number of parameters. */
  get length(): number {
    return this.#items.size;
  }

  keys(): string[] {
    return [...this.#items.keys()];
  }

  values(): Parameter[] {
    return [...this.#items.values()];
  }

  entries(): [string, Parameter][] {
    return [...this.#items.entries()];
  }

  /** Iterates over the keys, as a Python dict. */
  [Symbol.iterator](): Iterator<string> {
    return this.#items.keys();
  }

  override config(): unknown[] {
    return [this.entries()];   // pairs (an object would put integer-like keys first); values saved as shapes
  }

  override extraRepr(): string {
    return this.entries().map(([k, p]) => `(${k}): Parameter containing: [Tensor of shape [${p.shape.join(', ')}]]`).join('\n');
  }

  /** A ParameterDict is not called: use its parameters. E_ARG, as PyTorch's NotImplementedError. */
  forward(..._inputs: unknown[]): Tensor {
    return fail('E_ARG', 'ParameterDict: has no forward(); use its parameters (dict.get(name))');
  }
}
