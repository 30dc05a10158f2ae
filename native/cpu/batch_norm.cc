// Batch normalisation (Ioffe & Szegedy 2015) over x [N, C] or [N, C, ...], per channel c:
//   training:  mean, var = the batch's mean and biased variance over N and the positions (M values);
//              y = (x - mean) * invstd * w + b, invstd = 1 / sqrt(var + eps);
//              running_mean = (1 - momentum) running_mean + momentum mean,
//              running_var  = (1 - momentum) running_var  + momentum var * M / (M - 1)  (unbiased).
//   eval:      the same y with mean = running_mean, invstd = 1 / sqrt(running_var + eps).
// w and b are optional (1 and 0). The mean and invstd used are written to save_mean/save_invstd
// for backward.
//
// Note [in-place running stats]: the running statistics are updated in place, in the storage of
// the tensors the caller passed. Elsewhere ops only write their fresh outputs; this is safe
// because the queue runs ops in the order they were called, so every op called before this one
// reads the old values and every op called after it the new ones. (The API layer refuses
// running stats that share memory with x.)
//
// Backward, training (mean and invstd depend on x):
//   db = sum dy, dw = sum dy * xhat (xhat = (x - mean) invstd),
//   dx = w invstd (dy - db / M - xhat dw / M);
// eval (mean and invstd are constants): dx = w invstd dy, with the same dw and db.
//
// Reductions over N and the positions: each row (n, c) of S positions is summed by one thread
// (in sixteen float lanes over blocks of 256 values, added to float64 lanes; a fixed order), then the rows of a channel are added in
// float64 in order of n, so the bits do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/norm_rows.h"

namespace convnet {
namespace cpu {
namespace {

struct Rows {
  int64_t n, channels, positions;
  int64_t rows() const { return n * channels; }
};

Rows rows_of(const Tensor& x) {
  int64_t positions = 1;
  for (int64_t d = 2; d < x.dim(); ++d) positions *= x.shape[d];
  return {x.shape[0], x.shape[1], positions};
}

int64_t grain(const Rows& r) { return std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, r.positions)); }

// Per-channel totals of f(row, x_row) (a float64 sum over the row), rows added in order of n.
template <typename RowSum>
std::vector<double> channel_sums(const Rows& r, RowSum row_sum) {
  std::vector<double> partial(static_cast<size_t>(r.rows()));
  parallel_for(r.rows(), grain(r), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) partial[row] = row_sum(row);
  });
  std::vector<double> total(static_cast<size_t>(r.channels), 0.0);
  for (int64_t row = 0; row < r.rows(); ++row) total[row % r.channels] += partial[row];
  return total;
}

}  // namespace

void batch_norm_forward(const Tensor& x, const Tensor* running_mean, const Tensor* running_var, const Tensor* w,
                        const Tensor* b, bool training, double momentum, double eps, const Tensor& y,
                        const Tensor& save_mean, const Tensor& save_invstd) {
  const Rows r = rows_of(x);
  const int64_t m = r.n * r.positions;  // values per channel
  const float* px = x.f32();
  float *pmean = save_mean.f32(), *pinvstd = save_invstd.f32();
  if (training) {
    if (m == 0) {  // an empty batch: nothing to normalise, running stats unchanged (as PyTorch)
      for (int64_t c = 0; c < r.channels; ++c) pmean[c] = pinvstd[c] = NAN;
      return;
    }
    // Per channel: the mean and invstd, the running statistics, and (channel_scale_shift)
    // the scale and shift of y.
    const auto statistics = [&](int64_t c, double sum, double squares) {
      const double var = squares / static_cast<double>(m);
      pmean[c] = static_cast<float>(sum / static_cast<double>(m));
      pinvstd[c] = static_cast<float>(1.0 / std::sqrt(var + eps));
      if (running_mean) {
        float *rm = running_mean->f32(), *rv = running_var->f32();
        rm[c] = static_cast<float>(momentum * (sum / static_cast<double>(m)) + (1.0 - momentum) * rm[c]);
        rv[c] = static_cast<float>(momentum * (squares / static_cast<double>(m - 1)) + (1.0 - momentum) * rv[c]);
      }
    };
    const float* pw = w ? w->f32() : nullptr;
    const float* pb = b ? b->f32() : nullptr;
    float* py = y.f32();
    if (r.channels >= 8) {
      // Note [channel at a time] (as the backward): a thread takes a channel whole, its sums,
      // squares and y while its rows are still in L2, instead of three passes over the
      // tensor. The same sums in the same order: the same bits.
      parallel_for(r.channels, std::max<int64_t>(1, grain(r) / std::max<int64_t>(1, r.n)), [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
          double sum = 0.0, squares = 0.0;
          for (int64_t n = 0; n < r.n; ++n) sum += row_sum(px + (n * r.channels + c) * r.positions, r.positions);
          const float mean = static_cast<float>(sum / static_cast<double>(m));
          for (int64_t n = 0; n < r.n; ++n) squares += row_squared_deviations(px + (n * r.channels + c) * r.positions, mean, r.positions);
          statistics(c, sum, squares);
          const float scale = static_cast<float>(static_cast<double>(pinvstd[c]) * (pw ? pw[c] : 1.0f)), shift = pb ? pb[c] : 0.0f;
          for (int64_t n = 0; n < r.n; ++n) {
            const int64_t at = (n * r.channels + c) * r.positions;
            normalize_row(px + at, pmean[c], scale, shift, py + at, r.positions);
          }
        }
      });
      return;
    }
    const std::vector<double> sums = channel_sums(r, [&](int64_t row) { return row_sum(px + row * r.positions, r.positions); });
    std::vector<float> mean(static_cast<size_t>(r.channels));
    for (int64_t c = 0; c < r.channels; ++c) mean[c] = static_cast<float>(sums[c] / static_cast<double>(m));
    const std::vector<double> squares = channel_sums(r, [&](int64_t row) {
      return row_squared_deviations(px + row * r.positions, mean[row % r.channels], r.positions);
    });
    for (int64_t c = 0; c < r.channels; ++c) statistics(c, sums[c], squares[c]);
  } else {
    const float *rm = running_mean->f32(), *rv = running_var->f32();
    for (int64_t c = 0; c < r.channels; ++c) {
      pmean[c] = rm[c];
      pinvstd[c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(rv[c]) + eps));
    }
  }
  // y = (x - mean) * scale + shift, scale = invstd * w and shift = b per channel.
  std::vector<float> scale(static_cast<size_t>(r.channels)), shift(static_cast<size_t>(r.channels));
  for (int64_t c = 0; c < r.channels; ++c) {
    scale[c] = static_cast<float>(static_cast<double>(pinvstd[c]) * (w ? w->f32()[c] : 1.0f));
    shift[c] = b ? b->f32()[c] : 0.0f;
  }
  float* py = y.f32();
  parallel_for(r.rows(), grain(r), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t c = row % r.channels;
      const float mu = pmean[c], s = scale[c], t = shift[c];
      const float* xr = px + row * r.positions;
      float* yr = py + row * r.positions;
      normalize_row(xr, mu, s, t, yr, r.positions);
    }
  });
}

