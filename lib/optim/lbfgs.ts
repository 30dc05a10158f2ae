/**
 * `LBFGS`: limited-memory BFGS, as torch.optim.LBFGS (PyTorch 1.13, itself after minFunc), with
 * the same iteration, history, stopping rules and strong-Wolfe line search (`_strong_wolfe`,
 * `_cubic_interpolate`). The vectors (gradient, directions, history) are float32 tensors on the
 * parameters' device, all parameters flattened into one; the scalars (losses, dot products, step
 * sizes) are read back to the host each iteration, as PyTorch does.
 */
import { enableGrad, noGrad } from '../autograd';
import { zeros } from '../creation';
import { keep, tidy } from '../engine';
import { fail } from '../errors';
import { abs, add, clone, concat, max, mul, neg, reshape, slice, sub, sum } from '../ops';
import type { Tensor } from '../tensor';
import { checkInt, checkNumber, checkOptions, checkTensor, describe, isTensor } from '../validate';
import { assign } from './inplace';
import { Optimizer, checkLr, checkNonNegative, type OptimizerStateDict, type ParamGroup, type ParamState, type ParamsArg } from './optimizer';
import { stripUndefined } from './sgd';

type F32 = Tensor<'float32'>;

export interface LBFGSOptions {
  /** The learning rate: the step along each direction (default 1). */
  lr: number;
  /** Iterations per `step()` (default 20). */
  maxIter: number;
  /** Loss evaluations per `step()` (default floor(maxIter * 5 / 4)). */
  maxEval: number;
  /** Stop when max |gradient| <= this (default 1e-7). */
  toleranceGrad: number;
  /** Stop when a step or the change of the loss is below this (default 1e-9). */
  toleranceChange: number;
  /** The number of (s, y) pairs kept (default 100). */
  historySize: number;
  /** null (a fixed step of lr) or 'strong_wolfe' (default null). */
  lineSearchFn: null | 'strong_wolfe';
}

/** LBFGS's state (PyTorch's keys in camelCase): the history and the last direction and step. */
interface LbfgsState {
  funcEvals: number;
  nIter: number;
  d?: F32;
  t?: number;
  oldDirs?: F32[];
  oldStps?: F32[];
  ro?: number[];
  hDiag?: number;
  prevFlatGrad?: F32;
  prevLoss?: number;
}

const f32 = Math.fround;
const item = (t: Tensor): number => t.item();
const dot = (a: F32, b: F32): number => f32(item(sum(mul(a, b))));
const absMax = (a: F32): number => item(max(abs(a)));

/** PyTorch's _cubic_interpolate: the minimiser of the cubic through two points, clamped to the bounds. */
export function cubicInterpolate(x1: number, f1: number, g1: number, x2: number, f2: number, g2: number, bounds?: [number, number]): number {
  const [xminBound, xmaxBound] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const d2Square = d1 * d1 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const minPos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return Math.min(Math.max(minPos, xminBound), xmaxBound);
  }
  return (xminBound + xmaxBound) / 2;
}

type ObjFunc = (x: F32[], t: number, d: F32) => [number, F32];

