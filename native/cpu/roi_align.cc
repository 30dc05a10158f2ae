// Region-of-interest align (Mask R-CNN), as torchvision.ops.roi_align: box k = (b, x1, y1, x2, y2)
// of sample b (truncated to an integer; out of range is E_INDEX when the op runs) is cut into
// oh x ow bins, and each bin is the mean of grid_h x grid_w bilinear samples of its channel
// (cpu/roi_align_geometry.h states where the samples lie, and what a box with a coordinate that
// is not finite gives). Sums are in double, pixel by pixel with the samples' weights added up per
// pixel (Note [separable bins]), where torchvision adds each sample's four weighted pixels in
// turn; so a bin is torchvision's double result rounded to float, give or take the last bit.
// One difference: a sample outside the map adds nothing here, where torchvision adds
// 0 * x[0][0] (NaN when that pixel is NaN or infinite).
//
// Backward (to x only): dx[b][c] at each pixel a bin reads += dy[k][c][bin] / count * its
// weight. Each plane (n, c) of dx is summed by one thread, in double, over the boxes of sample n
// in order, bins and pixels in order: the result does not depend on the thread count.
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

// A bin's samples, summed per pixel along one axis (Note [separable bins]): the pixels that
// bin p's taps read are pixel[begin[p] .. begin[p + 1]), in increasing order, each with the sum
// of the weights its taps give it (in tap order, a tap's low pixel before its high one).
struct AxisWeights {
  std::vector<int64_t> begin, pixel;
  std::vector<double> weight;
};

// One box: its geometry and its bins' weights along the rows (wy) and the columns (wx); bin
// (i, j) reads pixels (y, x) for y in row bin i's pixels and x in column bin j's.
struct BoxWeights {
  roi_align::Box g;
  AxisWeights wy, wx;
  int64_t products = 0;  // pixel reads of all bins: the box's work per channel
};

// Note [separable bins]: a bin is the mean of bilinear samples, sum over row taps r and column
// taps s of (wy_low(r) x[low(r)] + wy_high(r) x[high(r)]) interpolated likewise along the
// columns; gathered per pixel, that is sum over rows y of Wy(y) * (sum over columns x of Wx(x)
// x[y][x]), Wy and Wx each tap's weights added up per pixel. A bin then reads each of its
// pixels once, where sample by sample it read four per sample: grids of 2 x 2 samples (3 x 3
// pixels) take 9 products instead of 16, 3 x 3 take 16 instead of 36. Only the pixels some tap
// reads are visited (with weight 0 where every tap that reads it gives it 0: a NaN there is NaN
// in the bin, as torchvision's 0 * NaN), never a pixel between two taps that read neither.
void sum_weights(const std::vector<int64_t>& begin, const std::vector<Tap>& taps, AxisWeights* out) {
  const int64_t bins = static_cast<int64_t>(begin.size()) - 1;
  out->begin.assign(1, 0);
  std::vector<double> w;
  std::vector<char> read;
  for (int64_t p = 0; p < bins; ++p) {
    if (begin[p] < begin[p + 1]) {
      // the pixels the taps read span [first, last] (taps move backwards where an aligned box
      // has a negative extent)
      int64_t first = taps[begin[p]].low, last = taps[begin[p]].high;
      for (int64_t t = begin[p]; t < begin[p + 1]; ++t) {
        first = std::min(first, taps[t].low);
        last = std::max(last, taps[t].high);
      }
      w.assign(static_cast<size_t>(last - first + 1), 0.0);
      read.assign(w.size(), 0);
      for (int64_t t = begin[p]; t < begin[p + 1]; ++t) {
        const Tap& tap = taps[t];
        w[tap.low - first] += tap.w_low;
        w[tap.high - first] += tap.w_high;
        read[tap.low - first] = read[tap.high - first] = 1;
      }
      for (int64_t q = 0; q <= last - first; ++q)
        if (read[q]) {
          out->pixel.push_back(first + q);
          out->weight.push_back(w[q]);
        }
    }
    out->begin.push_back(static_cast<int64_t>(out->pixel.size()));
  }
}

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

