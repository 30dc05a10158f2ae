// F.gridSample on the CPU (torch.nn.functional.grid_sample on 4-D input): y[n, c, p] samples
// x[n, c] at grid point p = (gx, gy) of image n, in -1 .. 1 across the image. Forward and
// backward; the GPU runs the same function composed of tensor ops (lib/nn/functional/grid-sample.ts).
//
// Each point's geometry (its pixel coordinates after the padding mode, the corners it reads,
// their weights and the coordinates' slopes) is worked out once, in double, as PyTorch's
// grid_sampler_compute_source_index_set_grad (GridSampler.h), then every channel reuses it:
//   - the forward and dx go plane by plane ((n, c) items), the points in order, so each dx sum
//     runs in one fixed order (the same bits for any thread count);
//   - dgrid goes by blocks of points, the channels in order.
// Where PyTorch's result is undefined or odd we follow what its CPU kernel returned (PyTorch
// 1.13): a NaN or infinite point samples NaN in mode 'zeros' with bilinear weights, 0 with the
// nearest pixel; 'border' and 'reflection' take NaN as 0 and clip infinities ('reflection': 0
// too). No gradient flows from such a NaN sample: none to x (as PyTorch), zeros to its grid
// point (PyTorch gives a NaN to the coordinate whose partner is not finite, 0 to the other).
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace cpu {
namespace {

// One axis of a point: its pixel coordinate and d coordinate / d grid value.
struct Coordinate {
  double at, slope;
};

Coordinate source_index(double g, int64_t size, bool align, GridSamplePadding padding) {
  Coordinate c;
  // -1 -> 0 and 1 -> size - 1 with corners aligned, else -1 -> -0.5 and 1 -> size - 0.5.
  c.slope = align ? (size - 1) / 2.0 : size / 2.0;
  c.at = align ? (g + 1) / 2 * (size - 1) : ((g + 1) * size - 1) / 2;
  if (padding == GridSamplePadding::Zeros) return c;
  if (std::isnan(c.at)) return {0, 0};
  if (padding == GridSamplePadding::Reflection) {
    // PyTorch's reflect_coordinates_set_grad: mirrored about the edges, a period of two spans.
    const double low = align ? 0 : -0.5, span = align ? size - 1 : size;
    if (span <= 0) return {0, 0};
    double in = c.at - low;
    if (in < 0) in = -in, c.slope = -c.slope;
    if (!std::isfinite(in)) return {0, 0};
    const double extra = std::fmod(in, span), flips = std::floor(in / span);
    if (std::fmod(flips, 2) == 0) c.at = extra + low;
    else c.at = span - extra + low, c.slope = -c.slope;
  }
  // PyTorch's clip_coordinates_set_grad: the edges themselves count as clipped (slope 0).
  if (c.at <= 0) return {0, 0};
  if (c.at >= size - 1) return {static_cast<double>(size - 1), 0};
  return c;
}

// A point's corners (flat pixel indices, -1 outside the image) and weights; nearest sampling
// uses corner 0 alone.
struct Point {
  int64_t index[4];
  double w[4];
  double tx, ty, slope_x, slope_y;
  bool nan;  // bilinear, padding 'zeros', a coordinate not finite: NaN out, no gradient
};

Point point_of(double gx, double gy, int64_t H, int64_t W, const GridSampleArgs& a) {
  const Coordinate cx = source_index(gx, W, a.align_corners, a.padding), cy = source_index(gy, H, a.align_corners, a.padding);
  Point p{};
  for (int k = 0; k < 4; ++k) p.index[k] = -1, p.w[k] = 0;
  p.slope_x = cx.slope, p.slope_y = cy.slope;
  // Comparisons in double before any conversion: a NaN or a huge coordinate never becomes an int.
  const auto inside = [](double v, int64_t size) { return v >= 0 && v <= static_cast<double>(size - 1); };
  if (a.mode == GridSampleMode::Nearest) {
    const double x = std::nearbyint(cx.at), y = std::nearbyint(cy.at);
    if (inside(x, W) && inside(y, H)) p.index[0] = static_cast<int64_t>(y) * W + static_cast<int64_t>(x), p.w[0] = 1;
    return p;
  }
  if (!std::isfinite(cx.at) || !std::isfinite(cy.at)) {
    p.nan = true;
    return p;
  }
  const double x0 = std::floor(cx.at), y0 = std::floor(cy.at);
  p.tx = cx.at - x0, p.ty = cy.at - y0;
  for (int k = 0; k < 4; ++k) {
    const double x = x0 + (k & 1), y = y0 + (k >> 1);
    p.w[k] = ((k & 1) ? p.tx : 1 - p.tx) * ((k >> 1) ? p.ty : 1 - p.ty);
    if (inside(x, W) && inside(y, H)) p.index[k] = static_cast<int64_t>(y) * W + static_cast<int64_t>(x);
  }
  return p;
}

// What the forward and dx read of a point, in 32 bytes: its corners (-1 outside the image: never
// read, so an infinite pixel there cannot make 0 * inf) and their weights in float (as PyTorch's
// float kernel); a NaN sample is corner 0 at pixel 0 with a NaN weight (dx skips it). Through the
// 104-byte Point, once per channel, the forward took 6.4 ms on x [16, 32, 64, 64] with a 64 x 64
// grid (2 threads), 3.7 ms this way.
struct Taps {
  int32_t index[4];
  float w[4];
};

Taps taps_of(const Point& q) {
  Taps t;
  for (int k = 0; k < 4; ++k) t.index[k] = static_cast<int32_t>(q.index[k]), t.w[k] = static_cast<float>(q.w[k]);
  if (q.nan) t.w[0] = NAN, t.index[0] = 0;  // NaN whatever it reads
  return t;
}

// w * plane[index], 0 where index is -1 (the read made at pixel 0, then dropped: no branch).
inline float tap(const float* plane, int32_t index, float w) {
  const float v = plane[index < 0 ? 0 : index];
  return index < 0 ? 0.0f : w * v;
}

// Every point's taps, taps[n * P + p]. Up to kKeptTaps points they live in memory kept per
// thread between calls and not zeroed (a fresh 2 MB vector a call spent most of the forward in
// the kernel zeroing its pages); a larger grid gets memory of its own for the call, so that one
// huge call does not pin its size for the rest of the process.
class GridTaps {
 public:
  GridTaps(const Tensor& grid, int64_t H, int64_t W, const GridSampleArgs& a) {
    constexpr int64_t kKeptTaps = int64_t{1} << 19;  // 16 MiB
    const int64_t count = grid.numel() / 2;
    thread_local std::unique_ptr<Taps[]> kept;
    thread_local int64_t capacity = 0;
    if (count > kKeptTaps) {
      own_.reset(new Taps[static_cast<size_t>(count)]);
      taps_ = own_.get();
    } else {
      if (capacity < count) {
        kept.reset();
        kept.reset(new Taps[static_cast<size_t>(count)]);
        capacity = count;
      }
      taps_ = kept.get();
    }
    Taps* taps = taps_;
    const float* g = grid.f32();
    parallel_for(count, 1024, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) taps[i] = taps_of(point_of(g[2 * i], g[2 * i + 1], H, W, a));
    });
  }
  const Taps* data() const { return taps_; }

 private:
  std::unique_ptr<Taps[]> own_;
  Taps* taps_ = nullptr;
};

}  // namespace

