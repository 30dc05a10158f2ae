/**
 * The connectionist temporal classification loss (Graves et al. 2006), as
 * torch.nn.functional.ctc_loss: for sequence recognition without per-frame labels, such as a
 * CNN reading a line of text (CRNN) or a word from speech frames. The loss of each sample is
 * -log of the probability, summed over every alignment of its target to its frames (blanks
 * between, repeats merged), computed by the forward-backward recursion on the CPU
 * (native/cpu/ctc_loss.cc, which says more), in float32 log space as PyTorch's. A tensor on the GPU goes through the CPU (its
 * gradient back the same way): there is no GPU kernel yet.
 */
import { isRecording, record } from '../../autograd';
import { tensor } from '../../creation';
import { tidy } from '../../engine';
import { fail } from '../../errors';
import { native } from '../../native';
import { cast, clamp, div, eq, mean, mul, reshape, sum, where } from '../../ops';
import { Tensor } from '../../tensor';
import { checkBool, checkFloat, checkInt, checkOptions, checkTensor, describe, isTensor, shapeStr } from '../../validate';
import type { Reduction } from './loss';

type F32 = Tensor<'float32'>;
type I32 = Tensor<'int32'>;

export interface CtcLossOptions {
  /** The blank class (default 0). */
  blank?: number;
  /** 'mean' (default: each loss divided by its target length, at least 1, then the batch mean, as PyTorch), 'sum' or 'none'. */
  reduction?: Reduction;
  /** Give an infinite loss (a target its frames cannot spell) 0 and no gradient. Default false. */
  zeroInfinity?: boolean;
}

/** Lengths as an int32 tensor [N] on the CPU: from numbers, or a tensor of N (or for one sample, 1) values. */
function lengths(op: string, name: string, value: unknown, N: number, batched: boolean): I32 {
  if (isTensor(value)) {
    const t = checkTensor(op, name, value);
    if (t.dtype !== 'int32') fail('E_DTYPE', `${op}: expected \`${name}\` of dtype int32, got ${t.dtype}`);
    if (t.size !== N || t.rank > 1 || (batched && t.rank !== 1)) fail('E_SHAPE', `${op}: expected \`${name}\` of shape [${N}]${batched ? '' : ' or []'}, got ${shapeStr(t.shape)}`);
    return (t.device === 'cpu' ? reshape(t, [N]) : reshape(t.to('cpu'), [N])) as I32;
  }
  const list = typeof value === 'number' && !batched ? [value] : value;
  if (!Array.isArray(list) || list.length !== N) fail('E_ARG', `${op}: expected \`${name}\` to be ${N} integers (or an int32 tensor), got ${describe(value)}`);
  return tensor(Int32Array.from(list, (v: unknown) => checkInt(op, name, v, 0)), { dtype: 'int32' }) as I32;
}

/**
 * CTC loss of logProbs [T, N, C] (log-softmax over the C classes, per frame and sample; or
 * [T, C] for one sample) against targets: int32 [N, S] padded (row n's first targetLengths[n]
 * labels) or 1-D, the samples' labels one after another. inputLengths: each sample's frames
 * (at most T); targetLengths: each target's length; each as numbers or an int32 tensor [N].
 * Labels lie in [0, C) and are not the blank. Returns the loss reduced as asked ('none': [N]).
 * Differentiable in logProbs (the derivative itself; through a log-softmax it is PyTorch's).
 * @example
 * const logProbs = F.logSoftmax(model.call(images), 2);   // [T, N, C], e.g. a CRNN's columns
 * const loss = F.ctcLoss(logProbs, targets, [T, T], [3, 5]);
 */
export function ctcLoss(logProbs: Tensor, targets: Tensor, inputLengths: Tensor | readonly number[] | number, targetLengths: Tensor | readonly number[] | number,
  options: CtcLossOptions = {}): F32 {
  const op = 'ctcLoss';
  const o = checkOptions<CtcLossOptions>(op, options, ['blank', 'reduction', 'zeroInfinity']);
  const lp = checkFloat(op, 'logProbs', logProbs);
  if (lp.rank !== 2 && lp.rank !== 3) fail('E_SHAPE', `${op}: expected \`logProbs\` of shape [T, N, C] or [T, C], got ${shapeStr(lp.shape)}`);
  const batched = lp.rank === 3;
  const [T, N, C] = batched ? lp.shape : [lp.shape[0], 1, lp.shape[1]];
  if (C < 1) fail('E_SHAPE', `${op}: expected at least one class, got \`logProbs\` of shape ${shapeStr(lp.shape)}`);
  const tg = checkTensor(op, 'targets', targets);
  if (tg.dtype !== 'int32') fail('E_DTYPE', `${op}: expected \`targets\` of dtype int32, got ${tg.dtype}`);
  if (batched ? !(tg.rank === 1 || (tg.rank === 2 && tg.shape[0] === N)) : tg.rank !== 1) {
    fail('E_SHAPE', `${op}: expected \`targets\` of shape ${batched ? `[${N}, S] or [sum of the target lengths]` : '[S]'}, got ${shapeStr(tg.shape)}`);
  }
  const blank = checkInt(op, 'blank', o.blank ?? 0, 0);
  if (blank >= C) fail('E_ARG', `${op}: blank ${blank} is not one of the ${C} classes`);
  const reduction = o.reduction ?? 'mean';
  if (!['mean', 'sum', 'none'].includes(reduction)) fail('E_ARG', `${op}: expected \`reduction\` 'mean', 'sum' or 'none', got ${describe(reduction)}`);
  const zeroInfinity = o.zeroInfinity === undefined ? false : checkBool(op, 'zeroInfinity', o.zeroInfinity);
  const device = lp.device;
  return tidy(() => {
    const il = lengths(op, 'inputLengths', inputLengths, N, batched);
    const tl = lengths(op, 'targetLengths', targetLengths, N, batched);
    // The kernel's layout, on the CPU (the move is recorded, so the gradient goes back).
    const x = (batched ? lp : reshape(lp, [T, 1, C])) as F32;
    const xc = (device === 'cpu' ? x : x.to('cpu')) as F32;
    const t2 = (batched ? tg : reshape(tg, [1, tg.shape[0]])) as I32;
    const tc = (device === 'cpu' ? t2 : t2.to('cpu')) as I32;
    // With the tape on, the kernel computes each sample's gradient as it goes (the recursions
    // run once); the backward scales it by the sample's dnll.
    const recording = isRecording([xc]);
    const [nh, gh] = native.ctcLossForward(xc.handle(op), tc.handle(op), il.handle(op), tl.handle(op), blank, zeroInfinity, recording);
    const nll = new Tensor<'float32'>(nh, [N], 'float32');
    if (gh !== null) {
      const perUnit = new Tensor<'float32'>(gh, [T, N, C], 'float32');
      record(op, nll, [xc], (dy, [g]) => [mul(g, reshape(dy, [1, N, 1]))], [perUnit]);
      perUnit.dispose();   // record keeps its own handle
    }
    // An infinite loss is 0 with zeroInfinity (its gradient is then 0 too: the kernel's).
    let loss: F32 = zeroInfinity ? where(eq(nll, Infinity), 0, nll) : nll;
    if (reduction === 'mean') loss = mean(div(loss, clamp(cast(tl, 'float32'), 1)));
    else if (reduction === 'sum') loss = sum(loss);
    else if (!batched) loss = reshape(loss, []);
    return (device === 'cpu' ? loss : loss.to(device)) as F32;
  });
}
