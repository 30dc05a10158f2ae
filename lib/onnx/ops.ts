/**
 * The ONNX form of each op onnx.export covers, keyed by the name the op records on the tape
 * (autograd.ts `record`). Each writes the nodes that compute the op's output from its inputs'
 * values, in the opset being written (13 to 21; the comments say where an op changed). Ops whose
 * output depends on settings pass them to `record` as TraceAttrs.
 */
import type { TraceAttrs } from '../autograd';
import { fail } from '../errors';
import type { Tensor } from '../tensor';
import { shapeStr } from '../validate';
import type { Attribute } from './model';
import { recurrent } from './recurrent';
import type { Converter, Emitter, ManyConverter } from './trace';

const ints = (values: readonly number[]): Attribute => ({ ints: values });
const int = (i: number): Attribute => ({ i });
const float = (f: number): Attribute => ({ f });

const num = (attrs: TraceAttrs, key: string): number => attrs[key] as number;
const list = (attrs: TraceAttrs, key: string): readonly number[] => attrs[key] as readonly number[];
const shapeOf = (t: unknown): readonly number[] => (t as Tensor).shape;

function refuse(op: string, why: string): never {
  return fail('E_ARG', `onnx.export: \`${op}\` ${why}`);
}

/** A one-input op that is one ONNX node. */
const unary = (opType: string, attributes: (attrs: TraceAttrs) => Record<string, Attribute> = () => ({})): Converter =>
  (e, _y, [x], attrs) => e.node(opType, [e.value(x, 'the input')], attributes(attrs));

/** A two-input op that is one ONNX node (numbers become float constants: ONNX's Add and the rest broadcast as NumPy, as ours). */
const binary = (opType: string): Converter =>
  (e, _y, [a, b]) => e.node(opType, [e.value(a, 'the first operand'), e.value(b, 'the second operand')]);

/**
 * Runs `f` on a batch of one where x is a single image ([C, H, W]: ONNX's pooling wants the batch axis).
 * `spatial` is the op's number of spatial axes.
 */
function batched(e: Emitter, x: unknown, spatial: number, f: (name: string) => string): string {
  const name = e.value(x, 'the input');
  if (shapeOf(x).length === spatial + 2) return f(name);
  const one = e.ints([0]);
  return e.node('Squeeze', [f(e.node('Unsqueeze', [name, one])), one]);
}

// ---- convolutions and linear layers ----------------------------------------------------------

// conv2d's geometry (nn/functional/conv.ts): stride h, w; padding top, left, bottom, right; dilation h, w; groups.
const conv2d: Converter = (e, _y, [x, w, b], attrs) => {
  const g = list(attrs, 'geometry'), k = shapeOf(w).slice(2);
  return e.node('Conv', [e.value(x, 'the input'), e.value(w, 'the weight'), e.value(b, 'the bias')], {
    kernel_shape: ints(k), strides: ints(g.slice(0, 2)), pads: ints(g.slice(2, 6)), dilations: ints(g.slice(6, 8)), group: int(g[8]),
  });
};

// conv1d runs as conv2d over a height of 1: the geometry's width entries are its own.
const conv1d: Converter = (e, _y, [x, w, b], attrs) => {
  const g = list(attrs, 'geometry');
  return e.node('Conv', [e.value(x, 'the input'), e.value(w, 'the weight'), e.value(b, 'the bias')], {
    kernel_shape: ints([shapeOf(w)[2]]), strides: ints([g[1]]), pads: ints([g[3], g[5]]), dilations: ints([g[7]]), group: int(g[8]),
  });
};

// The transposed convolution's geometry is its adjoint conv2d's: bottom/right padding = padding - outputPadding.
const convTranspose2d: Converter = (e, _y, [x, w, b], attrs) => {
  const g = list(attrs, 'geometry');
  return e.node('ConvTranspose', [e.value(x, 'the input'), e.value(w, 'the weight'), e.value(b, 'the bias')], {
    kernel_shape: ints(shapeOf(w).slice(2)), strides: ints(g.slice(0, 2)), pads: ints([g[2], g[3], g[2], g[3]]),
    output_padding: ints([g[2] - g[4], g[3] - g[5]]), dilations: ints(g.slice(6, 8)), group: int(g[8]),
  });
};

