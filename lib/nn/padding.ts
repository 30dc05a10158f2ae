/**
 * PyTorch's padding layers, each over `F.pad`: ZeroPad2d, ConstantPad2d, ReflectionPad2d and
 * ReplicationPad2d pad the last two axes ([left, right, top, bottom]); the 1d ones the last axis
 * ([left, right]); the 3d ones the last three ([left, right, top, bottom, front, back]). `padding` is one integer for every side or one per side. (`nn.Pad2d` does all
 * four 2-D modes in one class.)
 */
import { fail } from '../errors';
import * as F from './functional/index';
import { checkPadOptions } from './functional/sampling';
import type { DType, Tensor } from '../tensor';
import { checkTensor, describe, shapeStr } from '../validate';
import { Module } from './module';

/** [left, right] of a 1d pad. */
export type Padding1 = number | readonly [number, number];
/** [left, right, top, bottom] of a 2d pad. */
export type Padding2 = number | readonly [number, number, number, number];
/** [left, right, top, bottom, front, back] of a 3d pad. */
export type Padding3 = number | readonly [number, number, number, number, number, number];

abstract class PadNd extends Module {
  readonly padding: readonly number[];
  readonly #op: string;
  readonly #mode: F.PadMode;
  readonly #value: number;

  protected constructor(op: string, padding: unknown, sides: 2 | 4 | 6, mode: F.PadMode, value: number) {
    super();
    const p = typeof padding === 'number' ? new Array<number>(sides).fill(padding) : padding;
    const layout = ['[left, right]', '[left, right, top, bottom]', '[left, right, top, bottom, front, back]'][sides / 2 - 1];
    if (!Array.isArray(p) || p.length !== sides || !p.every((v) => typeof v === 'number' && Number.isSafeInteger(v))) {
      fail('E_ARG', `${op}: expected \`padding\` an integer or ${layout} integers, got ${describe(padding)}`);
    }
    if (mode !== 'constant' && p.some((v) => v < 0)) fail('E_ARG', `${op}: expected non-negative padding, got ${describe(padding)}`);
    checkPadOptions(op, p, mode, value);
    this.padding = Object.freeze([...p]);
    this.#op = op;
    this.#mode = mode;
    this.#value = value;
  }

