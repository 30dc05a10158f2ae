/**
 * `einsum(equation, ...operands)`, as torch.einsum: sums of products named by subscripts.
 *
 *   einsum('ij,jk->ik', a, b)          matmul           einsum('ii->', a)          trace
 *   einsum('bhqd,bhkd->bhqk', q, k)    attention scores einsum('ii->i', a)         diagonal
 *   einsum('...ij,...jk', a, b)        batched, broadcast ellipsis; no '->': the labels used once, sorted
 *
 * Composed of the library's ops, so gradients and both devices come with them. Each operand
 * first loses its repeated labels (a diagonal, gathered) and the labels nothing else uses
 * (summed out); then the operands are contracted left to right, two at a time, as one batched
 * matmul each: [batch, left-only, contracted] x [batch, contracted, right-only], the labels
 * still needed later (by an operand to come or by the output) kept as batch axes. A label of size
 * 1 broadcasts against the same label's size elsewhere, as in PyTorch.
 */
import { tensor } from './creation';
import { tidy } from './engine';
import { fail } from './errors';
import { expand, indexSelect, matmul, mul, permute, reshape, sum } from './ops';
import type { Tensor } from './tensor';
import { checkFloat, checkSameDevice, describe, shapeStr } from './validate';

type F32 = Tensor<'float32'>;

/** A tensor with a label per axis ('a'…'z', 'A'…'Z', or '.k' for ellipsis axis k, counted from the right). */
interface Term { t: Tensor; labels: string[] }

const LETTER = /^[a-zA-Z]$/;

/** The labels of one subscript string for a tensor of `rank` axes ('...' covering what the letters leave). */
function parseTerm(op: string, spec: string, rank: number, which: string): string[] {
  const dots = spec.split('...');
  if (dots.length > 2) fail('E_ARG', `${op}: ${which} "${spec}" has more than one ellipsis`);
  for (const ch of dots.join('')) {
    if (!LETTER.test(ch)) fail('E_ARG', `${op}: ${which} "${spec}" has ${describe(ch)}: subscripts are letters a-z and A-Z, and '...'`);
  }
  const letters = dots.join('').length;
  if (dots.length === 1) {
    if (letters !== rank) fail('E_SHAPE', `${op}: ${which} "${spec}" names ${letters} axes, but the operand has ${rank} (shape)`);
    return [...spec];
  }
  const covered = rank - letters;
  if (covered < 0) fail('E_SHAPE', `${op}: ${which} "${spec}" names ${letters} axes, more than the operand's ${rank}`);
  return [...dots[0], ...Array.from({ length: covered }, (_, k) => `.${covered - 1 - k}`), ...dots[1]];
}

/** x's diagonal over two axes of equal size, as the last axis (the others keep their order). */
function diagonal(x: Tensor, i: number, j: number): Tensor {
  const n = x.shape[i];
  const rest = x.shape.map((_, a) => a).filter((a) => a !== i && a !== j);
  const moved = reshape(permute(x, [...rest, i, j]), [...rest.map((a) => x.shape[a]), n * n]);
  const index = tensor(Int32Array.from({ length: n }, (_, k) => k * (n + 1)), { dtype: 'int32', device: x.device });
  return indexSelect(moved, rest.length, index);
}

/** Repeated labels of one operand taken down to their diagonal, one at a time. */
function withoutRepeats(term: Term): Term {
  let { t, labels } = term;
  for (;;) {
    const i = labels.findIndex((l, k) => labels.indexOf(l) !== k);
    if (i < 0) return { t, labels };
    const first = labels.indexOf(labels[i]);   // (equal sizes: checked with the others)
    const label = labels[i];
    t = diagonal(t, first, i);
    labels = [...labels.filter((_, k) => k !== first && k !== i), label];
  }
}

/** Sums out the labels not in `keep`. */
function sumOut(term: Term, keep: Set<string>): Term {
  const axes = term.labels.map((l, a) => (keep.has(l) ? -1 : a)).filter((a) => a >= 0);
  if (axes.length === 0) return term;
  return { t: sum(term.t, axes), labels: term.labels.filter((l) => keep.has(l)) };
}

