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

// u[j] = the uniform number of output index + j (probout::Uniforms::at's, the same bits) for
// j < n: the Philox blocks of a run generated side by side, which vectorises (one at a time,
// scalar, they were most of the training forward's time).
CONVNET_SIMD_CLONES void uniforms(uint64_t seed, uint64_t first_block, int64_t index, int64_t n, float* __restrict u) {
  constexpr int64_t kBlocks = kBlock / 4 + 2;
  uint32_t bits[kBlocks][4];
  const int64_t b0 = index / 4, nb = (index + n + 3) / 4 - b0;
  for (int64_t b = 0; b < nb; ++b) {
    const Philox4x32 r = Philox4x32::generate(seed, first_block + static_cast<uint64_t>(b0 + b));
    for (int k = 0; k < 4; ++k) bits[b][k] = r.out[k];
  }
  const uint32_t* flat = &bits[0][0] + (index - 4 * b0);
  for (int64_t j = 0; j < n; ++j) u[j] = uniform_from_bits(flat[j]);
}

// The draw for a block of finite groups (probout::draw's arithmetic, the same bits): piece[s] =
// how many running sums of e (in double) are <= u S, at most pieces - 1.
CONVNET_SIMD_CLONES void draw_block(const float* __restrict e, int64_t pieces, int64_t width, const double* __restrict sum_e,
                                    const float* __restrict u, int32_t* __restrict piece) {
  double cum[kBlock], threshold[kBlock];
  for (int64_t s = 0; s < width; ++s) {
    threshold[s] = static_cast<double>(u[s]) * sum_e[s];
    cum[s] = 0.0;
    piece[s] = 0;
  }
  for (int64_t i = 0; i < pieces; ++i) {
    for (int64_t s = 0; s < width; ++s) {
      cum[s] += static_cast<double>(e[i * kBlock + s]);
      piece[s] += cum[s] <= threshold[s];
    }
  }
  const int32_t last = static_cast<int32_t>(pieces - 1);
  for (int64_t s = 0; s < width; ++s) piece[s] = piece[s] < last ? piece[s] : last;
}

// d[s] = g[s] where piece p[s] was drawn, 0 elsewhere: without a branch (the draws are coin
// flips: as a branch, mispredictions made the training backward 0.21x PyTorch's time on
// [8, 96, 55, 55]) and cloned, so that it vectorises.
CONVNET_SIMD_CLONES void route_gradient(const float* __restrict g, const int32_t* __restrict p, int32_t piece, float* __restrict d,
                                        int64_t n) {
  for (int64_t s = 0; s < n; ++s) d[s] = p[s] == piece ? g[s] : 0.0f;
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
      // probout::draw, with S at hand; with dropout, a piece of -1 (output 0) where the second
      // draw is under 1/2
      float u[kBlock], dropped[kBlock];
      int32_t piece[kBlock];
      uniforms(seed, first_block, o0, width, u);
      draw_block(e, pieces, width, sum_e, u, piece);
      if (dropout) {
        uniforms(seed, first_block, l.outputs + o0, width, dropped);
        for (int64_t s = 0; s < width; ++s) piece[s] = dropped[s] < 0.5f ? -1 : piece[s];
      }
      for (int64_t s = 0; s < width; ++s) {
        py[o0 + s] = piece[s] < 0 ? 0.0f : z[piece[s] * l.inner + s];
        if (pp) pp[o0 + s] = piece[s];
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
        route_gradient(pdy + ng * l.inner, pp + ng * l.inner, static_cast<int32_t>(i), pdx + (ng * pieces + i) * l.inner, l.inner);
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