// conv3d and convTranspose3d (nn/functional/conv3d.ts) pass their settings per axis.
const conv3d: Converter = (e, _y, [x, w, b], attrs) =>
  e.node('Conv', [e.value(x, 'the input'), e.value(w, 'the weight'), e.value(b, 'the bias')], {
    kernel_shape: ints(shapeOf(w).slice(2)), strides: ints(list(attrs, 'stride')), pads: ints(list(attrs, 'pads')),
    dilations: ints(list(attrs, 'dilation')), group: int(num(attrs, 'groups')),
  });

const convTranspose3d: Converter = (e, _y, [x, w, b], attrs) => {
  const padding = list(attrs, 'padding');
  return e.node('ConvTranspose', [e.value(x, 'the input'), e.value(w, 'the weight'), e.value(b, 'the bias')], {
    kernel_shape: ints(shapeOf(w).slice(2)), strides: ints(list(attrs, 'stride')), pads: ints([...padding, ...padding]),
    output_padding: ints(list(attrs, 'outputPadding')), dilations: ints(list(attrs, 'dilation')), group: int(num(attrs, 'groups')),
  });
};

// y = x w^T + b: one Gemm for a matrix, MatMul with the transposed weight (and Add) for more axes.
const linear: Converter = (e, _y, [x, w, b]) => {
  const xv = e.value(x, 'the input'), wv = e.value(w, 'the weight'), bv = e.value(b, 'the bias');
  if (shapeOf(x).length === 2) return e.node('Gemm', [xv, wv, bv], { transB: int(1) });
  const y = e.node('MatMul', [xv, e.node('Transpose', [wv], { perm: ints([1, 0]) })]);
  return bv === '' ? y : e.node('Add', [y, bv]);
};

// ---- normalization ---------------------------------------------------------------------------

const batchNorm: Converter = (e, _y, [x, mean, variance, w, b], attrs) => {
  if (attrs.training) refuse('batchNorm', 'in training mode (batch statistics) has no ONNX form: export uses the running statistics, so give them (modules are put in eval mode)');
  const C = shapeOf(x)[1];
  const scale = w ? e.value(w, 'the weight') : e.floats(new Float32Array(C).fill(1), [C]);
  const bias = b ? e.value(b, 'the bias') : e.floats(new Float32Array(C), [C]);
  return e.node('BatchNormalization', [e.value(x, 'the input'), scale, bias, e.value(mean, 'the running mean'), e.value(variance, 'the running variance')],
    { epsilon: float(num(attrs, 'eps')) });
};

// Both windows hold (size - 1) / 2 channels on each side when size is odd; for an even size
// PyTorch's takes one more before, ONNX's one more after.
const localResponseNorm: Converter = (e, _y, [x], attrs) => {
  const size = num(attrs, 'size');
  if (size % 2 === 0) refuse('localResponseNorm', `with an even size (${size}) places its window one channel off ONNX's LRN; use an odd size`);
  return e.node('LRN', [e.value(x, 'the input')], { size: int(size), alpha: float(num(attrs, 'alpha')), beta: float(num(attrs, 'beta')), bias: float(num(attrs, 'k')) });
};

/** (v - mean) / sqrt(var + eps) over `axes` (kept), the biased variance, as the per-sample norms compute. */
function standardize(e: Emitter, v: string, axes: readonly number[], eps: number): string {
  const centred = e.node('Sub', [v, reduceNode(e, 'ReduceMean', v, axes, true)]);
  const variance = reduceNode(e, 'ReduceMean', e.node('Mul', [centred, centred]), axes, true);
  return e.node('Div', [centred, e.node('Sqrt', [e.node('Add', [variance, e.floats([eps], [])])])]);
}

/** y * w + b with per-channel w and b [C] on [N, C, ...] (either may be absent). */
function perChannelAffine(e: Emitter, y: string, w: unknown, b: unknown, rank: number): string {
  const shaped = (t: unknown, what: string) => {
    const C = shapeOf(t)[0];
    return e.node('Reshape', [e.value(t, what), e.ints([C, ...Array(rank - 2).fill(1)])]);
  };
  if (w) y = e.node('Mul', [y, shaped(w, 'the weight')]);
  if (b) y = e.node('Add', [y, shaped(b, 'the bias')]);
  return y;
}