void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor* w, const Tensor& save_mean,
                         const Tensor& save_invstd, bool training, const Tensor& dx, const Tensor& dw, const Tensor& db) {
  const Rows r = rows_of(x);
  const int64_t m = r.n * r.positions;
  const float *pdy = dy.f32(), *px = x.f32(), *pmean = save_mean.f32(), *pinvstd = save_invstd.f32();
  float *pdx = dx.f32(), *pdw = dw.f32(), *pdb = db.f32();
  const float* pw = w ? w->f32() : nullptr;
  if (m == 0) {
    for (int64_t c = 0; c < r.channels; ++c) pdw[c] = pdb[c] = 0.0f;
    return;
  }
  // Note [channel at a time]: one thread takes a channel whole: its N rows' sums (one pass over
  // dy and x), then its dx while those rows are still in L2. Row by row over the whole tensor
  // (sums, then dx) read dy and x from memory twice: 0.9-1.0x PyTorch on [8, 96, 55, 55].
  // Few channels (2-D inputs [N, C] with small C) would leave threads idle: there the rows'
  // sums go first, in parallel over rows, then dx. Both orders compute the same bits.
  std::vector<double> dy_sum(static_cast<size_t>(r.channels)), dy_xmu(dy_sum.size());
  std::vector<float> a(dy_sum.size()), k(dy_sum.size()), c0(dy_sum.size());
  // dx = a * dy + k * (x - mean) + c0 per channel (float64 coefficients, applied in float).
  const auto coefficients = [&](int64_t c) {
    const double invstd = pinvstd[c], weight = pw ? pw[c] : 1.0;
    pdb[c] = static_cast<float>(dy_sum[c]);
    pdw[c] = static_cast<float>(dy_xmu[c] * invstd);  // sum dy * (x - mean) * invstd
    a[c] = static_cast<float>(weight * invstd);
    if (training) {
      // w invstd (dy - db/M - (x - mean) invstd^2 (dy_xmu / M))
      k[c] = static_cast<float>(-weight * invstd * invstd * invstd * dy_xmu[c] / static_cast<double>(m));
      c0[c] = static_cast<float>(-weight * invstd * dy_sum[c] / static_cast<double>(m));
    } else {
      k[c] = c0[c] = 0.0f;
    }
  };
  const auto sums_of_channel = [&](int64_t c, const double* row_dy, const double* row_xmu, int64_t row_stride) {
    double s = 0.0, sx = 0.0;
    for (int64_t n = 0; n < r.n; ++n) s += row_dy[n * row_stride], sx += row_xmu[n * row_stride];
    dy_sum[c] = s;
    dy_xmu[c] = sx;
  };
  const auto dx_row = [&](int64_t row, int64_t c) {
    const int64_t at = row * r.positions;
    backward_row(pdy + at, px + at, pmean[c], a[c], k[c], c0[c], pdx + at, r.positions);
  };
  if (r.channels >= 8) {
    parallel_for(r.channels, std::max<int64_t>(1, grain(r) / std::max<int64_t>(1, r.n)), [&](int64_t begin, int64_t end) {
      std::vector<double> row_dy(static_cast<size_t>(r.n)), row_xmu(row_dy.size());
      for (int64_t c = begin; c < end; ++c) {
        for (int64_t n = 0; n < r.n; ++n) {
          const int64_t at = (n * r.channels + c) * r.positions;
          row_sums(pdy + at, px + at, pmean[c], r.positions, &row_dy[n], &row_xmu[n]);
        }
        sums_of_channel(c, row_dy.data(), row_xmu.data(), 1);
        coefficients(c);
        for (int64_t n = 0; n < r.n; ++n) dx_row(n * r.channels + c, c);
      }
    });
    return;
  }
  std::vector<double> row_dy(static_cast<size_t>(r.rows())), row_xmu(row_dy.size());
  parallel_for(r.rows(), grain(r), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t at = row * r.positions;
      row_sums(pdy + at, px + at, pmean[row % r.channels], r.positions, &row_dy[row], &row_xmu[row]);
    }
  });
  for (int64_t c = 0; c < r.channels; ++c) {
    sums_of_channel(c, row_dy.data() + c, row_xmu.data() + c, r.channels);
    coefficients(c);
  }
  parallel_for(r.rows(), grain(r), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) dx_row(row, row % r.channels);
  });
}

}  // namespace cpu
}  // namespace convnet
