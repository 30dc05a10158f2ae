// where(cond, a, b) on the GPU (cpu/where.cc has the same semantics): y = cond != 0 ? a : b with
// broadcasting of all three; a selection that copies the chosen 4-byte value bit for bit (so a
// NaN or infinity in the branch not taken never reaches y). cond float32 (NaN is true, -0 false)
// or int32; a, b and y share one dtype (float32 or int32).
#include "core/error.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/strided.cuh"

namespace convnet {
namespace cuda {
namespace {

template <typename C>
void where_loop(const C* pc, const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& y) {
  const char* op = "where";
  const uint32_t* pa = reinterpret_cast<const uint32_t*>(a.i32());  // 4-byte values of either dtype, as bits
  const uint32_t* pb = reinterpret_cast<const uint32_t*>(b.i32());
  uint32_t* py = reinterpret_cast<uint32_t*>(y.i32());
  const int64_t n = y.numel();
  if (n == 0) return;
  if (cond.shape == y.shape && a.shape == y.shape && b.shape == y.shape) {
    for_each(op, n, [=] __device__(int64_t i) { py[i] = pc[i] != 0 ? pa[i] : pb[i]; });
    return;
  }
  const std::vector<int64_t> strides[3] = {broadcast_strides(cond.shape, y.shape), broadcast_strides(a.shape, y.shape),
                                           broadcast_strides(b.shape, y.shape)};
  const StridedIndex<3> index = make_strided_index(y.shape, strides, op);
  for_each(op, n, [=] __device__(int64_t i) {
    int64_t o[3];
    index.offsets(i, o);
    py[i] = pc[o[0]] != 0 ? pa[o[1]] : pb[o[2]];
  });
}

}  // namespace

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& y) {
  CONVNET_CHECK(a.dtype == y.dtype && b.dtype == y.dtype, "E_DTYPE", "where: a (", dtype_name(a.dtype), ") and b (",
                dtype_name(b.dtype), ") must have y's dtype ", dtype_name(y.dtype));
  if (cond.dtype == DType::Int32) where_loop(cond.i32(), cond, a, b, y);
  else where_loop(cond.f32(), cond, a, b, y);
}

}  // namespace cuda
}  // namespace convnet