// The per-sample norms (nn/functional/normalization.ts) pass `arg`: layer norm's values per
// row, group and instance norm's number of groups.
const layerNorm: Converter = (e, _y, [x, w, b], attrs) => {
  const shape = shapeOf(x), values = num(attrs, 'arg'), eps = num(attrs, 'eps');
  // The normalized axes: the weight's, or the fewest trailing axes holding `values` entries.
  let k = w ? shapeOf(w).length : 1;
  if (!w) while (k < shape.length && shape.slice(shape.length - k).reduce((p, q) => p * q, 1) !== values) k++;
  const normalized = shape.slice(shape.length - k);
  const v = e.value(x, 'the input');
  if (e.opset >= 17) {
    const scale = w ? e.value(w, 'the weight') : e.floats(new Float32Array(values).fill(1), normalized);
    return e.node('LayerNormalization', [v, scale, b ? e.value(b, 'the bias') : ''], { axis: int(-k), epsilon: float(eps) });
  }
  let y = standardize(e, v, normalized.map((_, i) => shape.length - k + i), eps);
  if (w) y = e.node('Mul', [y, e.value(w, 'the weight')]);
  if (b) y = e.node('Add', [y, e.value(b, 'the bias')]);
  return y;
};

// Written out: ONNX's GroupNormalization took a scale per group in opset 18 and per channel in 21.
const groupNorm: Converter = (e, _y, [x, w, b], attrs) => {
  const v = e.value(x, 'the input'), rank = shapeOf(x).length;
  const grouped = e.node('Reshape', [v, e.ints([0, num(attrs, 'arg'), -1])]);
  const y = e.node('Reshape', [standardize(e, grouped, [2], num(attrs, 'eps')), e.node('Shape', [v])]);
  return perChannelAffine(e, y, w, b, rank);
};

const instanceNorm: Converter = (e, _y, [x, w, b], attrs) => {
  const C = shapeOf(x)[1];
  const scale = w ? e.value(w, 'the weight') : e.floats(new Float32Array(C).fill(1), [C]);
  const bias = b ? e.value(b, 'the bias') : e.floats(new Float32Array(C), [C]);
  return e.node('InstanceNormalization', [e.value(x, 'the input'), scale, bias], { epsilon: float(num(attrs, 'eps')) });
};

// x / max(||x||_p over the axis, eps), as F.normalize.
const normalize: Converter = (e, _y, [x], attrs) => {
  const p = num(attrs, 'p'), axis = num(attrs, 'axis');
  const v = e.value(x, 'the input');
  let norm: string;
  if (p === 2) norm = reduceNode(e, 'ReduceL2', v, [axis], true);
  else if (p === 1) norm = reduceNode(e, 'ReduceL1', v, [axis], true);
  else if (p === Infinity) norm = reduceNode(e, 'ReduceMax', e.node('Abs', [v]), [axis], true);
  else return refuse('normalize', `with p = ${p} has no ONNX converter yet (it covers p = 1, 2 and Infinity)`);
  return e.node('Div', [v, e.node('Max', [norm, e.floats([num(attrs, 'eps')], [])])]);
};

const softmax = (opType: string): Converter => unary(opType, (attrs) => ({ axis: int(num(attrs, 'axis')) }));   // per-axis since opset 13

// ---- pooling ---------------------------------------------------------------------------------

interface PoolWindow { kernel: number[]; strides: number[]; pads: number[]; dilations: number[]; ceil: boolean }

/** A pooling window: 2-D pooling's list kh, kw, sh, sw, ph, pw, dh, dw (nn/functional/pool.ts), 3-D's { k, s, p, d } (pool3d.ts). */
function poolWindow(attrs: TraceAttrs): PoolWindow {
  const w = attrs.window as readonly number[] | { k: number[]; s: number[]; p: number[]; d: number[] };
  const ceil = Boolean(attrs.ceilMode ?? (w as { ceilMode?: boolean }).ceilMode);
  if (Array.isArray(w)) {
    const [kh, kw, sh, sw, ph, pw, dh, dw] = w;
    return { kernel: [kh, kw], strides: [sh, sw], pads: [ph, pw, ph, pw], dilations: [dh, dw], ceil };
  }
  const { k, s, p, d } = w as { k: number[]; s: number[]; p: number[]; d: number[] };
  return { kernel: k, strides: s, pads: [...p, ...p], dilations: d, ceil };
}