void grid_sample_forward(const Tensor& x, const Tensor& grid, const GridSampleArgs& a, const Tensor& y) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], P = grid.shape[1] * grid.shape[2];
  if (y.numel() == 0) return;
  const GridTaps grid_taps(grid, H, W, a);
  const Taps* taps = grid_taps.data();
  const float* px = x.f32();
  float* py = y.f32();
  // Items of (image, kLanes channels): a point's taps are read once for the channels' sums.
  constexpr int64_t kLanes = 8;
  const int64_t groups = (C + kLanes - 1) / kLanes;
  parallel_for(N * groups, std::max<int64_t>(1, 4096 / std::max<int64_t>(kLanes * P, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / groups, c0 = (item % groups) * kLanes, lanes = std::min(kLanes, C - c0);
      const Taps* tp = taps + n * P;
      const float* in = px + (n * C + c0) * H * W;
      float* out = py + (n * C + c0) * P;
      for (int64_t l = 0; l < lanes; ++l) {
        const float* plane = in + l * H * W;
        float* row = out + l * P;
        for (int64_t p = 0; p < P; ++p) {
          const Taps t = tp[p];
          if ((t.index[0] | t.index[1] | t.index[2] | t.index[3]) >= 0) {  // all four inside (most points)
            row[p] = t.w[0] * plane[t.index[0]] + t.w[1] * plane[t.index[1]] + t.w[2] * plane[t.index[2]] + t.w[3] * plane[t.index[3]];
          } else {
            row[p] = tap(plane, t.index[0], t.w[0]) + tap(plane, t.index[1], t.w[1]) + tap(plane, t.index[2], t.w[2]) +
                     tap(plane, t.index[3], t.w[3]);
          }
        }
      }
    }
  });
}

