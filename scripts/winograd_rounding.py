"""The float32 rounding of the Winograd backward-filter (native/cpu/conv2d_winograd.cc), modelled in
numpy: dw = G^T [sum over tiles of (A dy A^T) * (B^T d B)] G in float32, against the float64 sum,
in float32 epsilons of the terms' magnitudes (sum of |x * dy| per tap); beside it, the direct
float32 sum over the outputs in order. Run with Debian's python: /usr/bin/python3
scripts/winograd_rounding.py"""
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


rng = np.random.default_rng(0)
for H in (8, 27):
    run(3, T3, H, 20, rng)
    run(5, T5, H, 20, rng)
