/**
 * The DataLoader's geometric and photometric augmentations beyond crop, shift and flip (the
 * survey's data augmentation, section 3.6.1), as torchvision's transforms compute them, each on
 * one sample [C, H, W] of float32 values in [0, 1] (before normalisation; random erasing after
 * it, as torchvision places it), drawing from the sample's seeded Philox stream:
 *
 *   randomResizedCrop   a crop of random area and aspect ratio, resized (bilinear) to `size`
 *   randomRotation      a rotation by a uniform angle about the centre, bilinear, 0 outside
 *   colorJitter         brightness, contrast, saturation and hue, in a random order
 *   lighting            AlexNet's PCA colour noise (ImageNet's eigenvalues and eigenvectors)
 *   randomErasing       a rectangle of random area and aspect ratio set to a value
 *
 * The numbers drawn are the library's (Philox), not torch's: the same distributions, not the
 * same crops.
 */
import { roundHalfEven } from '../validate';
import type { PhiloxStream } from './philox';

export type Range = [number, number];

const uniformIn = (random: PhiloxStream, [lo, hi]: Range): number => lo + (hi - lo) * random.uniform();

/** A standard normal (Box–Muller). */
function normal(random: PhiloxStream): number {
  const u = 1 - random.uniform();   // (0, 1]
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.uniform());
}

/** A rectangle of area `area * U(scale)` and aspect ratio exp(U(log ratio)) (torchvision's draws). */
function drawBox(random: PhiloxStream, area: number, scale: Range, ratio: Range): [number, number] {
  const target = area * uniformIn(random, scale);
  const aspect = Math.exp(uniformIn(random, [Math.log(ratio[0]), Math.log(ratio[1])]));
  return [roundHalfEven(Math.sqrt(target / aspect)), roundHalfEven(Math.sqrt(target * aspect))];   // [h, w]
}

export interface ResizedCrop { h: number; w: number; scale: Range; ratio: Range }

/**
 * torchvision's RandomResizedCrop: up to 10 draws of a box inside the image, else the centre box
 * of the ratio's nearest bound; the box resized to h x w by bilinear interpolation (half-pixel
 * centres, as torch's `interpolate(..., 'bilinear', align_corners=False)`, without antialiasing).
 */
export function randomResizedCrop(src: Float32Array, [C, H, W]: readonly number[], out: Float32Array, p: ResizedCrop, random: PhiloxStream): void {
  let top = 0, left = 0, ch = H, cw = W, found = false;
  for (let attempt = 0; attempt < 10 && !found; attempt++) {
    const [bh, bw] = drawBox(random, H * W, p.scale, p.ratio);
    if (bw > 0 && bw <= W && bh > 0 && bh <= H) {
      top = random.below(H - bh + 1);
      left = random.below(W - bw + 1);
      ch = bh, cw = bw, found = true;
    }
  }
  if (!found) {
    const inRatio = W / H;
    if (inRatio < Math.min(...p.ratio)) cw = W, ch = roundHalfEven(cw / Math.min(...p.ratio));
    else if (inRatio > Math.max(...p.ratio)) ch = H, cw = roundHalfEven(ch * Math.max(...p.ratio));
    top = Math.floor((H - ch) / 2), left = Math.floor((W - cw) / 2);
  }
  // Source coordinates of each output row and column, with their two neighbours and weights.
  const axis = (n: number, from: number, length: number) => {
    const lo = new Int32Array(n), hi = new Int32Array(n), t = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const s = Math.max(0, (k + 0.5) * (length / n) - 0.5);
      const f = Math.min(Math.floor(s), length - 1);
      lo[k] = from + f, hi[k] = from + Math.min(f + 1, length - 1), t[k] = s - f;
    }
    return { lo, hi, t };
  };
  const ys = axis(p.h, top, ch), xs = axis(p.w, left, cw);
  for (let c = 0; c < C; c++) {
    const plane = c * H * W;
    for (let i = 0; i < p.h; i++) {
      const r0 = plane + ys.lo[i] * W, r1 = plane + ys.hi[i] * W, ty = ys.t[i];
      for (let j = 0; j < p.w; j++) {
        const a = src[r0 + xs.lo[j]], b = src[r0 + xs.hi[j]], d = src[r1 + xs.lo[j]], e = src[r1 + xs.hi[j]], tx = xs.t[j];
        out[(c * p.h + i) * p.w + j] = (1 - ty) * ((1 - tx) * a + tx * b) + ty * ((1 - tx) * d + tx * e);
      }
    }
  }
}

/**
 * A rotation by a uniform angle in `degrees` (counter-clockwise on screen) about the centre of
 * the image, bilinear, 0 where the source falls outside. In place (through `scratch`).
 */
export function randomRotation(x: Float32Array, [C, H, W]: readonly number[], degrees: Range, random: PhiloxStream, scratch: Float32Array): void {
  const angle = (uniformIn(random, degrees) * Math.PI) / 180;
  const cos = Math.cos(angle), sin = Math.sin(angle), cy = (H - 1) / 2, cx = (W - 1) / 2;
  scratch.set(x.subarray(0, C * H * W));
  const at = (plane: number, r: number, c: number) => (r >= 0 && r < H && c >= 0 && c < W ? scratch[plane + r * W + c] : 0);
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < W; j++) {
      // The source of output (j, i): the inverse rotation about the centre.
      const u = j - cx, v = i - cy;
      const sx = cx + u * cos - v * sin, sy = cy + u * sin + v * cos;
      const x0 = Math.floor(sx), y0 = Math.floor(sy), tx = sx - x0, ty = sy - y0;
      for (let c = 0; c < C; c++) {
        const plane = c * H * W;
        x[plane + i * W + j] = (1 - ty) * ((1 - tx) * at(plane, y0, x0) + tx * at(plane, y0, x0 + 1)) + ty * ((1 - tx) * at(plane, y0 + 1, x0) + tx * at(plane, y0 + 1, x0 + 1));
      }
    }
  }
}

