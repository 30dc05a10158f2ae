/**
 * `ParameterDict`: parameters held by name, as `torch.nn.ParameterDict`. Each is registered
 * under its key, in insertion order, so `parameters()`, `stateDict()` ('key', or 'owner.key'),
 * `to()` and `dispose()` see them; a plain tensor becomes a Parameter (sharing its memory).
 * It has no `forward`: the owner picks the parameters it uses (an embedding per language, a
 * bias per task).
 */
import type { Tensor } from '../tensor';
import type { Parameter } from './module';
import { NamedContainer } from './named-container';
import { asParameter } from './parameter-list';

/**
 * @example
 * const biases = new nn.ParameterDict({ digits: cc.zeros([10]), parity: cc.zeros([2]) });
 * const logits = cc.add(head.call(x), biases.get('digits'));
 */
export class ParameterDict extends NamedContainer<Parameter, Parameter | Tensor> {
  protected readonly noun = 'parameter';
  protected readonly usage = 'use its parameters (dict.get(name))';

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
    const old = this.items.get(key);
    if (old !== undefined) this.replaceParameter(key, p);
    else this.registerParameter(key, p);   // checks the name (letters, digits and _)
    this.items.set(key, p);
    return old ?? null;
  }

  override extraRepr(): string {
    return this.entries().map(([k, p]) => `(${k}): Parameter containing: [Tensor of shape [${p.shape.join(', ')}]]`).join('\n');
  }
}
