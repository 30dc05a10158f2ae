/**
 * einsum against a float64 loop over every assignment of the labels (the definition), on
 * matmuls, batches, traces, diagonals, outer products, ellipses with broadcasting, implicit
 * outputs and chains of operands; gradients by finite differences; errors by class and code.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { expectClose, expectError, randomTensor, settle, tapeCheck } from './helpers';

/** einsum by its definition, in float64: every label assignment, the products summed into the output. */
function reference(equation: string, shapes: number[][], values: Float64Array[]): { shape: number[]; values: Float64Array } {
  const [lhs, rhsGiven] = equation.replace(/\s+/g, '').split('->');
  const specs = lhs.split(',');
  // Ellipsis axes become labels '0', '1', … counted from the right, as wide as the widest.
  const width = Math.max(0, ...specs.map((s, i) => (s.includes('...') ? shapes[i].length - s.replace('...', '').length : 0)));
  const dotLabels = Array.from({ length: width }, (_, k) => String(width - 1 - k));
  const expandSpec = (s: string, rank: number) => {
    if (!s.includes('...')) return [...s];
    const [pre, post] = s.split('...'), covered = rank - pre.length - post.length;
    return [...pre, ...dotLabels.slice(width - covered), ...post];
  };
  const labels = specs.map((s, i) => expandSpec(s, shapes[i].length));
  const size = new Map<string, number>();
  labels.forEach((ls, i) => ls.forEach((l, a) => size.set(l, Math.max(size.get(l) ?? 1, shapes[i][a]))));
  let out: string[];
  if (rhsGiven !== undefined) {
    out = rhsGiven.includes('...') ? expandSpec(rhsGiven, rhsGiven.length - 3 + width) : [...rhsGiven];
  } else {
    const counts = new Map<string, number>();
    for (const ch of lhs.replace(/\.\.\./g, '').replace(/,/g, '')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    out = [...dotLabels, ...[...counts.keys()].filter((l) => counts.get(l) === 1).sort()];
  }
  const all = [...size.keys()];
  const outShape = out.map((l) => size.get(l)!);
  const result = new Float64Array(outShape.reduce((p, s) => p * s, 1));
  const at = new Map<string, number>();
  const visit = (k: number): void => {
    if (k === all.length) {
      let p = 1;
      labels.forEach((ls, i) => {
        let idx = 0;
        ls.forEach((l, a) => { idx = idx * shapes[i][a] + (shapes[i][a] === 1 ? 0 : at.get(l)!); });
        p *= values[i][idx];
      });
      let o = 0;
      out.forEach((l, a) => { o = o * outShape[a] + at.get(l)!; });
      result[o] += p;
      return;
    }
    for (let v = 0; v < size.get(all[k])!; v++) { at.set(all[k], v); visit(k + 1); }
  };
  visit(0);
  return { shape: outShape, values: result };
}

const CASES: [string, number[][]][] = [
  ['ij,jk->ik', [[3, 4], [4, 5]]],
  ['bij,bjk->bik', [[2, 3, 4], [2, 4, 2]]],
  ['bhqd,bhkd->bhqk', [[2, 2, 3, 4], [2, 2, 5, 4]]],
  ['ii->', [[4, 4]]],
  ['ii', [[3, 3]]],
  ['ii->i', [[4, 4]]],
  ['iij,j->i', [[3, 3, 2], [2]]],
  ['i,j->ij', [[3], [4]]],
  ['ij->ji', [[3, 5]]],
  ['ij->', [[3, 5]]],
  ['ij->j', [[3, 5]]],
  ['ij,jk', [[2, 3], [3, 4]]],
  ['ba', [[2, 3]]],
  ['Ab,ba', [[2, 3], [3, 5]]],
  ['...ij,...jk->...ik', [[2, 1, 3, 4], [3, 4, 2]]],
  ['...ij,...jk', [[2, 3, 4], [4, 2]]],
  ['...ij->ij', [[2, 3, 4]]],
  ['i...->...', [[3, 2, 2]]],
  ['bn,anm,bm->ba', [[2, 3], [4, 3, 5], [2, 5]]],
  ['ij,jk,kl->il', [[2, 3], [3, 4], [4, 2]]],
  ['i,i->i', [[1], [3]]],
  ['ij,jk->ik', [[2, 1], [3, 4]]],
  ['i,i->', [[5], [5]]],
  ['ijk,ikj->i', [[2, 3, 3], [2, 3, 3]]],
];

describe('einsum', () => {
  for (const [eq, shapes] of CASES) {
    it(`'${eq}' on ${shapes.map((s) => `[${s}]`).join(', ')} matches the definition in float64`, () => {
      const made = shapes.map((s, i) => randomTensor(s, 10 + i));
      const y = cc.einsum(eq, ...made.map((m) => m.t));
      const want = reference(eq, shapes, made.map((m) => m.v));
      expect(y.shape).to.deep.equal(want.shape);
      expectClose(y.dataSync(), want.values, 1e-5, 1e-5);
      y.dispose();
      for (const m of made) m.t.dispose();
    });
  }

  it('takes its operands as one array too, returns a new tensor for an identity, leaves nothing behind', async () => {
    await settle();
    const { t: a } = randomTensor([2, 3], 1), { t: b } = randomTensor([3, 2], 2);
    const before = cc.memory().tensors;
    const y = cc.einsum('ij,jk->ik', [a, b]);
    expect(Array.from(y.dataSync())).to.deep.equal(Array.from(cc.tidy(() => cc.matmul(a, b)).dataSync()));
    const same = cc.einsum('ij', a);
    expect(same).to.not.equal(a);
    same.dispose();
    expect(a.isDisposed).to.equal(false);
    y.dispose();
    await settle();
    expect(cc.memory().tensors).to.equal(before);
    a.dispose(); b.dispose();
  });

  it('gradients against finite differences (attention, trace and diagonal, a chain, broadcast ellipsis)', () => {
    tapeCheck('bhqd,bhkd->bhqk', [{ shape: [1, 2, 3, 2] }, { shape: [1, 2, 2, 2] }], ([q, k]) => cc.einsum('bhqd,bhkd->bhqk', q, k).square().sum());
    tapeCheck('iij,j->i', [{ shape: [3, 3, 2] }, { shape: [2] }], ([a, v]) => cc.einsum('iij,j->i', a, v).square().sum());
    tapeCheck('ij,jk,kl->il', [{ shape: [2, 3] }, { shape: [3, 2] }, { shape: [2, 2] }], ([a, b, c]) => cc.einsum('ij,jk,kl->il', a, b, c).square().sum());
    tapeCheck('...ij,...jk', [{ shape: [2, 1, 2, 3] }, { shape: [3, 3, 2] }], ([a, b]) => cc.einsum('...ij,...jk', a, b).square().sum());
  });

  it('empty axes give empty or zero results; NaN propagates', () => {
    const r = cc.tidy(() => [
      cc.einsum('ij,jk->ik', cc.zeros([2, 0]), cc.zeros([0, 3])),   // an empty sum: zeros
      cc.einsum('ij,jk->ik', cc.zeros([0, 2]), cc.zeros([2, 3])),
      cc.einsum('ii', cc.zeros([0, 0])),
      cc.einsum('i,i->', cc.tensor([NaN, 1]), cc.tensor([1, 1])),
    ]);
    expect(r.map((t) => t.shape)).to.deep.equal([[2, 3], [0, 3], [], []]);
    expect(Array.from(r[0].dataSync())).to.deep.equal([0, 0, 0, 0, 0, 0]);
    expect([r[2].item(), r[3].item()]).to.deep.equal([0, NaN]);
    for (const t of r) t.dispose();
  });

  it('refuses bad equations and operands with typed errors', () => {
    const a = cc.zeros([2, 3]), b = cc.zeros([3, 4]);
    expectError(() => cc.einsum('ij,jk->ik', a), 'E_ARG', /names 2 operand\(s\), but 1/);
    expectError(() => cc.einsum('ijk,jk->ik', a, b), 'E_SHAPE', /names 3 axes, but the operand has 2/);
    expectError(() => cc.einsum('ij,ik->jk', a, b), 'E_SHAPE', /label 'i' has size 2 in one operand and 3/);
    expectError(() => cc.einsum('i1,jk->ik', a, b), 'E_ARG', /subscripts are letters/);
    expectError(() => cc.einsum('ij,jk->iz', a, b), 'E_ARG', /'z' is in no operand/);
    expectError(() => cc.einsum('ij,jk->ii', a, b), 'E_ARG', /names label 'i' twice/);
    expectError(() => cc.einsum('...i...,jk', a, b), 'E_ARG', /more than one ellipsis/);
    expectError(() => cc.einsum('ij->i->j', a), 'E_ARG', /more than one '->'/);
    expectError(() => cc.einsum('ij', cc.zeros([2, 3]).toType('int32')), 'E_DTYPE');
    expectError(() => cc.einsum(5 as never, a), 'E_ARG', /equation/);
    expectError(() => cc.einsum('ij,jk'), 'E_ARG', /at least one operand/);
    expectError(() => cc.einsum('ii', a), 'E_SHAPE', /repeats in one operand over axes of sizes 2 and 3/);
    a.dispose(); b.dispose();
  });
});