/** PyTorch's _strong_wolfe: returns [loss, flat gradient, step, evaluations]. */
function strongWolfe(objFunc: ObjFunc, x: F32[], t: number, d: F32, f: number, g: F32, gtd: number,
  c1 = 1e-4, c2 = 0.9, toleranceChange = 1e-9, maxLs = 25): [number, F32, number, number] {
  const dNorm = absMax(d);
  g = clone(g);
  let [fNew, gNew] = objFunc(x, t, d);
  let lsFuncEvals = 1;
  let gtdNew = dot(gNew, d);
  let tPrev = 0, fPrev = f, gPrev = g, gtdPrev = gtd;
  let done = false;
  let lsIter = 0;
  let bracket: number[] = [], bracketF: number[] = [], bracketG: F32[] = [], bracketGtd: number[] = [];
  while (lsIter < maxLs) {
    if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev)) {
      bracket = [tPrev, t]; bracketF = [fPrev, fNew]; bracketG = [gPrev, clone(gNew)]; bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      bracket = [t]; bracketF = [fNew]; bracketG = [gNew];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      bracket = [tPrev, t]; bracketF = [fPrev, fNew]; bracketG = [gPrev, clone(gNew)]; bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    const minStep = t + 0.01 * (t - tPrev);
    const maxStep = t * 10;
    const tmp = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
    tPrev = tmp; fPrev = fNew; gPrev = clone(gNew); gtdPrev = gtdNew;
    [fNew, gNew] = objFunc(x, t, d);
    lsFuncEvals += 1;
    gtdNew = dot(gNew, d);
    lsIter += 1;
  }
  if (lsIter === maxLs) {
    bracket = [0, t]; bracketF = [f, fNew]; bracketG = [g, gNew];
  }
  // Zoom: refine the bracket until a point satisfies the conditions.
  let insufProgress = false;
  let [lowPos, highPos] = bracketF[0] <= bracketF[bracketF.length - 1] ? [0, 1] : [1, 0];
  while (!done && lsIter < maxLs) {
    if (Math.abs(bracket[1] - bracket[0]) * dNorm < toleranceChange) break;
    t = cubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1]);
    const hi = Math.max(...bracket), lo = Math.min(...bracket);
    const eps = 0.1 * (hi - lo);
    if (Math.min(hi - t, t - lo) < eps) {
      if (insufProgress || t >= hi || t <= lo) {
        t = Math.abs(t - hi) < Math.abs(t - lo) ? hi - eps : lo + eps;
        insufProgress = false;
      } else {
        insufProgress = true;
      }
    } else {
      insufProgress = false;
    }
    [fNew, gNew] = objFunc(x, t, d);
    lsFuncEvals += 1;
    gtdNew = dot(gNew, d);
    lsIter += 1;
    if (fNew > f + c1 * t * gtd || fNew >= bracketF[lowPos]) {
      bracket[highPos] = t; bracketF[highPos] = fNew; bracketG[highPos] = clone(gNew); bracketGtd[highPos] = gtdNew;
      [lowPos, highPos] = bracketF[0] <= bracketF[1] ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) {
        done = true;
      } else if (gtdNew * (bracket[highPos] - bracket[lowPos]) >= 0) {
        bracket[highPos] = bracket[lowPos]; bracketF[highPos] = bracketF[lowPos]; bracketG[highPos] = bracketG[lowPos]; bracketGtd[highPos] = bracketGtd[lowPos];
      }
      bracket[lowPos] = t; bracketF[lowPos] = fNew; bracketG[lowPos] = clone(gNew); bracketGtd[lowPos] = gtdNew;
    }
  }
  return [bracketF[lowPos], bracketG[lowPos], bracket[lowPos], lsFuncEvals];
}

/**
 * L-BFGS, as torch.optim.LBFGS (PyTorch 1.13): one parameter group; `step(closure)` runs up to
 * `maxIter` iterations (and `maxEval` evaluations of the closure), each along the direction of
 * the two-loop recursion over the last `historySize` pairs, with a step of `lr` (`t =
 * min(1, 1 / |g|_1) lr` at the very first iteration) or one found by the strong-Wolfe line
 * search (`lineSearchFn: 'strong_wolfe'`). The closure zeroes the gradients, computes the loss,
 * calls `backward()` and returns the loss; `step` returns the loss of its first evaluation.
 * Memory: the history holds 2 x historySize vectors of all the parameters' size.
 *
 * @example
 * const opt = new optim.LBFGS(model.parameters(), { lineSearchFn: 'strong_wolfe' });
 * for (let i = 0; i < 10; i++) {
 *   opt.step(() => { opt.zeroGrad(); const loss = F.mseLoss(model.call(x), y); loss.backward(); return loss; });
 * }
 */
export class LBFGS extends Optimizer<LBFGSOptions> {
  #st: LbfgsState = { funcEvals: 0, nIter: 0 };

  constructor(params: ParamsArg<LBFGSOptions>, options: Partial<LBFGSOptions> = {}) {
    const o = checkOptions<Partial<LBFGSOptions>>('LBFGS', options, ['lr', 'maxIter', 'maxEval', 'toleranceGrad', 'toleranceChange', 'historySize', 'lineSearchFn']);
    const maxIter = o.maxIter ?? 20;
    const maxEval = o.maxEval ?? (typeof maxIter === 'number' ? Math.floor((maxIter * 5) / 4) : maxIter);
    super('LBFGS', params, {
      lr: 1, maxIter, maxEval, toleranceGrad: 1e-7, toleranceChange: 1e-9, historySize: 100, lineSearchFn: null, ...stripUndefined({ ...o, maxIter, maxEval }),
    });
  }

