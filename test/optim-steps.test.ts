import { expect } from 'chai';
import * as cc from '../lib';
import { expectClose, expectError, randomTensor } from './helpers';

const { optim } = cc;

type Values = { shape: number[]; values: number[] };
interface OptimCase {
  kind: 'sgd' | 'adam' | 'adamw' | 'rmsprop' | 'adagrad';
  kwargs: {
    lr: number; momentum?: number; dampening?: number; nesterov?: boolean; weight_decay?: number; betas?: [number, number]; eps?: number; amsgrad?: boolean;
    alpha?: number; centered?: boolean; lr_decay?: number; initial_accumulator_value?: number;
  };
  initial: Values;
  steps: { grad: Values; param: Values }[];
}

/** Runs a case with our fused steps; returns the parameter after each step. */
function replay(c: OptimCase): Float32Array[] {
  const param = cc.tensor(c.initial.values, { shape: c.initial.shape });
  const zeros = () => cc.zeros(c.initial.shape);
  const [buf, m, v, vMax] = [zeros(), zeros(), zeros(), zeros()];
  const k = c.kwargs;
  const sum = cc.full(c.initial.shape, k.initial_accumulator_value ?? 0);
  return c.steps.map((s, i) => {
    const grad = cc.tensor(s.grad.values, { shape: s.grad.shape });
    if (c.kind === 'rmsprop') {
      optim.rmspropStep(param, grad, v, k.momentum ? buf : null, k.centered ? m : null,
        { lr: k.lr, alpha: k.alpha, eps: k.eps, weightDecay: k.weight_decay, momentum: k.momentum, centered: k.centered });
    } else if (c.kind === 'adagrad') {
      optim.adagradStep(param, grad, sum, { lr: k.lr, lrDecay: k.lr_decay, weightDecay: k.weight_decay, eps: k.eps, step: i + 1 });
    } else if (c.kind === 'sgd') {
      optim.sgdStep(param, grad, k.momentum ? buf : null, {
        lr: k.lr, momentum: k.momentum, dampening: k.dampening, nesterov: k.nesterov, weightDecay: k.weight_decay, firstStep: i === 0,
      });
    } else {
      optim.adamStep(param, grad, m, v, k.amsgrad ? vMax : null, {
        lr: k.lr, betas: k.betas, eps: k.eps, weightDecay: k.weight_decay ?? (c.kind === 'adamw' ? 0.01 : 0), step: i + 1, decoupled: c.kind === 'adamw',
      });
    }
    return param.dataSync();
  });
}

/** The same algorithms in float64, written from PyTorch's documentation. */
function reference(c: OptimCase): Float64Array[] {
  const k = c.kwargs;
  const p = Float64Array.from(c.initial.values);
  const n = p.length;
  const buf = new Float64Array(n), m = new Float64Array(n), v = new Float64Array(n), vMax = new Float64Array(n);
  const [b1, b2] = k.betas ?? [0.9, 0.999];
  const eps = k.eps ?? (c.kind === 'adagrad' ? 1e-10 : 1e-8), wd = k.weight_decay ?? (c.kind === 'adamw' ? 0.01 : 0);
  const alpha = k.alpha ?? 0.99;
  const sum = new Float64Array(n).fill(k.initial_accumulator_value ?? 0);
  return c.steps.map((s, t) => {
    for (let i = 0; i < n; i++) {
      let g = s.grad.values[i];
      if (c.kind === 'rmsprop') {
        if (wd) g += wd * p[i];
        v[i] = alpha * v[i] + (1 - alpha) * g * g;                 // v: square_avg, m: grad_avg
        let avg = v[i];
        if (k.centered) {
          m[i] = alpha * m[i] + (1 - alpha) * g;
          avg -= m[i] * m[i];
        }
        const denom = Math.sqrt(avg) + eps;
        if (k.momentum) {
          buf[i] = k.momentum * buf[i] + g / denom;
          p[i] -= k.lr * buf[i];
        } else {
          p[i] -= (k.lr * g) / denom;
        }
      } else if (c.kind === 'adagrad') {
        if (wd) g += wd * p[i];
        sum[i] += g * g;
        p[i] -= ((k.lr / (1 + t * (k.lr_decay ?? 0))) * g) / (Math.sqrt(sum[i]) + eps);
      } else if (c.kind === 'sgd') {
        if (wd) g += wd * p[i];
        if (k.momentum) {
          buf[i] = t === 0 ? g : k.momentum * buf[i] + (1 - (k.dampening ?? 0)) * g;
          g = k.nesterov ? g + k.momentum * buf[i] : buf[i];
        }
        p[i] -= k.lr * g;
      } else {
        if (c.kind === 'adamw') p[i] *= 1 - k.lr * wd;
        else if (wd) g += wd * p[i];
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        vMax[i] = Math.max(vMax[i], v[i]);
        const second = k.amsgrad ? vMax[i] : v[i];
        p[i] -= (k.lr / (1 - b1 ** (t + 1))) * m[i] / (Math.sqrt(second) / Math.sqrt(1 - b2 ** (t + 1)) + eps);
      }
    }
    return p.slice();
  });
}

