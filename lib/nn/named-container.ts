/**
 * @internal What ModuleDict and ParameterDict share: entries by name in insertion order, read as
 * a Python dict (`get`, `has`, `keys`, `values`, `entries`, iteration over the keys), `update`
 * from an object or [name, value] pairs, and no `forward`. Each subclass says how an entry is
 * registered (`set`) and what it is called in messages.
 */
import { fail } from '../errors';
import type { Tensor } from '../tensor';
import { describe } from '../validate';
import { Module } from './module';

export abstract class NamedContainer<V, In = V> extends Module implements Iterable<string> {
  protected readonly items = new Map<string, V>();

  /** The entries' kind in messages ('module', 'parameter'), and how to use the container. */
  protected abstract readonly noun: string;
  protected abstract readonly usage: string;

  /** Adds `value` under `key`; one already there is replaced in place and returned, else null. */
  abstract set(key: string, value: In): V | null;

  /** Adds every entry of `values` (an object or [name, value] pairs), as PyTorch's update. Returns this. */
  update(values: Record<string, In> | Iterable<readonly [string, In]>): this {
    const op = this.typeName;
    if (values === null || typeof values !== 'object') fail('E_ARG', `${op}: expected an object of ${this.noun}s or [name, ${this.noun}] pairs, got ${describe(values)}`);
    const iterable = typeof (values as Iterable<unknown>)[Symbol.iterator] === 'function' && !('shape' in values);
    // Walked, not copied: a sparse array of 2^31 - 1 holes fails at its first entry.
    const entries = iterable ? values as Iterable<readonly [string, In]> : Object.entries(values as Record<string, In>);
    for (const e of entries) {
      if (!Array.isArray(e) || e.length !== 2) fail('E_ARG', `${op}: expected [name, ${this.noun}] pairs, got ${describe(e)}`);
      this.set(e[0], e[1]);
    }
    return this;
  }

  /** The entry under `key`: E_ARG when there is none. */
  get(key: string): V {
    const v = this.items.get(key);
    if (v === undefined) fail('E_ARG', `${this.typeName}.get: no ${this.noun} named ${describe(key)} (it has ${this.items.size ? [...this.items.keys()].join(', ') : 'none'})`);
    return v;
  }

  /** Whether an entry is registered under `key`. */
  has(key: string): boolean {
    return this.items.has(key);
  }

  /** Number of entries. */
  get length(): number {
    return this.items.size;
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  values(): V[] {
    return [...this.items.values()];
  }

  entries(): [string, V][] {
    return [...this.items.entries()];
  }

  /** Iterates over the keys, as a Python dict. */
  [Symbol.iterator](): Iterator<string> {
    return this.items.keys();
  }

  override config(): unknown[] {
    return [this.entries()];   // pairs: an object would put integer-like keys first
  }

  /** Not called: use the entries. E_ARG, as PyTorch's NotImplementedError. */
  forward(..._inputs: unknown[]): Tensor {
    return fail('E_ARG', `${this.typeName}: has no forward(); ${this.usage}`);
  }
}
