// unique (torch.unique of a whole tensor, sorted): the distinct values of x ascending, how many
// times each occurs, and, when asked, the index of each entry's value among them. CPU only, on
// the calling (JavaScript) thread once the queue has computed x: the result's length depends on
// the values, as bincount's. x's sort keys (sort_keys.h) are radix-sorted, then runs of one key
// grouped. Each NaN is a value of its own (NaN != NaN), after the numbers; -0 and +0 are one
// value, the first of them in x. In JavaScript, over a native sort read back, 2^20 ints in
// [0, 100000) took 95 ms (PyTorch 20).
#include <cstdint>
#include <memory>
#include <type_traits>

#include "cpu/cpu_ops.h"
#include "cpu/sort_keys.h"

namespace convnet {
namespace cpu {
namespace {

template <typename T>
void unique_loop(const T* x, int64_t n, int32_t* inverse, Tensor* values, Tensor* counts) {
  std::unique_ptr<uint64_t[]> keys(new uint64_t[static_cast<size_t>(n)]), scratch(new uint64_t[static_cast<size_t>(n)]);
  for (int64_t i = 0; i < n; ++i) keys[i] = (static_cast<uint64_t>(order_key(x[i])) << 32) | static_cast<uint64_t>(i);
  const uint64_t* sorted = radix_sort(keys.get(), scratch.get(), n);
  // A new value starts where the order key changes, and at every NaN.
  auto starts_group = [&](int64_t i) {
    if (i == 0 || (sorted[i] >> 32) != (sorted[i - 1] >> 32)) return true;
    const T v = x[sorted[i] & 0xFFFFFFFFu];
    return v != v;
  };
  int64_t groups = 0;
  for (int64_t i = 0; i < n; ++i) groups += starts_group(i);
  constexpr bool kFloat = std::is_same_v<T, float>;
  *values = Tensor::empty(Shape{groups}, kFloat ? DType::Float32 : DType::Int32, Device::CPU);
  *counts = Tensor::empty(Shape{groups}, DType::Int32, Device::CPU);
  T* pv = nullptr;
  if constexpr (kFloat) pv = values->f32();
  else pv = values->i32();
  int32_t* pc = counts->i32();
  int64_t g = -1;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t at = static_cast<int64_t>(sorted[i] & 0xFFFFFFFFu);
    if (starts_group(i)) {
      pv[++g] = x[at];
      pc[g] = 0;
    }
    ++pc[g];
    if (inverse) inverse[at] = static_cast<int32_t>(g);
  }
}

}  // namespace

void unique(const Tensor& x, const Tensor* inverse, Tensor* values, Tensor* counts) {
  int32_t* inv = inverse ? inverse->i32() : nullptr;
  if (x.dtype == DType::Int32) unique_loop(x.i32(), x.numel(), inv, values, counts);
  else unique_loop(x.f32(), x.numel(), inv, values, counts);
}

}  // namespace cpu
}  // namespace convnet
