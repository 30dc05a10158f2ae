// Max pooling, as torch.nn.functional.max_pool2d: y = max over the window's in-bounds taps
// (padding is never a candidate), taps at start + t * dilation. The index (flat h * W + w within
// the plane) is the first maximum in row-major order; a NaN wins over everything and a later NaN
// over an earlier one, exactly as PyTorch's CPU kernel (`val > max || isnan(val)`). A window of
// -inf values points at its first in-bounds tap. Backward sends dy to the index, accumulating
// where windows overlap; max_pool_backward is shared with adaptive_max_pool2d.
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "cpu/nn_ops.h"
#include "cpu/pool_window.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

inline bool takes_over(float v, float best) { return v > best || v != v; }  // v != v: NaN

// The common non-overlapping 2x2 stride-2 window with no padding and no dilation (LeNet), without
// indices: every window is whole, so the loop is straight-line code kept in registers.
bool is_2x2_stride_2(const Pool2dGeometry& g) {
  return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1 &&
         g.oh * 2 <= g.h && g.ow * 2 <= g.w;
}

void max_plane_2x2(const float* x, const Pool2dGeometry& g, float* y) {
  const int64_t W = g.w;
  for (int64_t oh = 0; oh < g.oh; ++oh) {
    const float* top = x + 2 * oh * W;
    const float* bottom = top + W;
    for (int64_t ow = 0; ow < g.ow; ++ow) {
      // Row-major order of the four taps; selects, not branches (a branch per tap mispredicts
      // half the time on random data).
      const float a = top[2 * ow], b = top[2 * ow + 1], c = bottom[2 * ow], d = bottom[2 * ow + 1];
      float best = a;
      best = takes_over(b, best) ? b : best;
      best = takes_over(c, best) ? c : best;
      best = takes_over(d, best) ? d : best;
      y[oh * g.ow + ow] = best;
    }
  }
}

// The largest index of a range, as unsigned (a negative index becomes huge): one vectorised pass
// that lets the scatter below skip its per-element bounds check. Cloned for AVX2 / AVX-512.
CONVNET_SIMD_CLONES
uint32_t max_index(const int32_t* __restrict indices, int64_t n) {
  uint32_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t v = static_cast<uint32_t>(indices[i]);
    m = v > m ? v : m;
  }
  return m;
}

}  // namespace

void max_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, const Tensor& y, const Tensor* indices) {
  const AxisWindows rows = axis_windows(g.oh, g.h, g.kh, g.sh, g.ph, g.dh);
  const AxisWindows cols = axis_windows(g.ow, g.w, g.kw, g.sw, g.pw, g.dw);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float* px = x.f32();
  float* py = y.f32();
  int32_t* pi = indices ? indices->i32() : nullptr;
  const bool fast = is_2x2_stride_2(g);
  const RowSweep sweep = row_sweep(rows, cols, g, g.kw, g.pw, g.dh, g.dw);
  for_planes(g.planes, out_plane * g.kh * g.kw, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const float* xp = px + p * in_plane;
      float* yp = py + p * out_plane;
      int32_t* ip = pi ? pi + p * out_plane : nullptr;
      if (fast && !pi) {
        max_plane_2x2(xp, g, yp);  // with indices, the row sweep below is faster
      } else {
        for (int64_t oh = 0; oh < g.oh; ++oh) {
          if (pi) max_row<true>(xp, sweep, oh, yp + oh * g.ow, ip + oh * g.ow);
          else max_row<false>(xp, sweep, oh, yp + oh * g.ow, nullptr);
        }
      }
    }
  });
}

void max_pool_backward(const Tensor& dy, const Tensor& indices, const Tensor& dx) {
  const int64_t out_plane = dy.shape[dy.dim() - 2] * dy.shape[dy.dim() - 1];
  const int64_t in_plane = dx.shape[dx.dim() - 2] * dx.shape[dx.dim() - 1];
  const int64_t planes = in_plane ? dx.numel() / in_plane : 0;
  const float* pdy = dy.f32();
  const int32_t* pi = indices.i32();
  float* pdx = dx.f32();
  std::atomic<int64_t> bad{-1};
  for_planes(planes, out_plane + in_plane, [&](int64_t begin, int64_t end) {
    // The common case: every index of the chunk in range (checked in one vectorised pass), so the
    // scatter is a plain load-add-store per element. Same order of additions as below: same bits.
    // (Branch-free checks in the scatter itself made it twice as long: 0.6-0.9x PyTorch.)
    if (in_plane > 0 && max_index(pi + begin * out_plane, (end - begin) * out_plane) < static_cast<uint64_t>(in_plane)) {
      for (int64_t p = begin; p < end; ++p) {
        const float* __restrict d = pdy + p * out_plane;
        const int32_t* __restrict ip = pi + p * out_plane;
        float* g = pdx + p * in_plane;
        // Plane by plane, so it stays in L1 for the scatter (one memset of the whole chunk was
        // slower: glibc writes large blocks with non-temporal stores, out of the cache).
        std::memset(g, 0, in_plane * sizeof(float));
        for (int64_t o = 0; o < out_plane; ++o) g[ip[o]] += d[o];
      }
      return;
    }
    for (int64_t p = begin; p < end; ++p) {
      const float* d = pdy + p * out_plane;
      const int32_t* ip = pi + p * out_plane;
      float* g = pdx + p * in_plane;
      std::memset(g, 0, in_plane * sizeof(float));  // plane by plane: it stays in cache for the scatter
      // One branch-free pass: a bad index is sent to element 0 (harmless: the op then fails
      // with E_INDEX) and noted, instead of a check-and-branch per element.
      const uint32_t n = static_cast<uint32_t>(in_plane);
      bool ok = true;
      for (int64_t o = 0; o < out_plane; ++o) {
        const uint32_t at = static_cast<uint32_t>(ip[o]);
        ok &= at < n;
        g[at < n ? at : 0] += d[o];
      }
      if (!ok) {
        for (int64_t o = 0; o < out_plane; ++o) {
          if (static_cast<uint32_t>(ip[o]) < n) continue;
          int64_t seen = bad.load();
          const int64_t at = p * out_plane + o;
          while ((seen < 0 || at < seen) && !bad.compare_exchange_weak(seen, at)) {
          }
          break;
        }
      }
    }
  });
  CONVNET_CHECK(bad < 0, "E_INDEX", "index ", bad < 0 ? 0 : pi[bad.load()], " at position ", bad.load(),
                " is out of range for an input plane of ", in_plane, " elements");
}

}  // namespace cpu
}  // namespace convnet