std::vector<BoxWeights> box_weights(const float* boxes, int64_t K, int64_t H, int64_t W, int64_t oh, int64_t ow,
                                    double scale, int64_t sampling_ratio, bool aligned) {
  std::vector<BoxWeights> all(static_cast<size_t>(K));
  parallel_for(K, 16, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> row_begin, col_begin;
    std::vector<Tap> rows, cols;
    for (int64_t k = begin; k < end; ++k) {
      BoxWeights& b = all[k];
      b.g = roi_align::box_geometry(boxes + 5 * k, scale, oh, ow, sampling_ratio, aligned);
      if (!b.g.finite) continue;
      rows.clear();
      cols.clear();
      axis_taps(b.g.start_h, b.g.bin_h, b.g.grid_h, oh, H, &row_begin, &rows);
      axis_taps(b.g.start_w, b.g.bin_w, b.g.grid_w, ow, W, &col_begin, &cols);
      sum_weights(row_begin, rows, &b.wy);
      sum_weights(col_begin, cols, &b.wx);
      b.products = static_cast<int64_t>(b.wy.pixel.size() * b.wx.pixel.size());
    }
  });
  return all;
}

// A box's work per channel for the threads' shares: a bin's overhead and its pixel reads.
int64_t work_per_box(const std::vector<BoxWeights>& all, int64_t bins) {
  int64_t products = 0;
  for (const BoxWeights& b : all) products += b.products;
  return bins + products / std::max<int64_t>(1, static_cast<int64_t>(all.size()));
}

constexpr int64_t kLanes = 8;

// Bins [oh, ow] of L channel planes (x, x + plane, ...) of one box, into out[l * oh * ow + bin]:
// bin (i, j) = sum over its rows y, in order, of Wy(y) * (its columns along row y, in order),
// over count. `sums` holds L * ow doubles.
template <int L>
void separable_bins(const float* x, int64_t plane, int64_t W, const AxisWeights& wy, const AxisWeights& wx, int64_t oh,
                    int64_t ow, double count, double* sums, float* out) {
  for (int64_t i = 0; i < oh; ++i) {
    std::fill(sums, sums + L * ow, 0.0);
    for (int64_t r = wy.begin[i]; r < wy.begin[i + 1]; ++r) {
      const float* row = x + wy.pixel[r] * W;
      const double w_row = wy.weight[r];
      for (int64_t j = 0; j < ow; ++j) {
        double along[L] = {};
        for (int64_t q = wx.begin[j]; q < wx.begin[j + 1]; ++q) {
          const double w = wx.weight[q];
          const int64_t at = wx.pixel[q];
          for (int l = 0; l < L; ++l) along[l] += w * row[l * plane + at];
        }
        for (int l = 0; l < L; ++l) sums[l * ow + j] += w_row * along[l];
      }
    }
    for (int l = 0; l < L; ++l)
      for (int64_t j = 0; j < ow; ++j) out[l * oh * ow + i * ow + j] = static_cast<float>(sums[l * ow + j] / count);
  }
}

}  // namespace