/** `term`'s tensor with its axes in the order of `labels` (all of them its own), size-1 axes expanded to `sizes`. */
function arranged(term: Term, labels: string[], sizes: Map<string, number>): Tensor {
  const perm = labels.map((l) => term.labels.indexOf(l));
  let t = perm.every((p, k) => p === k) ? term.t : permute(term.t, perm);
  const want = labels.map((l) => sizes.get(l)!);
  if (want.some((s, k) => s !== t.shape[k])) t = expand(t, want);
  return t;
}

/** Two operands contracted into one: the labels in `keep` stay, the shared ones not in it are summed. */
function contract(a: Term, b: Term, keep: Set<string>, sizes: Map<string, number>): Term {
  a = sumOut(a, new Set([...keep, ...b.labels]));
  b = sumOut(b, new Set([...keep, ...a.labels]));
  const batch = a.labels.filter((l) => b.labels.includes(l) && keep.has(l));
  const summed = a.labels.filter((l) => b.labels.includes(l) && !keep.has(l));
  const left = a.labels.filter((l) => !b.labels.includes(l));
  const right = b.labels.filter((l) => !a.labels.includes(l));
  const size = (ls: string[]) => ls.reduce((p, l) => p * sizes.get(l)!, 1);
  const [B, M, K, N] = [batch, left, summed, right].map(size);
  // Where an operand's axes already run [batch, contracted, left] (A) or [batch, right,
  // contracted] (B), matmul reads it transposed instead of a permuted copy being made
  // ('bhqd,bhkd->bhqk': k as it is).
  const same = (t: Term, order: string[]) => order.every((l, i) => t.labels[i] === l);
  const transA = !same(a, [...batch, ...left, ...summed]) && same(a, [...batch, ...summed, ...left]);
  const transB = !same(b, [...batch, ...summed, ...right]) && same(b, [...batch, ...right, ...summed]);
  const ta = transA ? reshape(arranged(a, a.labels, sizes), [B, K, M]) : reshape(arranged(a, [...batch, ...left, ...summed], sizes), [B, M, K]);
  const tb = transB ? reshape(arranged(b, b.labels, sizes), [B, N, K]) : reshape(arranged(b, [...batch, ...summed, ...right], sizes), [B, K, N]);
  // No shared label summed: an outer product per batch (a broadcast multiply), no matmul of depth 1.
  const product = K === 1 && summed.length === 0
    ? mul(reshape(ta, [B, M, 1]), reshape(tb, [B, 1, N]))
    : matmul(ta, tb, { transA, transB });
  const labels = [...batch, ...left, ...right];
  return { t: reshape(product, labels.map((l) => sizes.get(l)!)), labels };
}

/**
 * Einstein summation, as torch.einsum: `equation` names each operand's axes with letters (and
 * '...' for the axes the letters leave); a label in several operands is multiplied along, a
 * label missing from the output (after '->') is summed over (so are the '...' axes, when the
 * output has no '...'). Without '->' the output is '...'
 * then the labels used exactly once, in alphabetical order (capitals first). A label repeated in
 * one operand takes its diagonal. Operands as arguments or as one array. Float32, one device;
 * differentiable.
 * @example einsum('ij,jk->ik', a, b)            // matmul
 * @example einsum('bhqd,bhkd->bhqk', q, k)      // attention scores
 * @example einsum('ii', a)                      // trace
 */
