/**
 * Batch norm folded into the layer before it, for inference: PyTorch's
 * `torch.nn.utils.fusion` (`fuse_conv_bn_eval`, `fuse_conv_bn_weights`, and the linear
 * versions) and `torch.ao.quantization.fuse_modules`, and `fuseConvBn`, which finds the pairs
 * in a whole model by itself.
 *
 * In evaluation, batch norm is a fixed affine map per channel c:
 *   y = (x - running_mean) * s + bias,   s = weight / sqrt(running_var + eps).
 * After a convolution or a linear layer, whose output channel c is (w_c . x) + b_c, it folds
 * into that layer (the same operations, in the same order, as PyTorch's):
 *   w'_c = w_c * s_c,   b'_c = (b_c - running_mean_c) * s_c + bias_c.
 * One layer then does the work of two, and the pass over the activations that batch norm made
 * (reading and writing the whole tensor) is gone: `CONVNET_BENCH_MODELS=resnet50 node
 * dist/bench/run.js models` has ResNet-50 at batch 1 with and without.
 *
 * Only for evaluation: the folded layer has the running statistics baked in, so both modules
 * must be in eval mode, and the batch norm must keep running statistics (one that normalises
 * with the batch's own statistics cannot be folded). The result has the layer's ordinary
 * state-dict keys (`conv1.weight`, `conv1.bias`); the batch norm becomes an `Identity` with none.
 */
import { fail, type ErrorCode } from '../errors';
import { noGrad } from '../autograd';
import { tidy } from '../engine';
import { add, mul, reciprocal, reshape, sqrt, sub } from '../ops';
import type { Tensor } from '../tensor';
import { checkBool, checkFloat, checkNumber, checkTensor, describe, shapeStr } from '../validate';
import { perChannel } from './functional/layers';
import { BatchNorm1d, BatchNorm2d, BatchNorm3d, Conv1d, Conv2d, ConvTranspose2d, Identity, Linear, ReLU } from './layers';
import { Conv3d, ConvTranspose3d } from './layers-3d';
import { Module, Parameter } from './module';
import { Sequential } from './sequential';

type Conv = Conv1d | Conv2d | Conv3d | ConvTranspose2d | ConvTranspose3d;
type Foldable = Conv | Linear;
type BatchNorm = BatchNorm1d | BatchNorm2d | BatchNorm3d;

/** Exactly one of the layer classes (a subclass may compute something else in its forward). */
const isExactly = (m: unknown, cls: { prototype: object }): boolean => m !== null && typeof m === 'object' && Object.getPrototypeOf(m) === cls.prototype;
const isFoldable = (m: unknown): m is Foldable => [Conv1d, Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d, Linear].some((c) => isExactly(m, c));
const isBatchNorm = (m: unknown): m is BatchNorm => [BatchNorm1d, BatchNorm2d, BatchNorm3d].some((c) => isExactly(m, c));

/** The batch norm that follows each layer class in PyTorch's pairs. */
const partner = (layer: Foldable): typeof BatchNorm1d | typeof BatchNorm2d | typeof BatchNorm3d =>
  isExactly(layer, Conv2d) || isExactly(layer, ConvTranspose2d) ? BatchNorm2d : isExactly(layer, Conv3d) || isExactly(layer, ConvTranspose3d) ? BatchNorm3d : BatchNorm1d;

/**
 * The folded weight and bias of a layer followed by batch norm in evaluation. `w` is
 * [outChannels, …] (a convolution's or a linear layer's weight), or with `transpose` a
 * transposed convolution's [inChannels, outChannels / groups, …] (groups read from the shapes).
 * `b`, `bnWeight` and `bnBias` may be null (0, 1 and 0). Returns new Parameters on w's device.
 * @example const [w, b] = nn.utils.fuseConvBnWeights(conv.weight, conv.bias, bn.runningMean, bn.runningVar, bn.eps, bn.weight, bn.bias);
 */