  forward<D extends DType>(x: Tensor<D>): Tensor<D> {
    const t = checkTensor(this.#op, 'input', x) as Tensor<D>;
    const dims = this.padding.length / 2;
    if (this.#mode !== 'constant' && t.rank !== dims + 1 && t.rank !== dims + 2) {
      fail('E_SHAPE', `${this.#op}: expected input of shape ${['[N, C, L] or [C, L]', '[N, C, H, W] or [C, H, W]', '[N, C, D, H, W] or [C, D, H, W]'][dims - 1]}, got ${shapeStr(t.shape)}`);
    }
    if (t.rank < dims) fail('E_SHAPE', `${this.#op}: expected input with at least ${dims} dimensions, got ${shapeStr(t.shape)}`);
    return F.pad(t, this.padding, this.#mode, this.#value);
  }

  protected tuple(): string {
    return `(${this.padding.join(', ')})`;
  }
}

/** Zero padding of the last two axes, as torch.nn.ZeroPad2d. @example new nn.ZeroPad2d([1, 1, 2, 0]) */
export class ZeroPad2d extends PadNd {
  constructor(padding: Padding2) {
    super('ZeroPad2d', padding, 4, 'constant', 0);
  }

  override config(): unknown[] {
    return [[...this.padding]];
  }

  override extraRepr(): string {
    return this.tuple();
  }
}

/** Constant (`value`) padding of the last two axes, as torch.nn.ConstantPad2d. @example new nn.ConstantPad2d(2, -1) */
export class ConstantPad2d extends PadNd {
  constructor(padding: Padding2, readonly value: number) {
    super('ConstantPad2d', padding, 4, 'constant', value);
  }

  override config(): unknown[] {
    return [[...this.padding], this.value];
  }

  override extraRepr(): string {
    return `padding=${this.tuple()}, value=${this.value}`;
  }
}

/** Reflection padding (the edge not repeated) of [N, C, H, W] or [C, H, W], as torch.nn.ReflectionPad2d. @example new nn.ReflectionPad2d(3) */
export class ReflectionPad2d extends PadNd {
  constructor(padding: Padding2) {
    super('ReflectionPad2d', padding, 4, 'reflect', 0);
  }

  override config(): unknown[] {
    return [[...this.padding]];
  }

  override extraRepr(): string {
    return this.tuple();
  }
}

/** Replication padding (the edge repeated) of [N, C, H, W] or [C, H, W], as torch.nn.ReplicationPad2d. @example new nn.ReplicationPad2d(1) */
export class ReplicationPad2d extends PadNd {
  constructor(padding: Padding2) {
    super('ReplicationPad2d', padding, 4, 'replicate', 0);
  }

  override config(): unknown[] {
    return [[...this.padding]];
  }

  override extraRepr(): string {
    return this.tuple();
  }
}

/** Zero padding of the last axis, as torch.nn.ZeroPad1d (PyTorch 2.1+). @example new nn.ZeroPad1d([2, 0]) */
export class ZeroPad1d extends PadNd {
  constructor(padding: Padding1) {
    super('ZeroPad1d', padding, 2, 'constant', 0);
  }

  override config(): unknown[] {
    return [[...this.padding]];
  }

  override extraRepr(): string {
    return this.tuple();
  }
}

/** Constant (`value`) padding of the last axis, as torch.nn.ConstantPad1d. @example new nn.ConstantPad1d(2, 3.5) */
export class ConstantPad1d extends PadNd {
  constructor(padding: Padding1, readonly value: number) {
    super('ConstantPad1d', padding, 2, 'constant', value);
  }

  override config(): unknown[] {
    return [[...this.padding], this.value];
  }

  override extraRepr(): string {
    return `padding=${this.tuple()}, value=${this.value}`;
  }
}

/** Reflection padding of [N, C, L] or [C, L], as torch.nn.ReflectionPad1d. @example new nn.ReflectionPad1d(2) */
export class ReflectionPad1d extends PadNd {
  constructor(padding: Padding1) {
    super('ReflectionPad1d', padding, 2, 'reflect', 0);
  }

  override config(): unknown[] {
    return [[...this.padding]];
  }

  override extraRepr(): string {
    return this.tuple();
  }
}

/** Replication padding of [N, C, L] or [C, L], as torch.nn.ReplicationPad1d. @example new nn.ReplicationPad1d([3, 1]) */
export class ReplicationPad1d extends PadNd {
  constructor(padding: Padding1) {
    super('ReplicationPad1d', padding, 2, 'replicate', 0);
  }

  override config(): unknown[] {
    return [[...this.padding]];
  }

  override extraRepr(): string {
    return this.tuple();
  }
}

/** Zero padding of the last three axes, as torch.nn.ZeroPad3d (PyTorch 2.1+). @example new nn.ZeroPad3d([1, 1, 1, 1, 0, 0]) */
export class ZeroPad3d extends PadNd {
  constructor(padding: Padding3) {
    super('ZeroPad3d', padding, 6, 'constant', 0);
  }

  override config(): unknown[] {
    return [[...this.padding]];
  }

  override extraRepr(): string {
    return this.tuple();
  }
}

/** Constant (`value`) padding of the last three axes, as torch.nn.ConstantPad3d. @example new nn.ConstantPad3d(1, 0.5) */
export class ConstantPad3d extends PadNd {
  constructor(padding: Padding3, readonly value: number) {
    super('ConstantPad3d', padding, 6, 'constant', value);
  }

  override config(): unknown[] {
    return [[...this.padding], this.value];
  }

  override extraRepr(): string {
    return `padding=${this.tuple()}, value=${this.value}`;
  }
}

/** Reflection padding of [N, C, D, H, W] or [C, D, H, W], as torch.nn.ReflectionPad3d. @example new nn.ReflectionPad3d(1) */
export class ReflectionPad3d extends PadNd {
  constructor(padding: Padding3) {
    super('ReflectionPad3d', padding, 6, 'reflect', 0);
  }

  override config(): unknown[] {
    return [[...this.padding]];
  }

  override extraRepr(): string {
    return this.tuple();
  }
}

/** Replication padding of [N, C, D, H, W] or [C, D, H, W], as torch.nn.ReplicationPad3d. @example new nn.ReplicationPad3d(1) */
export class ReplicationPad3d extends PadNd {
  constructor(padding: Padding3) {
    super('ReplicationPad3d', padding, 6, 'replicate', 0);
  }

  override config(): unknown[] {
    return [[...this.padding]];
  }

  override extraRepr(): string {
    return this.tuple();
  }
}