const windowAttributes = (w: PoolWindow): Record<string, Attribute> =>
  ({ kernel_shape: ints(w.kernel), strides: ints(w.strides), pads: ints(w.pads), ceil_mode: int(w.ceil ? 1 : 0) });

/**
 * Ceil mode where PyTorch drops a last window that would start in the end padding (and ONNX's
 * formula keeps it, a window of padding alone): the output sizes differ. There, the window is
 * written in floor mode with the end padding that gives PyTorch's sizes; the added padding is
 * never a window's only content, so a maximum, or an average of the input values alone
 * (countIncludePad false), is unchanged. An average that counts the padding would count the
 * added padding too: refused. `exact` says whether the window's values allow that.
 */
function ceilAsPyTorch(op: string, w: PoolWindow, x: unknown, y: Tensor, exact: boolean): PoolWindow {
  if (!w.ceil) return w;
  const n = w.kernel.length, inSizes = shapeOf(x).slice(-n), outSizes = y.shape.slice(-n);
  const span = (a: number) => w.dilations[a] * (w.kernel[a] - 1) + 1;
  const onnxSize = (a: number) => Math.ceil((inSizes[a] + w.pads[a] + w.pads[n + a] - span(a)) / w.strides[a]) + 1;
  if (outSizes.every((o, a) => o === onnxSize(a))) return w;
  if (!exact) refuse(op, 'in ceil mode, counting the padding, with a last window that would start in the padding (PyTorch drops it, ONNX keeps it) has no ONNX form; use countIncludePad false');
  const ends = outSizes.map((o, a) => Math.max(w.pads[n + a], (o - 1) * w.strides[a] + span(a) - inSizes[a] - w.pads[a]));
  return { ...w, ceil: false, pads: [...w.pads.slice(0, n), ...ends] };
}

const maxPool: Converter = (e, y, [x], attrs) => {
  const w = ceilAsPyTorch('maxPool', poolWindow(attrs), x, y, true);
  return batched(e, x, w.kernel.length, (v) => e.node('MaxPool', [v], { ...windowAttributes(w), dilations: ints(w.dilations) }));
};

const avgPool = (op: string): Converter => (e, y, [x], attrs) => {
  const w = ceilAsPyTorch(op, poolWindow(attrs), x, y, !attrs.countIncludePad && num(attrs, 'divisor') === 0);
  const divisor = num(attrs, 'divisor');
  if (divisor !== 0 && w.ceil) refuse(op, 'with both divisorOverride and ceilMode has no ONNX form');
  return batched(e, x, w.kernel.length, (v) => {
    // divisorOverride: every window counts its whole kernel (padding included) in ONNX, then the ratio.
    const y = e.node('AveragePool', [v], { ...windowAttributes(w), count_include_pad: int(divisor !== 0 || attrs.countIncludePad ? 1 : 0) });
    return divisor === 0 ? y : e.node('Mul', [y, e.floats([w.kernel.reduce((a, b) => a * b, 1) / divisor], [])]);
  });
};

/**
 * The matrix [out, size] of adaptive average pooling along one axis: row i averages
 * [floor(i size / out), ceil((i + 1) size / out)).
 */
function averagingMatrix(size: number, out: number): Float32Array {
  const m = new Float32Array(out * size);
  for (let i = 0; i < out; i++) {
    const from = Math.floor((i * size) / out), to = Math.ceil(((i + 1) * size) / out);
    for (let j = from; j < to; j++) m[i * size + j] = 1 / (to - from);
  }
  return m;
}

/**
 * Adaptive pooling as global pooling, or as a plain window where the sizes divide (the windows
 * are then equal and disjoint). Other sizes' windows differ in size or overlap (VGG's 7x7 from a
 * smaller map): the average is then linear, A_h x A_w^T, two MatMuls with constant matrices;
 * the maximum has no such form.
 */
