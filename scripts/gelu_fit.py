"""The coefficients of native/cpu/gelu.cc's exact GELU:

  erfc(|x| / sqrt2) = t Q(t) exp(-x^2 / 2),  t = 1 / (1 + q |x|),  |x| < 13.15 (beyond, ~0)
  exp(r) = 1 + r + r^2 E(r),  |r| <= ln2 / 2 (after the range reduction)

Q (degree 8, q = 0.35) is fitted for relative error on 30000 points of [0, 13.3] and E (degree
4) on [-0.36, 0.36], each by Lawson's iteration (weighted least squares, the weights multiplied
by the error each round, which approaches the minimax fit), then rounded to float32. Then the
whole float32 forward is emulated (FMAs rounded once, in gelu.cc's order) over 2 million
points of [-14, 6], and its worst error printed, in test/nn-gelu-hardswish.test.ts's units
(2^-23 of the value).

    /usr/bin/python3 scripts/gelu_fit.py     (numpy; prints the C tables and the worst errors)

Why this form: the Q polynomial and the Gaussian's exp do not depend on each other, so a vector
loop runs them side by side (a chain of ~60 cycles where Numerical Recipes' t exp(-a^2 + P(t))
needed ~110), and the backward gets the density exp(-x^2/2) for free. Its weak spot is t's
rounding near x = 0, where erfc's slope turns half an ulp of t into ~2.3x that in the result;
q larger would shrink that but needs a higher degree for the same fit.
"""
import math

import numpy as np

f32 = np.float32
Q = float(f32(0.35))
Q_DEGREE = 8
E_DEGREE = 4  # E(r) = e2 + e3 r + ... + e6 r^4


def lawson(basis, target, weight_by, rounds=100):
    """Coefficients c minimising max |basis @ c - target| / weight_by, approximately."""
    w = np.ones(len(target))
    for _ in range(rounds):
        sw = np.sqrt(w)
        c, *_ = np.linalg.lstsq(basis * (sw / weight_by)[:, None], target * sw / weight_by, rcond=None)
        err = np.abs(basis @ c - target) / weight_by
        w = w * err
        w /= w.sum()
    return c, err.max()


def fit_q():
    ax = np.linspace(0, 13.3, 30000)
    t = 1 / (1 + Q * ax)
    r = np.array([math.erfc(v / math.sqrt(2)) * math.exp(v * v / 2) for v in ax]) / t
    c, err = lawson(np.vander(t, Q_DEGREE + 1), r, r)
    return c.astype(f32), err


def fit_e():
    r = np.linspace(-0.36, 0.36, 5000)
    g = np.exp(r)
    c, err = lawson(np.vander(r, E_DEGREE + 3)[:, :-2], g - 1 - r, g)
    return c.astype(f32), err


def fma(a, b, c):  # one rounding, as __builtin_fmaf
    return (np.float64(a) * np.float64(b) + np.float64(c)).astype(f32)


def forward32(x, qc, ec):
    """gelu.cc's exact forward in float32, step by step."""
    ax = np.minimum(np.abs(x), f32(13.15))
    t = (f32(1) / fma(f32(Q), ax, f32(1))).astype(f32)
    qv = f32(0.5) * qc[0]  # Q/2 in Horner's order (halving the coefficients is exact)
    for c in qc[1:]:
        qv = fma(qv, t, f32(0.5) * c)
    h = (ax * ax).astype(f32)
    lo = fma(ax, ax, -h)
    kf = (fma(h, f32(-0.5 * 1.44269504088896341), f32(12582912)) - f32(12582912)).astype(f32)
    r = fma(-kf, f32(0.693145751953125), (f32(-0.5) * h).astype(f32))
    r = fma(-kf, f32(1.428606765330187e-6), r)
    r = fma(f32(-0.5), lo, r)
    r2 = (r * r).astype(f32)
    e = ec  # r^6 .. r^2
    m = fma(fma(fma(e[0], r2, fma(e[1], r, e[2])), r2, fma(e[3], r, e[4])), r2, r)
    tq = ((t * qv).astype(f32) * np.exp2(kf.astype(np.float64))).astype(f32)
    lower = np.where(np.abs(x) < f32(13.15), fma(tq, m, tq), f32(0))  # Phi(-|x|)
    return np.where(x > 0, fma(-np.minimum(x, f32(13.15)), lower, x), (x * lower).astype(f32))


def main():
    qc, qerr = fit_q()
    ec, eerr = fit_e()
    print("// fits: Q relative %.2g, E relative %.2g" % (qerr, eerr))
    print("constexpr float kQc[] = {" + ", ".join("%.9ef" % v for v in qc) + "};  // t^8 .. t^0")
    print("constexpr float kEc[] = {" + ", ".join("%.9ef" % v for v in ec) + "};  // r^6 .. r^2")
    x = np.linspace(-14, 6, 2000001).astype(f32)
    y = forward32(x, qc, ec).astype(np.float64)
    xd = x.astype(np.float64)
    want = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in xd])
    scale = np.maximum(np.abs(want), 2.0**-100) * 2.0**-23
    err = np.abs(y - want) / scale
    print("forward: worst %.2f (units of 2^-23 of the value) at x = %.9g" % (err.max(), xd[err.argmax()]))


if __name__ == "__main__":
    main()
