// Group normalisation (Wu and He 2018) over x [N, C, ...] viewed as [N, C, S] (PyTorch's
// native_group_norm): the C channels split into G groups of C/G consecutive channels; each
// sample's group, a contiguous row of m = C/G * S values, normalised as layer norm's rows:
//   y = ((x - mean) * rstd) * w[c] + b[c], w and b (optional) per channel, [C];
// mean and rstd [N * G] are saved for the backward. Instance norm is the case G = C.
//
// Backward, per row (n, g), from each channel's two sums over its S positions,
//   sdy[n, c] = sum dy,  sxmu[n, c] = sum dy * (x - mean),
// (norm_rows.h's row_sums: float blocks added to float64 lanes):
//   dx = (w[c] rstd) dy + k (x - mean) + c0,
//   k = -rstd^3 sum_c w[c] sxmu[n, c] / m,  c0 = -rstd sum_c w[c] sdy[n, c] / m;
//   dw[c] = sum_n sxmu[n, c] rstd[n, g],  db[c] = sum_n sdy[n, c]  (float64, in order of n).
// Every sum is over a channel of one sample, taken whole by one thread, and the sums over
// channels and samples run in a fixed order: no bit depends on the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/norm_rows.h"

namespace convnet {
namespace cpu {
namespace {

struct Groups {
  int64_t n, channels, positions, groups;
  int64_t per_group() const { return channels / groups; }  // channels in a group
  int64_t rows() const { return n * groups; }
  int64_t m() const { return per_group() * positions; }   // values in a row
};

Groups groups_of(const Tensor& x, int64_t groups) {
  int64_t positions = 1;
  for (int64_t d = 2; d < x.dim(); ++d) positions *= x.shape[d];
  return {x.shape[0], x.shape[1], positions, groups};
}

}  // namespace

void group_norm_forward(const Tensor& x, int64_t groups, const Tensor* w, const Tensor* b, double eps, const Tensor& y,
                        const Tensor& mean, const Tensor& rstd) {
  const Groups g = groups_of(x, groups);
  const float* px = x.f32();
  float* py = y.f32();
  const float* pw = w ? w->f32() : nullptr;
  const float* pb = b ? b->f32() : nullptr;
  const int64_t S = g.positions;
  normalize_rows(px, g.rows(), g.m(), eps, mean.f32(), rstd.f32(), [&](int64_t r, int64_t begin, int64_t end, float mu, float scale) {
    // The piece [begin, end) of row r, one channel's stretch at a time.
    const int64_t first_channel = (r % g.groups) * g.per_group();
    for (int64_t at = begin; at < end;) {
      const int64_t c = first_channel + at / S, stop = std::min(end, (at / S + 1) * S);
      affine_row_scalar(px + r * g.m() + at, mu, scale, pw ? pw + c : nullptr, pb ? pb + c : nullptr, py + r * g.m() + at,
                        stop - at);
      at = stop;
    }
  });
}

void group_norm_backward(const Tensor& dy, const Tensor& x, int64_t groups, const Tensor* w, const Tensor& mean,
                         const Tensor& rstd, const Tensor& dx, const Tensor* dw, const Tensor* db) {
  const Groups g = groups_of(x, groups);
  float* pdw = dw ? dw->f32() : nullptr;
  float* pdb = db ? db->f32() : nullptr;
  const int64_t C = g.channels, S = g.positions, cg = g.per_group(), m = g.m();
  if (x.numel() == 0) {
    for (int64_t c = 0; c < C; ++c) {
      if (pdw) pdw[c] = 0.0f;
      if (pdb) pdb[c] = 0.0f;
    }
    return;
  }
  const float *pdy = dy.f32(), *px = x.f32(), *pmean = mean.f32(), *prstd = rstd.f32();
  const float* pw = w ? w->f32() : nullptr;
  float* pdx = dx.f32();
  std::vector<double> sdy(static_cast<size_t>(g.n * C)), sxmu(sdy.size());
  // rstd of row r as the gradient uses it: 0 for a row of one value (the forward's y = 0).
  const auto rstd_of = [&](int64_t r) { return m == 1 ? 0.0f : prstd[r]; };
  const auto channel_sums = [&](int64_t nc) {  // nc = n * C + c
    const int64_t r = (nc / C) * g.groups + (nc % C) / cg;
    row_sums(pdy + nc * S, px + nc * S, pmean[r], S, &sdy[nc], &sxmu[nc]);
  };
  const auto dx_of_row = [&](int64_t r) {
    const int64_t n = r / g.groups, first = (r % g.groups) * cg;
    double t1 = 0.0, t2 = 0.0;
    for (int64_t c = first; c < first + cg; ++c) {
      const double wc = pw ? pw[c] : 1.0;
      t1 += wc * sdy[n * C + c];
      t2 += wc * sxmu[n * C + c];
    }
    const double rs = rstd_of(r), count = static_cast<double>(m);
    const float k = static_cast<float>(-rs * rs * rs * t2 / count), c0 = static_cast<float>(-rs * t1 / count);
    for (int64_t c = first; c < first + cg; ++c) {
      const float a = static_cast<float>((pw ? pw[c] : 1.0) * rs);
      const int64_t at = (n * C + c) * S;
      backward_row(pdy + at, px + at, pmean[r], a, k, c0, pdx + at, S);
    }
  };
  if (g.rows() >= num_threads()) {
    // A row (n, g) whole: its channels' sums, then its dx while the row is in cache.
    parallel_for(g.rows(), std::max<int64_t>(1, kPiece / std::max<int64_t>(1, m)), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t first = (r / g.groups) * C + (r % g.groups) * cg;
        for (int64_t nc = first; nc < first + cg; ++nc) channel_sums(nc);
        dx_of_row(r);
      }
    });
  } else {
    // Fewer rows than threads: the channels' sums spread over threads, then the rows' dx.
    parallel_for(g.n * C, std::max<int64_t>(1, kPiece / std::max<int64_t>(1, S)), [&](int64_t begin, int64_t end) {
      for (int64_t nc = begin; nc < end; ++nc) channel_sums(nc);
    });
    parallel_for(g.rows(), 1, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) dx_of_row(r);
    });
  }
  for (int64_t c = 0; c < C; ++c) {
    double sw = 0.0, sb = 0.0;
    for (int64_t n = 0; n < g.n; ++n) {
      sw += sxmu[n * C + c] * static_cast<double>(rstd_of(n * g.groups + c / cg));
      sb += sdy[n * C + c];
    }
    if (pdw) pdw[c] = static_cast<float>(sw);
    if (pdb) pdb[c] = static_cast<float>(sb);
  }
}

}  // namespace cpu
}  // namespace convnet
