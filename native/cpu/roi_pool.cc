// Region-of-interest max pooling (Fast R-CNN), exactly as torchvision.ops.roi_pool's CPU kernel:
// for box k = (b, x1, y1, x2, y2), with float arithmetic as torchvision's,
//   b truncated to an integer (must be a sample of x: else E_INDEX when the op runs),
//   x1..y2 scaled by spatial_scale and rounded half away from zero (std::round),
//   roi_w = max(x2 - x1 + 1, 1), roi_h = max(y2 - y1 + 1, 1), bin_h = roi_h / oh (float),
//   bin (i, j) covers rows [floor(i * bin_h), ceil((i + 1) * bin_h)) + y1, clipped to [0, H]
//   (columns likewise), so a box partly outside the image pools its inside part.
// Each bin takes its maximum (strictly greater than -FLT_MAX to be taken, first one on ties)
// and keeps its flat index h * W + w; an empty bin gives 0 and index -1.
// Where torchvision is undefined (a float-to-integer cast of NaN, of infinity or of a value
// beyond the integers): a box with a NaN coordinate gives NaN in every bin and index -1 (no
// gradient), as roi_align.cc's; scaled coordinates beyond +-2^30, infinities included, are
// clamped there before rounding, which changes nothing once the bins are clipped to the map.
// Backward (to x only): dx[b][c][argmax] += dy for every box and bin, boxes in order.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "cpu/nn_ops.h"
#include "cpu/pool_window.h"

namespace convnet {
namespace cpu {
namespace {

// The sample of box k, checked against the batch size.
int64_t batch_of(const float* box, int64_t k, int64_t batch) {
  const float b = box[0];
  CONVNET_CHECK(b >= 0.0f && b < static_cast<float>(batch), "E_INDEX", "box ", k, " has batch index ", b,
                ", out of range for a batch of ", batch);
  return static_cast<int64_t>(b);  // truncation, as torchvision's `int roi_batch_ind = rois[0]`
}

// A scaled coordinate rounded half away from zero, clamped to +-2^30 first (not NaN).
int64_t rounded(float v) {
  constexpr float kLimit = 1073741824.0f;
  return static_cast<int64_t>(std::round(std::min(std::max(v, -kLimit), kLimit)));
}

bool has_nan(const float* box) {
  return std::isnan(box[1]) || std::isnan(box[2]) || std::isnan(box[3]) || std::isnan(box[4]);
}

// The clipped [start, end) of every bin of one box along one axis.
void box_bins(float lo, float hi, float scale, int64_t bins, int64_t size, int64_t* start, int64_t* end) {
  const int64_t roi_start = rounded(lo * scale);
  const int64_t roi_end = rounded(hi * scale);
  const int64_t extent = std::max<int64_t>(roi_end - roi_start + 1, 1);
  const float bin = static_cast<float>(extent) / static_cast<float>(bins);
  for (int64_t i = 0; i < bins; ++i) {
    const int64_t s = static_cast<int64_t>(std::floor(static_cast<float>(i) * bin));
    const int64_t e = static_cast<int64_t>(std::ceil(static_cast<float>(i + 1) * bin));
    start[i] = std::min(std::max<int64_t>(s + roi_start, 0), size);
    end[i] = std::min(std::max<int64_t>(e + roi_start, 0), size);
  }
}

}  // namespace

void roi_pool_forward(const Tensor& x, const Tensor& boxes, float spatial_scale, const Tensor& y, const Tensor& argmax) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t K = boxes.shape[0], oh = y.shape[2], ow = y.shape[3];
  const float* pb = boxes.f32();
  for (int64_t k = 0; k < K; ++k) batch_of(pb + 5 * k, k, N);
  const float* px = x.f32();
  float* py = y.f32();
  int32_t* pa = argmax.i32();
  for_planes(K * C, oh * ow * 4, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> hs(oh), he(oh), ws(ow), we(ow);
    int64_t box = -1;
    for (int64_t q = begin; q < end; ++q) {
      const int64_t k = q / C, c = q % C;
      const float* b = pb + 5 * k;
      if (has_nan(b)) {
        std::fill(py + q * oh * ow, py + (q + 1) * oh * ow, NAN);
        std::fill(pa + q * oh * ow, pa + (q + 1) * oh * ow, -1);
        continue;
      }
      if (k != box) {
        box = k;
        box_bins(b[2], b[4], spatial_scale, oh, H, hs.data(), he.data());
        box_bins(b[1], b[3], spatial_scale, ow, W, ws.data(), we.data());
      }
      const float* xp = px + (batch_of(b, k, N) * C + c) * H * W;
      for (int64_t i = 0; i < oh; ++i) {
        for (int64_t j = 0; j < ow; ++j) {
          const bool empty = he[i] <= hs[i] || we[j] <= ws[j];
          float best = empty ? 0.0f : -FLT_MAX;
          int64_t at = -1;
          for (int64_t h = hs[i]; h < he[i]; ++h) {
            for (int64_t w = ws[j]; w < we[j]; ++w) {
              if (xp[h * W + w] > best) best = xp[h * W + w], at = h * W + w;
            }
          }
          py[q * oh * ow + i * ow + j] = best;
          pa[q * oh * ow + i * ow + j] = static_cast<int32_t>(at);
        }
      }
    }
  });
}

void roi_pool_backward(const Tensor& dy, const Tensor& argmax, const Tensor& boxes, const Tensor& dx) {
  const int64_t N = dx.shape[0], C = dx.shape[1], plane = dx.shape[2] * dx.shape[3];
  const int64_t K = boxes.shape[0], bins = dy.shape[2] * dy.shape[3];
  const float* pb = boxes.f32();
  // The boxes of each sample, in order, so that each plane of dx is summed by one thread in a
  // fixed order.
  std::vector<std::vector<int64_t>> boxes_of(N);
  for (int64_t k = 0; k < K; ++k) boxes_of[batch_of(pb + 5 * k, k, N)].push_back(k);
  const int32_t* pa = argmax.i32();
  const int64_t picks = argmax.numel();  // numel() walks the shape: 9% of a fwd+bwd once, called per element
  for (int64_t i = 0; i < picks; ++i)
    CONVNET_CHECK(pa[i] >= -1 && pa[i] < plane, "E_INDEX", "roiPool backward: argmax ", pa[i], " at position ", i,
                  " is out of range for a plane of ", plane, " elements");
  const float* pdy = dy.f32();
  float* pdx = dx.f32();
  for_planes(N * C, plane + bins * (K / std::max<int64_t>(N, 1) + 1), [&](int64_t begin, int64_t end) {
    for (int64_t q = begin; q < end; ++q) {
      const int64_t n = q / C, c = q % C;
      float* gp = pdx + q * plane;
      std::memset(gp, 0, plane * sizeof(float));  // plane by plane: it stays in cache for the scatter
      for (const int64_t k : boxes_of[n]) {
        const float* d = pdy + (k * C + c) * bins;
        const int32_t* a = pa + (k * C + c) * bins;
        for (int64_t o = 0; o < bins; ++o)
          if (a[o] >= 0) gp[a[o]] += d[o];
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
