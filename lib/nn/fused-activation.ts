/**
 * A convolution and the activation after it, as one op, for inference: Sequential.forward (and
 * the ResNet blocks, through `runLayers`) asks `fusedConvActivation` at each layer. With gradients off (`noGrad`), an `nn.Conv2d` followed in
 * a Sequential by an `nn.ReLU`, `nn.ReLU6` or `nn.Hardtanh` (with any `nn.Identity` between,
 * as `nn.utils.fuseConvBn` leaves where a batch norm was) runs as conv2d with the activation's
 * clamp fused in: the depthwise kernels clamp their register tiles before storing them, the 1x1
 * GEMM clamps (with the bias) each block of the output while it is in cache, the other methods
 * clamp in one pass over y in place; the activation's own op, a read and a write of the whole
 * tensor into a new one, is gone. MobileNet v2 (fused) at batch 1 on 224x224, 1 thread (Zen 5,
 * best of 40): its ReLU6s took 1.2 of 8.8 ms as ops of their own.
 *
 * The 8-bit layers of nn/quantized.ts (QuantizedConv2d, QuantizedLinear) fuse the same way, with
 * gradients on or off (they record none).
 *
 * Same values as the two layers one after the other (a clamp is exact). Not when gradients are on
 * (training records the layers one by one), nor for subclasses of those layers, nor for modules
 * with forward hooks or while `summary()` traces a forward: those must see the output in between.
 */
import { isGradEnabled } from '../autograd';
import { inInnermostScope } from '../engine';
import type { Tensor } from '../tensor';
import { Conv2d, Hardtanh, Identity, ReLU, ReLU6 } from './layers';
import { tracingSummary, type Module } from './module';
import { QuantizedConv2d, QuantizedLinear } from './quantized';

const isExactly = (m: Module, cls: { prototype: object }): boolean => Object.getPrototypeOf(m) === cls.prototype;

type Clampable = Conv2d | QuantizedConv2d | QuantizedLinear;

/**
 * Whether `conv` may run with an activation fused in now (no one watching; for Conv2d, gradients
 * off: the quantized layers record none anyway).
 */
function fusable(conv: Module): conv is Clampable {
  const layer = isExactly(conv, Conv2d) ? !isGradEnabled() : isExactly(conv, QuantizedConv2d) || isExactly(conv, QuantizedLinear);
  return layer && !conv.hasForwardHooks && !tracingSummary();
}

/**
 * For a block that applies its activation as a function (`relu(bn(conv(x)))`, the models'
 * BasicConv2d): conv, then the layers `between` (which must all be Identity: a folded batch norm),
 * then a clamp to [lo, hi], as one op where fusedConvActivation's rules allow; null otherwise
 * (then the caller runs its layers).
 */
export function fusedConvClamp(conv: Module, between: readonly Module[], lo: number, hi: number, x: Tensor): Tensor | null {
  if (!fusable(conv) || !between.every((m) => isExactly(m, Identity) && !m.hasForwardHooks)) return null;
  return conv.forwardClamped(x, lo, hi);
}

/** An activation that is a clamp to [lo, hi], or null. */
function clampOf(m: Module): [number, number] | null {
  if (isExactly(m, ReLU)) return [0, Infinity];
  if (isExactly(m, ReLU6)) return [0, 6];
  if (isExactly(m, Hardtanh)) return [(m as Hardtanh).minVal, (m as Hardtanh).maxVal];
  return null;
}

/**
 * Where layers[i] is a Conv2d that an activation follows (see above): that activation's index
 * (`last`) and `run`, the fused forward of layers i..last. Otherwise null.
 */
export function fusedConvActivation(layers: readonly Module[], i: number): { last: number; run: (x: Tensor) => Tensor | null } | null {
  const conv = layers[i];
  if (!fusable(conv)) return null;
  let j = i + 1;
  while (j < layers.length && isExactly(layers[j], Identity) && !layers[j].hasForwardHooks) j++;
  if (j >= layers.length || layers[j].hasForwardHooks) return null;
  const bounds = clampOf(layers[j]);
  if (!bounds) return null;
  return { last: j, run: (x) => conv.forwardClamped(x, bounds[0], bounds[1]) };
}

/**
 * Runs `layers` one after the other on x (as a Sequential does), a convolution and its activation
 * as one op where fusedConvActivation says so. Each layer's output is freed once the next layer
 * has made its own (Note [forward scope], module.ts), unless that layer gave it back (an in-place
 * or identity layer) or it was kept.
 */
export function runLayers(layers: readonly Module[], x: Tensor): Tensor {
  let y = x;
  for (let i = 0; i < layers.length; i++) {
    const fused = fusedConvActivation(layers, i);
    const f = fused ? fused.run(y) : null;  // null where the convolution cannot (its padding mode)
    if (f && fused) i = fused.last;
    const z = f ?? layers[i].call(y);
    if (y !== x && z !== y && inInnermostScope(y)) y.dispose();
    y = z;
  }
  return y;
}