export function fuseConvBnWeights(
  w: Tensor, b: Tensor | null, runningMean: Tensor, runningVar: Tensor, eps: number,
  bnWeight: Tensor | null, bnBias: Tensor | null, transpose = false,
): [Parameter, Parameter] {
  const op = 'fuseConvBnWeights';
  const tw = checkFloat(op, 'w', w);
  checkBool(op, 'transpose', transpose);
  if (tw.rank < (transpose ? 3 : 2)) fail('E_SHAPE', `${op}: expected \`w\` of rank ${transpose ? '3 or more' : '2 or more'}, got ${shapeStr(tw.shape)}`);
  const rm = checkFloat(op, 'runningMean', runningMean);
  if (rm.rank !== 1) fail('E_SHAPE', `${op}: expected \`runningMean\` of shape [channels], got ${shapeStr(rm.shape)}`);
  const channels = rm.shape[0];
  const perGroup = transpose ? tw.shape[1] : 0;
  if (transpose ? perGroup === 0 || channels % perGroup !== 0 || tw.shape[0] % (channels / perGroup) !== 0 : tw.shape[0] !== channels) {
    fail('E_SHAPE', `${op}: \`w\` of shape ${shapeStr(tw.shape)} does not have the ${channels} output channels of the batch norm${transpose ? ' (transposed: [inChannels, outChannels / groups, …])' : ''}`);
  }
  const rv = perChannel(op, 'runningVar', runningVar, channels, false)!;
  const tb = perChannel(op, 'b', b, channels, true), g = perChannel(op, 'bnWeight', bnWeight, channels, true), beta = perChannel(op, 'bnBias', bnBias, channels, true);
  checkNumber(op, 'eps', eps);
  if (eps < 0) fail('E_ARG', `${op}: expected \`eps\` >= 0, got ${eps}`);
  for (const [name, t] of [['runningMean', rm], ['runningVar', rv], ['b', tb], ['bnWeight', g], ['bnBias', beta]] as const) {
    if (t && t.device !== tw.device) fail('E_DEVICE', `${op}: \`${name}\` is on ${t.device} but \`w\` is on ${tw.device}`);
  }
  const [fw, fb] = noGrad(() => tidy(() => {
    const invstd = reciprocal(sqrt(add(rv, eps)));
    const s = g ? mul(g, invstd) : invstd;
    let folded: Tensor;
    if (!transpose) {
      folded = mul(tw, reshape(s, [channels, ...tw.shape.slice(1).map(() => 1)]));
    } else {
      // [groups * inPerGroup, outPerGroup, …]: output channel (group, j) scales w[group's rows, j].
      const groups = channels / perGroup, spatial = tw.shape.slice(2);
      const grouped = reshape(tw, [groups, tw.shape[0] / groups, perGroup, ...spatial]);
      folded = reshape(mul(grouped, reshape(s, [groups, 1, perGroup, ...spatial.map(() => 1)])), tw.shape);
    }
    const shifted = mul(mul(tb ? sub(tb, rm) : mul(rm, -1), invstd), g ?? 1);
    return [folded, beta ? add(shifted, beta) : shifted];
  }));
  const pw = new Parameter(fw), pb = new Parameter(fb);
  fw.dispose();
  fb.dispose();
  return [pw, pb];
}

/** As `fuseConvBnWeights`, for a linear layer's weight [outFeatures, inFeatures] (PyTorch's `fuse_linear_bn_weights`). */
export function fuseLinearBnWeights(
  w: Tensor, b: Tensor | null, runningMean: Tensor, runningVar: Tensor, eps: number, bnWeight: Tensor | null, bnBias: Tensor | null,
): [Parameter, Parameter] {
  const tw = checkTensor('fuseLinearBnWeights', 'w', w);
  if (tw.rank !== 2) fail('E_SHAPE', `fuseLinearBnWeights: expected \`w\` of shape [outFeatures, inFeatures], got ${shapeStr(tw.shape)}`);
  return fuseConvBnWeights(tw, b, runningMean, runningVar, eps, bnWeight, bnBias);
}

