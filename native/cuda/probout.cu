// Probout on the GPU: one thread per output through the rules of cpu/probout_rules.h (the same
// random numbers; e_i from expf, recomputed where the rules ask: the CPU's draws but where an ulp
// of exp decides, see there).
#include "cpu/probout_rules.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {
namespace {

using probout::Layout;

__device__ __forceinline__ int64_t first_of(int64_t o, int64_t pieces, int64_t inner) {
  return (o / inner) * pieces * inner + o % inner;
}

// e_i = exp(λ (z_i - max)) of a group, computed when asked.
struct Exps {
  const float* z;
  int64_t stride;
  float lambda, max;
  __device__ double operator()(int64_t i) const { return expf(lambda * (z[i * stride] - max)); }
};

}  // namespace

void probout_forward(const Tensor& x, int64_t pieces, double lambda, bool training, bool dropout, uint64_t seed,
                     uint64_t first_block, const Tensor& y, const Tensor* picked) {
  const Layout l = probout::layout_of(x.shape.data(), x.dim(), pieces);
  const int64_t inner = l.inner, outputs = l.outputs;
  const float* px = x.f32();
  float* py = y.f32();
  int32_t* pp = picked ? picked->i32() : nullptr;
  for_each("probout", outputs, [=] __device__(int64_t o) {
    const float* z = px + first_of(o, pieces, inner);
    const Exps e{z, inner, static_cast<float>(lambda), probout::group_max(z, pieces, inner)};
    const int64_t sp = probout::special(z, pieces, inner);
    if (!training) {
      const double mean = sp >= 0 ? z[sp * inner] : probout::expectation(e, z, pieces, inner);
      py[o] = static_cast<float>(dropout ? 0.5 * mean : mean);
      return;
    }
    int64_t piece;
    probout::Uniforms numbers(seed, first_block);
    if (dropout && numbers.at(outputs + o) < 0.5f) {
      piece = -1;
    } else {
      piece = sp >= 0 ? sp : probout::draw(e, pieces, numbers.at(o));
    }
    py[o] = piece < 0 ? 0.0f : z[piece * inner];
    if (pp) pp[o] = static_cast<int32_t>(piece);
  });
}

void probout_backward_training(const Tensor& dy, const Tensor& picked, int64_t pieces, const Tensor& dx) {
  const Layout l = probout::layout_of(dx.shape.data(), dx.dim(), pieces);
  const int64_t inner = l.inner;
  const float* pdy = dy.f32();
  const int32_t* pp = picked.i32();
  float* pdx = dx.f32();
  for_each("probout backward", l.outputs, [=] __device__(int64_t o) {
    float* d = pdx + first_of(o, pieces, inner);
    for (int64_t i = 0; i < pieces; ++i) d[i * inner] = pp[o] == i ? pdy[o] : 0.0f;
  });
}

void probout_backward_eval(const Tensor& dy, const Tensor& x, int64_t pieces, double lambda, bool dropout, const Tensor& dx) {
  const Layout l = probout::layout_of(x.shape.data(), x.dim(), pieces);
  const int64_t inner = l.inner;
  const float* pdy = dy.f32();
  const float* px = x.f32();
  float* pdx = dx.f32();
  const double scale = dropout ? 0.5 : 1.0;
  for_each("probout backward", l.outputs, [=] __device__(int64_t o) {
    const int64_t at = first_of(o, pieces, inner);
    const Exps e{px + at, inner, static_cast<float>(lambda), probout::group_max(px + at, pieces, inner)};
    probout::slopes(e, px + at, pdx + at, pieces, inner, lambda, scale, pdy[o]);
  });
}

}  // namespace cuda
}  // namespace convnet