void roi_align_forward(const Tensor& x, const Tensor& boxes, double spatial_scale, int64_t sampling_ratio, bool aligned,
                       const Tensor& y) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t K = boxes.shape[0], oh = y.shape[2], ow = y.shape[3], bins = oh * ow;
  const float* pb = boxes.f32();
  // The boxes grouped by image (in order within each), cut into blocks: a unit of work is a few
  // channels of one block, so the boxes a thread takes in turn sample the same input planes,
  // which stay in cache (walking (box, channel) in output order jumps to another plane at
  // every step), and the blocks keep the threads' shares even when the images' box counts differ.
  std::vector<int64_t> order;
  order.reserve(static_cast<size_t>(K));
  {
    std::vector<std::vector<int64_t>> boxes_of(N);
    for (int64_t k = 0; k < K; ++k) boxes_of[batch_of(pb + 5 * k, k, N)].push_back(k);
    for (const auto& ks : boxes_of) order.insert(order.end(), ks.begin(), ks.end());
  }
  const std::vector<BoxWeights> all = box_weights(pb, K, H, W, oh, ow, spatial_scale, sampling_ratio, aligned);
  // kLanes channels at a time: their sums are independent chains through the same weights. One
  // channel at a time, each bin's short sums waited on their own additions (the ops group's
  // adaptive case, 512 boxes of 256 channels, at 1 thread: 84 ms, no faster than sample by
  // sample; 4 channels 41 ms, 8 and 16 channels 33 ms).
  constexpr int64_t kBlock = 32;
  const int64_t blocks = (K + kBlock - 1) / kBlock, groups = (C + kLanes - 1) / kLanes;
  const int64_t work = kLanes * work_per_box(all, bins);
  const float* px = x.f32();
  float* py = y.f32();
  parallel_for(groups * blocks, std::max<int64_t>(1, (int64_t{1} << 15) / (kBlock * work)), [&](int64_t begin, int64_t end) {
    std::vector<double> sums(static_cast<size_t>(kLanes * ow));
    for (int64_t u = begin; u < end; ++u) {
      const int64_t c0 = u / blocks * kLanes, first = (u % blocks) * kBlock, last = std::min(first + kBlock, K);
      const int64_t lanes = std::min(kLanes, C - c0);
      for (int64_t o = first; o < last; ++o) {
        const int64_t k = order[o];
        const BoxWeights& b = all[k];
        if (!b.g.finite) {
          for (int64_t c = c0; c < c0 + lanes; ++c) {
            float* out = py + (k * C + c) * bins;
            std::fill(out, out + bins, std::numeric_limits<float>::quiet_NaN());
          }
          continue;
        }
        const float* xp = px + (static_cast<int64_t>(pb[5 * k]) * C + c0) * H * W;
        float* out = py + (k * C + c0) * bins;
        if (lanes == kLanes)
          separable_bins<kLanes>(xp, H * W, W, b.wy, b.wx, oh, ow, b.g.count, sums.data(), out);
        else
          for (int64_t l = 0; l < lanes; ++l)
            separable_bins<1>(xp + l * H * W, H * W, W, b.wy, b.wx, oh, ow, b.g.count, sums.data(), out + l * bins);
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
  const std::vector<BoxWeights> all = box_weights(pb, K, H, W, oh, ow, spatial_scale, sampling_ratio, aligned);
  const float* pdy = dy.f32();
  float* pdx = dx.f32();
  // Units of kLanes planes of one image, channel-major (unit u: channels from u / N * kLanes of
  // image u % N), so that each thread's share spans every image even when their box counts
  // differ. The lanes' sums are interleaved ([pixel][lane]): a pixel's update is one vector
  // of independent additions, each plane's in the order one plane alone would take.
  const int64_t groups = (C + kLanes - 1) / kLanes;
  const int64_t work = kLanes * (plane + work_per_box(all, bins) * (K / std::max<int64_t>(N, 1) + 1));
  for_planes(N * groups, work, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(static_cast<size_t>(plane * kLanes));
    for (int64_t u = begin; u < end; ++u) {
      const int64_t c0 = u / N * kLanes, n = u % N, lanes = std::min(kLanes, C - c0);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (const int64_t k : boxes_of[n]) {
        const BoxWeights& b = all[k];
        if (!b.g.finite) continue;
        const float* d = pdy + (k * C + c0) * bins;
        // the forward's pixels and weights (Note [separable bins]): pixel (y, x) of bin (i, j)
        // gets dy / count * Wy(y) * Wx(x)
        for (int64_t i = 0; i < oh; ++i) {
          for (int64_t j = 0; j < ow; ++j) {
            double g[kLanes] = {};
            for (int64_t l = 0; l < lanes; ++l) g[l] = d[l * bins + i * ow + j] / b.g.count;
            for (int64_t r = b.wy.begin[i]; r < b.wy.begin[i + 1]; ++r) {
              double* row = acc.data() + b.wy.pixel[r] * W * kLanes;
              double g_row[kLanes];
              for (int l = 0; l < kLanes; ++l) g_row[l] = g[l] * b.wy.weight[r];
              for (int64_t s = b.wx.begin[j]; s < b.wx.begin[j + 1]; ++s) {
                double* at = row + b.wx.pixel[s] * kLanes;
                const double w = b.wx.weight[s];
                for (int l = 0; l < kLanes; ++l) at[l] += g_row[l] * w;
              }
            }
          }
        }
      }
      for (int64_t l = 0; l < lanes; ++l) {
        float* gp = pdx + (n * C + c0 + l) * plane;
        for (int64_t i = 0; i < plane; ++i) gp[i] = static_cast<float>(acc[i * kLanes + l]);
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