  override addParamGroup(group: { params: Iterable<Tensor> } & Partial<LBFGSOptions>): void {
    if (this.paramGroups.length > 0) fail('E_ARG', "LBFGS: LBFGS doesn't support per-parameter options (parameter groups): give it one list of parameters");
    super.addParamGroup(group);
  }

  protected override checkGroup(group: ParamGroup<LBFGSOptions>): void {
    const op = 'LBFGS';
    checkLr(op, group.lr);
    checkInt(op, 'maxIter', group.maxIter, 1);
    checkInt(op, 'maxEval', group.maxEval, 1);
    checkNonNegative(op, 'toleranceGrad', group.toleranceGrad);
    checkNonNegative(op, 'toleranceChange', group.toleranceChange);
    checkInt(op, 'historySize', group.historySize, 1);
    if (group.lineSearchFn !== null && group.lineSearchFn !== 'strong_wolfe') {
      fail('E_ARG', `${op}: expected \`lineSearchFn\` to be null or 'strong_wolfe' (the only one PyTorch supports), got ${describe(group.lineSearchFn)}`);
    }
  }

  protected override updateParam(_param: F32, _grad: F32, _state: ParamState, _group: ParamGroup<LBFGSOptions>): void {
    fail('E_ARG', 'LBFGS: updateParam is not used: LBFGS steps all the parameters together in step(closure)');
  }