const adaptivePool = (op: string, kind: 'Average' | 'Max'): Converter => (e, _y, [x], attrs) => {
  const out = list(attrs, 'outputSize'), spatial = out.length;
  const sizes = shapeOf(x).slice(-spatial);
  return batched(e, x, spatial, (v) => {
    if (out.every((o) => o === 1)) return e.node(`Global${kind}Pool`, [v]);
    if (sizes.every((n, a) => n % out[a] === 0)) {
      const k = sizes.map((n, a) => n / out[a]);
      return e.node(`${kind}Pool`, [v], { kernel_shape: ints(k), strides: ints(k) });
    }
    if (kind === 'Max' || spatial !== 2) refuse(op, `from ${sizes.join('x')} to ${out.join('x')} has unequal windows, which no ONNX pooling op makes; use sizes that divide`);
    const [H, W] = sizes, [oh, ow] = out;
    const rows = e.node('MatMul', [e.floats(averagingMatrix(H, oh), [oh, H]), v]);
    const wT = averagingMatrix(W, ow), t = new Float32Array(W * ow);
    for (let i = 0; i < ow; i++) for (let j = 0; j < W; j++) t[j * ow + i] = wT[i * W + j];
    return e.node('MatMul', [rows, e.floats(t, [W, ow])]);
  });
};

// ---- activations -----------------------------------------------------------------------------

const SQRT1_2 = Math.SQRT1_2;

// x * 0.5 * (1 + erf(x / sqrt 2)); the tanh form 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))). ONNX has Gelu from opset 20.
const gelu: Converter = (e, _y, [x], attrs) => {
  const v = e.value(x, 'the input');
  const tanh = attrs.kind === 'geluTanh';
  if (e.opset >= 20) return e.node('Gelu', [v], tanh ? { approximate: { s: 'tanh' } } : {});
  const half = e.node('Mul', [v, e.floats([0.5], [])]);
  let inner: string;
  if (tanh) {
    const cube = e.node('Mul', [e.node('Mul', [v, v]), v]);
    const sum = e.node('Add', [v, e.node('Mul', [cube, e.floats([0.044715], [])])]);
    inner = e.node('Tanh', [e.node('Mul', [sum, e.floats([Math.sqrt(2 / Math.PI)], [])])]);
  } else {
    inner = e.node('Erf', [e.node('Mul', [v, e.floats([SQRT1_2], [])])]);
  }
  return e.node('Mul', [half, e.node('Add', [inner, e.floats([1], [])])]);
};

// The CPU's native activations record their kind's name, param and param2 (nn/functional/activation.ts).
const softplus: Converter = (e, _y, [x], attrs) => {
  const beta = num(attrs, 'param'), v = e.value(x, 'the input');
  // (PyTorch's threshold, where it returns x itself, changes the value by under 1e-8 relative at the default 20.)
  if (beta === 1) return e.node('Softplus', [v]);
  return e.node('Div', [e.node('Softplus', [e.node('Mul', [v, e.floats([beta], [])])]), e.floats([beta], [])]);
};

/** min(max(x, lo), hi), an infinite bound left out. */
function clip(e: Emitter, x: unknown, lo: number, hi: number): string {
  const bound = (b: number) => (Number.isFinite(b) ? e.floats([b], []) : '');
  return e.node('Clip', [e.value(x, 'the input'), bound(lo), bound(hi)]);
}

const prelu: Converter = (e, _y, [x, w]) => {
  // ONNX's slope broadcasts from the right: [C] becomes [C, 1, ...] for the axes after the channels.
  const rank = shapeOf(x).length, C = shapeOf(w)[0];
  const wv = e.value(w, 'the weight');
  const slope = C === 1 || rank <= 2 ? wv : e.node('Reshape', [wv, e.ints([C, ...Array(rank - 2).fill(1)])]);
  return e.node('PRelu', [e.value(x, 'the input'), slope]);
};

// ---- arithmetic ------------------------------------------------------------------------------

const scale: Converter = (e, _y, [x], attrs) => {
  const alpha = num(attrs, 'alpha'), beta = num(attrs, 'beta');
  let y = e.value(x, 'the input');
  if (alpha !== 1) y = e.node('Mul', [y, e.floats([alpha], [])]);
  if (beta !== 0) y = e.node('Add', [y, e.floats([beta], [])]);
  return alpha === 1 && beta === 0 ? e.node('Identity', [y]) : y;
};

