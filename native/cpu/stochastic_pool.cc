// Stochastic pooling on the CPU; the rules (which tap is picked, the expectation in evaluation,
// the cases the paper leaves open) are in stochastic_pool_window.h, shared with the GPU.
//
// Forward: one pass over each window (two in training, where the pick walks the running sum).
// Backward in training: dx = 0, then dy[o] added at index[o] in output order (the GPU's ordered
// scatter gives the same sums). In evaluation: each window's slope for each of its taps, summed
// per input element in double over the windows that hold it (overlapping windows), then rounded.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "cpu/index_range.h"
#include "cpu/nn_ops.h"
#include "cpu/pool_window.h"
#include "cpu/stochastic_pool_window.h"

namespace convnet {
namespace cpu {
namespace {

struct Windows {
  AxisWindows rows, cols;
  explicit Windows(const Pool2dGeometry& g)
      : rows(axis_windows(g.oh, g.h, g.kh, g.sh, g.ph, 1)), cols(axis_windows(g.ow, g.w, g.kw, g.sw, g.pw, 1)) {}
};

}  // namespace

void stochastic_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, bool training, uint64_t seed,
                               uint64_t first_block, const Tensor& y, const Tensor* indices) {
  const Windows win(g);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float* px = x.f32();
  float* py = y.f32();
  int32_t* pi = indices ? indices->i32() : nullptr;
  for_planes(g.planes, 2 * out_plane * g.kh * g.kw, [&](int64_t begin, int64_t end) {
    // Outputs go in order, so one Philox block serves four of them in turn.
    uint64_t block = ~uint64_t{0};
    Philox4x32 r{};
    for (int64_t p = begin; p < end; ++p) {
      const float* xp = px + p * in_plane;
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        const int64_t r0 = win.rows.first[oh], rn = win.rows.taps[oh];
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const int64_t o = p * out_plane + oh * g.ow + ow;
          const int64_t c0 = win.cols.first[ow], cn = win.cols.taps[ow];
          if (training) {
            const uint64_t n = static_cast<uint64_t>(o);
            if (n / 4 != block) block = n / 4, r = Philox4x32::generate(seed, first_block + block);
            const float u = uniform_from_bits(r.out[n % 4]);
            const stochastic_pool::Pick k = stochastic_pool::pick(xp, g.w, r0, rn, c0, cn, u);
            py[o] = k.value;
            if (pi) pi[o] = static_cast<int32_t>(k.index);
          } else {
            py[o] = stochastic_pool::expectation(stochastic_pool::sums(xp, g.w, r0, rn, c0, cn));
          }
        }
      }
    }
  });
}

void stochastic_pool2d_backward_training(const Tensor& dy, const Tensor& indices, const Pool2dGeometry& g,
                                         const Tensor& dx) {
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float* pdy = dy.f32();
  const int32_t* pi = indices.i32();
  float* pdx = dx.f32();
  BadIndex bad;
  for_planes(g.planes, out_plane + in_plane, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      float* gp = pdx + p * in_plane;
      std::memset(gp, 0, in_plane * sizeof(float));
      const float* d = pdy + p * out_plane;
      const int32_t* ip = pi + p * out_plane;
      for (int64_t o = 0; o < out_plane; ++o) {
        if (ip[o] == -1) continue;  // a window that picked nothing
        if (ip[o] < -1 || ip[o] >= in_plane) {
          bad.note(p * out_plane + o);
          break;
        }
        gp[ip[o]] += d[o];
      }
    }
  });
  const int64_t at = bad.position.load();
  CONVNET_CHECK(at < 0, "E_INDEX", "index ", at < 0 ? 0 : pi[at], " at position ", at,
                " is out of range for an input plane of ", in_plane, " elements");
}

void stochastic_pool2d_backward_eval(const Tensor& dy, const Tensor& x, const Pool2dGeometry& g, const Tensor& dx) {
  const Windows win(g);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float *pdy = dy.f32(), *px = x.f32();
  float* pdx = dx.f32();
  for_planes(g.planes, 3 * out_plane * g.kh * g.kw + in_plane, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(in_plane);
    for (int64_t p = begin; p < end; ++p) {
      const float* xp = px + p * in_plane;
      const float* d = pdy + p * out_plane;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        const int64_t r0 = win.rows.first[oh], rn = win.rows.taps[oh];
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const int64_t c0 = win.cols.first[ow], cn = win.cols.taps[ow];
          const stochastic_pool::Sums s = stochastic_pool::sums(xp, g.w, r0, rn, c0, cn);
          const double dyo = d[oh * g.ow + ow];
          for (int64_t a = 0; a < rn; ++a)
            for (int64_t b = 0; b < cn; ++b) {
              const int64_t k = (r0 + a) * g.w + c0 + b;
              acc[k] += dyo * stochastic_pool::slope(s, xp[k]);
            }
        }
      }
      float* gp = pdx + p * in_plane;
      for (int64_t k = 0; k < in_plane; ++k) gp[k] = static_cast<float>(acc[k]);
    }
  });
}

}  // namespace cpu
}  // namespace convnet
