// Maxout (Goodfellow et al. 2013) over channels: the C channels of x [N, C, ...] form C / k
// groups of k consecutive channels, y[n, g, ...] = max_{j < k} x[n, g * k + j, ...], so y is
// [N, C / k, ...]. (PyTorch has no maxout; this grouping is `x.view(N, C/k, k, ...).max(2)`.)
// The first maximum wins ties; a NaN is the maximum (the first NaN wins), so it propagates.
// Backward: dx = dy at the winner of each group, 0 elsewhere (the winner is found again from x).
#include "core/thread_pool.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace cpu {
namespace {

// The kernels walk rows (n, g) of S positions (S = the product of the axes after C); the k
// pieces of a row are k consecutive rows of x.
struct Groups {
  int64_t rows, pieces, positions;  // rows = N * C / k
};

Groups groups_of(const Tensor& x, int64_t pieces) {
  int64_t positions = 1;
  for (int64_t d = 2; d < x.dim(); ++d) positions *= x.shape[d];
  return {x.shape[0] * (x.shape[1] / pieces), pieces, positions};
}

inline bool beats(float v, float best) { return v > best || (v != v && best == best); }

}  // namespace

void maxout_forward(const Tensor& x, int64_t pieces, const Tensor& y) {
  const Groups g = groups_of(x, pieces);
  const float* px = x.f32();
  float* py = y.f32();
  parallel_for(g.rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, g.positions * g.pieces)), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const float* xg = px + row * g.pieces * g.positions;
      float* yr = py + row * g.positions;
      for (int64_t i = 0; i < g.positions; ++i) yr[i] = xg[i];
      for (int64_t j = 1; j < g.pieces; ++j) {
        const float* xj = xg + j * g.positions;
        for (int64_t i = 0; i < g.positions; ++i) yr[i] = beats(xj[i], yr[i]) ? xj[i] : yr[i];
      }
    }
  });
}

void maxout_backward(const Tensor& dy, const Tensor& x, int64_t pieces, const Tensor& dx) {
  const Groups g = groups_of(x, pieces);
  const float *pdy = dy.f32(), *px = x.f32();
  float* pdx = dx.f32();
  parallel_for(g.rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, g.positions * g.pieces)), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const float* xg = px + row * g.pieces * g.positions;
      const float* dyr = pdy + row * g.positions;
      float* dxg = pdx + row * g.pieces * g.positions;
      for (int64_t i = 0; i < g.positions; ++i) {
        int64_t winner = 0;
        float best = xg[i];
        for (int64_t j = 1; j < g.pieces; ++j) {
          const float v = xg[j * g.positions + i];
          if (beats(v, best)) {
            best = v;
            winner = j;
          }
        }
        for (int64_t j = 0; j < g.pieces; ++j) dxg[j * g.positions + i] = j == winner ? dyr[i] : 0.0f;
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