const pow: Converter = (e, _y, inputs, attrs) => {
  if (inputs.length === 2) return binary('Pow')(e, _y, inputs, attrs);
  return e.node('Pow', [e.value(inputs[0], 'the base'), e.floats([num(attrs, 'exponent')], [])]);
};

/** A reduction over axes: the axes became an input in opset 13 for ReduceSum, in 18 for the others. */
function reduceNode(e: Emitter, opType: string, v: string, axes: readonly number[], keepdim: boolean): string {
  const keepdims = int(keepdim ? 1 : 0);
  const inputSince = opType === 'ReduceSum' ? 13 : 18;
  return e.opset >= inputSince ? e.node(opType, [v, e.ints(axes)], { keepdims }) : e.node(opType, [v], { axes: ints(axes), keepdims });
}

const reduce = (opType: string): Converter => (e, _y, [x], attrs) => reduceNode(e, opType, e.value(x, 'the input'), list(attrs, 'axes'), Boolean(attrs.keepdim));

// ---- shapes ----------------------------------------------------------------------------------

// A reshape: Flatten where it keeps the batch axis and merges the rest (the batch may then
// differ when the file runs); otherwise Reshape to y's shape, where the leading axes it keeps
// are written 0 ("as the input's") and a changed first axis -1, so that they follow the input too.
const reshape: Converter = (e, y, [x]) => {
  const from = shapeOf(x), to = y.shape;
  const v = e.value(x, 'the input');
  if (to.length === 2 && from.length >= 2 && to[0] === from[0]) return e.node('Flatten', [v], { axis: int(1) });
  let kept = 0;
  while (kept < Math.min(from.length, to.length) && from[kept] === to[kept]) kept++;
  const target = to.map((d, i) => (i < kept ? 0 : d));
  if (kept === 0 && target.length > 0 && to.every((d) => d > 0)) target[0] = -1;
  if (to.some((d) => d === 0)) refuse('reshape', `to an empty shape ${shapeStr(to)} has no ONNX form here`);
  return e.node('Reshape', [v, e.ints(target)]);
};

// permute, flip and rot90 (ops.ts permuteReversed): y = x's axes in the order `perm`, y's axis i
// read backwards where bit i of `reversed` is set (a Slice with step -1 from the end past the start).
const permute: Converter = (e, _y, [x], attrs) => {
  const perm = list(attrs, 'perm'), reversed = num(attrs, 'reversed');
  let y = e.value(x, 'the input');
  if (perm.some((p, i) => p !== i) || reversed === 0) y = e.node('Transpose', [y], { perm: ints(perm) });
  const axes = perm.map((_, i) => i).filter((i) => (reversed >> i) & 1);
  if (axes.length === 0) return y;
  const each = (v: number) => e.ints(axes.map(() => v));
  return e.node('Slice', [y, each(-1), each(-Number.MAX_SAFE_INTEGER), e.ints(axes), each(-1)]);
};

const concat: Converter = (e, _y, inputs, attrs) =>
  e.node('Concat', inputs.map((t, i) => e.value(t, `tensors[${i}]`)), { axis: int(num(attrs, 'axis')) });

const slice: Converter = (e, _y, [x], attrs) => {
  const begin = list(attrs, 'begin'), size = list(attrs, 'size'), shape = shapeOf(x);
  const axes = shape.map((_, i) => i).filter((i) => begin[i] !== 0 || size[i] !== shape[i]);
  const v = e.value(x, 'the input');
  if (axes.length === 0) return e.node('Identity', [v]);
  return e.node('Slice', [v, e.ints(axes.map((a) => begin[a])), e.ints(axes.map((a) => begin[a] + size[a])), e.ints(axes)]);
};

