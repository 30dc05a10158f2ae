// Stochastic pooling on the GPU, the twin of cpu/stochastic_pool.cc; the rules are in
// cpu/stochastic_pool_window.h, whose functions (CONVNET_HD) both devices call, so a seed picks
// the same taps on either and the sums are the same double sums in the same order.
//
// Forward: a thread per output. Backward in training: dx = 0, then one warp per plane adds dy at
// the picked index in output order (pool::ordered_scatter, as max pooling's): bitwise the CPU's
// sums. In evaluation: a thread per input element sums, in double, the slopes of the windows
// that hold it (each window's S and Q recomputed there; windows are small), as the CPU's
// per-element double sums (in another order: within a few ulp of the CPU's float result).
#include <cmath>

#include "core/philox.h"
#include "cpu/stochastic_pool_window.h"
#include "cuda/cuda_ops.h"
#include "cuda/pool_window.cuh"

namespace convnet {
namespace cuda {

void stochastic_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, bool training, uint64_t seed,
                               uint64_t first_block, const Tensor& y, const Tensor* indices) {
  const char* op = "stochasticPool2d";
  const float* px = x.f32();
  float* py = y.f32();
  int32_t* pi = indices ? indices->i32() : nullptr;
  const Pool2dGeometry q = g;
  for_each(op, g.planes * g.oh * g.ow, [=] __device__(int64_t i) {
    const int64_t ow = i % q.ow, oh = (i / q.ow) % q.oh, p = i / (q.ow * q.oh);
    const pool::AxisWindow r = pool::axis_window(oh, q.h, q.kh, q.sh, q.ph, 1);
    const pool::AxisWindow c = pool::axis_window(ow, q.w, q.kw, q.sw, q.pw, 1);
    const float* xp = px + p * q.h * q.w;
    if (training) {
      const uint64_t n = static_cast<uint64_t>(i);
      const float u = uniform_from_bits(Philox4x32::generate(seed, first_block + n / 4).out[n % 4]);
      const stochastic_pool::Pick k = stochastic_pool::pick(xp, q.w, r.first, r.taps, c.first, c.taps, u);
      py[i] = k.value;
      if (pi) pi[i] = static_cast<int32_t>(k.index);
    } else {
      py[i] = stochastic_pool::expectation(stochastic_pool::sums(xp, q.w, r.first, r.taps, c.first, c.taps));
    }
  });
}

void stochastic_pool2d_backward_training(const Tensor& dy, const Tensor& indices, const Pool2dGeometry&,
                                         const Tensor& dx) {
  pool::ordered_scatter<true>("stochasticPool2d backward", dy, indices, dx);  // -1: nothing picked
}

void stochastic_pool2d_backward_eval(const Tensor& dy, const Tensor& x, const Pool2dGeometry& g, const Tensor& dx) {
  const char* op = "stochasticPool2d backward";
  const float *pdy = dy.f32(), *px = x.f32();
  float* pdx = dx.f32();
  const Pool2dGeometry q = g;
  for_each(op, g.planes * g.h * g.w, [=] __device__(int64_t i) {
    const int64_t w = i % q.w, h = (i / q.w) % q.h, p = i / (q.w * q.h);
    int64_t oh_lo, oh_hi, ow_lo, ow_hi;
    pool::covering_outputs(h, q.oh, q.kh, q.sh, q.ph, 1, &oh_lo, &oh_hi);
    pool::covering_outputs(w, q.ow, q.kw, q.sw, q.pw, 1, &ow_lo, &ow_hi);
    const float* xp = px + p * q.h * q.w;
    const float* d = pdy + p * q.oh * q.ow;
    const float a = xp[h * q.w + w];
    double sum = 0.0;
    for (int64_t oh = oh_lo; oh <= oh_hi; ++oh) {
      const pool::AxisWindow r = pool::axis_window(oh, q.h, q.kh, q.sh, q.ph, 1);
      for (int64_t ow = ow_lo; ow <= ow_hi; ++ow) {
        const pool::AxisWindow c = pool::axis_window(ow, q.w, q.kw, q.sw, q.pw, 1);
        const stochastic_pool::Sums s = stochastic_pool::sums(xp, q.w, r.first, r.taps, c.first, c.taps);
        sum += static_cast<double>(d[oh * q.ow + ow]) * stochastic_pool::slope(s, a);
      }
    }
    pdx[i] = static_cast<float>(sum);
  });
}

}  // namespace cuda
}  // namespace convnet