  get #params(): F32[] {
    return this.paramGroups[0].params;
  }

  #gatherFlatGrad(): F32 {
    return concat(this.#params.map((p) => (p.grad === null ? zeros<'float32'>([p.size], { device: p.device }) : reshape(p.grad, [p.size]))), 0);
  }

  #addGrad(stepSize: number, update: F32): void {
    let offset = 0;
    for (const p of this.#params) {
      assign('LBFGS.step', p, add(p, mul(reshape(slice(update, [offset], [p.size]), p.shape), stepSize)));
      offset += p.size;
    }
  }

  /** The closure's loss (a number) and the flat gradient, its other tensors freed. */
  #evaluate(closure: () => Tensor): [number, F32] {
    return tidy(() => {
      const l = enableGrad(closure);
      if (!isTensor(l)) fail('E_ARG', `LBFGS.step: the closure must return the loss (a Tensor), got ${describe(l)}`);
      const loss = (l as Tensor).item();
      return [loss, this.#gatherFlatGrad()] as [number, F32];
    });
  }

  /**
   * Runs up to `maxIter` L-BFGS iterations; `closure` re-evaluates the model and returns the
   * loss (after calling `backward()`, with the gradients zeroed first). Returns the closure's
   * first loss (the caller's to dispose).
   * @example const loss = opt.step(() => { opt.zeroGrad(); const l = lossFn(); l.backward(); return l; });
   */
  override step(closure?: () => Tensor): Tensor {
    const op = 'LBFGS.step';
    if (typeof closure !== 'function') fail('E_ARG', `${op}: LBFGS needs a closure that re-evaluates the model and returns the loss, got ${describe(closure)}`);
    const group = this.paramGroups[0];
    this.checkGroup(group);
    this.#params.forEach((p, i) => { if (p.isDisposed) fail('E_DISPOSED', `${op}: params[${i}] has been disposed`); });
    const { lr, maxIter, maxEval, toleranceGrad, toleranceChange, lineSearchFn, historySize } = group;
    const st = this.#st;
    // The closure's intermediates are freed; its loss is returned (the caller's).
    const origLoss = tidy(() => enableGrad(closure!));
    if (!isTensor(origLoss)) fail('E_ARG', `${op}: the closure must return the loss (a Tensor), got ${describe(origLoss)}`);
    let loss = origLoss.item();
    let currentEvals = 1;
    st.funcEvals += 1;
    const before = new Set<Tensor>([st.d, st.prevFlatGrad, ...(st.oldDirs ?? []), ...(st.oldStps ?? [])].filter((t): t is F32 => t !== undefined));
    noGrad(() => tidy(() => {
      let flatGrad = this.#gatherFlatGrad();
      let optCond = absMax(flatGrad) <= toleranceGrad;
      if (optCond) return;
      let { d, t, oldDirs, oldStps, ro, hDiag, prevFlatGrad, prevLoss } = st;
      let nIter = 0;
      while (nIter < maxIter) {
        nIter += 1;
        st.nIter += 1;
        // the direction: steepest descent first, then the two-loop recursion over the history
        if (st.nIter === 1) {
          d = neg(flatGrad);
          oldDirs = []; oldStps = []; ro = []; hDiag = 1;
        } else {
          const y = sub(flatGrad, prevFlatGrad!);
          const s = mul(d!, t!);
          const ys = dot(y, s);
          if (ys > 1e-10) {
            if (oldDirs!.length === historySize) { oldDirs!.shift(); oldStps!.shift(); ro!.shift(); }
            oldDirs!.push(y); oldStps!.push(s); ro!.push(f32(1 / ys));
            hDiag = f32(ys / dot(y, y));
          }
          const numOld = oldDirs!.length;
          const al: number[] = new Array(numOld);
          let q = neg(flatGrad);
          for (let i = numOld - 1; i >= 0; i--) {
            al[i] = f32(dot(oldStps![i], q) * ro![i]);
            q = sub(q, mul(oldDirs![i], al[i]));
          }
          let r = mul(q, hDiag!);
          for (let i = 0; i < numOld; i++) {
            const be = f32(dot(oldDirs![i], r) * ro![i]);
            r = add(r, mul(oldStps![i], al[i] - be));
          }
          d = r;
        }
        prevFlatGrad = clone(flatGrad);
        prevLoss = loss;
        // the step size
        t = st.nIter === 1 ? f32(Math.min(1, f32(1 / item(sum(abs(flatGrad))))) * lr) : lr;
        const gtd = dot(flatGrad, d!);
        if (gtd > -toleranceChange) break;
        let lsFuncEvals = 0;
        if (lineSearchFn !== null) {
          const xInit = this.#params.map((p) => clone(p));
          const objFunc: ObjFunc = (x, tt, dd) => {
            this.#addGrad(tt, dd);
            const [l, g] = this.#evaluate(closure!);
            this.#params.forEach((p, i) => assign(op, p, x[i]));
            return [l, g];
          };
          [loss, flatGrad, t, lsFuncEvals] = strongWolfe(objFunc, xInit, t, d!, loss, flatGrad, gtd);
          this.#addGrad(t, d!);
          optCond = absMax(flatGrad) <= toleranceGrad;
        } else {
          this.#addGrad(t, d!);
          if (nIter !== maxIter) {
            [loss, flatGrad] = this.#evaluate(closure!);
            optCond = absMax(flatGrad) <= toleranceGrad;
            lsFuncEvals = 1;
          }
        }
        currentEvals += lsFuncEvals;
        st.funcEvals += lsFuncEvals;
        if (nIter === maxIter) break;
        if (currentEvals >= maxEval) break;
        if (optCond) break;
        if (absMax(mul(d!, t)) <= toleranceChange) break;
        if (Math.abs(loss - prevLoss) < toleranceChange) break;
      }
      Object.assign(st, { d, t, oldDirs, oldStps, ro, hDiag, prevFlatGrad, prevLoss });
      for (const v of [d, prevFlatGrad, ...(oldDirs ?? []), ...(oldStps ?? [])]) if (v) keep(v);
    }));
    // The state tensors of the last step that this one replaced are freed.
    const now = new Set<Tensor>([st.d, st.prevFlatGrad, ...(st.oldDirs ?? []), ...(st.oldStps ?? [])].filter((t): t is F32 => t !== undefined));
    for (const t of before) if (!now.has(t)) t.dispose();
    return origLoss;
  }

  /**
   * The state as PyTorch's (keys in camelCase): `state[0]` holds funcEvals, nIter, d, t, oldDirs,
   * oldStps, ro, hDiag, prevFlatGrad and prevLoss (copies of the tensors, the caller's).
   */
  override stateDict(): OptimizerStateDict {
    const { params, ...options } = this.paramGroups[0];
    const s = this.#st;
    const entry: Record<string, unknown> = { funcEvals: s.funcEvals, nIter: s.nIter };
    if (s.d) {
      Object.assign(entry, {
        d: clone(s.d), t: s.t, oldDirs: s.oldDirs!.map((x) => clone(x)), oldStps: s.oldStps!.map((x) => clone(x)), ro: s.ro!.slice(), hDiag: s.hDiag,
        prevFlatGrad: clone(s.prevFlatGrad!), prevLoss: s.prevLoss,
      });
    }
    return { state: { 0: entry }, paramGroups: [{ ...options, params: params.map((_, i) => i) }] } as unknown as OptimizerStateDict;
  }

  /** Restores `stateDict()` (copies the tensors). @example opt.loadStateDict(saved) */
  override loadStateDict(stateDict: OptimizerStateDict): void {
    const op = 'LBFGS.loadStateDict';
    if (typeof stateDict !== 'object' || stateDict === null || !Array.isArray(stateDict.paramGroups) || stateDict.paramGroups.length !== 1 || typeof stateDict.state !== 'object' || stateDict.state === null) {
      fail('E_ARG', `${op}: expected { state, paramGroups } with one parameter group, got ${describe(stateDict)}`);
    }
    const ours = this.paramGroups[0];
    const saved = stateDict.paramGroups[0] as { params?: unknown };
    if (!Array.isArray(saved.params) || saved.params.length !== ours.params.length) fail('E_ARG', `${op}: the state has ${describe(saved.params)} parameters, the optimizer ${ours.params.length}`);
    const group = { ...ours, ...saved, params: ours.params } as ParamGroup<LBFGSOptions>;
    this.checkGroup(group);
    const e = ((stateDict.state as Record<number, unknown>)[0] ?? {}) as Record<string, unknown>;
    const n = this.#params.reduce((a, p) => a + p.size, 0);
    const vec = (name: string, v: unknown): F32 => {
      const t = checkTensor(op, name, v);
      if (t.dtype !== 'float32' || t.rank !== 1 || t.shape[0] !== n) fail('E_SHAPE', `${op}: expected \`${name}\` to be a float32 vector of ${n} elements, got ${describe(t)}`);
      return t as F32;
    };
    const num = (name: string, v: unknown): number => checkNumber(op, name, v);
    const next: LbfgsState = { funcEvals: checkInt(op, 'funcEvals', e.funcEvals ?? 0, 0), nIter: checkInt(op, 'nIter', e.nIter ?? 0, 0) };
    if (e.d !== undefined) {
      const list = (name: string): F32[] => {
        const v = e[name];
        if (!Array.isArray(v)) fail('E_ARG', `${op}: expected \`${name}\` to be an array of tensors, got ${describe(v)}`);
        return (v as unknown[]).map((x, i) => vec(`${name}[${i}]`, x));
      };
      const oldDirs = list('oldDirs'), oldStps = list('oldStps');
      const ro = e.ro;
      if (!Array.isArray(ro) || ro.length !== oldDirs.length || oldStps.length !== oldDirs.length) fail('E_ARG', `${op}: expected oldDirs, oldStps and ro of one length`);
      Object.assign(next, {
        d: vec('d', e.d), t: num('t', e.t), oldDirs, oldStps, ro: (ro as unknown[]).map((x, i) => num(`ro[${i}]`, x)), hDiag: num('hDiag', e.hDiag),
        prevFlatGrad: vec('prevFlatGrad', e.prevFlatGrad), prevLoss: num('prevLoss', e.prevLoss),
      });
    }
    // Checked: now replace, with copies on the parameters' device.
    const device = this.#params[0].device;
    const copy = (t: F32): F32 => keep(t.device === device ? clone(t) : (t.to(device) as F32));
    if (next.d) {
      next.d = copy(next.d); next.prevFlatGrad = copy(next.prevFlatGrad!);
      next.oldDirs = next.oldDirs!.map(copy); next.oldStps = next.oldStps!.map(copy);
    }
    this.#disposeState();
    this.#st = next;
    Object.assign(ours, group);
  }

  override dispose(): void {
    this.#disposeState();
    this.#st = { funcEvals: 0, nIter: 0 };
  }

  #disposeState(): void {
    const s = this.#st;
    for (const t of [s.d, s.prevFlatGrad, ...(s.oldDirs ?? []), ...(s.oldStps ?? [])]) t?.dispose();
  }
}
