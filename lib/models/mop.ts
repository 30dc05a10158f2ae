/**
 * Multi-scale orderless pooling (MOP-CNN, Gong et al. 2014), the survey's last pooling: a CNN's
 * activations of the whole image, and of its patches at finer scales pooled without their
 * positions (VLAD against a k-means codebook per scale), each level L2-normalized, then
 * concatenated. Geometric invariance comes from the orderless levels, discrimination from the
 * CNN's features. The paper's setup, with a 4096-D fc7 extractor on 256x256 images:
 *
 *   const levels = [{ patch: 'global' }, { patch: 128, stride: 32, centers: c128 }, { patch: 64, stride: 16, centers: c64 }];
 *   const codes = models.multiScaleOrderlessPooling(images, fc7, levels, { inputSize: 227 });
 *
 * where each level's codebook is `vision.kmeans` of that level's `patchFeatures` on training
 * images (the paper: 100 centres, and a PCA of the features and of each VLAD vector, which are
 * left to the caller here).
 */
import { tidy } from '../engine';
import { fail } from '../errors';
import { interpolate } from '../nn/functional/interpolate';
import { normalize } from '../nn/functional/distance';
import { unfold } from '../nn/functional/unfold';
import { vlad, type VladOptions } from '../nn/functional/vlad';
import { cat, narrow, permute, reshape } from '../ops';
import { Tensor } from '../tensor';
import { checkFloat, checkInt, checkOptions, describe, isTensor, shapeStr } from '../validate';

type F32 = Tensor<'float32'>;
/** Local features of a batch of images (or patches) [B, C, h, w]: [B, D]. */
export type FeatureExtractor = (batch: F32) => Tensor;

export interface PatchFeatureOptions {
  /** Each patch (and a 'global' image) is resized to this [h, w] (or h = w) before `extract`, bilinearly. Default: as cut. */
  inputSize?: number | readonly [number, number];
  /** How many patches go through `extract` at once. Default 64. */
  batchSize?: number;
}

export interface MopLevel {
  /** The patch side in pixels, or 'global': the whole image, one feature, no VLAD. */
  patch: number | 'global';
  /** The step between patches. Default patch / 4 (the paper's 128 / 32 and 64 / 16). */
  stride?: number;
  /** This level's codebook [K, D] (required for a patch level). */
  centers?: Tensor;
}

export interface MopOptions extends PatchFeatureOptions {
  /** F.vlad's options for the patch levels (default: L2-normalized). */
  vlad?: VladOptions;
}

/**
 * The features of every patch of images [N, C, H, W]: patches of `patch` x `patch` pixels at
 * `stride` (default patch / 4; row by row, as F.unfold), each through `extract` (after resizing to `inputSize`):
 * [N, P, D]. What a level's codebook is learned from (`vision.kmeans` of its rows).
 * @example const f = models.patchFeatures(train, fc7, 128, 32, { inputSize: 227 });   // [N, 25, 4096] for 256x256
 */
export function patchFeatures(images: Tensor, extract: FeatureExtractor, patch: number, stride?: number, options: PatchFeatureOptions = {}): F32 {
  const op = 'patchFeatures';
  const x = imagesArg(op, images);
  checkExtractor(op, extract);
  checkInt(op, 'patch', patch, 1);
  // The default after patch's check (a default parameter is computed before it: a Symbol patch
  // threw a TypeError there, fuzz seed 1 case 1316).
  if (stride === undefined) stride = Math.max(1, Math.floor(patch / 4));
  checkInt(op, 'stride', stride, 1);
  const o = checkOptions<PatchFeatureOptions>(op, options, ['inputSize', 'batchSize']);
  const [N, C, H, W] = x.shape;
  if (patch > H || patch > W) fail('E_SHAPE', `${op}: a ${patch}x${patch} patch does not fit images of shape ${shapeStr(x.shape)}`);
  return tidy(() => {
    const cols = unfold(x, patch, { stride });                                   // [N, C * patch^2, P]
    const P = cols.shape[2];
    const patches = reshape(permute(cols, [0, 2, 1]), [N * P, C, patch, patch]) as F32;
    const f = extractAll(op, patches, extract, o);                                // [N * P, D]
    return reshape(f, [N, P, f.shape[1]]) as F32;
  });
}