/** Why `layer` then `bn` cannot be folded ([code, message]), or null. */
function refusal(layer: unknown, bn: unknown): [ErrorCode, string] | null {
  const name = (m: unknown) => (m instanceof Module ? `a ${m.typeName}` : describe(m));
  if (!isFoldable(layer)) return ['E_ARG', `expected an nn.Conv1d, Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d or Linear before the batch norm, got ${name(layer)}`];
  if (!isBatchNorm(bn)) return ['E_ARG', `expected an nn.BatchNorm1d, BatchNorm2d or BatchNorm3d after the ${layer.typeName}, got ${name(bn)}`];
  if (!isExactly(bn, partner(layer))) {
    return ['E_ARG', `a ${layer.typeName} is followed by ${partner(layer).name} in PyTorch's pairs (Conv2d/ConvTranspose2d + BatchNorm2d, Conv3d/ConvTranspose3d + BatchNorm3d, Conv1d/Linear + BatchNorm1d), got ${bn.typeName}`];
  }
  const channels = layer instanceof Linear ? layer.outFeatures : layer.outChannels;
  if (bn.numFeatures !== channels) return ['E_ARG', `the ${layer.typeName} has ${channels} output channels but the ${bn.typeName} normalises ${bn.numFeatures}`];
  if (layer.training || bn.training) return ['E_STATE', 'folding uses the running statistics, so both modules must be in eval mode (call model.eval() first)'];
  if (!bn.runningMean || !bn.runningVar) return ['E_ARG', `the ${bn.typeName} keeps no running statistics (trackRunningStats: false), so it always normalises with the batch's own and cannot be folded`];
  return null;
}

/**
 * The layer and the batch norm as one new layer of the layer's class, in eval mode; the two given
 * are left as they were. Built from the layer's config (as models.load builds it), so its
 * constructor's initialisation draws from the random generator before the folded values replace it.
 */
function fold(layer: Foldable, bn: BatchNorm): Foldable {
  const transpose = layer instanceof ConvTranspose2d || layer instanceof ConvTranspose3d;
  const [w, b] = fuseConvBnWeights(layer.weight, layer.bias, bn.runningMean!, bn.runningVar!, bn.eps, bn.weight, bn.bias, transpose);
  try {
    const config = layer.config() as unknown[];
    const options = { ...(config[config.length - 1] as object), bias: true };
    const Cls = layer.constructor as new (...args: unknown[]) => Foldable;
    const fused = new Cls(...config.slice(0, -1), options).to(layer.device).eval();
    fused.loadStateDict({ weight: w, bias: b });
    return fused;
  } finally {
    w.dispose();
    b.dispose();
  }
}

/**
 * A new convolution (or transposed convolution) that computes `bn(conv(x))` of two modules in
 * eval mode, with a bias (PyTorch's `fuse_conv_bn_eval`). `conv` and `bn` are left as they were.
 * @example const fused = nn.utils.fuseConvBnEval(model.conv1, model.bn1);
 */
export function fuseConvBnEval<C extends Conv>(conv: C, bn: BatchNorm): C {
  const why = conv instanceof Linear ? ['E_ARG', 'expected a convolution; use fuseLinearBnEval for a Linear'] as const : refusal(conv, bn);
  if (why) fail(why[0], `fuseConvBnEval: ${why[1]}`);
  return fold(conv, bn) as C;
}

/** A new Linear that computes `bn(linear(x))` (BatchNorm1d in eval mode), PyTorch's `fuse_linear_bn_eval`. */
export function fuseLinearBnEval(linear: Linear, bn: BatchNorm1d): Linear {
  const why = isExactly(linear, Linear) ? refusal(linear, bn) : ['E_ARG', `expected an nn.Linear, got ${linear instanceof Module ? `a ${linear.typeName}` : describe(linear)}`] as const;
  if (why) fail(why[0], `fuseLinearBnEval: ${why[1]}`);
  return fold(linear, bn) as Linear;
}

