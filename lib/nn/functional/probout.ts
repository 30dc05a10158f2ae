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
 * Composed from the tensor ops, on either device: the draws are uniform numbers from the seeded
 * generator (`manualSeed`; the same on both devices) against the running sums of p (cumsum).
 */
import { linspace, rand } from '../../creation';
import { tidy } from '../../engine';
import { fail } from '../../errors';
import { cumsum, eq, lt, minimum, mul, reshape, scale, sum } from '../../ops';
import { Tensor } from '../../tensor';
import { checkBool, checkFloat, checkInt, checkNumber, checkOptions, shapeStr } from '../../validate';
import { softmax } from './layers';

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
  const [n, c, ...rest] = t.shape;
  const groups = [n, c / pieces, pieces, ...rest];   // z along axis 2
  const outShape = [n, c / pieces, ...rest];
  return tidy(() => {
    const z = reshape(t, groups);
    const p = softmax(scale(z, lambda), 2);
    if (!training) {
      const mean = sum(mul(p, z), 2);
      return dropout ? scale(mean, 0.5) : mean;
    }
    // The draw: the first i whose running sum of p passes u (rounding can leave the last sum
    // just under 1: then the last piece). The pick is a constant mask, so z's gradient goes to
    // the drawn piece alone.
    const drawShape = [n, c / pieces, 1, ...rest];
    const u = rand(drawShape, 0, 1, { device: t.device });
    const below = sum(lt(cumsum(p, 2), u), 2, true);   // pieces passed before the draw
    const drawn = minimum(below, pieces - 1);
    const positions = reshape(linspace(0, pieces - 1, pieces, { device: t.device }), [1, 1, pieces, ...rest.map(() => 1)]);
    let y = sum(mul(z, eq(positions, drawn)), 2);
    if (dropout) y = mul(y, reshape(lt(rand(drawShape, 0, 1, { device: t.device }), 0.5), outShape));   // kept with probability 1/2
    return y;
  });
}