export interface Jitter { brightness: Range | null; contrast: Range | null; saturation: Range | null; hue: Range | null }

const GREY = [0.2989, 0.587, 0.114];   // torchvision's rgb_to_grayscale weights

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/** torchvision's ColorJitter on one image in [0, 1]: the four factors drawn, applied in a random order, clamped to [0, 1]. */
export function colorJitter(x: Float32Array, [C, H, W]: readonly number[], p: Jitter, random: PhiloxStream): void {
  const order = [0, 1, 2, 3];
  for (let k = 3; k > 0; k--) {   // a uniform permutation (Fisher–Yates)
    const r = random.below(k + 1);
    [order[k], order[r]] = [order[r], order[k]];
  }
  const factors = [p.brightness, p.contrast, p.saturation, p.hue].map((range) => (range ? uniformIn(random, range) : null));
  const plane = H * W;
  const grey = (q: number) => (C === 3 ? GREY[0] * x[q] + GREY[1] * x[q + plane] + GREY[2] * x[q + 2 * plane] : x[q]);
  for (const which of order) {
    const f = factors[which];
    if (f === null) continue;
    if (which === 0) {
      for (let q = 0; q < x.length; q++) x[q] = clamp01(f * x[q]);
    } else if (which === 1) {
      let mean = 0;
      for (let q = 0; q < plane; q++) mean += grey(q);
      mean /= plane;
      for (let q = 0; q < x.length; q++) x[q] = clamp01(f * x[q] + (1 - f) * mean);
    } else if (C === 3 && which === 2) {
      for (let q = 0; q < plane; q++) {
        const g = grey(q);
        for (let c = 0; c < 3; c++) x[q + c * plane] = clamp01(f * x[q + c * plane] + (1 - f) * g);
      }
    } else if (C === 3 && which === 3) {
      for (let q = 0; q < plane; q++) shiftHue(x, q, plane, f);
    }
  }
}

/** torchvision's _rgb2hsv, the hue moved by `shift` (mod 1), then _hsv2rgb, for pixel q. */
function shiftHue(x: Float32Array, q: number, plane: number, shift: number): void {
  const r = x[q], g = x[q + plane], b = x[q + 2 * plane];
  const maxc = Math.max(r, g, b), minc = Math.min(r, g, b), cr = maxc - minc;
  const s = cr / (cr === 0 ? 1 : maxc), d = cr === 0 ? 1 : cr;
  const rc = (maxc - r) / d, gc = (maxc - g) / d, bc = (maxc - b) / d;
  let h = maxc === r ? bc - gc : maxc === g ? 2 + rc - bc : 4 + gc - rc;
  h = (((h / 6 + 1) % 1) + shift) % 1;
  if (h < 0) h += 1;
  const v = maxc, i6 = Math.floor(h * 6), f = h * 6 - i6;
  const pp = clamp01(v * (1 - s)), qq = clamp01(v * (1 - s * f)), tt = clamp01(v * (1 - s * (1 - f)));
  const [nr, ng, nb] = [[v, tt, pp], [qq, v, pp], [pp, v, tt], [pp, qq, v], [tt, pp, v], [v, pp, qq]][((i6 % 6) + 6) % 6];
  x[q] = nr, x[q + plane] = ng, x[q + 2 * plane] = nb;
}

// AlexNet's colour noise constants for ImageNet's RGB in [0, 1] (fb.resnet.torch's Lighting).
const EIGVAL = [0.2175, 0.0188, 0.0045];
const EIGVEC = [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.814], [-0.5836, -0.6948, 0.4203]];

/** AlexNet's PCA lighting noise: rgb = V (alpha * lambda), alpha ~ N(0, std^2), added to every pixel. */
export function lighting(x: Float32Array, [, H, W]: readonly number[], std: number, random: PhiloxStream): void {
  const alpha = [normal(random) * std, normal(random) * std, normal(random) * std];
  const plane = H * W;
  for (let c = 0; c < 3; c++) {
    const add = EIGVEC[c][0] * alpha[0] * EIGVAL[0] + EIGVEC[c][1] * alpha[1] * EIGVAL[1] + EIGVEC[c][2] * alpha[2] * EIGVAL[2];
    for (let q = c * plane; q < (c + 1) * plane; q++) x[q] += add;
  }
}

export interface Erasing { p: number; scale: Range; ratio: Range; value: number }

/** torchvision's RandomErasing: with probability p, up to 10 draws of a box smaller than the image, set to `value`. */
export function randomErasing(x: Float32Array, [C, H, W]: readonly number[], e: Erasing, random: PhiloxStream): void {
  if (!(random.uniform() < e.p)) return;
  for (let attempt = 0; attempt < 10; attempt++) {
    const [w, h] = drawBox(random, H * W, e.scale, e.ratio);   // torchvision's erasing: h = sqrt(area * ratio)
    if (!(h < H && w < W && h > 0 && w > 0)) continue;
    const top = random.below(H - h + 1), left = random.below(W - w + 1);
    for (let c = 0; c < C; c++) for (let i = top; i < top + h; i++) x.fill(e.value, (c * H + i) * W + left, (c * H + i) * W + left + w);
    return;
  }
}