/** How often each module appears in the tree under `model` (a module shared by two places is in both). */
function appearances(model: Module): Map<Module, number> {
  const n = new Map<Module, number>();
  for (const [, m] of model.namedModules()) n.set(m, (n.get(m) ?? 0) + 1);
  return n;
}

/** One group's replacement: the fused first module and Identity for the rest. */
interface Plan { paths: string[]; make: () => Module }

function plan(op: string, model: Module, paths: readonly string[], shared: Map<Module, number>): Plan {
  if (!Array.isArray(paths) || paths.length < 2 || paths.length > 3 || !paths.every((p) => typeof p === 'string')) {
    fail('E_ARG', `${op}: expected each group to be 2 or 3 module names ([conv, bn], [conv, bn, relu], [conv, relu], …), got ${describe(paths)}`);
  }
  const modules = paths.map((p) => model.getSubmodule(p));
  const names = modules.map((m) => m.typeName).join(', ');
  for (const [i, m] of modules.entries()) {
    if ((shared.get(m) ?? 0) > 1) fail('E_ARG', `${op}: \`${paths[i]}\` (a ${m.typeName}) appears more than once in the model; fusing it would change its other uses`);
  }
  const relu = isExactly(modules[modules.length - 1], ReLU);
  if (modules.length === 3 && !relu) fail('E_ARG', `${op}: a group of three must end with an nn.ReLU, got [${names}]`);
  if (modules.length === 2 && relu) {
    // [conv, relu] or [linear, relu]: PyTorch's ConvReLU2d, a Sequential of the two.
    if (!isFoldable(modules[0])) fail('E_ARG', `${op}: expected a convolution or Linear before the ReLU, got [${names}]`);
    return { paths, make: () => new Sequential(modules[0], modules[1]).train(modules[0].training) };
  }
  const why = refusal(modules[0], modules[1]);
  if (why) fail(why[0], `${op}: [${paths.join(', ')}]: ${why[1]}`);
  return {
    paths,
    make: () => {
      const fused = fold(modules[0] as Foldable, modules[1] as BatchNorm);
      return relu ? new Sequential(fused, modules[2]).eval() : fused;
    },
  };
}

/** Carries out the plans: nothing changes unless every group is valid and every fused layer was made. */
function carryOut(op: string, model: Module, plans: Plan[]): void {
  const named = plans.flatMap((p) => p.paths.map((path) => model.getSubmodule(path)));
  if (new Set(named).size !== named.length) fail('E_ARG', `${op}: a module is named in more than one group`);
  const made: Module[] = [];
  try {
    for (const p of plans) made.push(p.make());
  } catch (e) {
    for (const m of made) m.dispose();
    throw e;
  }
  for (const [i, p] of plans.entries()) {
    const old = model.setSubmodule(p.paths[0], made[i]);
    const rest = p.paths.slice(1).map((path) => model.setSubmodule(path, new Identity().train(model.getSubmodule(path).training)));
    // What was folded is gone from the model; a ReLU (no state) may be reused by the fused Sequential.
    for (const m of [old, ...rest]) if (!made[i].modules().includes(m)) m.dispose();
  }
}

/**
 * Fuses named groups of modules in place, as PyTorch's `fuse_modules(model, groups,
 * inplace=True)` in eval mode: [conv, bn] and [linear, bn] become one layer with the batch
 * norm folded in; [conv, bn, relu] that layer followed by the ReLU (a Sequential, whose keys
 * are `name.0.weight`, as PyTorch's ConvReLU2d); [conv, relu] a Sequential of the two. The
 * other names of a group become `nn.Identity`. Names are dotted paths from `model`; one group
 * may be given alone. The modules folded away are disposed. Returns `model`.
 *
 * The caller vouches that each group runs in sequence in the model's forward, with nothing else
 * reading the intermediate results: the names alone cannot show it (as in PyTorch).
 * @example nn.utils.fuseModules(model.eval(), [['conv1', 'bn1'], ['layer1.0.conv1', 'layer1.0.bn1']]);
 */
