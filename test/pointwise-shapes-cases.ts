/**
 * The cases of test/fixtures/pointwise_shapes.json (test/fixtures/make/pointwise_shapes.py:
 * PyTorch's float64 values and gradients from float32 inputs), run by test/pointwise.test.ts and
 * test/shapes.test.ts, each for the ops it covers.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { expectClose, loadFixture } from './helpers';

// NaN and the infinities come as strings (JSON has no such numbers): Number() reads them.
export type Values = { shape: number[]; values: (number | string)[]; dtype?: 'int32' };
export interface Case { op: string; inputs: Values[]; args: Record<string, unknown>; y: Values[]; dy?: Values; dx?: (Values | null)[] }

export const numbers = (v: Values): number[] => v.values.map(Number);
export const make = (v: Values, requiresGrad = false): cc.Tensor =>
  cc.tensor(numbers(v), { shape: v.shape, dtype: v.dtype ?? 'float32', requiresGrad: requiresGrad && v.dtype === undefined });

/**
 * One `it` per case of the ops in `apply`: every output's shape, dtype and values, and, where
 * the case has them, the gradients of sum(y[0] * dy) to each float input.
 */
export function fixtureCases(apply: Record<string, (inputs: cc.Tensor[], args: Record<string, unknown>) => cc.Tensor | cc.Tensor[]>): void {
  const { cases } = loadFixture<{ cases: Case[] }>('pointwise_shapes');
  const mine = cases.filter((c) => c.op in apply);
  it(`the fixture holds cases of every op (${Object.keys(apply).length})`, () => {
    for (const op of Object.keys(apply)) expect(mine.some((c) => c.op === op), op).to.equal(true);
  });
  for (const c of mine) {
    it(`${c.op} ${JSON.stringify(c.args)} ${c.inputs.map((i) => `[${i.shape.join(', ')}]`).join(' ')} matches PyTorch${c.dx ? ' (values, gradients)' : ''}`, () => {
      const inputs = c.inputs.map((v) => make(v, c.dx !== undefined));
      const out = apply[c.op](inputs, c.args);
      const ys = Array.isArray(out) ? out : [out];
      expect(ys.length, 'outputs').to.equal(c.y.length);
      ys.forEach((y, k) => {
        expect(y.shape, `y${k} shape`).to.deep.equal(c.y[k].shape);
        expect(y.dtype, `y${k} dtype`).to.equal(c.y[k].dtype ?? 'float32');
        expectClose(y.dataSync(), numbers(c.y[k]), 1e-5, 1e-6, `y${k}`);
      });
      if (!c.dx) return;
      ys[0].backward(make(c.dy!));
      c.dx.forEach((dx, i) => {
        if (dx === null) return;
        const g = inputs[i].grad;
        // PyTorch gives zeros to an input that only decides a sign or a branch; the tape, none.
        if (g === null) expect(numbers(dx).every((v) => v === 0), `dx${i}: no gradient, PyTorch's is not 0`).to.equal(true);
        else expectClose(g.dataSync(), numbers(dx), 1e-4, 1e-5, `dx${i}`);
      });
    });
  }
}
