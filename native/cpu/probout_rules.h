// Probout (Springenberg and Riedmiller, "Improving deep neural networks with probabilistic maxout
// units", 2013; survey section 3.3.7), one group of `pieces` values at a time, written once for
// both devices: cpu/probout.cc and cuda/probout.cu call these, so the two draw by the same rule
// from the same random number and sum the same way.
//
// Over a group z_0 .. z_{k-1} (consecutive channels), with e_i = exp(λ (z_i - max z)) (float; the
// caller supplies them: the CPU from vec::exp over whole rows, the GPU from expf) and
// S = Σ e_i (in double, in piece order):
//   training: p_i = e_i / S; one uniform u in [0, 1) per output picks the first piece whose
//             running sum of e passes u * S; y = z there, and the piece is kept for the backward,
//             which sends dy to it alone. With dropout (the paper's p̂_0 = 1/2) a second uniform
//             below 1/2 drops the output first: y = 0, piece -1, no gradient;
//   evaluation: the expectation of the above, y = c Σ p_i z_i (c = 1, or 1/2 with dropout), with
//             dy/dz_i = c p_i (1 + λ (z_i - Σ p_j z_j)).
// Rules where the paper is silent: a NaN in the group gives NaN, and in training the first NaN
// is the piece drawn (as max pooling); else a +inf gives +inf, the first +inf drawn (evaluation:
// +inf, its gradient NaN). -inf pieces have probability 0 (and gradient 0); a group of -inf
// only gives -inf (its first piece; evaluation gradient NaN).
// The two devices' exponentials differ by an ulp or two (vec::exp and CUDA's expf), so a draw
// can differ where u * S falls that close to a running sum (about 1 draw in 10^6), and the
// expectations in the last bits.
// Random numbers: output o (in [N, C / k, rest...] order) takes lane o % 4 of Philox4x32(seed,
// first_block + o / 4) for the draw and, with dropout, number outputs + o for the drop.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/philox.h"

namespace convnet {
namespace probout {

// x [N, C, rest...] as [N, groups, pieces, inner]: output o = (n * groups + g) * inner + s.
struct Layout {
  int64_t groups, inner, outputs;
};
inline Layout layout_of(const int64_t* shape, int64_t dims, int64_t pieces) {
  Layout l{shape[1] / pieces, 1, 0};
  for (int64_t d = 2; d < dims; ++d) l.inner *= shape[d];
  l.outputs = shape[0] * l.groups * l.inner;
  return l;
}

// The uniform numbers of the reserved range: number `index` is lane index % 4 of block
// first + index / 4. A block serves four consecutive numbers: kept for the next call.
struct Uniforms {
  uint64_t seed, first_block, block = ~uint64_t{0};
  Philox4x32 r{};
  CONVNET_HD Uniforms(uint64_t s, uint64_t f) : seed(s), first_block(f) {}
  CONVNET_HD float at(uint64_t index) {
    const uint64_t b = first_block + index / 4;
    if (b != block) {
      r = Philox4x32::generate(seed, b);
      block = b;
    }
    return uniform_from_bits(r.out[index % 4]);
  }
};

// The first NaN piece, else the first +inf one, else the first piece of a group of -inf only;
// -1 for the others (the draw and the sums).
CONVNET_HD inline int64_t special(const float* z, int64_t k, int64_t stride) {
  bool all_minus_inf = true;
  for (int64_t i = 0; i < k; ++i) {
    if (z[i * stride] != z[i * stride]) return i;
    all_minus_inf &= z[i * stride] < -3.4028234663852886e38f;
  }
  for (int64_t i = 0; i < k; ++i)
    if (z[i * stride] > 3.4028234663852886e38f) return i;
  return all_minus_inf ? 0 : -1;
}

CONVNET_HD inline float group_max(const float* z, int64_t k, int64_t stride) {
  float m = z[0];
  for (int64_t i = 1; i < k; ++i) m = z[i * stride] > m ? z[i * stride] : m;
  return m;
}

// The piece drawn by u; e(i) gives e_i (no NaN or +inf in the group).
template <typename E>
CONVNET_HD inline int64_t draw(E e, int64_t k, float u) {
  double s = 0.0;
  for (int64_t i = 0; i < k; ++i) s += e(i);
  const double threshold = static_cast<double>(u) * s;
  double cum = 0.0;
  int64_t below = 0;  // pieces whose running sum is <= threshold: a prefix, the drawn one next
  for (int64_t i = 0; i < k; ++i) {
    cum += e(i);
    below += cum <= threshold;
  }
  return below < k ? below : k - 1;
}

// Σ p_i z_i in double (no NaN or +inf in the group).
template <typename E>
CONVNET_HD inline double expectation(E e, const float* z, int64_t k, int64_t stride) {
  double s = 0.0, sz = 0.0;
  for (int64_t i = 0; i < k; ++i) {
    const double ei = e(i);
    s += ei;
    if (ei > 0.0) sz += ei * z[i * stride];  // a -inf piece (e = 0) adds nothing, not 0 * -inf
  }
  return sz / s;
}

// Evaluation backward of one group: dx_i = scale dy p_i (1 + λ (z_i - mean)); NaN for a group
// with a NaN, a +inf or only -inf.
template <typename E>
CONVNET_HD inline void slopes(E e, const float* z, float* dx, int64_t k, int64_t stride, double lambda, double scale, float dy) {
  if (special(z, k, stride) >= 0) {
    for (int64_t i = 0; i < k; ++i) dx[i * stride] = NAN;
    return;
  }
  const double mean = expectation(e, z, k, stride);
  double s = 0.0;
  for (int64_t i = 0; i < k; ++i) s += e(i);
  for (int64_t i = 0; i < k; ++i) {
    const double p = e(i) / s;
    dx[i * stride] = p > 0.0 ? static_cast<float>(scale * dy * p * (1.0 + lambda * (z[i * stride] - mean))) : 0.0f;
  }
}

}  // namespace probout
}  // namespace convnet
