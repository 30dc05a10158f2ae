// Region-of-interest align (Mask R-CNN), as torchvision.ops.roi_align: box k = (b, x1, y1, x2, y2)
// of sample b (truncated to an integer; out of range is E_INDEX when the op runs) is cut into
// oh x ow bins, and each bin is the mean of grid_h x grid_w bilinear samples of its channel
// (cpu/roi_align_geometry.h states where the samples lie, and what a box with a coordinate that
// is not finite gives). Sums are in double (row tap by row tap, each pair of rows interpolated
// along the columns first, where torchvision adds each sample's four weighted pixels in turn),
// so a bin is torchvision's double result rounded to float, give or take the last bit.
// One difference: a sample outside the map adds nothing here, where torchvision adds
// 0 * x[0][0] (NaN when that pixel is NaN or infinite).
//
// Backward (to x only): dx[b][c] at each sample's four pixels += dy[k][c][bin] / count * weight.
// Each plane (n, c) of dx is summed by one thread, in double, over the boxes of sample n in
// order, bins and samples in order: the result does not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/pool_window.h"
#include "cpu/roi_align_geometry.h"

namespace convnet {
namespace cpu {
namespace {

using roi_align::Tap;

// The sample of box k, checked against the batch size (as roi_pool.cc).
int64_t batch_of(const float* box, int64_t k, int64_t batch) {
  const float b = box[0];
  CONVNET_CHECK(b >= 0.0f && b < static_cast<float>(batch), "E_INDEX", "box ", k, " has batch index ", b,
                ", out of range for a batch of ", batch);
  return static_cast<int64_t>(b);  // truncation, as torchvision's `int roi_batch_ind = rois[0]`
}

// The samples of one box that land on the map, one axis at a time: the samples of bin p along
// the rows are rows[row_begin[p] .. row_begin[p + 1]) (columns likewise); a bin's samples are
// every pair of a row tap and a column tap of its row and column.
struct BoxTaps {
  roi_align::Box g;
  std::vector<int64_t> row_begin, col_begin;
  std::vector<Tap> rows, cols;
  int64_t samples = 0;  // the (row, column) pairs of all bins: the box's work per channel
};

void axis_taps(double start, double bin, int64_t grid, int64_t bins, int64_t size, std::vector<int64_t>* begin,
               std::vector<Tap>* taps) {
  begin->assign(1, 0);
  for (int64_t p = 0; p < bins; ++p) {
    int64_t first, end;
    roi_align::tap_range(start, bin, grid, p, size, &first, &end);
    Tap t;
    for (int64_t i = first; i < end; ++i)
      if (roi_align::axis_tap(start, bin, grid, p, i, size, &t)) taps->push_back(t);
    begin->push_back(static_cast<int64_t>(taps->size()));
  }
}

std::vector<BoxTaps> box_taps(const float* boxes, int64_t K, int64_t H, int64_t W, int64_t oh, int64_t ow,
                              double scale, int64_t sampling_ratio, bool aligned) {
  std::vector<BoxTaps> all(static_cast<size_t>(K));
  parallel_for(K, 16, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      BoxTaps& b = all[k];
      b.g = roi_align::box_geometry(boxes + 5 * k, scale, oh, ow, sampling_ratio, aligned);
      if (!b.g.finite) continue;
      axis_taps(b.g.start_h, b.g.bin_h, b.g.grid_h, oh, H, &b.row_begin, &b.rows);
      axis_taps(b.g.start_w, b.g.bin_w, b.g.grid_w, ow, W, &b.col_begin, &b.cols);
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j)
          b.samples += (b.row_begin[i + 1] - b.row_begin[i]) * (b.col_begin[j + 1] - b.col_begin[j]);
    }
  });
  return all;
}

// The work of a plane for for_planes: a bin's overhead plus four pixels per sample.
int64_t work_per_box(const std::vector<BoxTaps>& all, int64_t bins) {
  int64_t samples = 0;
  for (const BoxTaps& b : all) samples += b.samples;
  return bins + 4 * samples / std::max<int64_t>(1, static_cast<int64_t>(all.size()));
}

}  // namespace

