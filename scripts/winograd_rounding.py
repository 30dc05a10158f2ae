"""The float32 rounding of the Winograd backward-filter (native/cpu/conv2d_winograd.cc), modelled in
numpy: dw = G^T [sum over tiles of (A dy A^T) * (B^T d B)] G in float32, against the float64 sum,
in float32 epsilons of the terms' magnitudes (sum of |x * dy| per tap); beside it, the direct
float32 sum over the outputs in order. Then the forward's rounding, y = A^T [sum over channels of
(G g G^T) * (B^T d B)] A, for the F(2x2, 3x3) that conv2d_winograd.cc runs and for F(4x4, 3x3)
(Lavin & Gray's points 0, +-1, +-2: 0.56x the F(2x2) GEMMs' multiplies, not built), in the same
unit, which the conv tests bound at 8 epsilons (test/nn-conv.test.ts, expectCloseSums) beside their
1e-4 tolerances. Run with Debian's python: /usr/bin/python3 scripts/winograd_rounding.py"""
import numpy as np

F32, EPS = np.float32, np.finfo(np.float32).eps
T3 = (np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]),
      np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]]),
      np.array([[1, 1, 1, 0], [0, 1, -1, -1]]))
T5 = (np.array([[1, 1.5, -2, -1.5, 1, 0], [0, -1, -2.5, -0.5, 1, 0], [0, 1, 0.5, -2.5, 1, 0],
                [0, -0.5, -1, 0.5, 1, 0], [0, 2, -1, -2, 1, 0], [0, 1, 1.5, -2, -1.5, 1]]),
      np.array([[1, 0, 0, 0, 0], [-1 / 3] * 5, [1 / 3, -1 / 3, 1 / 3, -1 / 3, 1 / 3],
                [1 / 15, 2 / 15, 4 / 15, 8 / 15, 16 / 15], [-16 / 15, 8 / 15, -4 / 15, 2 / 15, -1 / 15], [0, 0, 0, 0, 1]]),
      np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -0.5, 1]]))


def run(R, mats, H, trials, rng):
    BT, G, AT = (m.astype(F32) for m in mats)
    A, pad = R + 1, R // 2
    Ho = H + 2 * pad - R + 1
    TH = (Ho + 1) // 2
    errs_w, errs_d = [], []
    for _ in range(trials):
        x = rng.standard_normal((H, H)).astype(F32).astype(np.float64)
        dy = rng.standard_normal((Ho, Ho)).astype(F32).astype(np.float64)
        xp = np.zeros((2 * TH + R + 1, 2 * TH + R + 1))
        xp[pad:pad + H, pad:pad + H] = x
        dyp = np.zeros((2 * TH, 2 * TH))
        dyp[:Ho, :Ho] = dy
        ref, mag, direct = np.zeros((R, R)), np.zeros((R, R)), np.zeros((R, R), F32)
        for i in range(R):
            for j in range(R):
                terms = xp[i:i + Ho, j:j + Ho] * dy
                ref[i, j], mag[i, j] = terms.sum(), np.abs(terms).sum()
                direct[i, j] = np.cumsum(terms.astype(F32).ravel(), dtype=F32)[-1]
        M = np.zeros((A, A), F32)
        for a in range(TH):
            for b in range(TH):
                V = BT @ xp[2 * a:2 * a + A, 2 * b:2 * b + A].astype(F32) @ BT.T
                W = AT.T @ dyp[2 * a:2 * a + 2, 2 * b:2 * b + 2].astype(F32) @ AT
                M = (M + V * W).astype(F32)
        winograd = (G.T @ M @ G).astype(F32)
        errs_w.append(np.abs(winograd - ref) / mag / EPS)
        errs_d.append(np.abs(direct - ref) / mag / EPS)
    w, d = np.array(errs_w), np.array(errs_d)
    print(f"{R}x{R} on {H}x{H}: Winograd mean {w.mean():.2f} max {w.max():.1f} eps | direct mean {d.mean():.2f} max {d.max():.1f} eps")


# F(4x4, 3x3): tiles of 6 x 6 inputs give 4 x 4 outputs.
T43 = (np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0],
                 [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]),
       np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6],
                 [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]),
       np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]))


def run_forward(name, mats, m, C, trials, rng):
    """One tile of m x m outputs over C channels, the channels summed in order as the GEMMs do."""
    BT, G, AT = (x.astype(F32) for x in mats)
    A = m + 2
    errs = []
    for _ in range(trials):
        d = rng.standard_normal((C, A, A)).astype(F32)
        g = rng.standard_normal((C, 3, 3)).astype(F32)
        ref, mag = np.zeros((m, m)), np.zeros((m, m))
        for i in range(m):
            for j in range(m):
                terms = d[:, i:i + 3, j:j + 3].astype(np.float64) * g
                ref[i, j], mag[i, j] = terms.sum(), np.abs(terms).sum()
        M = np.zeros((A, A), F32)
        for c in range(C):
            M = (M + (G @ g[c] @ G.T).astype(F32) * (BT @ d[c] @ BT.T).astype(F32)).astype(F32)
        errs.append(np.abs((AT @ M @ AT.T).astype(F32) - ref) / mag / EPS)
    e = np.array(errs)
    print(f"forward {name} over {C} channels: mean {e.mean():.2f} p99 {np.percentile(e, 99):.1f} max {e.max():.1f} eps")


rng = np.random.default_rng(0)
for H in (8, 27):
    run(3, T3, H, 20, rng)
    run(5, T5, H, 20, rng)
for C in (16, 256):
    run_forward("F(2x2, 3x3)", T3, 2, C, 200, rng)
    run_forward("F(4x4, 3x3)", T43, 4, C, 200, rng)
