/**
 * Probout (Springenberg and Riedmiller, "Improving deep neural networks with probabilistic
 * maxout units", 2013; the survey's section 3.3.7): maxout with the maximum replaced by a draw.
 * Each group of `pieces` channels z_1..z_k gets probabilities p_i = exp(λ z_i) / Σ_j exp(λ z_j)
 * and, in training, outputs the z_i drawn from them (the gradient goes to that one, as maxout's
 * goes to the maximum); with `dropout`, the paper's combined form, the output is 0 with
 * probability 1/2 instead (p̂_0 = 1/2, p̂_i = p_i / 2). In evaluation the output is its
 * expectation, Σ p_i z_i (halved with `dropout`), with its exact gradient. As λ grows it
 * becomes maxout.
 *
 * One native op each way (native/cpu/probout_rules.h, shared by both devices' kernels): the
 * draws are uniform numbers from the seeded generator (`manualSeed`; the same on both devices)
 * against the running sums of exp(λ (z_i - max z)) in double. (Composed from the tensor ops,
 * ten passes over the data, it took 17 ms where maxout takes 1.8 on [64, 32, 28, 28].)
 */
import { record } from '../../autograd';
import { fail } from '../../errors';
import { native } from '../../native';
import { Tensor } from '../../tensor';
import { checkBool, checkFloat, checkInt, checkNumber, checkOptions, shapeStr } from '../../validate';

type F32 = Tensor<'float32'>;

export interface ProboutOptions {
  /** λ, the inverse temperature of the draw (default 1; larger is closer to maxout). */
  lambda?: number;
  /** Draw (true) or take the expectation (false, the default, as in evaluation). */
  training?: boolean;
  /** The paper's form with dropout: output 0 with probability 1/2 (default false). */
  dropout?: boolean;
}

/**
 * Probout over channels: [N, C, ...] -> [N, C / pieces, ...], groups of `pieces` consecutive
 * channels as `F.maxout`. @example F.probout(x, 2, { training: true, lambda: 2 })
 */
export function probout(x: Tensor, pieces: number, options: ProboutOptions = {}): F32 {
  const op = 'probout';
  const t = checkFloat(op, 'x', x);
  checkInt(op, 'pieces', pieces, 1);
  if (t.rank < 2) fail('E_SHAPE', `${op}: expected \`x\` of shape [N, C, ...], got ${shapeStr(t.shape)}`);
  if (t.shape[1] % pieces !== 0) fail('E_SHAPE', `${op}: the ${t.shape[1]} channels of x ${shapeStr(t.shape)} are not divisible by pieces = ${pieces}`);
  const o = checkOptions<ProboutOptions>(op, options, ['lambda', 'training', 'dropout']);
  const lambda = o.lambda === undefined ? 1 : checkNumber(op, 'lambda', o.lambda);
  if (!(lambda > 0)) fail('E_ARG', `${op}: expected \`lambda\` > 0, got ${lambda}`);
  const training = o.training === undefined ? false : checkBool(op, 'training', o.training);
  const dropout = o.dropout === undefined ? false : checkBool(op, 'dropout', o.dropout);
  const [yh, pickedHandle] = native.proboutForward(t.handle(op), pieces, lambda, training, dropout);
  const shape = t.shape.slice();
  shape[1] /= pieces;
  const y = new Tensor<'float32'>(yh, shape, 'float32');
  const picked = pickedHandle === null ? null : new Tensor<'int32'>(pickedHandle, shape, 'int32');
  const bop = 'probout backward';
  // Training: dy to the drawn piece (picked, saved); evaluation: the exact slopes (x saved).
  const out = record(op, y, [t], (dy, [saved]) =>
    [new Tensor<'float32'>(native.proboutBackward(dy.handle(bop), saved.handle(bop), pieces, lambda, dropout, training), t.shape, 'float32')],
  [picked ?? t]);
  picked?.dispose();
  return out;
}