void roi_align_forward(const Tensor& x, const Tensor& boxes, double spatial_scale, int64_t sampling_ratio, bool aligned,
                       const Tensor& y) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t K = boxes.shape[0], oh = y.shape[2], ow = y.shape[3], bins = oh * ow;
  const float* pb = boxes.f32();
  // The boxes grouped by image (in order within each), cut into blocks: a unit of work is one
  // channel of one block, so the boxes a thread takes in turn sample the same input plane,
  // which stays in cache (walking (box, channel) in output order jumps to another plane at
  // every step), and the blocks keep the threads' shares even when the images' box counts differ.
  std::vector<int64_t> order;
  order.reserve(static_cast<size_t>(K));
  {
    std::vector<std::vector<int64_t>> boxes_of(N);
    for (int64_t k = 0; k < K; ++k) boxes_of[batch_of(pb + 5 * k, k, N)].push_back(k);
    for (const auto& ks : boxes_of) order.insert(order.end(), ks.begin(), ks.end());
  }
  const std::vector<BoxTaps> all = box_taps(pb, K, H, W, oh, ow, spatial_scale, sampling_ratio, aligned);
  constexpr int64_t kBlock = 32;
  const int64_t blocks = (K + kBlock - 1) / kBlock;
  const float* px = x.f32();
  float* py = y.f32();
  parallel_for(C * blocks, std::max<int64_t>(1, (int64_t{1} << 15) / (kBlock * work_per_box(all, bins))),
               [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      const int64_t c = u / blocks, first = (u % blocks) * kBlock, last = std::min(first + kBlock, K);
      for (int64_t o = first; o < last; ++o) {
        const int64_t k = order[o];
        const BoxTaps& b = all[k];
        float* out = py + (k * C + c) * bins;
        if (!b.g.finite) {
          std::fill(out, out + bins, std::numeric_limits<float>::quiet_NaN());
          continue;
        }
        const float* xp = px + (static_cast<int64_t>(pb[5 * k]) * C + c) * H * W;
        for (int64_t i = 0; i < oh; ++i) {
          for (int64_t j = 0; j < ow; ++j) {
            // row by row: each row tap's two rows interpolated along the columns, then weighed
            double sum = 0.0;
            for (int64_t r = b.row_begin[i]; r < b.row_begin[i + 1]; ++r) {
              const Tap& ty = b.rows[r];
              const float* low = xp + ty.low * W;
              const float* high = xp + ty.high * W;
              double along_low = 0.0, along_high = 0.0;
              for (int64_t s = b.col_begin[j]; s < b.col_begin[j + 1]; ++s) {
                const Tap& tx = b.cols[s];
                along_low += tx.w_low * low[tx.low] + tx.w_high * low[tx.high];
                along_high += tx.w_low * high[tx.low] + tx.w_high * high[tx.high];
              }
              sum += ty.w_low * along_low + ty.w_high * along_high;
            }
            out[i * ow + j] = static_cast<float>(sum / b.g.count);
          }
        }
      }
    }
  });
}

void roi_align_backward(const Tensor& dy, const Tensor& boxes, double spatial_scale, int64_t sampling_ratio,
                        bool aligned, const Tensor& dx) {
  const int64_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3], plane = H * W;
  const int64_t K = boxes.shape[0], oh = dy.shape[2], ow = dy.shape[3], bins = oh * ow;
  const float* pb = boxes.f32();
  // The boxes of each sample, in order, so that each plane of dx is summed by one thread in a
  // fixed order.
  std::vector<std::vector<int64_t>> boxes_of(N);
  for (int64_t k = 0; k < K; ++k) boxes_of[batch_of(pb + 5 * k, k, N)].push_back(k);
  const std::vector<BoxTaps> all = box_taps(pb, K, H, W, oh, ow, spatial_scale, sampling_ratio, aligned);
  const float* pdy = dy.f32();
  float* pdx = dx.f32();
  const int64_t work = plane + work_per_box(all, bins) * (K / std::max<int64_t>(N, 1) + 1);
  for_planes(N * C, work, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(static_cast<size_t>(plane));
    // planes channel-major (q = c * N + n), so that each thread's share spans every image even
    // when their box counts differ
    for (int64_t q = begin; q < end; ++q) {
      const int64_t c = q / N, n = q % N;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (const int64_t k : boxes_of[n]) {
        const BoxTaps& b = all[k];
        if (!b.g.finite) continue;
        const float* d = pdy + (k * C + c) * bins;
        for (int64_t i = 0; i < oh; ++i) {
          for (int64_t j = 0; j < ow; ++j) {
            const double g = d[i * ow + j] / b.g.count;
            for (int64_t r = b.row_begin[i]; r < b.row_begin[i + 1]; ++r) {
              const Tap& ty = b.rows[r];
              double* low = acc.data() + ty.low * W;
              double* high = acc.data() + ty.high * W;
              const double g_low = g * ty.w_low, g_high = g * ty.w_high;
              for (int64_t s = b.col_begin[j]; s < b.col_begin[j + 1]; ++s) {
                const Tap& tx = b.cols[s];
                low[tx.low] += g_low * tx.w_low;
                low[tx.high] += g_low * tx.w_high;
                high[tx.low] += g_high * tx.w_low;
                high[tx.high] += g_high * tx.w_high;
              }
            }
          }
        }
      }
      float* gp = pdx + (n * C + c) * plane;
      for (int64_t i = 0; i < plane; ++i) gp[i] = static_cast<float>(acc[i]);
    }
  });
}

}  // namespace cpu
}  // namespace convnet
