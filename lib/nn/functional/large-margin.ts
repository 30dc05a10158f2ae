/**
 * Large-margin softmax (L-Softmax; Liu, Wen, Yu and Yang, "Large-margin softmax loss for
 * convolutional neural networks", 2016; the survey's softmax loss section): the logits of a
 * bias-free fully connected layer, ‖W_j‖‖x‖cos θ_j, with the true class's angle made m times
 * harder to win: its logit is ‖W_y‖‖x‖ψ(θ_y), where
 *
 *   ψ(θ) = (-1)^k cos(mθ) - 2k  for θ in [kπ/m, (k+1)π/m], k = 0 .. m-1
 *
 * (continuous and decreasing, equal to cos θ for m = 1). Cross-entropy on these logits is the
 * L-Softmax loss; it pulls each class's features into a narrower cone, for more discriminative
 * embeddings. The paper's annealing, (β ‖W_y‖‖x‖cos θ_y + ‖W_y‖‖x‖ψ(θ_y)) / (1 + β), starts
 * training near the plain softmax (large β) and lowers β toward 0.
 *
 * Composed from the ops (both devices, gradients through the tape): cos(mθ) is the Chebyshev
 * polynomial T_m(cos θ), k counts the thresholds cos(jπ/m) that cos θ is below (no arccos), and
 * k, a step function, passes no gradient, as in the paper.
 */
import { tidy } from '../../engine';
import { fail } from '../../errors';
import { norm } from '../../composite';
import { add, clamp, div, indexSelect, lt, matmul, maximum, mul, oneHot, remainder, scale, sub, sum, unsqueeze } from '../../ops';
import { Tensor } from '../../tensor';
import { checkDtype, checkFloat, checkInt, checkNumber, checkOptions, checkSameDevice, checkTensor, shapeStr } from '../../validate';

type F32 = Tensor<'float32'>;

export interface LargeMarginOptions {
  /** m, the angular margin (an integer >= 1; default 2; 1 is the plain softmax). */
  margin?: number;
  /** β >= 0, the annealing weight of the plain logit (default 0: pure L-Softmax). */
  beta?: number;
}

/**
 * L-Softmax logits of x [N, D] for the classes of weight [C, D] (no bias), the true classes
 * `target` (int32 [N]) given their large-margin logit; feed them to `F.crossEntropy` with the
 * same target. Without a target, use `F.linear(x, weight)` (prediction is unchanged).
 * @example F.crossEntropy(F.largeMarginLogits(features, w, labels, { margin: 4 }), labels)
 */
export function largeMarginLogits(x: Tensor, weight: Tensor, target: Tensor, options: LargeMarginOptions = {}): F32 {
  const op = 'largeMarginLogits';
  const tx = checkFloat(op, 'x', x), tw = checkFloat(op, 'weight', weight), tt = checkTensor(op, 'target', target);
  checkDtype(op, 'target', tt, 'int32');
  checkSameDevice(op, { x: tx, weight: tw, target: tt });
  if (tx.rank !== 2) fail('E_SHAPE', `${op}: expected \`x\` of shape [N, D], got ${shapeStr(tx.shape)}`);
  if (tw.rank !== 2 || tw.shape[1] !== tx.shape[1]) fail('E_SHAPE', `${op}: expected \`weight\` of shape [C, ${tx.shape[1]}], got ${shapeStr(tw.shape)}`);
  if (tt.rank !== 1 || tt.shape[0] !== tx.shape[0]) fail('E_SHAPE', `${op}: expected \`target\` of shape [${tx.shape[0]}], got ${shapeStr(tt.shape)}`);
  if (tw.shape[0] < 1) fail('E_SHAPE', `${op}: expected at least one class, got \`weight\` ${shapeStr(tw.shape)}`);
  const o = checkOptions<LargeMarginOptions>(op, options, ['margin', 'beta']);
  const m = checkInt(op, 'margin', o.margin ?? 2, 1, 64);
  const beta = checkNumber(op, 'beta', o.beta ?? 0);
  if (!(beta >= 0)) fail('E_ARG', `${op}: expected \`beta\` >= 0, got ${beta}`);
  const target32 = tt as Tensor<'int32'>;
  return tidy(() => {
    const logits = matmul(tx, tw, { transB: true });                         // ‖W_j‖‖x‖cos θ_j
    const wy = indexSelect(tw, 0, target32);                                 // [N, D] (a bad label: E_INDEX)
    const dot = sum(mul(tx, wy), 1);
    const lengths = mul(norm(tx, { dim: 1 }), norm(wy, { dim: 1 }));         // ‖W_y‖‖x‖
    const c = clamp(div(dot, maximum(lengths, 1e-12)), -1, 1);              // cos θ_y (0 for a zero vector)
    // T_m(c) = cos(mθ): T_0 = 1, T_1 = c, T_{n+1} = 2c T_n - T_{n-1}.
    let previous: F32 | number = 1, current: F32 = c;
    for (let n = 1; n < m; n++) {
      const next: F32 = sub(mul(scale(c, 2), current), previous);
      previous = current;
      current = next;
    }
    // k: how many of cos(π/m), ..., cos((m-1)π/m) lie above c (θ past jπ/m).
    let k: F32 = scale(c, 0);
    for (let j = 1; j < m; j++) k = add(k, lt(c, Math.cos((j * Math.PI) / m)));
    const psi = sub(mul(scale(remainder(k, 2), -2, 1), current), scale(k, 2));   // (-1)^k cos(mθ) - 2k
    const marginLogit = scale(add(scale(mul(lengths, c), beta), mul(lengths, psi)), 1 / (1 + beta));
    // The true class's logit replaced: logits + onehot * (new - old).
    return add(logits, mul(oneHot(target32, tw.shape[0]), unsqueeze(sub(marginLogit, dot), 1)));
  });
}

