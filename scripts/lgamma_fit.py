"""The coefficients of native/cpu/elementwise.cc's lgamma for x > 0 (lgamma_finish): weighted
least-squares polynomial fits, relative to float64 math.lgamma, at 4000 Chebyshev nodes an
interval, rounded to float32; then the float32 algorithm emulated over [1e-6, 1e30] (logs
rounded correctly here; vec_math's is within 0.83 ulp, so vec-math.test.ts's sweep of the real
code reads a little more).

    /usr/bin/python3 scripts/lgamma_fit.py     (numpy; prints the C tables and the worst errors)

Intervals, with s = x - mid (exact there but for x < 1/8, where lgamma is -log x to a few ulp):
  (0, 1/2)     lgamma(x) = x P0(s) - log x   (P0 ~ lgamma(1 + x) / x)
  [1/2, 5/4)   (x - 1) P1(s)                  (the zero at 1)
  [5/4, 7/4)   P2(s)                          (the minimum, -0.1215 at 1.4616)
  [7/4, 5/2)   (x - 2) P3(s)                  (the zero at 2)
  [5/2, 4)     P4(s)
  [4, 8)       P5(s)
  [8, inf)     Stirling: (x - 1/2)(log x - 1) + (log(2 pi) - 1) / 2 + 1/(12 x) - 1/(360 x^3) + 1/(1260 x^5)
"""
import math

import numpy as np

f32 = np.float32
DEGREE = 10
EULER = 0.5772156649015329
# (lo, hi, mid, fitted function of x, factor): lgamma(x) = factor(x) * P(x - mid) [- log x for the first]
INTERVALS = [
    (0.0, 0.5, 0.25, lambda x: math.lgamma(1 + x) / x if x else -EULER),
    (0.5, 1.25, 1.0, lambda x: math.lgamma(x) / (x - 1) if x != 1 else -EULER),
    (1.25, 1.75, 1.5, math.lgamma),
    (1.75, 2.5, 2.0, lambda x: math.lgamma(x) / (x - 2) if x != 2 else 1 - EULER),
    (2.5, 4.0, 3.25, math.lgamma),
    (4.0, 8.0, 6.0, math.lgamma),
]
STIRLING_FROM = 8.0


def fit(fun, lo, hi, mid):
    k = np.arange(4000)
    x = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / 4000)
    f = np.array([fun(v) for v in x])
    basis = np.vander(x - mid, DEGREE + 1, increasing=True) / f[:, None]
    c, *_ = np.linalg.lstsq(basis, np.ones_like(f), rcond=None)
    return c.astype(f32)


def fma(a, b, c):
    return (np.float64(a) * np.float64(b) + np.float64(c)).astype(f32) if np.isscalar(a) else (a.astype(np.float64) * b.astype(np.float64) + np.asarray(c, np.float64)).astype(f32)


def horner(c, s):
    p = np.full_like(s, c[-1])
    for ci in c[-2::-1]:
        p = fma(p, s, np.full_like(s, ci))
    return p


def lgamma32(x, tables):
    logx = np.log(np.where((x >= f32(STIRLING_FROM)) | (x < f32(0.5)), x, f32(1)).astype(np.float64)).astype(f32)
    out = np.zeros_like(x)
    with np.errstate(all="ignore"):
        for i, (lo, hi, mid, _) in enumerate(INTERVALS):
            s = (x - f32(mid)).astype(f32)
            p = horner(tables[i], s)
            r = (x * p).astype(f32) - logx if i == 0 else (s * p).astype(f32) if i in (1, 3) else p
            out = np.where((x >= f32(lo)) & (x < f32(hi)), r.astype(f32), out)
        inv = (f32(1) / x).astype(f32)
        z = (inv * inv).astype(f32)
        series = (inv * fma(fma(z, np.full_like(z, f32(1 / 1260)), np.full_like(z, f32(-1 / 360))), z, np.full_like(z, f32(1 / 12)))).astype(f32)
        half_log_2pi = f32((math.log(2 * math.pi) - 1) / 2)
        stirling = (fma((x - f32(0.5)).astype(f32), (logx - f32(1)).astype(f32), np.full_like(x, half_log_2pi)) + series).astype(f32)
    return np.where(x >= f32(STIRLING_FROM), stirling, out)


def ulp(r):
    r = np.maximum(np.abs(r), 2.0**-126)
    return 2.0 ** (np.floor(np.log2(r)) - 23)


def main():
    tables = [fit(fun, lo, hi, mid) for lo, hi, mid, fun in INTERVALS]
    print("kMid =", ", ".join("%gf" % i[2] for i in INTERVALS))
    print("kP[j][interval] =")
    for j in range(DEGREE + 1):
        print("  {" + ", ".join("%.9ef" % t[j] for t in tables) + "},")
    for lo, hi in [(1e-6, 0.5), (0.5, 8), (8, 1e4), (1e4, 1e30)]:
        x = np.unique(np.linspace(lo, hi, 400001).astype(f32))
        ref = np.array([math.lgamma(v) for v in x.astype(np.float64)])
        keep = ref != 0
        err = np.abs(lgamma32(x, tables) - ref)[keep] / ulp(ref[keep])
        print("[%g, %g): worst %.2f ulp at %r" % (lo, hi, err.max(), float(x[keep][np.argmax(err)])))


if __name__ == "__main__":
    main()
