/**
 * Tiled convolution (Ngiam, Chen, Chia, Koh, Le and Ng, "Tiled convolutional neural networks",
 * 2010; the survey's section 3.1.1): a convolution whose weights are not tied across all
 * positions but only across positions a tile apart. With a tile of th x tw, output (i, j) uses
 * kernel w[i mod th][j mod tw]: th·tw kernels, each applied on its own sub-grid, so that
 * neighbouring units can learn different (e.g. rotated or scaled) features while the layer
 * keeps a convolution's few parameters. A tile of 1 x 1 is conv2d.
 *
 * Composed from conv2d: the outputs of kernel (a, b) are rows a, a + th, ... and columns
 * b, b + tw, ... of the full output, which is conv2d of the (padded) input from row a·stride and
 * column b·stride with th (tw) times the stride. The th·tw pieces are then interleaved (stacked,
 * permuted, reshaped): one convolution's work in all, on either device, with the tape's gradients.
 */
import { tidy } from '../../engine';
import { fail } from '../../errors';
import { zeros } from '../../creation';
import { narrow, permute, reshape, slice, stack } from '../../ops';
import { Tensor } from '../../tensor';
import { checkFloat, checkInt, checkOptions, checkSameDevice, shapeStr } from '../../validate';
import { conv2d, pair, type Pair } from './conv';
import { pad } from './sampling';

type F32 = Tensor<'float32'>;

export interface TiledConv2dOptions {
  /** Step between applications of the kernel (default 1). */
  stride?: Pair;
  /** Zeros added on each side (default 0). */
  padding?: Pair;
  /** Spacing between kernel taps (default 1). */
  dilation?: Pair;
  /** Channels split into this many independent groups (default 1). */
  groups?: number;
}

/**
 * Tiled convolution: x [N, C, H, W] with w [tileH, tileW, K, C / groups, kh, kw] (a kernel per
 * position of the tile) and an optional bias [K] shared by the tile, to [N, K, Hout, Wout] (the
 * sizes of conv2d with the same stride, padding and dilation); output (i, j) is computed with
 * kernel w[i mod tileH][j mod tileW].
 * @example F.tiledConv2d(x, w, b, { padding: 1 })   // w [2, 2, 16, 3, 3, 3]: four kernels in a 2 x 2 tile
 */
export function tiledConv2d(x: Tensor, w: Tensor, b?: Tensor | null, options: TiledConv2dOptions = {}): F32 {
  const op = 'tiledConv2d';
  const tx = checkFloat(op, 'x', x), tw = checkFloat(op, 'w', w);
  if (tx.rank !== 4) fail('E_SHAPE', `${op}: expected \`x\` of shape [N, C, H, W], got ${shapeStr(tx.shape)}`);
  if (tw.rank !== 6) fail('E_SHAPE', `${op}: expected \`w\` of shape [tileH, tileW, K, C / groups, kh, kw], got ${shapeStr(tw.shape)}`);
  const o = checkOptions<TiledConv2dOptions>(op, options, ['stride', 'padding', 'dilation', 'groups']);
  const [sh, sw] = pair(op, 'stride', o.stride ?? 1, 1);
  const [ph, pw] = pair(op, 'padding', o.padding ?? 0, 0);
  const [dh, dw] = pair(op, 'dilation', o.dilation ?? 1, 1);
  const groups = checkInt(op, 'groups', o.groups ?? 1, 1);
  const [th, tl, K, cg, kh, kw] = tw.shape;
  const [N, C, H, W] = tx.shape;
  if (th === 0 || tl === 0) fail('E_SHAPE', `${op}: expected a tile of at least 1 x 1, got ${shapeStr(tw.shape)}`);
  if (cg * groups !== C || K % groups !== 0) {
    fail('E_SHAPE', `${op}: \`w\` ${shapeStr(tw.shape)} with groups = ${groups} does not fit x ${shapeStr(tx.shape)} (expected C / groups = ${C / groups} and K divisible by groups)`);
  }
  const outH = Math.floor((H + 2 * ph - dh * (kh - 1) - 1) / sh) + 1, outW = Math.floor((W + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  if (!(outH >= 1 && outW >= 1)) fail('E_SHAPE', `${op}: the kernel ${shapeStr([kh, kw])} (dilation ${shapeStr([dh, dw])}) is larger than x ${shapeStr(tx.shape)} padded by ${shapeStr([ph, pw])}`);
  checkSameDevice(op, { x: tx, w: tw });
  if (b !== undefined && b !== null) {
    const tb = checkFloat(op, 'b', b);
    if (tb.rank !== 1 || tb.shape[0] !== K) fail('E_SHAPE', `${op}: expected \`b\` of shape [${K}], got ${shapeStr(tb.shape)}`);
    checkSameDevice(op, { x: tx, b: tb });
  }
  // Rows a, a + th, ... of the output: P of them at most (fewer for the last a's; 0 if a >= outH).
  const P = Math.ceil(outH / th), Q = Math.ceil(outW / tl);
  return tidy(() => {
    const xp = ph > 0 || pw > 0 ? pad(tx, [pw, pw, ph, ph]) : tx;
    const parts: F32[] = [];
    for (let a = 0; a < th; a++) {
      for (let c = 0; c < tl; c++) {
        if (a >= outH || c >= outW) {  // a tile larger than the output: this kernel is never used
          parts.push(zeros<'float32'>([N, K, P, Q], { device: tx.device }));
          continue;
        }
        const kernel = reshape(narrow(narrow(tw, 0, a, 1), 1, c, 1), [K, cg, kh, kw]);
        const from = slice(xp, [0, 0, a * sh, c * sw], [-1, -1, -1, -1]);
        const y = conv2d(from, kernel, b ?? null, { stride: [th * sh, tl * sw], dilation: [dh, dw], groups });
        const [rows, cols] = y.shape.slice(2);
        parts.push(rows < P || cols < Q ? pad(y, [0, Q - cols, 0, P - rows]) : y);
      }
    }
    // [th·tl, N, K, P, Q] -> [N, K, P, th, Q, tl] -> [N, K, P·th, Q·tl], then the output's size.
    const tiled = permute(reshape(stack<'float32'>(parts, 0), [th, tl, N, K, P, Q]), [2, 3, 4, 0, 5, 1]);
    const full = reshape(tiled, [N, K, P * th, Q * tl]);
    return P * th === outH && Q * tl === outW ? full : slice(full, [0, 0, 0, 0], [N, K, outH, outW]);
  });
}