export function einsum(equation: string, ...operands: (Tensor | readonly Tensor[])[]): F32 {
  const op = 'einsum';
  if (typeof equation !== 'string') fail('E_ARG', `${op}: expected an equation string, got ${describe(equation)}`);
  const list = (operands.length === 1 && Array.isArray(operands[0]) ? operands[0] : operands) as Tensor[];
  const ts = list.map((t, i) => checkFloat(op, `operands[${i}]`, t));
  if (ts.length === 0) fail('E_ARG', `${op}: expected at least one operand`);
  checkSameDevice(op, Object.fromEntries(ts.map((t, i) => [`operands[${i}]`, t])));
  const eq = equation.replace(/\s+/g, '');
  const arrow = eq.split('->');
  if (arrow.length > 2) fail('E_ARG', `${op}: equation "${equation}" has more than one '->'`);
  const inputs = arrow[0].split(',');
  if (inputs.length !== ts.length) fail('E_ARG', `${op}: equation "${equation}" names ${inputs.length} operand(s), but ${ts.length} were given`);
  const terms: Term[] = inputs.map((spec, i) => ({ t: ts[i], labels: parseTerm(op, spec, ts[i].rank, `operand ${i}'s subscripts`) }));

  // Sizes: a label's sizes must agree, or be 1 (broadcast).
  const sizes = new Map<string, number>();
  for (const [i, term] of terms.entries()) {
    term.labels.forEach((l, a) => {
      const first = term.labels.indexOf(l);
      if (first !== a && term.t.shape[first] !== term.t.shape[a]) {
        fail('E_SHAPE', `${op}: label '${l}' repeats in one operand over axes of sizes ${term.t.shape[first]} and ${term.t.shape[a]} (operand ${i}, shape ${shapeStr(term.t.shape)})`);
      }
      const s = term.t.shape[a], had = sizes.get(l);
      if (had === undefined || had === 1) sizes.set(l, s);
      else if (s !== had && s !== 1) {
        const name = l.startsWith('.') ? 'an axis under \'...\'' : `label '${l}'`;
        fail('E_SHAPE', `${op}: ${name} has size ${had} in one operand and ${s} in operand ${i} (shape ${shapeStr(term.t.shape)})`);
      }
    });
  }
  const ellipsis = [...sizes.keys()].filter((l) => l.startsWith('.')).sort((p, q) => Number(q.slice(1)) - Number(p.slice(1)));
  let output: string[];
  if (arrow.length === 2) {
    const spec = arrow[1];
    const dots = spec.split('...');
    if (dots.length > 2) fail('E_ARG', `${op}: the output "${spec}" has more than one ellipsis`);
    for (const ch of dots.join('')) {
      if (!LETTER.test(ch)) fail('E_ARG', `${op}: the output "${spec}" has ${describe(ch)}: subscripts are letters a-z and A-Z, and '...'`);
      if (!sizes.has(ch)) fail('E_ARG', `${op}: the output's label '${ch}' is in no operand`);
    }
    // Without '...' in the output, the axes under it are summed (as PyTorch).
    output = dots.length === 2 ? [...dots[0], ...ellipsis, ...dots[1]] : [...spec];
    const seen = new Set<string>();
    for (const l of output) {
      if (seen.has(l)) fail('E_ARG', `${op}: the output "${spec}" names label '${l}' twice`);
      seen.add(l);
    }
  } else {
    const counts = new Map<string, number>();
    for (const ch of inputs.join('').replace(/\.\.\./g, '')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    output = [...ellipsis, ...[...counts.keys()].filter((l) => counts.get(l) === 1).sort()];
  }

  return tidy(() => {
    // Labels needed after operand i: by the output or by a later operand.
    const neededAfter = terms.map((_, i) => new Set([...output, ...terms.slice(i + 1).flatMap((t) => t.labels)]));
    // (contract sums out, on each side, what neither the other side nor anything later needs.)
    let acc = withoutRepeats(terms[0]);
    for (let i = 1; i < terms.length; i++) acc = contract(acc, withoutRepeats(terms[i]), neededAfter[i], sizes);
    acc = sumOut(acc, new Set(output));
    // A label of the output that broadcast (size 1 here) is expanded; 0-d when nothing is left.
    const t = arranged(acc, output, sizes);
    return ((ts as Tensor[]).includes(t) ? reshape(t, t.shape) : t) as F32;   // never an operand itself (einsum('ij', a))
  });
}
