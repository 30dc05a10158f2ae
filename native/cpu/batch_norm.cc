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
// Reductions over N and the positions: each row (n, c) of S positions is summed in float64 by
// one thread (four lanes, a fixed order), then the rows of a channel are added in order of n,
// so the bits do not depend on the thread count.
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"

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

// sum_i f(i) over [0, n) in four float64 lanes.
template <typename F>
double lanes4(int64_t n, F f) {
  double acc[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) acc[k] += f(i + k);
  for (; i < n; ++i) acc[0] += f(i);
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
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
    const std::vector<double> sums = channel_sums(r, [&](int64_t row) {
      const float* xr = px + row * r.positions;
      return lanes4(r.positions, [xr](int64_t i) { return static_cast<double>(xr[i]); });
    });
    std::vector<double> mean(static_cast<size_t>(r.channels));
    for (int64_t c = 0; c < r.channels; ++c) mean[c] = sums[c] / static_cast<double>(m);
    const std::vector<double> squares = channel_sums(r, [&](int64_t row) {
      const float* xr = px + row * r.positions;
      const double mu = mean[row % r.channels];
      return lanes4(r.positions, [xr, mu](int64_t i) {
        const double d = xr[i] - mu;
        return d * d;
      });
    });
    for (int64_t c = 0; c < r.channels; ++c) {
      const double var = squares[c] / static_cast<double>(m);
      pmean[c] = static_cast<float>(mean[c]);
      pinvstd[c] = static_cast<float>(1.0 / std::sqrt(var + eps));
      if (running_mean) {
        float *rm = running_mean->f32(), *rv = running_var->f32();
        rm[c] = static_cast<float>(momentum * mean[c] + (1.0 - momentum) * rm[c]);
        rv[c] = static_cast<float>(momentum * (squares[c] / static_cast<double>(m - 1)) + (1.0 - momentum) * rv[c]);
      }
    }
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
      for (int64_t i = 0; i < r.positions; ++i) yr[i] = (xr[i] - mu) * s + t;
    }
  });
}

void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor* w, const Tensor& save_mean,
                         const Tensor& save_invstd, bool training, const Tensor& dx, const Tensor& dw, const Tensor& db) {
  const Rows r = rows_of(x);
  const int64_t m = r.n * r.positions;
  const float *pdy = dy.f32(), *px = x.f32(), *pmean = save_mean.f32(), *pinvstd = save_invstd.f32();
  float *pdx = dx.f32(), *pdw = dw.f32(), *pdb = db.f32();
  if (m == 0) {
    for (int64_t c = 0; c < r.channels; ++c) pdw[c] = pdb[c] = 0.0f;
    return;
  }
  const std::vector<double> dy_sum = channel_sums(r, [&](int64_t row) {
    const float* dyr = pdy + row * r.positions;
    return lanes4(r.positions, [dyr](int64_t i) { return static_cast<double>(dyr[i]); });
  });
  // sum dy * (x - mean); dw = that * invstd.
  const std::vector<double> dy_xmu = channel_sums(r, [&](int64_t row) {
    const float *dyr = pdy + row * r.positions, *xr = px + row * r.positions;
    const double mu = pmean[row % r.channels];
    return lanes4(r.positions, [dyr, xr, mu](int64_t i) { return static_cast<double>(dyr[i]) * (xr[i] - mu); });
  });
  // dx = a * dy + k * (x - mean) + c0 per channel (float64 coefficients, applied in float).
  std::vector<float> a(static_cast<size_t>(r.channels)), k(a.size()), c0(a.size());
  for (int64_t c = 0; c < r.channels; ++c) {
    const double invstd = pinvstd[c], weight = w ? w->f32()[c] : 1.0;
    pdb[c] = static_cast<float>(dy_sum[c]);
    pdw[c] = static_cast<float>(dy_xmu[c] * invstd);
    a[c] = static_cast<float>(weight * invstd);
    if (training) {
      // w invstd (dy - db/M - (x - mean) invstd^2 (dy_xmu / M))
      k[c] = static_cast<float>(-weight * invstd * invstd * invstd * dy_xmu[c] / static_cast<double>(m));
      c0[c] = static_cast<float>(-weight * invstd * dy_sum[c] / static_cast<double>(m));
    } else {
      k[c] = c0[c] = 0.0f;
    }
  }
  parallel_for(r.rows(), grain(r), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t c = row % r.channels;
      const float mu = pmean[c], ac = a[c], kc = k[c], cc = c0[c];
      const float *dyr = pdy + row * r.positions, *xr = px + row * r.positions;
      float* dxr = pdx + row * r.positions;
      for (int64_t i = 0; i < r.positions; ++i) dxr[i] = ac * dyr[i] + kc * (xr[i] - mu) + cc;
    }
  });
}

}  // namespace cpu
}  // namespace convnet
