/**
 * VLAD pooling (Jégou et al. 2010, "Aggregating local descriptors into a compact image
 * representation"), the orderless pooling of the survey's multi-scale orderless pooling
 * (Gong et al. 2014, MOP-CNN; `models.multiScaleOrderlessPooling` builds on it): each local
 * feature is assigned to its nearest codeword, and each codeword keeps the sum of the residuals
 * (feature - codeword) of the features assigned to it. The result does not depend on where or in
 * which order the features were, only on which they are.
 */
import { noGrad } from '../../autograd';
import { tidy } from '../../engine';
import { fail } from '../../errors';
import { argmin, mul, oneHot, reshape, sub, sum, transpose, unsqueeze } from '../../ops';
import { bmm } from '../../matrices';
import { Tensor } from '../../tensor';
import { checkBool, checkFloat, checkOptions, checkSameDevice, shapeStr } from '../../validate';
import { cdist, normalize } from './distance';

type F32 = Tensor<'float32'>;

export interface VladOptions {
  /** L2-normalize each codeword's residual sum first (Arandjelović and Zisserman 2013). Default false. */
  intraNorm?: boolean;
  /** L2-normalize the whole vector, as VLAD and MOP-CNN do. Default true. */
  l2Norm?: boolean;
}

/**
 * The VLAD vectors of N sets of P local features x [N, P, D] (or one set [P, D]) against K
 * codewords `centers` [K, D] (k-means centres of training features: `vision.kmeans`):
 * [N, K * D] (or [K * D]), codeword k's part sum over its features of (x_p - c_k), features
 * assigned to their nearest codeword (euclidean; ties to the lower index). Then `intraNorm`
 * and `l2Norm` (default on). Differentiable in x and the centres (the assignment is a constant
 * of the inputs, as the hard VLAD's). Runs on x's device.
 * @example const v = F.vlad(patchFeatures, codebook);   // [N, 100 * 512] from [N, 25, 512] and [100, 512]
 */
export function vlad(x: Tensor, centers: Tensor, options: VladOptions = {}): F32 {
  const op = 'vlad';
  const o = checkOptions<VladOptions>(op, options, ['intraNorm', 'l2Norm']);
  const t = checkFloat(op, 'x', x), c = checkFloat(op, 'centers', centers);
  checkSameDevice(op, { x: t, centers: c });
  if (t.rank !== 2 && t.rank !== 3) fail('E_SHAPE', `${op}: expected x of shape [N, P, D] or [P, D], got ${shapeStr(t.shape)}`);
  if (c.rank !== 2 || c.shape[0] < 1) fail('E_SHAPE', `${op}: expected centers of shape [K, D] with K >= 1, got ${shapeStr(c.shape)}`);
  const D = t.shape[t.rank - 1], K = c.shape[0];
  if (c.shape[1] !== D) fail('E_SHAPE', `${op}: x has ${D} features per row but centers ${shapeStr(c.shape)} have ${c.shape[1]}`);
  const intra = checkBool(op, 'intraNorm', o.intraNorm ?? false), l2 = checkBool(op, 'l2Norm', o.l2Norm ?? true);
  return tidy(() => {
    const sets = (t.rank === 2 ? unsqueeze(t, 0) : t) as F32;                     // [N, P, D]
    const N = sets.shape[0];
    // Which codeword each feature goes to: no gradient flows through the choice.
    const a = noGrad(() => oneHot(argmin(cdist(sets, c), -1), K));   // [N, P, K]
    // sum_p a_pk x_p - (sum_p a_pk) c_k, for every set at once.
    let v: F32 = sub(bmm(transpose(a, 1, 2), sets), mul(unsqueeze(sum(a, [1]), -1), c));   // [N, K, D]
    if (intra) v = normalize(v, { dim: 2 });
    let flat = reshape(v, [N, K * D]) as F32;
    if (l2) flat = normalize(flat, { dim: 1 });
    return t.rank === 2 ? (reshape(flat, [K * D]) as F32) : flat;
  });
}