// F.pad's amounts run (before, after) from the last axis back; ONNX's are every axis's before, then every after.
const PAD_MODES: Readonly<Record<string, string>> = { constant: 'constant', reflect: 'reflect', replicate: 'edge', circular: 'wrap' };
const pad: Converter = (e, _y, [x], attrs) => {
  const amounts = list(attrs, 'pad'), mode = attrs.mode as string, rank = shapeOf(x).length;
  if (mode === 'circular' && e.opset < 19) refuse('pad', "in mode 'circular' needs opset 19 or later (ONNX's 'wrap')");
  const pads = new Array<number>(2 * rank).fill(0);
  for (let k = 0; k < amounts.length / 2; k++) {
    pads[rank - 1 - k] = amounts[2 * k];
    pads[2 * rank - 1 - k] = amounts[2 * k + 1];
  }
  const value = mode === 'constant' && num(attrs, 'value') !== 0 ? e.floats([num(attrs, 'value')], []) : '';
  return e.node('Pad', [e.value(x, 'the input'), e.ints(pads), value], { mode: { s: PAD_MODES[mode] } });
};

// ONNX's Resize with PyTorch's coordinates (what torch.onnx writes): nearest takes floor((j + 0)
// / scale) ('asymmetric', 'floor'); bilinear and bicubic map centres ('pytorch_half_pixel', or
// 'align_corners'); bicubic's A is PyTorch's -0.75. The scale is the one given, or in / out:
// given, it goes in as `scales`; otherwise the output size goes in as `sizes`, its batch and
// channel entries read from the input's shape (so that they may vary).
const RESIZE_MODES: Readonly<Record<string, string>> = { nearest: 'nearest', bilinear: 'linear', bicubic: 'cubic' };
const interpolate: Converter = (e, _y, [x], attrs) => {
  const mode = attrs.mode as string, outSize = list(attrs, 'outSize'), factor = attrs.scaleFactor as number[] | null;
  if (RESIZE_MODES[mode] === undefined || attrs.antialias) refuse('interpolate', `in mode '${mode}'${attrs.antialias ? ' with antialias' : ''} has no ONNX converter yet (it covers 'nearest', 'bilinear' and 'bicubic')`);
  const v = e.value(x, 'the input');
  const coordinates = mode === 'nearest' ? 'asymmetric' : attrs.alignCorners ? 'align_corners' : 'pytorch_half_pixel';
  const attributes: Record<string, Attribute> = { mode: { s: RESIZE_MODES[mode] }, coordinate_transformation_mode: { s: coordinates } };
  if (mode === 'nearest') attributes.nearest_mode = { s: 'floor' };
  if (mode === 'bicubic') attributes.cubic_coeff_a = float(-0.75);
  if (factor !== null) return e.node('Resize', [v, '', e.floats([1, 1, ...factor], [2 + factor.length])], attributes);
  const leading = e.node('Slice', [e.node('Shape', [v]), e.ints([0]), e.ints([2])]);
  return e.node('Resize', [v, '', '', e.node('Concat', [leading, e.ints(outSize)], { axis: int(0) })], attributes);
};

// A lookup of rows (nn/functional/embedding.ts): the indices are a graph input (int32) or a constant.
const embedding: Converter = (e, _y, [w], attrs) => {
  if (attrs.maxNorm !== null) refuse('embedding', 'with maxNorm renormalizes its weight in place as it runs, which an ONNX file cannot; export without maxNorm');
  return e.node('Gather', [e.value(w, 'the weight'), e.value(attrs.indices, 'the indices')], { axis: int(0) });
};

const expand: Converter = (e, _y, [x], attrs) => e.node('Expand', [e.value(x, 'the input'), e.ints(list(attrs, 'shape'))]);

const identity: Converter = (e, _y, [x]) => e.node('Identity', [e.value(x, 'the input')]);

// ---- the table -------------------------------------------------------------------------------

const composite = (f: (e: Emitter, v: string) => string): Converter => (e, _y, [x]) => f(e, e.value(x, 'the input'));

