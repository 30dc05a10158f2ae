"""The coefficients of native/cpu/elementwise.cc's erf and erfc (erf_finish, erfc_tail_start):
weighted least-squares polynomial fits, relative to float64 math.erf / math.erfc, at 4000
Chebyshev nodes an interval, rounded to float32; then the whole float32 algorithm emulated over
2 million points of [-10.5, 10.5] (exp rounded correctly here; vec_math's is within 1.26 ulp, so
vec-math.test.ts's sweep of the real code reads a little more).

    /usr/bin/python3 scripts/erf_fit.py     (numpy; prints the C tables and the worst errors)
"""
import math

import numpy as np

f32 = np.float32
# erfc(a) = exp(-a^2) Q(a) on these intervals, Q in powers of a - mid (exact in float); past 10.1
# erfc underflows float.
TAIL = [(0.5, 1.5), (1.5, 3.0), (3.0, 5.5), (5.5, 10.1)]
TAIL_DEGREE = 9
SMALL_DEGREE = 5  # erf(x) = x P(x^2) below 1/2


def fit(fun, lo, hi, mid, degree, var=lambda a: a):
    k = np.arange(4000)
    a = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / 4000)
    f = fun(a)
    basis = np.vander(var(a) - mid, degree + 1, increasing=True) / f[:, None]
    c, *_ = np.linalg.lstsq(basis, np.ones_like(f), rcond=None)
    return c.astype(f32)


def q_exact(a):
    return np.array([math.erfc(v) * math.exp(v * v) for v in a])


def erf_over_x(x):
    return np.array([math.erf(v) / v for v in x])


def fma(a, b, c):  # one rounding, as __builtin_fmaf
    return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(f32)


def horner(c, s):
    p = np.full_like(s, c[-1])
    for ci in c[-2::-1]:
        p = fma(p, s, np.full_like(s, ci))
    return p


def erf_erfc32(x, tails, small):
    a = np.abs(x)
    ac = np.minimum(a, f32(10.1))
    sq = (ac * ac).astype(f32)
    low = fma(ac, ac, -sq)
    e = np.exp(-sq.astype(np.float64)).astype(f32)
    q = np.zeros_like(ac)
    for (lo, hi, mid, c) in tails:
        inside = (ac >= f32(lo)) & (ac < f32(hi)) if hi != 10.1 else (ac >= f32(lo))
        q = np.where(inside, horner(c, (ac - f32(mid)).astype(f32)), q)
    q = fma(q, -low, q)
    tail = (e * q).astype(f32)
    erf_small = (x * horner(small, (x * x).astype(f32))).astype(f32)
    inside = a < f32(0.5)
    erfc = np.where(inside, (f32(1) - erf_small).astype(f32), np.where(x > 0, tail, (f32(2) - tail).astype(f32)))
    erf = np.where(inside, erf_small, np.copysign((f32(1) - tail).astype(f32), x))
    return erf, erfc


def ulp(r):
    r = np.maximum(np.abs(r), 2.0**-126)
    return 2.0 ** (np.floor(np.log2(r)) - 23)


def main():
    tails = []
    for lo, hi in TAIL:
        mid = float(f32((lo + hi) / 2))
        tails.append((lo, hi, mid, fit(q_exact, lo, hi, mid, TAIL_DEGREE)))
    small = fit(erf_over_x, 1e-9, 0.5, 0.0, SMALL_DEGREE, var=lambda a: a * a)
    print("kMid =", ", ".join("%.9gf" % t[2] for t in tails))
    print("kQ[j][interval] =")
    for j in range(TAIL_DEGREE + 1):
        print("  {" + ", ".join("%.9ef" % t[3][j] for t in tails) + "},")
    print("kP =", ", ".join("%.9ef" % v for v in small))
    x = np.linspace(-10.5, 10.5, 2000001).astype(f32)
    erf, erfc = erf_erfc32(x, tails, small)
    xd = x.astype(np.float64)
    rc, re = np.array([math.erfc(v) for v in xd]), np.array([math.erf(v) for v in xd])
    normal = rc >= 2.0**-126
    errc = np.abs(erfc - rc) / ulp(rc)
    print("erfc: worst %.2f ulp (normal results), %.2f subnormal ulp below" % (errc[normal].max(), (np.abs(erfc - rc)[~normal] / 2.0**-149).max()))
    nz = re != 0
    print("erf: worst %.2f ulp" % (np.abs(erf - re)[nz] / ulp(re[nz])).max())


if __name__ == "__main__":
    main()
