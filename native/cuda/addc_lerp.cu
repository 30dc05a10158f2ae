// addcmul, addcdiv and lerp on the GPU (cpu/addc_lerp.cc has the semantics): one pass with
// broadcasting through a StridedIndex (strided.cuh), PyTorch's roundings (__fadd_rn and friends:
// no FMA contraction), so the results are the CPU's bits.
#include "core/error.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/strided.cuh"

namespace convnet {
namespace cuda {
namespace {

struct AddcLerpF {
  TernaryOp op;
  float value;
  __device__ float operator()(float a, float b, float c) const {
    switch (op) {
      case TernaryOp::Addcmul: return __fadd_rn(a, __fmul_rn(__fmul_rn(value, b), c));
      case TernaryOp::Addcdiv: return __fadd_rn(a, __fdiv_rn(__fmul_rn(value, b), c));
      default: {
        const float diff = __fsub_rn(b, a);
        return fabsf(c) < 0.5f ? __fadd_rn(a, __fmul_rn(c, diff)) : __fsub_rn(b, __fmul_rn(diff, __fsub_rn(1.0f, c)));
      }
    }
  }
};

}  // namespace

void addc_lerp(TernaryOp op, const Tensor& a, const Tensor& b, const Tensor& c, float value, const Tensor& y) {
  const char* name = op == TernaryOp::Addcmul ? "addcmul" : op == TernaryOp::Addcdiv ? "addcdiv" : "lerp";
  const bool scalar_weight = op == TernaryOp::LerpScalar;
  const AddcLerpF f{op, value};
  const float* pa = a.f32();
  const float* pb = b.f32();
  const float* pc = scalar_weight ? nullptr : c.f32();
  float* py = y.f32();
  const int64_t n = y.numel();
  if (n == 0) return;
  const Shape one{};
  const std::vector<int64_t> strides[3] = {broadcast_strides(a.shape, y.shape), broadcast_strides(b.shape, y.shape),
                                           broadcast_strides(scalar_weight ? one : c.shape, y.shape)};
  const StridedIndex<3> index = make_strided_index(y.shape, strides, name);
  for_each(name, n, [=] __device__(int64_t i) {
    int64_t o[3];
    index.offsets(i, o);
    py[i] = f(pa[o[0]], pb[o[1]], pc ? pc[o[2]] : f.value);
  });
}

}  // namespace cuda
}  // namespace convnet
