// The entry points of lib/linalg.ts's float64 kernels (cpu/linalg_f64.cc): plain typed arrays of
// host memory, no tensors and no queue; each call runs on this thread and returns when done.
// Arguments are checked (types, lengths, overlaps), so a wrong call is an error, never a write
// out of bounds. Then the batched ops on float32 tensors (cpu/linalg_batched.cc), queued.
#include <algorithm>
#include <cstdint>

#include "api/api.h"
#include "core/queue.h"
#include "cpu/cpu_ops.h"

namespace convnet {
namespace api {
namespace {

// Argument i as a typed array of type T holding at least `need` elements.
template <typename Array>
Array array_arg(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, int64_t need, const char* op,
                const char* name) {
  CONVNET_CHECK(info.Length() > i && info[i].IsTypedArray() && info[i].As<Napi::TypedArray>().TypedArrayType() == type,
                "E_ARG", op, ": expected `", name, "` as a ", type == napi_float64_array ? "Float64Array" : "Int32Array");
  Array a = info[i].As<Array>();
  CONVNET_CHECK(static_cast<int64_t>(a.ElementLength()) >= need, "E_ARG", op, ": `", name, "` holds ",
                a.ElementLength(), " elements, expected at least ", need);
  return a;
}

Napi::Float64Array f64_arg(const Napi::CallbackInfo& info, size_t i, int64_t need, const char* op, const char* name) {
  return array_arg<Napi::Float64Array>(info, i, napi_float64_array, need, op, name);
}

// A matrix size: an integer in [0, 2^20] (so that products of two fit comfortably in int64).
int64_t size_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  const int64_t v = int_arg(info, i, op, name);
  CONVNET_CHECK(v >= 0 && v <= (1 << 20), "E_ARG", op, ": expected `", name, "` in [0, 2^20], got ", v);
  return v;
}

// Argument i as a CPU float32 tensor of square matrices [..., n, n]; `batch` gets its leading axes.
const Tensor& matrices_arg(const Napi::CallbackInfo& info, size_t i, const char* op, Shape* batch) {
  const Tensor& x = float_tensor_arg(info, i, op, "x");
  CONVNET_CHECK(!x.is_cuda(), "E_DEVICE", op, ": expected x on the CPU");
  CONVNET_CHECK(x.dim() >= 2 && x.shape[x.dim() - 1] == x.shape[x.dim() - 2], "E_SHAPE", op,
                ": expected square matrices [..., n, n], got ", shape_str(x.shape));
  CONVNET_CHECK(x.shape.back() <= (1 << 15), "E_SHAPE", op, ": matrices of ", x.shape.back(), " rows are too large");
  *batch = Shape(x.shape.begin(), x.shape.end() - 2);
  return x;
}

// [a, b]: two outputs as one array.
Napi::Value pair(Napi::Env env, Tensor a, Tensor b) {
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, wrap_tensor(env, std::move(a)));
  result.Set(1u, wrap_tensor(env, std::move(b)));
  return result;
}

// Whether [a, a + na) and [b, b + nb) (elements of 8 bytes) share memory.
bool overlap(const double* a, int64_t na, const double* b, int64_t nb) { return a < b + nb && b < a + na; }

}  // namespace

// (a, n, perm): [sign, zeroAt]; a [n, n] becomes its LU in place, perm [n] the row order.
Napi::Value LuFactorF64(const Napi::CallbackInfo& info) {
  const char* op = "luFactorF64";
  const int64_t n = size_arg(info, 1, op, "n");
  CONVNET_CHECK(n * n <= INT32_MAX, "E_ARG", op, ": n = ", n, " is too large");
  Napi::Float64Array a = f64_arg(info, 0, n * n, op, "a");
  Napi::Int32Array perm = array_arg<Napi::Int32Array>(info, 2, napi_int32_array, n, op, "perm");
  const cpu::LuInfo r = cpu::lu_factor_f64(a.Data(), n, perm.Data());
  Napi::Array result = Napi::Array::New(info.Env(), 2);
  result.Set(0u, Napi::Number::New(info.Env(), r.sign));
  result.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(r.zero_at)));
  return result;
}

// (a, x, n, k, upper, unit, trans): x [n, k] := op(A)^-1 x, A [n, n] triangular.
Napi::Value TriangularSolveF64(const Napi::CallbackInfo& info) {
  const char* op = "triangularSolveF64";
  const int64_t n = size_arg(info, 2, op, "n"), k = size_arg(info, 3, op, "k");
  Napi::Float64Array a = f64_arg(info, 0, n * n, op, "a"), x = f64_arg(info, 1, n * k, op, "x");
  const bool upper = bool_arg(info, 4, op, "upper"), unit = bool_arg(info, 5, op, "unit"), trans = bool_arg(info, 6, op, "trans");
  CONVNET_CHECK(!overlap(x.Data(), n * k, a.Data(), n * n), "E_ARG", op, ": `x` must not share memory with `a`");
  cpu::triangular_solve_f64(a.Data(), x.Data(), n, k, upper, unit, trans);
  return info.Env().Undefined();
}

