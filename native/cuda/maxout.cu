// Maxout on the GPU (cpu/maxout.cc gives the semantics): our own kernels, one thread per output
// element walking its group's k pieces. The first maximum wins ties; a NaN is the maximum (the
// first NaN wins). Backward writes dy at the winner (found again from x) and 0 at the other pieces.
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {
namespace {

__device__ __forceinline__ bool beats(float v, float best) { return v > best || (v != v && best == best); }

int64_t positions_of(const Tensor& x) {
  int64_t positions = 1;
  for (int64_t d = 2; d < x.dim(); ++d) positions *= x.shape[d];
  return positions;
}

}  // namespace

// Output element o = (row, s) with row = n * (C / k) + g; its pieces are x[(row * k + j) * S + s].
void maxout_forward(const Tensor& x, int64_t pieces, const Tensor& y) {
  const int64_t positions = positions_of(x);
  const float* px = x.f32();
  float* py = y.f32();
  for_each("maxout", y.numel(), [=] __device__(int64_t o) {
    const int64_t row = o / positions, s = o % positions;
    const float* xg = px + row * pieces * positions + s;
    float best = xg[0];
    for (int64_t j = 1; j < pieces; ++j) {
      const float v = xg[j * positions];
      if (beats(v, best)) best = v;
    }
    py[o] = best;
  });
}

void maxout_backward(const Tensor& dy, const Tensor& x, int64_t pieces, const Tensor& dx) {
  const int64_t positions = positions_of(x);
  const float *pdy = dy.f32(), *px = x.f32();
  float* pdx = dx.f32();
  for_each("maxout backward", dy.numel(), [=] __device__(int64_t o) {
    const int64_t row = o / positions, s = o % positions;
    const float* xg = px + row * pieces * positions + s;
    float* dxg = pdx + row * pieces * positions + s;
    int64_t winner = 0;
    float best = xg[0];
    for (int64_t j = 1; j < pieces; ++j) {
      const float v = xg[j * positions];
      if (beats(v, best)) {
        best = v;
        winner = j;
      }
    }
    const float g = pdy[o];
    for (int64_t j = 0; j < pieces; ++j) dxg[j * positions] = j == winner ? g : 0.0f;
  });
}

}  // namespace cuda
}  // namespace convnet