export const CONVERTERS: ReadonlyMap<string, Converter> = new Map<string, Converter>([
  ['conv2d', conv2d], ['conv1d', conv1d], ['convTranspose2d', convTranspose2d], ['linear', linear], ['matmul', binary('MatMul')],
  ['conv3d', conv3d], ['convTranspose3d', convTranspose3d],
  ['batchNorm', batchNorm], ['layerNorm', layerNorm], ['groupNorm', groupNorm], ['instanceNorm', instanceNorm], ['localResponseNorm', localResponseNorm], ['softmax', softmax('Softmax')], ['logSoftmax', softmax('LogSoftmax')],
  ['maxPool2d', maxPool], ['avgPool2d', avgPool('avgPool2d')], ['maxPool3d', maxPool], ['avgPool3d', avgPool('avgPool3d')],
  ['adaptiveAvgPool2d', adaptivePool('adaptiveAvgPool2d', 'Average')], ['adaptiveMaxPool2d', adaptivePool('adaptiveMaxPool2d', 'Max')],
  ['adaptiveAvgPool3d', adaptivePool('adaptiveAvgPool3d', 'Average')], ['adaptiveMaxPool3d', adaptivePool('adaptiveMaxPool3d', 'Max')],
  // Activations.
  ['relu', unary('Relu')], ['sigmoid', unary('Sigmoid')], ['tanh', unary('Tanh')],
  ['leakyRelu', unary('LeakyRelu', (a) => ({ alpha: float(num(a, 'param')) }))],
  ['elu', unary('Elu', (a) => ({ alpha: float(num(a, 'param')) }))],
  ['celu', unary('Celu', (a) => ({ alpha: float(num(a, 'param')) }))],
  ['selu', unary('Selu')], ['softsign', unary('Softsign')],
  ['hardsigmoid', unary('HardSigmoid', () => ({ alpha: float(1 / 6), beta: float(0.5) }))],
  ['hardswish', unary('HardSwish')],   // opset 14
  ['hardtanh', (e, _y, [x], a) => clip(e, x, num(a, 'param'), num(a, 'param2'))],
  ['clamp', (e, _y, [x], a) => clip(e, x, num(a, 'min'), num(a, 'max'))],
  ['softshrink', unary('Shrink', (a) => ({ lambd: float(num(a, 'param')), bias: float(num(a, 'param')) }))],
  ['hardshrink', unary('Shrink', (a) => ({ lambd: float(num(a, 'param')) }))],
  ['gelu', gelu], ['softplus', softplus], ['prelu', prelu],
  ['silu', composite((e, v) => e.node('Mul', [v, e.node('Sigmoid', [v])]))],
  ['mish', composite((e, v) => e.node('Mul', [v, e.node('Tanh', [e.node('Softplus', [v])])]))],
  ['logSigmoid', composite((e, v) => e.node('Neg', [e.node('Softplus', [e.node('Neg', [v])])]))],
  ['tanhshrink', composite((e, v) => e.node('Sub', [v, e.node('Tanh', [v])]))],
  // Arithmetic.
  ['add', binary('Add')], ['sub', binary('Sub')], ['mul', binary('Mul')], ['div', binary('Div')], ['pow', pow],
  ['maximum', binary('Max')], ['minimum', binary('Min')], ['scale', scale],
  ['neg', unary('Neg')], ['abs', unary('Abs')], ['exp', unary('Exp')], ['log', unary('Log')], ['sqrt', unary('Sqrt')],
  ['reciprocal', unary('Reciprocal')], ['erf', unary('Erf')], ['sin', unary('Sin')], ['cos', unary('Cos')],
  ['square', composite((e, v) => e.node('Mul', [v, v]))],
  ['rsqrt', composite((e, v) => e.node('Reciprocal', [e.node('Sqrt', [v])]))],
  ['sum', reduce('ReduceSum')], ['mean', reduce('ReduceMean')], ['normalize', normalize],
  ['max', reduce('ReduceMax')], ['min', reduce('ReduceMin')], ['amax', reduce('ReduceMax')], ['amin', reduce('ReduceMin')],
  // Shapes.
  ['pad', pad], ['interpolate', interpolate], ['embedding', embedding],
  ['reshape', reshape], ['permute', permute], ['flip', permute], ['rot90', permute], ['concat', concat], ['slice', slice], ['expand', expand],
  ['clone', identity], ['to', identity],
  // Dropout in evaluation is the identity (its record is the clone it returns).
  ['dropout', identity], ['dropout2d', identity], ['dropout1d', identity], ['dropout3d', identity], ['alphaDropout', identity], ['featureAlphaDropout', identity],
]);

/** The converters of ops of several outputs. */
export const MANY_CONVERTERS: ReadonlyMap<string, ManyConverter> = new Map<string, ManyConverter>([['recurrent', recurrent]]);