// (a, b, c, m, k, n, ta, tb): c [m, n] = op(a) op(b).
Napi::Value MatmulF64(const Napi::CallbackInfo& info) {
  const char* op = "matmulF64";
  const int64_t m = size_arg(info, 3, op, "m"), k = size_arg(info, 4, op, "k"), n = size_arg(info, 5, op, "n");
  Napi::Float64Array a = f64_arg(info, 0, m * k, op, "a"), b = f64_arg(info, 1, k * n, op, "b"), c = f64_arg(info, 2, m * n, op, "c");
  const bool ta = bool_arg(info, 6, op, "ta"), tb = bool_arg(info, 7, op, "tb");
  CONVNET_CHECK(!overlap(c.Data(), m * n, a.Data(), m * k) && !overlap(c.Data(), m * n, b.Data(), k * n), "E_ARG", op,
                ": `c` must not share memory with `a` or `b`");
  cpu::matmul_f64(a.Data(), b.Data(), c.Data(), m, k, n, ta, tb);
  return info.Env().Undefined();
}

// (x): y [...], the determinant of each matrix of x [..., n, n].
Napi::Value DetBatched(const Napi::CallbackInfo& info) {
  const char* op = "linalg.det";
  Shape batch;
  const Tensor& x = matrices_arg(info, 0, op, &batch);
  Tensor y = Tensor::empty(batch, DType::Float32, Device::CPU);
  Queue::cpu().submit(op, x.numel(), [x, y] { cpu::det_batched(x, y); });
  return wrap_tensor(info.Env(), std::move(y));
}

// (x): [sign, logabsdet], each [...], of each matrix of x [..., n, n].
Napi::Value SlogdetBatched(const Napi::CallbackInfo& info) {
  const char* op = "linalg.slogdet";
  Shape batch;
  const Tensor& x = matrices_arg(info, 0, op, &batch);
  Tensor sign = Tensor::empty(batch, DType::Float32, Device::CPU), logabsdet = Tensor::empty(batch, DType::Float32, Device::CPU);
  Queue::cpu().submit(op, x.numel(), [x, sign, logabsdet] { cpu::slogdet_batched(x, sign, logabsdet); });
  return pair(info.Env(), std::move(sign), std::move(logabsdet));
}

// (x): [y, zeroAt], y [..., n, n] the inverses, zeroAt int32 [...] each one's first zero pivot or -1.
Napi::Value InvBatched(const Napi::CallbackInfo& info) {
  const char* op = "linalg.inv";
  Shape batch;
  const Tensor& x = matrices_arg(info, 0, op, &batch);
  Tensor y = Tensor::empty(x.shape, DType::Float32, Device::CPU), zero_at = Tensor::empty(batch, DType::Int32, Device::CPU);
  Queue::cpu().submit(op, x.numel(), [x, y, zero_at] { cpu::inv_batched(x, y, zero_at); });
  return pair(info.Env(), std::move(y), std::move(zero_at));
}

// (a, b): [x, zeroAt], x [..., n, k] = A^-1 b for a [..., n, n] and b [..., n, k] of the same
// batch; zeroAt int32 [...] as inv's (x's matrix then all NaN).
Napi::Value SolveBatched(const Napi::CallbackInfo& info) {
  const char* op = "linalg.solve";
  Shape batch;
  const Tensor& a = matrices_arg(info, 0, op, &batch);
  const Tensor& b = float_tensor_arg(info, 1, op, "b");
  CONVNET_CHECK(!b.is_cuda(), "E_DEVICE", op, ": expected b on the CPU");
  CONVNET_CHECK(b.dim() == a.dim() && std::equal(batch.begin(), batch.end(), b.shape.begin()) && b.shape[b.dim() - 2] == a.shape.back(),
                "E_SHAPE", op, ": expected b [..., ", a.shape.back(), ", k] with a's batch, got a ", shape_str(a.shape), ", b ",
                shape_str(b.shape));
  Tensor x = Tensor::empty(b.shape, DType::Float32, Device::CPU), zero_at = Tensor::empty(batch, DType::Int32, Device::CPU);
  Queue::cpu().submit(op, a.numel() + b.numel(), [a, b, x, zero_at] { cpu::solve_batched(a, b, x, zero_at); });
  return pair(info.Env(), std::move(x), std::move(zero_at));
}

// (x, upper): [y, failedMinor], y [..., n, n] the Cholesky factors, failedMinor int32 [...] 0 or
// the order of each one's first leading minor that is not positive-definite.
Napi::Value CholeskyBatched(const Napi::CallbackInfo& info) {
  const char* op = "linalg.cholesky";
  Shape batch;
  const Tensor& x = matrices_arg(info, 0, op, &batch);
  const bool upper = bool_arg(info, 1, op, "upper");
  Tensor y = Tensor::empty(x.shape, DType::Float32, Device::CPU), failed = Tensor::empty(batch, DType::Int32, Device::CPU);
  Queue::cpu().submit(op, x.numel(), [x, upper, y, failed] { cpu::cholesky_batched(x, upper, y, failed); });
  return pair(info.Env(), std::move(y), std::move(failed));
}

}  // namespace api
}  // namespace convnet
