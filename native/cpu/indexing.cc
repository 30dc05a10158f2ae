// Indexing by int32 indices: index_select (take along an axis), gather (torch.gather),
// one_hot. Indices are data, so they are checked here, when the kernel runs; a bad one is an
// E_INDEX error that surfaces at the next wait. Negative indices are not accepted.
#include <algorithm>
#include <atomic>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"

namespace convnet {
namespace cpu {
namespace {

// The lowest position holding a bad index, whatever thread found it (so the message is the
// same for any thread count); reported after the parallel loop.
struct BadIndex {
  std::atomic<int64_t> position{-1};
  void note(int64_t at) {
    int64_t seen = position.load();
    while ((seen < 0 || at < seen) && !position.compare_exchange_weak(seen, at)) {
    }
  }
};

}  // namespace

void index_select(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& y) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  const int64_t len = x.shape[axis], picks = index.numel();
  const int32_t* idx = index.i32();
  for (int64_t k = 0; k < picks; ++k)
    CONVNET_CHECK(idx[k] >= 0 && idx[k] < len, "E_INDEX", "index ", idx[k], " at position ", k,
                  " is out of range for axis ", axis, " of size ", len);
  const int32_t* px = x.i32();
  int32_t* py = y.i32();
  parallel_for(outer * picks, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, inner)), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / picks, k = t % picks;
      std::memcpy(py + t * inner, px + (o * len + idx[k]) * inner, inner * 4);
    }
  });
}

void gather(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& y) {
  // y[i0..ia..in] = x[i0..index[i0..ia..in]..in]; index may be smaller than x in every axis.
  const int64_t dims = index.dim(), n = index.numel();
  const std::vector<int64_t> x_strides = contiguous_strides(x.shape);
  const int32_t* idx = index.i32();
  const int32_t* px = x.i32();
  int32_t* py = y.i32();
  BadIndex bad;
  parallel_for(n, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      int64_t src = 0, rest = t;
      for (int64_t d = dims - 1; d >= 0; --d) {
        const int64_t i = rest % index.shape[d];
        rest /= index.shape[d];
        if (d != axis) src += i * x_strides[d];
      }
      const int32_t k = idx[t];
      if (k < 0 || k >= x.shape[axis]) {
        bad.note(t);
        py[t] = 0;
        continue;
      }
      py[t] = px[src + k * x_strides[axis]];
    }
  });
  CONVNET_CHECK(bad.position < 0, "E_INDEX", "index ", bad.position < 0 ? 0 : idx[bad.position], " at position ", bad.position.load(),
                " is out of range for axis ", axis, " of size ", x.shape[axis]);
}

void one_hot(const Tensor& labels, int64_t num_classes, const Tensor& y) {
  const int64_t n = labels.numel();
  const int32_t* pl = labels.i32();
  float* py = y.f32();
  BadIndex bad;
  parallel_for(n, 1024, [&](int64_t begin, int64_t end) {
    std::fill(py + begin * num_classes, py + end * num_classes, 0.0f);
    for (int64_t i = begin; i < end; ++i) {
      if (pl[i] < 0 || pl[i] >= num_classes) bad.note(i);
      else py[i * num_classes + pl[i]] = 1.0f;
    }
  });
  CONVNET_CHECK(bad.position < 0, "E_INDEX", "label ", bad.position < 0 ? 0 : pl[bad.position], " at position ", bad.position.load(),
                " is out of range for ", num_classes, " classes");
}

}  // namespace cpu
}  // namespace convnet