void grid_sample_backward(const Tensor& dy, const Tensor& x, const Tensor& grid, const GridSampleArgs& a, const Tensor& dx,
                          const Tensor& dgrid) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], P = grid.shape[1] * grid.shape[2];
  const float *pdy = dy.f32(), *px = x.f32();
  if (dx.numel() > 0) {
    const GridTaps grid_taps(grid, H, W, a);
    const Taps* taps = grid_taps.data();
    float* pdx = dx.f32();
    parallel_for(N * C, std::max<int64_t>(1, 4096 / std::max<int64_t>(P + H * W, 1)), [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane) {
        const Taps* tp = taps + (plane / C) * P;
        const float* g = pdy + plane * P;
        float* out = pdx + plane * H * W;
        std::fill(out, out + H * W, 0.0f);
        for (int64_t p = 0; p < P; ++p) {
          if (std::isnan(tp[p].w[0])) continue;  // a NaN sample: no pixel to send its gradient to
          for (int k = 0; k < 4; ++k)
            if (tp[p].index[k] >= 0) out[tp[p].index[k]] += tp[p].w[k] * g[p];
        }
      }
    });
  }
  if (dgrid.numel() == 0) return;
  float* pdg = dgrid.f32();
  if (a.mode == GridSampleMode::Nearest) {  // flat in the grid: PyTorch's zeros
    std::fill(pdg, pdg + dgrid.numel(), 0.0f);
    return;
  }
  // d y / d ix = (v1 - v0)(1 - ty) + (v3 - v2) ty and d y / d iy = (v2 - v0)(1 - tx) + (v3 - v1) tx
  // (a corner outside reads 0), summed over the channels with dy, times the coordinates' slopes.
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (P + kBlock - 1) / kBlock;
  parallel_for(N * blocks, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> sx(kBlock), sy(kBlock);
    std::vector<Point> block(kBlock);
    const float* pg = grid.f32();
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / blocks, p0 = (item % blocks) * kBlock, p1 = std::min(P, p0 + kBlock);
      for (int64_t p = p0; p < p1; ++p) block[p - p0] = point_of(pg[2 * (n * P + p)], pg[2 * (n * P + p) + 1], H, W, a);
      std::fill(sx.begin(), sx.end(), 0.0), std::fill(sy.begin(), sy.end(), 0.0);
      for (int64_t c = 0; c < C; ++c) {
        const float* in = px + (n * C + c) * H * W;
        const float* g = pdy + (n * C + c) * P;
        for (int64_t p = p0; p < p1; ++p) {
          const Point& q = block[p - p0];
          double v[4];
          for (int k = 0; k < 4; ++k) v[k] = q.index[k] >= 0 ? in[q.index[k]] : 0.0;
          sx[p - p0] += g[p] * ((v[1] - v[0]) * (1 - q.ty) + (v[3] - v[2]) * q.ty);
          sy[p - p0] += g[p] * ((v[2] - v[0]) * (1 - q.tx) + (v[3] - v[1]) * q.tx);
        }
      }
      for (int64_t p = p0; p < p1; ++p) {
        const Point& q = block[p - p0];
        float* out = pdg + 2 * (n * P + p);
        out[0] = static_cast<float>(sx[p - p0] * q.slope_x);  // 0 for a NaN sample: its corners read 0
        out[1] = static_cast<float>(sy[p - p0] * q.slope_y);
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
