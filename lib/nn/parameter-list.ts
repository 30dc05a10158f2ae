/**
 * `ParameterList`: parameters held in a list, as `torch.nn.ParameterList`. Each is registered
 * under its position ('0', '1', …), so `parameters()`, `stateDict()`, `to()` and `dispose()` see
 * them; a plain tensor given to it becomes a Parameter (sharing its memory), as PyTorch's. Like
 * ModuleList it has no `forward`: the owner decides how the parameters are used (one scale per
 * layer, weights of a varying number of branches).
 */
import { fail } from '../errors';
import { Tensor } from '../tensor';
import { checkInt, describe, isTensor } from '../validate';
import { Module, Parameter } from './module';

/** A Parameter as it is; a float32 tensor as a new Parameter on its memory. */
export function asParameter(op: string, value: unknown): Parameter {
  if (value instanceof Parameter) return value;
  if (!isTensor(value)) fail('E_ARG', `${op}: expected a Parameter or a tensor, got ${describe(value)}`);
  return new Parameter(value as Tensor);
}

/**
 * @example
 * class Gates extends nn.Module {
 *   scales = this.registerModule('scales', new nn.ParameterList([cc.ones([8]), cc.ones([8])]));
 *   forward(x: Tensor) { for (const s of this.scales) x = cc.mul(x, s); return x; }
 * }
 */
export class ParameterList extends Module implements Iterable<Parameter> {
  readonly #items: Parameter[] = [];

  constructor(values: Iterable<Parameter | Tensor> = []) {
    super();
    if (values === null || typeof (values as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') {
      fail('E_ARG', `ParameterList: expected an array (or iterable) of parameters, got ${describe(values)}`);
    }
    this.extend(values);
  }

  /** Adds a parameter (or a tensor, made one) at the end. Returns this. @example list.append(cc.zeros([4])) */
  append(value: Parameter | Tensor): this {
    const p = asParameter('ParameterList.append', value);
    this.registerParameter(String(this.#items.length), p);
    this.#items.push(p);
    return this;
  }

  /** Appends every parameter of `values`, in order. Returns this. */
  extend(values: Iterable<Parameter | Tensor>): this {
    for (const v of values) this.append(v);
    return this;
  }

  /** Number of parameters. */
  get length(): number {
    return this.#items.length;
  }

  #index(op: string, i: number): number {
    checkInt(op, 'i', i);
    const k = i < 0 ? i + this.#items.length : i;
    if (k < 0 || k >= this.#items.length) fail('E_INDEX', `${op}: index ${i} is out of range for ${this.#items.length} parameters`);
    return k;
  }

  /** The parameter at position i (negative counts from the end). @example list.at(-1) */
  at(i: number): Parameter {
    return this.#items[this.#index('ParameterList.at', i)];
  }

  /**
   * Puts a parameter (or a tensor, made one) at position i (PyTorch's `list[i] = p`) and returns
   * the one it replaces, for the caller to dispose or keep.
   */
  set(i: number, value: Parameter | Tensor): Parameter {
    const k = this.#index('ParameterList.set', i);
    const p = asParameter('ParameterList.set', value);
    this.replaceParameter(String(k), p);
    const old = this.#items[k];
    this.#items[k] = p;
    return old;
  }

  [Symbol.iterator](): Iterator<Parameter> {
    return this.#items[Symbol.iterator]();
  }

  override config(): unknown[] {
    return [this.#items.slice()];   // saved as shapes; the values come with the state dict
  }

  override extraRepr(): string {
    return this.#items.map((p, i) => `(${i}): Parameter containing: [Tensor of shape [${p.shape.join(', ')}]]`).join('\n');
  }

  /** A ParameterList is not called: use its parameters. E_ARG, as PyTorch's NotImplementedError. */
  forward(..._inputs: unknown[]): Tensor {
    return fail('E_ARG', 'ParameterList: has no forward(); use its parameters (for (const p of list) ...)');
  }
}
