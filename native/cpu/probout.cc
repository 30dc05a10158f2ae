// Probout on the CPU; the rules (the draw, the expectation, the cases the paper leaves open) are
// in probout_rules.h, shared with the GPU. x is [N, groups, pieces, inner] (inner: the spatial
// positions); a block of up to kBlock positions of one (n, group) is done at a time: the group's
// maximum per position, then e = exp(λ (z - max)) for each piece's row with vec::exp (SIMD), then
// the draw or the sums per position. Outputs are independent and each has its own random
// numbers: the bits do not depend on the thread count.
#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/probout_rules.h"
#include "cpu/simd_clones.h"
#include "cpu/vec_math.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kBlock = 256;

using probout::Layout;

// e_i = λ (z_i - max) for a block's positions, piece by piece (m: the maxima, scratch).
CONVNET_SIMD_CLONES void exponent_arguments(const float* z, int64_t pieces, int64_t inner, int64_t width, float lam, float* m, float* e) {
  for (int64_t s = 0; s < width; ++s) m[s] = z[s];
  for (int64_t i = 1; i < pieces; ++i) {
    const float* zi = z + i * inner;
    for (int64_t s = 0; s < width; ++s) m[s] = zi[s] > m[s] ? zi[s] : m[s];   // probout::group_max's order
  }
  for (int64_t i = 0; i < pieces; ++i) {
    const float* zi = z + i * inner;
    float* ei = e + i * kBlock;
    for (int64_t s = 0; s < width; ++s) ei[s] = lam * (zi[s] - m[s]);
  }
}

// Calls fn(z, e, o, width) for every block: z the block's first piece in x (pieces `inner` apart),
// e the exponentials ([pieces][kBlock]), o the block's first output.
template <typename F>
void for_blocks(const float* px, const Layout& l, int64_t pieces, double lambda, F fn) {
  if (l.outputs == 0) return;  // an empty batch or empty positions (inner 0: no division by it)
  const int64_t blocks = (l.inner + kBlock - 1) / kBlock;
  const int64_t per_item = std::min(l.inner, kBlock) * pieces;
  parallel_for(l.outputs / l.inner * blocks, std::max<int64_t>(1, 8192 / per_item), [&](int64_t begin, int64_t end) {
    std::vector<float> e(static_cast<size_t>(pieces * kBlock)), m(kBlock);
    const float lam = static_cast<float>(lambda);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t ng = item / blocks, s0 = (item % blocks) * kBlock, width = std::min(kBlock, l.inner - s0);
      const float* z = px + ng * pieces * l.inner + s0;
      exponent_arguments(z, pieces, l.inner, width, lam, m.data(), e.data());
      for (int64_t i = 0; i < pieces; ++i) vec::exp(e.data() + i * kBlock, e.data() + i * kBlock, width);
      fn(z, e.data(), ng * l.inner + s0, width);
    }
  });
}

// Whether every value of the block's pieces is finite: then no group is special (probout_rules.h)
// and the sums below run over all positions at once.
CONVNET_SIMD_CLONES bool all_finite(const float* z, int64_t pieces, int64_t inner, int64_t width) {
  int bad = 0;
  for (int64_t i = 0; i < pieces; ++i)
    for (int64_t s = 0; s < width; ++s) bad |= !(z[i * inner + s] - z[i * inner + s] == 0.0f);   // NaN and ±inf
  return bad == 0;
}

// S = Σ e_i and SZ = Σ e_i z_i per position, in double, piece by piece: the rules' sums (the same
// order, so the same bits), vectorised over the positions.
CONVNET_SIMD_CLONES void group_sums(const float* z, int64_t inner, const float* e, int64_t pieces, int64_t width, double* sum_e,
                                    double* sum_ez) {
  for (int64_t s = 0; s < width; ++s) sum_e[s] = sum_ez[s] = 0.0;
  for (int64_t i = 0; i < pieces; ++i) {
    const float* zi = z + i * inner;
    const float* ei = e + i * kBlock;
    for (int64_t s = 0; s < width; ++s) {
      sum_e[s] += static_cast<double>(ei[s]);
      sum_ez[s] += static_cast<double>(ei[s]) * zi[s];
    }
  }
}

// y = c S_z / S per position (the evaluation's output; c = 1, or 1/2 with dropout: exact).
CONVNET_SIMD_CLONES void means(const double* sum_e, const double* sum_ez, int64_t width, double c, float* y) {
  for (int64_t s = 0; s < width; ++s) y[s] = static_cast<float>(c * (sum_ez[s] / sum_e[s]));
}

// The evaluation's gradient for a block of finite groups (probout::slopes' arithmetic, no FMA:
// the same bits on every path): dx_i = c dy p_i (1 + λ (z_i - mean)), 0 where p_i = 0.
CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math", "fp-contract=off"))) void slopes_block(
    const float* __restrict z, int64_t inner, const float* __restrict e, int64_t pieces, int64_t width, const double* __restrict sum_e,
    const double* __restrict sum_ez, double lambda, double scale, const float* __restrict dy, float* __restrict d) {
  for (int64_t i = 0; i < pieces; ++i) {
    for (int64_t s = 0; s < width; ++s) {
      const double p = static_cast<double>(e[i * kBlock + s]) / sum_e[s], mean = sum_ez[s] / sum_e[s];
      d[i * inner + s] = p > 0.0 ? static_cast<float>(scale * dy[s] * p * (1.0 + lambda * (z[i * inner + s] - mean))) : 0.0f;
    }
  }
}

}  // namespace