describe('optim: fused SGD, Adam/AdamW, RMSprop and Adagrad steps', () => {
  const { cases } = require('../../test/fixtures/optim.json') as { cases: OptimCase[] };

  for (const c of cases) {
    it(`${c.kind} ${JSON.stringify(c.kwargs)} matches PyTorch and a float64 reference over 4 steps`, () => {
      const ours = replay(c), ref = reference(c);
      ours.forEach((p, s) => {
        expectClose(p, c.steps[s].param.values, 2e-6, 2e-7, `step ${s + 1} vs PyTorch`);
        expectClose(p, ref[s], 2e-6, 2e-7, `step ${s + 1} vs float64`);
      });
    });
  }

  it('updates in place, in queue order: a read queued before the step sees the old values', async () => {
    const p = cc.ones([4]);
    const before = p.data();
    optim.sgdStep(p, cc.ones([4]), null, { lr: 0.5 });
    const after = p.data();
    expect(Array.from(await before)).to.deep.equal([1, 1, 1, 1]);
    expect(Array.from(await after)).to.deep.equal([0.5, 0.5, 0.5, 0.5]);
  });

  it('sgdStep: every option combination gives the bits of the per-element formula, rounded in float32 step by step', () => {
    // The CPU loop is specialised per option set so that it vectorises (native/cpu/sgd.cc); each
    // specialisation must still round every product and sum as optim::sgd_update does (and the
    // GPU kernel, which calls it).
    const f = Math.fround;
    const n = 16411;   // a prime: the vector loops' tails run too
    for (const weightDecay of [0, 0.01]) {
      for (const momentum of [0, 0.9]) {
        for (const nesterov of momentum ? [false, true] : [false]) {
          const { t: p } = randomTensor([n], 11), { t: g } = randomTensor([n], 12), { t: b0 } = randomTensor([n], 13);
          const P = Array.from(p.dataSync()), G = Array.from(g.dataSync()), B = Array.from(b0.dataSync());
          const buf = momentum ? b0 : null;
          for (const firstStep of momentum ? [true, false] : [false]) {
            const opts = { lr: 0.05, momentum, weightDecay, nesterov, dampening: nesterov ? 0 : 0.25, firstStep };
            optim.sgdStep(p, g, buf, opts);
            const lr = f(0.05), wd = f(weightDecay), mom = f(momentum), keep = f(1 - opts.dampening);
            for (let i = 0; i < n; i++) {
              let d = G[i];
              if (wd !== 0) d = f(d + f(wd * P[i]));
              if (momentum) {
                B[i] = firstStep ? d : f(f(mom * B[i]) + f(keep * d));
                d = nesterov ? f(d + f(mom * B[i])) : B[i];
              }
              P[i] = f(P[i] + -f(lr * d));
            }
            const what = JSON.stringify(opts);
            expect(Buffer.from(p.dataSync().buffer).equals(Buffer.from(new Float32Array(P).buffer)), `${what}: param`).to.equal(true);
            if (buf) expect(Buffer.from(buf.dataSync().buffer).equals(Buffer.from(new Float32Array(B).buffer)), `${what}: buffer`).to.equal(true);
          }
          for (const t of [p, g, b0]) t.dispose();
        }
      }
    }
  });

  describe('Adam/AdamW, RMSprop and Adagrad: every option combination gives the bits of the per-element formula, rounded in float32 step by step', () => {
    // As sgdStep's test above: the CPU loops are specialised per option set so that they
    // vectorise (native/cpu/adam.cc, rmsprop.cc, adagrad.cc); each specialisation must still round
    // every product, quotient, square root and sum as optim_update.h does (and the GPU kernels,
    // which call it), in whichever SIMD clone this CPU picks (simd_clones.h: all are compiled
    // with contraction off). Lengths with vector tails (1, 15, 17) and without (16), 1000, and
    // 40009, which 2 threads split in two (parallel_for's grain is 16384) at element 20004, not a
    // multiple of 16; 1 and 2 threads; three steps each (the bias corrections and lr_decay change
    // with the step).
    const f = Math.fround;
    const lengths = [1, 15, 16, 17, 1000, 40009];
    /** A random float32 state: the tensor and its values, which the formula below updates. */
    const state = (n: number, seed: number, low = -1, high = 1) => {
      const { t, v } = randomTensor([n], seed, low, high);
      return { t, a: Array.from(v) };
    };
    const fromValues = (a: number[]) => ({ t: cc.tensor(Float32Array.from(a), { shape: [a.length] }), a });
    const expectBits = (t: cc.Tensor, expected: number[], what: string) => {
      const ours = t.dataSync() as Float32Array;
      const same = Buffer.from(ours.buffer, ours.byteOffset, ours.byteLength).equals(Buffer.from(new Float32Array(expected).buffer));
      expect(same, what).to.equal(true);
    };
    /** Runs `check(n, threads)` for every length at 1 and 2 threads. */
    const overLengthsAndThreads = (check: (n: number, threads: number) => void) => {
      const before = cc.getNumThreads();
      try {
        for (const threads of [1, 2]) {
          cc.setNumThreads(threads);
          for (const n of lengths) check(n, threads);
        }
      } finally {
        cc.setNumThreads(before);
      }
    };

    it('adamStep (L2 or decoupled weight decay, amsgrad)', () => {
      overLengthsAndThreads((n, threads) => {
        for (const weightDecay of [0, 0.05]) {
          for (const decoupled of [false, true]) {
            for (const amsgrad of [false, true]) {
              const p = state(n, 21), g = state(n, 22), m = state(n, 23), v = state(n, 24, 0, 1), vMax = state(n, 25, 0, 1);
              const lr = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-3;
              const b1 = f(beta1), b2 = f(beta2), omb1 = f(1 - beta1), omb2 = f(1 - beta2), eps32 = f(eps);
              const wd = f(weightDecay), decay = f(1 - lr * weightDecay);
              for (let step = 1; step <= 3; step++) {
                const opts = { lr, betas: [beta1, beta2] as [number, number], eps, weightDecay, step, decoupled };
                optim.adamStep(p.t, g.t, m.t, v.t, amsgrad ? vMax.t : null, opts);
                const stepSize = f(lr / (1 - beta1 ** step)), bc2 = f(Math.sqrt(1 - beta2 ** step));
                const [P, M, V, VM] = [p.a, m.a, v.a, vMax.a];
                for (let i = 0; i < n; i++) {
                  let d = g.a[i], w = P[i];
                  if (decoupled) {
                    if (wd !== 0) w = f(w * decay);
                  } else if (wd !== 0) {
                    d = f(d + f(wd * w));
                  }
                  const mi = f(f(M[i] * b1) + f(omb1 * d));
                  const vi = f(f(V[i] * b2) + f(f(omb2 * d) * d));
                  M[i] = mi;
                  V[i] = vi;
                  let second = vi;
                  if (amsgrad) {
                    VM[i] = VM[i] > vi ? VM[i] : vi;
                    second = VM[i];
                  }
                  const denom = f(f(f(Math.sqrt(second)) / bc2) + eps32);
                  P[i] = f(w + -f(stepSize * f(mi / denom)));
                }
                const what = `n ${n}, ${threads} thread(s), amsgrad ${amsgrad}, ${JSON.stringify(opts)}`;
                expectBits(p.t, P, `${what}: param`);
                expectBits(m.t, M, `${what}: expAvg`);
                expectBits(v.t, V, `${what}: expAvgSq`);
                if (amsgrad) expectBits(vMax.t, VM, `${what}: maxExpAvgSq`);
              }
              for (const s of [p, g, m, v, vMax]) s.t.dispose();
            }
          }
        }
      });
    });

    it('rmspropStep (weight decay, centered, momentum)', () => {
      overLengthsAndThreads((n, threads) => {
        for (const weightDecay of [0, 0.05]) {
          for (const centered of [false, true]) {
            for (const momentum of [0, 0.9]) {
              const p = state(n, 31), g = state(n, 32), buf = state(n, 33), ga = state(n, 34), r = state(n, 35, 0.1, 1);
              // square_avg >= grad_avg^2 + 0.1, so that the centered variance stays positive (no NaN).
              const sq = fromValues(ga.a.map((x, i) => f(f(x * x) + r.a[i])));
              const lr = 0.01, alpha = 0.99, eps = 1e-3;
              const lr32 = f(lr), alpha32 = f(alpha), oma = f(1 - alpha), eps32 = f(eps), wd = f(weightDecay), mom = f(momentum);
              for (let step = 1; step <= 3; step++) {
                const opts = { lr, alpha, eps, weightDecay, momentum, centered };
                optim.rmspropStep(p.t, g.t, sq.t, momentum ? buf.t : null, centered ? ga.t : null, opts);
                const [P, SQ, B, GA] = [p.a, sq.a, buf.a, ga.a];
                for (let i = 0; i < n; i++) {
                  let d = g.a[i];
                  if (wd !== 0) d = f(d + f(wd * P[i]));
                  const sqi = f(f(SQ[i] * alpha32) + f(f(oma * d) * d));
                  SQ[i] = sqi;
                  let avg: number;
                  if (centered) {
                    const gai = f(f(GA[i] * alpha32) + f(oma * d));
                    GA[i] = gai;
                    avg = f(Math.sqrt(f(sqi + f(-gai * gai))));
                  } else {
                    avg = f(Math.sqrt(sqi));
                  }
                  avg = f(avg + eps32);
                  if (momentum) {
                    B[i] = f(f(B[i] * mom) + f(d / avg));
                    P[i] = f(P[i] + f(-lr32 * B[i]));
                  } else {
                    P[i] = f(P[i] + f(f(-lr32 * d) / avg));
                  }
                }
                const what = `n ${n}, ${threads} thread(s), step ${step}, ${JSON.stringify(opts)}`;
                expectBits(p.t, P, `${what}: param`);
                expectBits(sq.t, SQ, `${what}: squareAvg`);
                if (momentum) expectBits(buf.t, B, `${what}: momentumBuffer`);
                if (centered) expectBits(ga.t, GA, `${what}: gradAvg`);
              }
              for (const s of [p, g, buf, ga, r, sq]) s.t.dispose();
            }
          }
        }
      });
    });

    it('adagradStep (weight decay, lr decay)', () => {
      overLengthsAndThreads((n, threads) => {
        for (const weightDecay of [0, 0.05]) {
          for (const lrDecay of [0, 0.1]) {
            const p = state(n, 41), g = state(n, 42), sum = state(n, 43, 0, 1);
            const lr = 0.01, eps = 1e-3, wd = f(weightDecay), eps32 = f(eps);
            for (let step = 1; step <= 3; step++) {
              const opts = { lr, lrDecay, weightDecay, eps, step };
              optim.adagradStep(p.t, g.t, sum.t, opts);
              const clr = f(lr / (1 + (step - 1) * lrDecay));
              const [P, S] = [p.a, sum.a];
              for (let i = 0; i < n; i++) {
                let d = g.a[i];
                if (wd !== 0) d = f(d + f(wd * P[i]));
                const si = f(S[i] + f(d * d));
                S[i] = si;
                P[i] = f(P[i] + f(f(-clr * d) / f(f(Math.sqrt(si)) + eps32)));
              }
              const what = `n ${n}, ${threads} thread(s), ${JSON.stringify(opts)}`;
              expectBits(p.t, P, `${what}: param`);
              expectBits(sum.t, S, `${what}: stateSum`);
            }
            for (const s of [p, g, sum]) s.t.dispose();
          }
        }
      });
    });
  });

  it('is the same for any thread count', () => {
    const runs: Float32Array[] = [];
    const before = cc.getNumThreads();
    for (const n of [1, 2, 3]) {
      cc.setNumThreads(n);
      const { t: p } = randomTensor([300, 301], 1);
      const { t: g } = randomTensor([300, 301], 2);
      const [m, v] = [cc.zeros([300, 301]), cc.zeros([300, 301])];
      for (let s = 1; s <= 3; s++) optim.adamStep(p, g, m, v, null, { lr: 0.01, step: s, weightDecay: 0.1, decoupled: true });
      runs.push(p.dataSync());
    }
    cc.setNumThreads(before);
    expect(Buffer.from(runs[1].buffer).equals(Buffer.from(runs[0].buffer))).to.equal(true);
    expect(Buffer.from(runs[2].buffer).equals(Buffer.from(runs[0].buffer))).to.equal(true);
  });

  it('refuses bad arguments with typed errors', () => {
    const p = cc.zeros([2, 3]), g = cc.zeros([2, 3]);
    expectError(() => optim.sgdStep(p, cc.zeros([3, 2]), null, { lr: 0.1 }), 'E_SHAPE', /sgdStep: expected `grad` of the parameter's shape \[2, 3\]/);
    expectError(() => optim.sgdStep(p, g, null, { lr: -1 }), 'E_ARG', /lr/);
    expectError(() => optim.sgdStep(p, g, null, { lr: NaN }), 'E_ARG');
    expectError(() => optim.sgdStep(p, g, null, { lr: 0.1, momentum: 0.9 }), 'E_ARG', /momentum buffer/);
    expectError(() => optim.sgdStep(p, g, null, { lr: 0.1, nesterov: true }), 'E_ARG', /Nesterov/);
    expectError(() => optim.sgdStep(p, cc.zeros([2, 3], 'int32'), null, { lr: 0.1 }), 'E_DTYPE');
    expectError(() => optim.adamStep(p, g, cc.zeros([2, 3]), cc.zeros([2, 3]), null, { lr: 0.1, step: 0 }), 'E_ARG', /step/);
    expectError(() => optim.adamStep(p, g, cc.zeros([2, 3]), cc.zeros([2, 3]), null, { lr: 0.1, step: 1, betas: [0.9, 1] }), 'E_ARG', /betas\[1\]/);
    // betas not a pair: a TypeError on destructuring, or a third one silently ignored.
    for (const betas of [0.9, null, {}, [0.9], [0.9, 0.99, 0.5], 'ab']) {
      expectError(() => optim.adamStep(p, g, cc.zeros([2, 3]), cc.zeros([2, 3]), null, { lr: 0.1, step: 1, betas: betas as never }), 'E_ARG', /`betas` to be \[beta1, beta2\]/);
    }
    expectError(() => optim.adamStep(p, g, cc.zeros([2]), cc.zeros([2, 3]), null, { lr: 0.1, step: 1 }), 'E_SHAPE', /expAvg/);
    // Tensors that share memory would be read and written in one pass: wrong values, no error.
    expectError(() => optim.sgdStep(p, p, null, { lr: 0.1 }), 'E_ARG', /sgdStep: `param` and `grad` share memory/);
    expectError(() => optim.sgdStep(p, g, g.reshape([3, 2]).reshape([2, 3]), { lr: 0.1, momentum: 0.9 }), 'E_ARG', /`grad` and `momentumBuffer`/);
    const m = cc.zeros([2, 3]);
    expectError(() => optim.adamStep(p, g, m, m, null, { lr: 0.1, step: 1 }), 'E_ARG', /adamStep: `expAvg` and `expAvgSq` share memory/);
    expect(Array.from(p.dataSync())).to.deep.equal([0, 0, 0, 0, 0, 0]);
  });

  it('RMSprop and Adagrad steps refuse bad arguments with typed errors, changing nothing', () => {
    const p = cc.ones([2, 3]), g = cc.ones([2, 3]), sq = cc.zeros([2, 3]), sum = cc.zeros([2, 3]);
    expectError(() => optim.rmspropStep(p, g, sq, null, null, { lr: 0.1, momentum: 0.9 }), 'E_ARG', /momentum buffer/);
    expectError(() => optim.rmspropStep(p, g, sq, null, null, { lr: 0.1, centered: true }), 'E_ARG', /gradAvg/);
    expectError(() => optim.rmspropStep(p, g, sq, null, null, { lr: 0.1, alpha: 1.5 }), 'E_ARG', /alpha/);
    expectError(() => optim.rmspropStep(p, g, cc.zeros([3]), null, null, { lr: 0.1 }), 'E_SHAPE', /squareAvg/);
    expectError(() => optim.rmspropStep(p, g, sq, null, null, { lr: 0.1, rho: 0.9 } as never), 'E_ARG', /rho/);
    expectError(() => optim.rmspropStep(p, g, sq, sq, null, { lr: 0.1, momentum: 0.9 }), 'E_ARG', /`squareAvg` and `momentumBuffer` share memory/);
    expectError(() => optim.adagradStep(p, g, sum, { lr: 0.1, step: 0 }), 'E_ARG', /step/);
    expectError(() => optim.adagradStep(p, g, sum, { lr: -0.1, step: 1 }), 'E_ARG', /lr/);
    expectError(() => optim.adagradStep(p, g, cc.zeros([2, 3], 'int32'), { lr: 0.1, step: 1 }), 'E_DTYPE');
    expectError(() => optim.adagradStep(p, p, sum, { lr: 0.1, step: 1 }), 'E_ARG', /share memory/);
    expect(Array.from(p.dataSync())).to.deep.equal([1, 1, 1, 1, 1, 1]);
    expect(Array.from(sq.dataSync())).to.deep.equal([0, 0, 0, 0, 0, 0]);
    expect(Array.from(sum.dataSync())).to.deep.equal([0, 0, 0, 0, 0, 0]);
  });
});