/**
 * MOP-CNN's descriptor of images [N, C, H, W]: for each level, the global feature or the VLAD of
 * its patches' features, L2-normalized, all concatenated: [N, sum of D (global) and K * D (patch
 * levels)]. Differentiable where `extract` is (wrap it in noGrad for retrieval).
 * @example const codes = models.multiScaleOrderlessPooling(images, fc7, [{ patch: 'global' }, { patch: 128, stride: 32, centers }]);
 */
export function multiScaleOrderlessPooling(images: Tensor, extract: FeatureExtractor, levels: readonly MopLevel[], options: MopOptions = {}): F32 {
  const op = 'multiScaleOrderlessPooling';
  const x = imagesArg(op, images);
  checkExtractor(op, extract);
  const o = checkOptions<MopOptions>(op, options, ['inputSize', 'batchSize', 'vlad']);
  if (!Array.isArray(levels) || levels.length === 0) fail('E_ARG', `${op}: expected a non-empty array of levels, got ${describe(levels)}`);
  levels.forEach((l, i) => {
    checkOptions<MopLevel>(`${op}: levels[${i}]`, l, ['patch', 'stride', 'centers']);
    if (l.patch === 'global') return;
    checkInt(`${op}: levels[${i}]`, 'patch', l.patch, 1);
    if (!isTensor(l.centers)) fail('E_ARG', `${op}: levels[${i}] (patches of ${l.patch}) needs its codebook \`centers\` [K, D], got ${describe(l.centers)}`);
  });
  const features = { inputSize: o.inputSize, batchSize: o.batchSize };
  return tidy(() => cat(levels.map((l) => {
    if (l.patch === 'global') return normalize(extractAll(op, x, extract, features), { dim: 1 });
    const f = patchFeatures(x, extract, l.patch, l.stride, features);
    return vlad(f, l.centers!, { l2Norm: true, ...o.vlad });
  }), 1) as F32);
}

function imagesArg(op: string, images: unknown): F32 {
  const x = checkFloat(op, 'images', images);
  if (x.rank !== 4) fail('E_SHAPE', `${op}: expected images of shape [N, C, H, W], got ${shapeStr(x.shape)}`);
  return x;
}

function checkExtractor(op: string, extract: unknown): void {
  if (typeof extract !== 'function') fail('E_ARG', `${op}: expected \`extract\` to be a function of a [B, C, h, w] batch, got ${describe(extract)}`);
}

/** extract over `batch` images at a time (resized first), its [B, D] results concatenated. */
function extractAll(op: string, x: F32, extract: FeatureExtractor, o: PatchFeatureOptions): F32 {
  const batchSize = checkInt(op, 'batchSize', o.batchSize ?? 64, 1);
  const size = o.inputSize === undefined ? null : typeof o.inputSize === 'number' ? [o.inputSize, o.inputSize] : [...o.inputSize];
  const parts: F32[] = [];
  for (let b = 0; b < x.shape[0]; b += batchSize) {
    let chunk = narrow(x, 0, b, Math.min(batchSize, x.shape[0] - b)) as F32;
    if (size) chunk = interpolate(chunk, { size, mode: 'bilinear' });
    const f = extract(chunk);
    if (!isTensor(f) || f.dtype !== 'float32' || f.rank !== 2 || f.shape[0] !== chunk.shape[0]) {
      fail('E_SHAPE', `${op}: \`extract\` must return a float32 [${chunk.shape[0]}, D] for a batch of ${chunk.shape[0]}, got ${isTensor(f) ? `${f.dtype} ${shapeStr(f.shape)}` : describe(f)}`);
    }
    parts.push(f as F32);
  }
  if (parts.length === 0) fail('E_SHAPE', `${op}: no images to extract features from (shape ${shapeStr(x.shape)})`);
  return parts.length === 1 ? parts[0] : (cat(parts, 0) as F32);
}