export function fuseModules<M extends Module>(model: M, groups: readonly (readonly string[])[] | readonly string[]): M {
  const op = 'fuseModules';
  if (!(model instanceof Module)) fail('E_ARG', `${op}: expected a Module, got ${describe(model)}`);
  if (!Array.isArray(groups)) fail('E_ARG', `${op}: expected an array of groups of module names, got ${describe(groups)}`);
  // One group given alone: names, not arrays. (Loops that stop at the first miss: a sparse
  // array of 2^31 holes is refused at once, not walked.)
  const single = groups.length > 0 && groups.length <= 3 && [...groups].every((g) => typeof g === 'string');
  const list = single ? [groups as readonly string[]] : groups as readonly (readonly string[])[];
  const shared = appearances(model);
  const plans: Plan[] = [];
  for (let i = 0; i < list.length; i++) plans.push(plan(op, model, list[i], shared));
  carryOut(op, model, plans);
  return model;
}

/**
 * The path of the layer whose output `module` (at `path`) returns when that is a foldable layer:
 * the module itself, or the last child of a Sequential, looked for inside (R(2+1)D's factored
 * convolution is a Sequential ending in a Conv3d, with the batch norm after it); else null.
 */
function lastLayer(path: string, module: Module): string | null {
  if (isFoldable(module)) return path;
  if (!(module instanceof Sequential)) return null;
  const children = module.namedChildren();
  if (children.length === 0) return null;
  const [name, last] = children[children.length - 1];
  return lastLayer(`${path}.${name}`, last);
}

/**
 * Folds every batch norm that directly follows a convolution or linear layer into it, in place
 * (the automatic form of `fuseModules`, as `torch.fx.experimental.optimization.fuse`): in
 * every Sequential, each such pair of neighbours (the layer may be the last of a Sequential
 * before the batch norm, as R(2+1)D's factored convolutions); in other modules, the groups their
 * `fusableGroups()` name (the ResNet blocks and stem name their conv/bn pairs). Pairs that
 * cannot be folded (a batch norm without running statistics, a module used twice) are left as
 * they are. The model must be in eval mode. Returns the number of batch norms folded.
 * @example models.resnet50().eval(); nn.utils.fuseConvBn(net);   // then serve net
 */
export function fuseConvBn(model: Module): number {
  const op = 'fuseConvBn';
  if (!(model instanceof Module)) fail('E_ARG', `${op}: expected a Module, got ${describe(model)}`);
  if (model.modules().some((m) => m.training)) fail('E_STATE', `${op}: folding uses the running statistics, so the model must be in eval mode (call model.eval() first)`);
  const shared = appearances(model);
  const plans: Plan[] = [];
  for (const [prefix, m] of model.namedModules()) {
    const at = (name: string) => (prefix ? `${prefix}.${name}` : name);
    let pairs: string[][];
    if (m instanceof Sequential) {
      const children = m.namedChildren();
      pairs = [];
      for (let i = 0; i + 1 < children.length; i++) {
        const layer = lastLayer(children[i][0], children[i][1]);
        if (layer !== null && isBatchNorm(children[i + 1][1])) pairs.push([layer, children[i + 1][0]]);
      }
    } else {
      pairs = m.fusableGroups();
    }
    for (const pair of pairs) {
      const [layer, bn] = pair.map((name) => m.getSubmodule(name));
      if (pair.length !== 2 || refusal(layer, bn) !== null || (shared.get(layer) ?? 0) > 1 || (shared.get(bn) ?? 0) > 1) continue;
      plans.push(plan(op, model, pair.map(at), shared));
    }
  }
  carryOut(op, model, plans);
  return plans.length;
}
