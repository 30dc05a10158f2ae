// cumsum, cumprod, cummax and cummin on the GPU: cpu/cumsum.cc's bits. One thread per line walks it in order,
// summing (or multiplying) in float64 (int32 sums: int64, a running sum outside int32 reported
// as E_RANGE at the next wait);
// neighbouring threads take neighbouring lines, so reads coalesce whenever the axis is not the
// last. Along the last axis each thread reads its own row (not coalesced): correct and
// deterministic; a parallel scan would change the order of the additions, and so the bits.
#include <cstdint>

#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cpu/scan_rules.h"

namespace convnet {
namespace cuda {
namespace {

template <typename T, typename Acc>
void launch_scan(const char* op, const T* x, T* y, int64_t outer, int64_t len, int64_t inner, bool reverse,
                 bool product, int* error, int site) {
  for_each(op, outer * inner, [=] __device__(int64_t line) {
    const int64_t o = line / inner, j = line - o * inner;
    Acc acc = product ? 1 : 0;
    bool reported = false;
    for (int64_t step = 0; step < len; ++step) {
      const int64_t at = (o * len + (reverse ? len - 1 - step : step)) * inner + j;
      if (product) acc *= static_cast<Acc>(x[at]);
      else acc += static_cast<Acc>(x[at]);
      y[at] = static_cast<T>(acc);
      if (error && !reported && (acc < -2147483648LL || acc > 2147483647LL)) {
        report_error(error, site);
        reported = true;
      }
    }
  });
}

// The scan's geometry: `outer` lines of `len` along the axis, `inner` apart.
struct Lines {
  int64_t outer = 1, len = 0, inner = 1;
  Lines(const Tensor& x, int64_t axis) : len(x.shape[axis]) {
    for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
    for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  }
};

}  // namespace

void cumsum(const Tensor& x, int64_t axis, bool reverse, const Tensor& y) {
  const char* op = "cumsum";
  if (x.numel() == 0) return;
  const Lines l(x, axis);
  if (x.dtype == DType::Float32) {
    launch_scan<float, double>(op, x.f32(), y.f32(), l.outer, l.len, l.inner, reverse, false, nullptr, 0);
    return;
  }
  const int site = error_site(op, "a running int32 sum is outside the int32 range [-2147483648, 2147483647] (cast to float32 first)", "E_RANGE");
  launch_scan<int32_t, int64_t>(op, x.i32(), y.i32(), l.outer, l.len, l.inner, reverse, false, device_error_word(), site);
}

namespace {

// cummax / cummin: cpu/cumsum.cc's extremum_line, one thread per line.
template <typename T>
void launch_extremum(const T* x, T* v, int32_t* at, int64_t outer, int64_t len, int64_t inner, bool largest) {
  for_each(largest ? "cummax" : "cummin", outer * inner, [=] __device__(int64_t line) {
    const int64_t first = (line / inner) * len * inner + line % inner;
    T best = x[first];
    int32_t where = 0;
    for (int64_t i = 0; i < len; ++i) {
      const T xi = x[first + i * inner];
      if (extreme_takes_over(xi, best, largest)) {
        best = xi;
        where = static_cast<int32_t>(i);
      }
      v[first + i * inner] = best;
      at[first + i * inner] = where;
    }
  });
}

}  // namespace

void cum_extremum(const Tensor& x, int64_t axis, bool largest, const Tensor& values, const Tensor& indices) {
  if (x.numel() == 0) return;
  const Lines l(x, axis);
  if (x.dtype == DType::Float32) launch_extremum(x.f32(), values.f32(), indices.i32(), l.outer, l.len, l.inner, largest);
  else launch_extremum(x.i32(), values.i32(), indices.i32(), l.outer, l.len, l.inner, largest);
}

void cumprod(const Tensor& x, int64_t axis, const Tensor& y) {
  if (x.numel() == 0) return;
  const Lines l(x, axis);
  launch_scan<float, double>("cumprod", x.f32(), y.f32(), l.outer, l.len, l.inner, false, true, nullptr, 0);
}

}  // namespace cuda
}  // namespace convnet