void probout_forward(const Tensor& x, int64_t pieces, double lambda, bool training, bool dropout, uint64_t seed,
                     uint64_t first_block, const Tensor& y, const Tensor* picked) {
  const Layout l = probout::layout_of(x.shape.data(), x.dim(), pieces);
  float* py = y.f32();
  int32_t* pp = picked ? picked->i32() : nullptr;
  for_blocks(x.f32(), l, pieces, lambda, [&](const float* z, const float* e, int64_t o0, int64_t width) {
    probout::Uniforms draws(seed, first_block), drops(seed, first_block);
    if (all_finite(z, pieces, l.inner, width)) {  // the common case, the sums vectorised
      double sum_e[kBlock], sum_ez[kBlock];
      group_sums(z, l.inner, e, pieces, width, sum_e, sum_ez);
      if (!training) return means(sum_e, sum_ez, width, dropout ? 0.5 : 1.0, py + o0);
      for (int64_t s = 0; s < width; ++s) {
        const int64_t o = o0 + s;
        int64_t piece = -1;
        if (!(dropout && drops.at(l.outputs + o) < 0.5f)) {   // probout::draw, with S at hand
          const double threshold = static_cast<double>(draws.at(o)) * sum_e[s];
          double cum = 0.0;
          piece = 0;
          for (int64_t i = 0; i < pieces; ++i) {
            cum += static_cast<double>(e[i * kBlock + s]);
            piece += cum <= threshold;
          }
          piece = std::min(piece, pieces - 1);
        }
        py[o] = piece < 0 ? 0.0f : z[piece * l.inner + s];
        if (pp) pp[o] = static_cast<int32_t>(piece);
      }
      return;
    }
    for (int64_t s = 0; s < width; ++s) {
      const float* zs = z + s;
      const auto es = [e, s](int64_t i) { return static_cast<double>(e[i * kBlock + s]); };
      const int64_t o = o0 + s, sp = probout::special(zs, pieces, l.inner);
      if (!training) {
        const double mean = sp >= 0 ? zs[sp * l.inner] : probout::expectation(es, zs, pieces, l.inner);
        py[o] = static_cast<float>(dropout ? 0.5 * mean : mean);
        continue;
      }
      int64_t piece;
      if (dropout && drops.at(l.outputs + o) < 0.5f) piece = -1;
      else piece = sp >= 0 ? sp : probout::draw(es, pieces, draws.at(o));
      py[o] = piece < 0 ? 0.0f : zs[piece * l.inner];
      if (pp) pp[o] = static_cast<int32_t>(piece);
    }
  });
}

void probout_backward_training(const Tensor& dy, const Tensor& picked, int64_t pieces, const Tensor& dx) {
  const Layout l = probout::layout_of(dx.shape.data(), dx.dim(), pieces);
  if (l.outputs == 0) return;
  const float* pdy = dy.f32();
  const int32_t* pp = picked.i32();
  float* pdx = dx.f32();
  parallel_for(l.outputs / l.inner, std::max<int64_t>(1, 8192 / (l.inner * pieces)), [&](int64_t begin, int64_t end) {
    for (int64_t ng = begin; ng < end; ++ng) {
      for (int64_t i = 0; i < pieces; ++i) {
        float* d = pdx + (ng * pieces + i) * l.inner;
        const float* g = pdy + ng * l.inner;
        const int32_t* p = pp + ng * l.inner;
        for (int64_t s = 0; s < l.inner; ++s) d[s] = p[s] == i ? g[s] : 0.0f;
      }
    }
  });
}

void probout_backward_eval(const Tensor& dy, const Tensor& x, int64_t pieces, double lambda, bool dropout, const Tensor& dx) {
  const Layout l = probout::layout_of(x.shape.data(), x.dim(), pieces);
  const float* pdy = dy.f32();
  const float* px = x.f32();
  float* pdx = dx.f32();
  const double scale = dropout ? 0.5 : 1.0;
  for_blocks(px, l, pieces, lambda, [&](const float* z, const float* e, int64_t o0, int64_t width) {
    float* d = pdx + (z - px);
    if (all_finite(z, pieces, l.inner, width)) {  // probout::slopes over all positions at once
      double sum_e[kBlock], sum_ez[kBlock];
      group_sums(z, l.inner, e, pieces, width, sum_e, sum_ez);
      return slopes_block(z, l.inner, e, pieces, width, sum_e, sum_ez, lambda, scale, pdy + o0, d);
    }
    for (int64_t s = 0; s < width; ++s) {
      const auto es = [e, s](int64_t i) { return static_cast<double>(e[i * kBlock + s]); };
      probout::slopes(es, z + s, d + s, pieces, l.inner, lambda, scale, pdy[o0 + s]);
    }
  });
}

}  // namespace cpu
}  // namespace convnet
