// The ops' entry points: read and check arguments (never trusting the caller), allocate the
// output on this thread (so out-of-memory is thrown at the call site) on the inputs' device,
// then either enqueue the CPU kernel with copies of the tensors it touches or launch the CUDA
// op on the stream (native/cuda/, same semantics), and return the output's handle at once.
// Creation functions take the device as an optional last argument (0 cpu, the default; 1 cuda).
// lib/ validates first and gives friendlier messages; these checks keep the addon safe when
// called directly. (Matmul is the exception that still runs on the CPU only.)
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "api/api.h"
#include "core/queue.h"
#include "cpu/cpu_ops.h"

// The CUDA launch of an entry point, as a lambda for run_on. In a build without CUDA its body is
// not compiled (the cuda:: functions do not exist there; no tensor is ever on the GPU).
#ifdef CONVNET_WITH_CUDA
#define CUDA_LAUNCH(...) [&] { __VA_ARGS__; }
#else
#define CUDA_LAUNCH(...) [] {}
#endif

namespace convnet {

Generator& cpu_generator(Napi::Env env) { return addon_data(env).generator; }

namespace api {
namespace {

// For the ops whose checks (or output shape) need a tensor's values at the call: waits for the
// queue to compute them, throwing its errors and the error of the op that was to compute t, as a
// read does.
void wait_until_computed(const Tensor& t) {
  Queue::cpu().wait();
  if (std::exception_ptr failure = t.storage()->failure()) std::rethrow_exception(failure);
}

// Runs the CPU kernel on the queue, or the CUDA op now on the stream, by y's device. An op whose
// work grows with the number of elements it touches (an elementwise op, a reduction, a join)
// passes that number: a small one runs at once when the queue is idle (Note [small ops run
// inline], core/queue.cc; up to Queue::kInlineElements). Without it the kernel is always queued.
constexpr int64_t kAlwaysQueued = std::numeric_limits<int64_t>::max();

template <typename Kernel, typename Launch>
Napi::Value run_on(const Napi::CallbackInfo& info, const char* op, Tensor y, Kernel cpu_kernel, Launch cuda_launch,
                   int64_t elements = kAlwaysQueued) {
  if (y.is_cuda()) {
    CONVNET_ON_CUDA(op, cuda_launch());
  } else {
    Queue::cpu().submit(op, elements, std::move(cpu_kernel));
  }
  return wrap_tensor(info.Env(), std::move(y));
}

// The optional device code of a creation function (argument i): absent or undefined is the CPU.
Device device_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (i >= info.Length() || info[i].IsUndefined()) return Device::CPU;
  const int64_t code = int_arg(info, i, op, "device");
  CONVNET_CHECK(code == 0 || code == 1, "E_ARG", op, ": expected device 0 (cpu) or 1 (cuda), got ", code);
  return static_cast<Device>(code);
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  Shape out(std::max(a.size(), b.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    const int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    CONVNET_CHECK(da == db || da == 1 || db == 1, "E_SHAPE", op, ": shapes ", shape_str(a), " and ", shape_str(b),
                  " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Sorted, unique, non-negative axes; all axes when `axes` is empty.
std::vector<int64_t> reduction_axes(std::vector<int64_t> axes, int64_t dims, const char* op) {
  if (axes.empty()) {
    for (int64_t d = 0; d < dims; ++d) axes.push_back(d);
    return axes;
  }
  for (int64_t& a : axes) a = normalize_axis(a, dims, op);
  std::sort(axes.begin(), axes.end());
  CONVNET_CHECK(std::adjacent_find(axes.begin(), axes.end()) == axes.end(), "E_ARG", op, ": repeated axis");
  return axes;
}

}  // namespace

Napi::Value Empty(const Napi::CallbackInfo& info) {
  const Shape shape = shape_arg(info, 0, "empty", "shape");
  const DType dtype = dtype_arg(info, 1, "empty", "dtype");
  return wrap_tensor(info.Env(), Tensor::empty(shape, dtype, device_arg(info, 2, "empty")));
}

Napi::Value Fill(const Napi::CallbackInfo& info) {
  const Shape shape = shape_arg(info, 0, "fill", "shape");
  const DType dtype = dtype_arg(info, 1, "fill", "dtype");
  const double value = number_arg(info, 2, "fill", "value");
  Tensor y = Tensor::empty(shape, dtype, device_arg(info, 3, "fill"));
  return run_on(info, "fill", y, [y, value] { cpu::fill(y, value); }, CUDA_LAUNCH(cuda::fill(y, value)));
}

Napi::Value Arange(const Napi::CallbackInfo& info) {
  const double start = number_arg(info, 0, "arange", "start"), step = number_arg(info, 1, "arange", "step");
  const int64_t count = int_arg(info, 2, "arange", "count");
  CONVNET_CHECK(count >= 0, "E_ARG", "arange: negative count ", count);
  const DType dtype = dtype_arg(info, 3, "arange", "dtype");
  Tensor y = Tensor::empty({count}, dtype, device_arg(info, 4, "arange"));
  return run_on(info, "arange", y, [y, start, step] { cpu::arange(y, start, step); }, CUDA_LAUNCH(cuda::arange(y, start, step)));
}

Napi::Value Cast(const Napi::CallbackInfo& info) {
  const Tensor& x = tensor_arg(info, 0, "cast", "x");
  Tensor y = Tensor::empty(x.shape, dtype_arg(info, 1, "cast", "dtype"), x.device());
  return run_on(info, "cast", y, [x, y] { cpu::cast(x, y); }, CUDA_LAUNCH(cuda::cast(x, y)));
}

// Binary cross-entropy's check of its input (PyTorch's "all elements of input should be between
// 0 and 1"): a copy that fails when the op runs, so the loss computed from it fails to read.
// In place: dst's memory takes src's values (same shape and dtype), in queue order, so reads
// queued before see the old values and reads queued after the new ones (nn.init, loadStateDict).
Napi::Value CopyInto(const Napi::CallbackInfo& info) {
  const char* op = "copy_";
  const Tensor& dst = tensor_arg(info, 0, op, "dst");
  const Tensor& src = tensor_arg(info, 1, op, "src");
  CONVNET_CHECK(dst.dtype == src.dtype, "E_DTYPE", op, ": `src` has dtype ", dtype_name(src.dtype), ", expected `dst`'s ", dtype_name(dst.dtype));
  CONVNET_CHECK(dst.shape == src.shape, "E_SHAPE", op, ": `src` has shape ", shape_str(src.shape), ", expected `dst`'s ", shape_str(dst.shape));
  Tensor d = dst, s = src;
  d.storage()->bump_version();
  // On the GPU: a device-to-device copy on the stream, so it is in order with the GPU work.
  if (!d.is_cuda()) {
    Queue::cpu().enqueue(op, [d, s] { cpu::cast(s, d); });
  } else if (d.storage()->data() != s.storage()->data()) {  // (reshaped views of one storage may alias)
    CONVNET_ON_CUDA(op, cuda::copy_device(s, d));
  }
  return info.Env().Undefined();
}

// Random tensors draw from the one generator whatever the device (reserved here, on the JS
// thread: the call order decides the numbers), so a seed gives the same values on both.
Napi::Value RandomUniform(const Napi::CallbackInfo& info) {
  const Shape shape = shape_arg(info, 0, "rand", "shape");
  const float low = static_cast<float>(number_arg(info, 1, "rand", "low"));
  const float high = static_cast<float>(number_arg(info, 2, "rand", "high"));
  Tensor y = Tensor::empty(shape, DType::Float32, device_arg(info, 3, "rand"));
  Generator& g = cpu_generator(info.Env());
  const uint64_t seed = g.seed, first = g.reserve(y.numel());
  return run_on(info, "rand", y, [=] { cpu::random_uniform(y, seed, first, low, high); },
                CUDA_LAUNCH(cuda::random_uniform(y, seed, first, low, high)));
}

Napi::Value RandomNormal(const Napi::CallbackInfo& info) {
  const Shape shape = shape_arg(info, 0, "randn", "shape");
  const float mean = static_cast<float>(number_arg(info, 1, "randn", "mean"));
  const float stddev = static_cast<float>(number_arg(info, 2, "randn", "std"));
  Tensor y = Tensor::empty(shape, DType::Float32, device_arg(info, 3, "randn"));
  Generator& g = cpu_generator(info.Env());
  const uint64_t seed = g.seed, first = g.reserve(y.numel());
  return run_on(info, "randn", y, [=] { cpu::random_normal(y, seed, first, mean, stddev); },
                CUDA_LAUNCH(cuda::random_normal(y, seed, first, mean, stddev)));
}

// In-place fills (nn.init's constant_, uniform_, normal_): the values go straight into `dst`'s
// memory, in queue order, its version bumped as copy_'s is. Before, init made the values in a
// new tensor and copied them over: a temporary the size of each weight, 2-3 per parameter as a
// model's constructors and then its own init filled it (ResNet-50: 377 MB cached after
// construction). The numbers are those the out-of-place op draws at the same point.
template <typename CpuKernel, typename CudaLaunch>
Napi::Value fill_in_place(const Napi::CallbackInfo& info, const char* op, const Tensor& dst, CpuKernel cpu_kernel,
                          CudaLaunch cuda_launch) {
  dst.storage()->bump_version();
  if (dst.is_cuda()) CONVNET_ON_CUDA(op, cuda_launch());
  else Queue::cpu().enqueue(op, std::move(cpu_kernel));
  return info.Env().Undefined();
}

const Tensor& float_dst(const Napi::CallbackInfo& info, const char* op) {
  const Tensor& dst = tensor_arg(info, 0, op, "tensor");
  CONVNET_CHECK(dst.dtype == DType::Float32, "E_DTYPE", op, ": expected a float32 tensor, got ", dtype_name(dst.dtype));
  return dst;
}

Napi::Value FillInto(const Napi::CallbackInfo& info) {
  const char* op = "fill_";
  const Tensor y = float_dst(info, op);
  const double value = number_arg(info, 1, op, "value");
  return fill_in_place(info, op, y, [y, value] { cpu::fill(y, value); }, CUDA_LAUNCH(cuda::fill(y, value)));
}

Napi::Value RandomUniformInto(const Napi::CallbackInfo& info) {
  const char* op = "uniform_";
  const Tensor y = float_dst(info, op);
  const float low = static_cast<float>(number_arg(info, 1, op, "low"));
  const float high = static_cast<float>(number_arg(info, 2, op, "high"));
  Generator& g = cpu_generator(info.Env());
  const uint64_t seed = g.seed, first = g.reserve(y.numel());
  return fill_in_place(info, op, y, [=] { cpu::random_uniform(y, seed, first, low, high); },
                       CUDA_LAUNCH(cuda::random_uniform(y, seed, first, low, high)));
}

Napi::Value RandomNormalInto(const Napi::CallbackInfo& info) {
  const char* op = "normal_";
  const Tensor y = float_dst(info, op);
  const float mean = static_cast<float>(number_arg(info, 1, op, "mean"));
  const float stddev = static_cast<float>(number_arg(info, 2, op, "std"));
  Generator& g = cpu_generator(info.Env());
  const uint64_t seed = g.seed, first = g.reserve(y.numel());
  return fill_in_place(info, op, y, [=] { cpu::random_normal(y, seed, first, mean, stddev); },
                       CUDA_LAUNCH(cuda::random_normal(y, seed, first, mean, stddev)));
}

// (shape, low, high): int32 integers uniform in [low, high), on the CPU.
Napi::Value RandomInt(const Napi::CallbackInfo& info) {
  const Shape shape = shape_arg(info, 0, "randint", "shape");
  const int64_t low = int_arg(info, 1, "randint", "low"), high = int_arg(info, 2, "randint", "high");
  CONVNET_CHECK(low >= INT32_MIN && high <= int64_t{INT32_MAX} + 1 && low < high, "E_ARG",
                "randint: expected int32 bounds with low < high, got low ", low, ", high ", high);
  Tensor y = Tensor::empty(shape, DType::Int32, Device::CPU);
  Generator& g = cpu_generator(info.Env());
  const uint64_t seed = g.seed, first = g.reserve(2 * y.numel());  // 64 bits a number
  const uint64_t range = static_cast<uint64_t>(high - low);
  Queue::cpu().enqueue("randint", [=] { cpu::random_int(y, seed, first, low, range); });
  return wrap_tensor(info.Env(), std::move(y));
}

// (n): a random permutation of 0 .. n - 1 (int32), on the CPU.
Napi::Value RandomPermutation(const Napi::CallbackInfo& info) {
  const int64_t n = int_arg(info, 0, "randperm", "n");
  CONVNET_CHECK(n >= 0 && n <= INT32_MAX, "E_ARG", "randperm: expected `n` in [0, 2^31 - 1], got ", n);
  Tensor y = Tensor::empty(Shape{n}, DType::Int32, Device::CPU);
  Generator& g = cpu_generator(info.Env());
  const uint64_t seed = g.seed, first = g.reserve(2 * std::max<int64_t>(n - 1, 0));
  Queue::cpu().enqueue("randperm", [=] { cpu::random_permutation(y, seed, first); });
  return wrap_tensor(info.Env(), std::move(y));
}

// (probs [rows, cats] float32 on the CPU, k, replacement): int32 [rows * k] draws. The weights are
// checked here, synchronously (typed errors at the call, as PyTorch's): this waits for the queue
// to compute them (and throws its errors, as a read does), then queues the draws.
Napi::Value Multinomial(const Napi::CallbackInfo& info) {
  const char* op = "multinomial";
  const Tensor& probs = float_tensor_arg(info, 0, op, "probs");
  CONVNET_CHECK(!probs.is_cuda(), "E_DEVICE", op, ": expected `probs` on the CPU");
  CONVNET_CHECK(probs.dim() == 2 && probs.shape[1] > 0, "E_SHAPE", op, ": expected `probs` [rows, categories], got ", shape_str(probs.shape));
  const int64_t k = int_arg(info, 1, op, "numSamples");
  const bool replacement = bool_arg(info, 2, op, "replacement");
  const int64_t rows = probs.shape[0], cats = probs.shape[1];
  CONVNET_CHECK(k >= 1 && (replacement || k <= cats) && rows * k <= INT32_MAX, "E_ARG", op, ": bad `numSamples` ", k, " for ", rows, " x ", cats);
  wait_until_computed(probs);
  cpu::multinomial_check(probs, k, replacement);
  Tensor y = Tensor::empty(Shape{rows * k}, DType::Int32, Device::CPU);
  Generator& g = cpu_generator(info.Env());
  const uint64_t seed = g.seed, first = g.reserve(replacement ? rows * k : rows * cats);  // rand's numbers
  Queue::cpu().enqueue(op, [=] { cpu::multinomial(probs, k, replacement, seed, first, y); });
  return wrap_tensor(info.Env(), std::move(y));
}

Napi::Value RandomBernoulli(const Napi::CallbackInfo& info) {
  const Shape shape = shape_arg(info, 0, "bernoulli", "shape");
  const double p = number_arg(info, 1, "bernoulli", "p");
  CONVNET_CHECK(p >= 0 && p <= 1, "E_ARG", "bernoulli: expected p in [0, 1], got ", p);
  Tensor y = Tensor::empty(shape, DType::Float32, device_arg(info, 2, "bernoulli"));
  Generator& g = cpu_generator(info.Env());
  const uint64_t seed = g.seed, first = g.reserve(y.numel());
  const float pf = static_cast<float>(p);
  return run_on(info, "bernoulli", y, [=] { cpu::random_bernoulli(y, seed, first, pf); },
                CUDA_LAUNCH(cuda::random_bernoulli(y, seed, first, pf)));
}

namespace {
// The name of BinaryOp `code` (ops/types.h order), checked.
const char* binary_op_name(int64_t code) {
  static const char* names[] = {"add",   "sub",  "mul",  "div",      "pow",   "maximum",   "minimum",
                                "remainder", "fmod", "atan2", "copysign", "hypot", "logaddexp", "logaddexp2",
                                "logicalAnd", "logicalOr", "logicalXor", "xlogy"};
  constexpr int64_t kCount = sizeof(names) / sizeof(names[0]);
  CONVNET_CHECK(code >= 0 && code < kCount, "E_ARG", "binary: unknown op code ", code);
  return names[code];
}
}  // namespace

Napi::Value Binary(const Napi::CallbackInfo& info) {
  const int64_t code = int_arg(info, 0, "binary", "op");
  const char* op = binary_op_name(code);
  const Tensor& a = tensor_arg(info, 1, op, "a");
  const Tensor& b = tensor_arg(info, 2, op, "b");
  expect_dtype(a, DType::Float32, op, "a");
  expect_dtype(b, DType::Float32, op, "b");
  Tensor y = Tensor::empty(broadcast_shapes(a.shape, b.shape, op), DType::Float32, a.device());
  const auto kind = static_cast<BinaryOp>(code);
  const int64_t elements = std::max({a.numel(), b.numel(), y.numel()});
  return run_on(info, op, y, [kind, a, b, y] { cpu::binary(kind, a, b, y); },
                CUDA_LAUNCH(cuda::binary(kind, a, b, y)), elements);
}

Napi::Value BinaryScalar(const Napi::CallbackInfo& info) {
  const int64_t code = int_arg(info, 0, "binary", "op");
  const char* op = binary_op_name(code);
  const Tensor& x = tensor_arg(info, 1, op, "x");
  expect_dtype(x, DType::Float32, op, "x");
  const float scalar = static_cast<float>(number_arg(info, 2, op, "scalar"));
  const bool scalar_first = bool_arg(info, 3, op, "scalarFirst");
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  const auto kind = static_cast<BinaryOp>(code);
  return run_on(info, op, y, [=] { cpu::binary_scalar(kind, x, scalar, scalar_first, y); },
                CUDA_LAUNCH(cuda::binary_scalar(kind, x, scalar, scalar_first, y)), x.numel());
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  // In UnaryOp's order (ops/types.h).
  static const char* names[] = {"neg",  "abs", "exp", "log",  "sqrt",  "square", "reciprocal", "sign",
                                "floor", "ceil", "erf", "sin",  "cos",   "tan",    "atan",       "log1p",
                                "expm1", "log2", "log10", "rsqrt", "round", "trunc", "asin", "acos",
                                "sinh",  "cosh", "asinh", "acosh", "atanh", "erfc",  "erfinv", "exp2",
                                "lgamma", "frac"};
  constexpr int64_t kCount = sizeof(names) / sizeof(names[0]);
  const int64_t code = int_arg(info, 0, "unary", "op");
  CONVNET_CHECK(code >= 0 && code < kCount, "E_ARG", "unary: unknown op code ", code);
  const char* op = names[code];
  const Tensor& x = tensor_arg(info, 1, op, "x");
  expect_dtype(x, DType::Float32, op, "x");
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  const auto kind = static_cast<UnaryOp>(code);
  return run_on(info, op, y, [kind, x, y] { cpu::unary(kind, x, y); },
                CUDA_LAUNCH(cuda::unary(kind, x, y)), x.numel());
}

// (x, axis, shift): roll along one axis of a float32 or int32 x.
Napi::Value Roll(const Napi::CallbackInfo& info) {
  const char* op = "roll";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  CONVNET_CHECK(x.dtype == DType::Float32 || x.dtype == DType::Int32, "E_DTYPE", op, ": expected `x` of dtype float32 or int32, got ",
                dtype_name(x.dtype));
  const int64_t axis = int_arg(info, 1, op, "axis");
  CONVNET_CHECK(axis >= 0 && axis < static_cast<int64_t>(x.shape.size()), "E_ARG", op, ": axis ", axis, " out of range for rank ", x.shape.size());
  const int64_t shift = int_arg(info, 2, op, "shift");
  Tensor y = Tensor::empty(x.shape, x.dtype, x.device());
  return run_on(info, op, y, [=] { cpu::roll(x, axis, shift, y); }, CUDA_LAUNCH(cuda::roll(x, axis, shift, y)), x.numel());
}

// (x, axis): one forward difference along `axis` of a float32 x (axis of size 1 or more).
Napi::Value Diff(const Napi::CallbackInfo& info) {
  const char* op = "diff";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  expect_dtype(x, DType::Float32, op, "x");
  const int64_t axis = int_arg(info, 1, op, "axis");
  CONVNET_CHECK(axis >= 0 && axis < x.dim(), "E_ARG", op, ": axis ", axis, " out of range for rank ", x.dim());
  CONVNET_CHECK(x.shape[axis] >= 1, "E_SHAPE", op, ": axis ", axis, " is empty");
  Shape shape = x.shape;
  shape[axis] -= 1;
  Tensor y = Tensor::empty(shape, DType::Float32, x.device());
  return run_on(info, op, y, [=] { cpu::diff(x, axis, y); }, CUDA_LAUNCH(cuda::diff(x, axis, y)), x.numel());
}

// (a, b, axis): the cross product along `axis` (of size 3) of float32 a and b of one shape.
Napi::Value Cross(const Napi::CallbackInfo& info) {
  const char* op = "cross";
  const Tensor& a = tensor_arg(info, 0, op, "a");
  const Tensor& b = tensor_arg(info, 1, op, "b");
  expect_dtype(a, DType::Float32, op, "a");
  expect_dtype(b, DType::Float32, op, "b");
  CONVNET_CHECK(a.device() == b.device(), "E_DEVICE", op, ": `a` and `b` are on different devices");
  CONVNET_CHECK(a.shape == b.shape, "E_SHAPE", op, ": expected a and b of one shape");
  const int64_t axis = int_arg(info, 2, op, "axis");
  CONVNET_CHECK(axis >= 0 && axis < a.dim() && a.shape[axis] == 3, "E_SHAPE", op, ": expected axis ", axis, " of size 3");
  Tensor y = Tensor::empty(a.shape, DType::Float32, a.device());
  return run_on(info, op, y, [=] { cpu::cross(a, b, axis, y); }, CUDA_LAUNCH(cuda::cross(a, b, axis, y)), a.numel());
}

// (theta [N, 2, 3], xs [W], ys [H]): the grid [N, H, W, 2] of F.affineGrid, float32, one device.
Napi::Value AffineGrid(const Napi::CallbackInfo& info) {
  const char* op = "affineGrid";
  const Tensor& theta = tensor_arg(info, 0, op, "theta");
  const Tensor& xs = tensor_arg(info, 1, op, "xs");
  const Tensor& ys = tensor_arg(info, 2, op, "ys");
  for (const auto& [t, name] : {std::pair<const Tensor&, const char*>{theta, "theta"}, {xs, "xs"}, {ys, "ys"}}) {
    expect_dtype(t, DType::Float32, op, name);
    CONVNET_CHECK(t.device() == theta.device(), "E_DEVICE", op, ": `theta`, `xs` and `ys` are not all on one device");
  }
  CONVNET_CHECK(theta.dim() == 3 && theta.shape[1] == 2 && theta.shape[2] == 3 && xs.dim() == 1 && ys.dim() == 1, "E_SHAPE", op,
                ": expected theta [N, 2, 3], xs [W] and ys [H], got ", shape_str(theta.shape), ", ", shape_str(xs.shape), " and ",
                shape_str(ys.shape));
  Tensor grid = Tensor::empty(Shape{theta.shape[0], ys.numel(), xs.numel(), 2}, DType::Float32, theta.device());
  return run_on(info, op, grid, [=] { cpu::affine_grid(theta, xs, ys, grid); }, CUDA_LAUNCH(cuda::affine_grid(theta, xs, ys, grid)),
                grid.numel());
}

// (x, diagonal, upper): tril or triu of a float32 or int32 x of rank 2 or more.
Napi::Value Triangle(const Napi::CallbackInfo& info) {
  const Tensor& x = tensor_arg(info, 0, "triangle", "x");
  const int64_t diagonal = int_arg(info, 1, "triangle", "diagonal");
  const bool upper = bool_arg(info, 2, "triangle", "upper");
  const char* op = upper ? "triu" : "tril";
  CONVNET_CHECK(x.dtype == DType::Float32 || x.dtype == DType::Int32, "E_DTYPE", op, ": expected `x` of dtype float32 or int32, got ",
                dtype_name(x.dtype));
  CONVNET_CHECK(x.shape.size() >= 2, "E_SHAPE", op, ": expected a tensor of rank 2 or more, got rank ", x.shape.size());
  Tensor y = Tensor::empty(x.shape, x.dtype, x.device());
  return run_on(info, op, y, [=] { cpu::triangle(x, diagonal, upper, y); }, CUDA_LAUNCH(cuda::triangle(x, diagonal, upper, y)), x.numel());
}

// (x, nan, posinf, neginf): torch.nan_to_num for float32 x (the numbers rounded to float32).
Napi::Value NanToNum(const Napi::CallbackInfo& info) {
  const char* op = "nanToNum";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  expect_dtype(x, DType::Float32, op, "x");
  const float nan = static_cast<float>(number_arg(info, 1, op, "nan"));
  const float posinf = static_cast<float>(number_arg(info, 2, op, "posinf"));
  const float neginf = static_cast<float>(number_arg(info, 3, op, "neginf"));
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  return run_on(info, op, y, [=] { cpu::nan_to_num(x, nan, posinf, neginf, y); },
                CUDA_LAUNCH(cuda::nan_to_num(x, nan, posinf, neginf, y)), x.numel());
}

// (opCode, a, b, c, value): addcmul, addcdiv, lerp (LerpScalar: c is ignored, the weight is value).
Napi::Value AddcLerp(const Napi::CallbackInfo& info) {
  static const char* names[] = {"addcmul", "addcdiv", "lerp", "lerp"};
  const int64_t code = int_arg(info, 0, "addcLerp", "op");
  CONVNET_CHECK(code >= 0 && code < 4, "E_ARG", "addcLerp: unknown op code ", code);
  const char* op = names[code];
  const auto kind = static_cast<TernaryOp>(code);
  const Tensor& a = tensor_arg(info, 1, op, "a");
  const Tensor& b = tensor_arg(info, 2, op, "b");
  const Tensor& c = kind == TernaryOp::LerpScalar ? b : tensor_arg(info, 3, op, "c");
  for (const auto& [t, name] : {std::pair<const Tensor&, const char*>{a, "a"}, {b, "b"}, {c, "c"}}) expect_dtype(t, DType::Float32, op, name);
  CONVNET_CHECK(a.device() == b.device() && b.device() == c.device(), "E_DEVICE", op, ": `a`, `b` and `c` are not all on one device");
  const float value = static_cast<float>(number_arg(info, 4, op, "value"));
  Shape shape = broadcast_shapes(a.shape, b.shape, op);
  if (kind != TernaryOp::LerpScalar) shape = broadcast_shapes(shape, c.shape, op);
  Tensor y = Tensor::empty(shape, DType::Float32, a.device());
  return run_on(info, op, y, [=] { cpu::addc_lerp(kind, a, b, c, value, y); }, CUDA_LAUNCH(cuda::addc_lerp(kind, a, b, c, value, y)),
                std::max({a.numel(), b.numel(), c.numel(), y.numel()}));
}

Napi::Value Affine(const Napi::CallbackInfo& info) {
  const Tensor& x = tensor_arg(info, 0, "affine", "x");
  expect_dtype(x, DType::Float32, "affine", "x");
  const float alpha = static_cast<float>(number_arg(info, 1, "affine", "alpha"));
  const float beta = static_cast<float>(number_arg(info, 2, "affine", "beta"));
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  return run_on(info, "affine", y, [=] { cpu::affine(x, alpha, beta, y); },
                CUDA_LAUNCH(cuda::affine(x, alpha, beta, y)), x.numel());
}

Napi::Value Polygamma(const Napi::CallbackInfo& info) {
  const int64_t n = int_arg(info, 0, "polygamma", "n");
  CONVNET_CHECK(n >= 0, "E_ARG", "polygamma: expected `n` >= 0, got ", n);
  const Tensor& x = tensor_arg(info, 1, "polygamma", "x");
  expect_dtype(x, DType::Float32, "polygamma", "x");
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  return run_on(info, "polygamma", y, [=] { cpu::polygamma(n, x, y); },
                CUDA_LAUNCH(cuda::polygamma(n, x, y)), x.numel());
}

Napi::Value PowScalar(const Napi::CallbackInfo& info) {
  const Tensor& x = tensor_arg(info, 0, "pow", "x");
  expect_dtype(x, DType::Float32, "pow", "x");
  const float exponent = static_cast<float>(number_arg(info, 1, "pow", "exponent"));
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  return run_on(info, "pow", y, [=] { cpu::pow_scalar(x, exponent, y); },
                CUDA_LAUNCH(cuda::pow_scalar(x, exponent, y)), x.numel());
}

Napi::Value Reduce(const Napi::CallbackInfo& info) {
  static const char* names[] = {"sum", "mean", "max", "min", "nansum"};
  const int64_t code = int_arg(info, 0, "reduce", "op");
  CONVNET_CHECK(code >= 0 && code < 5, "E_ARG", "reduce: unknown op code ", code);
  const char* op = names[code];
  const Tensor& x = tensor_arg(info, 1, op, "x");
  // int32: sum (in int64, E_RANGE beyond int32), max and min; mean needs a float (as PyTorch).
  const bool int32 = x.dtype == DType::Int32 && code != 1;
  if (!int32) expect_dtype(x, DType::Float32, op, "x");
  const std::vector<int64_t> axes = reduction_axes(ints_arg(info, 2, op, "axes"), x.dim(), op);
  const bool keepdim = bool_arg(info, 3, op, "keepdim");
  Shape kept = x.shape, dropped;
  for (int64_t a : axes) kept[a] = 1;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!std::binary_search(axes.begin(), axes.end(), d)) dropped.push_back(x.shape[d]);
  if (code == 2 || code == 3) {
    for (int64_t a : axes)
      CONVNET_CHECK(x.shape[a] > 0, "E_SHAPE", op, ": cannot reduce over axis ", a, " of size 0");
  }
  Tensor y = Tensor::empty(keepdim ? kept : dropped, x.dtype, x.device());
  const auto kind = static_cast<ReduceOp>(code);
  if (int32) {  // an int32 nansum is a sum (no NaN in int32)
    const ReduceOp int_kind = kind == ReduceOp::NanSum ? ReduceOp::Sum : kind;
    return run_on(info, op, y, [int_kind, x, axes, y] { cpu::reduce_int32(int_kind, x, axes, y); },
                  CUDA_LAUNCH(cuda::reduce_int32(int_kind, x, axes, y)), x.numel());
  }
  return run_on(info, op, y, [kind, x, axes, y] { cpu::reduce(kind, x, axes, y); },
                CUDA_LAUNCH(cuda::reduce(kind, x, axes, y)), x.numel());
}

// (x, axis or null, keepdim): [min, max] over the axis (all of x for null), float32 or int32 (CPU only).
Napi::Value Aminmax(const Napi::CallbackInfo& info) {
  const char* op = "aminmax";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  CONVNET_CHECK(!x.is_cuda(), "E_DEVICE", op, ": expected x on the CPU");
  if (x.dtype != DType::Int32) expect_dtype(x, DType::Float32, op, "x");
  const bool all = info.Length() < 2 || info[1].IsNull() || info[1].IsUndefined();
  const bool keepdim = bool_arg(info, 2, op, "keepdim");
  std::vector<int64_t> axes;
  if (all) {
    for (int64_t d = 0; d < x.dim(); ++d) axes.push_back(d);
  } else {
    axes.push_back(normalize_axis(int_arg(info, 1, op, "axis"), std::max<int64_t>(1, x.dim()), op));
    if (x.dim() == 0) axes.clear();  // a 0-D x: axis 0 or -1 reduces nothing, as PyTorch
  }
  Shape shape;
  for (int64_t d = 0; d < x.dim(); ++d) {
    const bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
    CONVNET_CHECK(!reduced || x.shape[d] > 0, "E_SHAPE", op, ": cannot reduce axis ", d, " of size 0 (shape ",
                  shape_str(x.shape), "): there is no identity");
    if (!reduced) shape.push_back(x.shape[d]);
    else if (keepdim) shape.push_back(1);
  }
  Tensor lo = Tensor::empty(shape, x.dtype, Device::CPU), hi = Tensor::empty(shape, x.dtype, Device::CPU);
  Queue::cpu().submit(op, x.numel(), [x, axes, lo, hi] { cpu::aminmax(x, axes, lo, hi); });
  Napi::Array result = Napi::Array::New(info.Env(), 2);
  result.Set(0u, wrap_tensor(info.Env(), std::move(lo)));
  result.Set(1u, wrap_tensor(info.Env(), std::move(hi)));
  return result;
}

// (x, axis, keepdim, largest = true): argmax, or argmin when `largest` is false; float32 or int32.
Napi::Value Argmax(const Napi::CallbackInfo& info) {
  const bool largest = info.Length() < 4 || info[3].IsUndefined() ? true : bool_arg(info, 3, "argmax", "largest");
  const char* op = largest ? "argmax" : "argmin";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  if (x.dtype != DType::Int32) expect_dtype(x, DType::Float32, op, "x");
  const int64_t axis = normalize_axis(int_arg(info, 1, op, "axis"), x.dim(), op);
  const bool keepdim = bool_arg(info, 2, op, "keepdim");
  CONVNET_CHECK(x.shape[axis] > 0, "E_SHAPE", op, ": axis ", axis, " has size 0");
  Shape shape = x.shape;
  if (keepdim) shape[axis] = 1;
  else shape.erase(shape.begin() + axis);
  Tensor y = Tensor::empty(shape, DType::Int32, x.device());
  return run_on(info, op, y, [x, axis, largest, y] { cpu::arg_extremum(x, axis, largest, y); },
                CUDA_LAUNCH(cuda::arg_extremum(x, axis, largest, y)));
}

// (x, axis, reverse): running sums along `axis` (reverse: from the end, the backward); float32 or int32.
Napi::Value Cumsum(const Napi::CallbackInfo& info) {
  const char* op = "cumsum";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  if (x.dtype != DType::Int32) expect_dtype(x, DType::Float32, op, "x");
  CONVNET_CHECK(x.dim() > 0, "E_SHAPE", op, ": expected a tensor of rank 1 or more, got a scalar");
  const int64_t axis = normalize_axis(int_arg(info, 1, op, "axis"), x.dim(), op);
  const bool reverse = bool_arg(info, 2, op, "reverse");
  Tensor y = Tensor::empty(x.shape, x.dtype, x.device());
  return run_on(info, op, y, [x, axis, reverse, y] { cpu::cumsum(x, axis, reverse, y); },
                CUDA_LAUNCH(cuda::cumsum(x, axis, reverse, y)), x.numel());
}

// (x, axis, largest) -> [values, indices]: the running maximum (largest) or minimum along `axis`
// and the int32 position it came from.
Napi::Value CumExtremum(const Napi::CallbackInfo& info) {
  const bool largest = bool_arg(info, 2, "cummax", "largest");
  const char* op = largest ? "cummax" : "cummin";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  if (x.dtype != DType::Int32) expect_dtype(x, DType::Float32, op, "x");
  CONVNET_CHECK(x.dim() > 0, "E_SHAPE", op, ": expected a tensor of rank 1 or more, got a scalar");
  const int64_t axis = normalize_axis(int_arg(info, 1, op, "axis"), x.dim(), op);
  CONVNET_CHECK(x.shape[axis] <= 0x7FFFFFFF, "E_SHAPE", op, ": axis ", axis, " of size ", x.shape[axis], " is longer than int32 indices allow");
  Tensor values = Tensor::empty(x.shape, x.dtype, x.device());
  Tensor indices = Tensor::empty(x.shape, DType::Int32, x.device());
  if (x.is_cuda()) {
    CONVNET_ON_CUDA(op, cuda::cum_extremum(x, axis, largest, values, indices));
  } else {
    Queue::cpu().enqueue(op, [x, axis, largest, values, indices] { cpu::cum_extremum(x, axis, largest, values, indices); });
  }
  return pair_or_null(info.Env(), std::move(values), &indices);
}

// (x, axis) -> the product of each line along `axis`, float32, x's shape with the axis 1 long.
Napi::Value Prod(const Napi::CallbackInfo& info) {
  const char* op = "prod";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  expect_dtype(x, DType::Float32, op, "x");
  CONVNET_CHECK(x.dim() > 0, "E_SHAPE", op, ": expected a tensor of rank 1 or more, got a scalar");
  const int64_t axis = normalize_axis(int_arg(info, 1, op, "axis"), x.dim(), op);
  Shape shape = x.shape;
  shape[axis] = 1;
  Tensor y = Tensor::empty(shape, x.dtype, x.device());
  return run_on(info, op, y, [x, axis, y] { cpu::prod(x, axis, y); }, CUDA_LAUNCH(cuda::prod(x, axis, y)), x.numel());
}

// (boundaries, values, right) -> int32 insertion positions of the values (searchsorted.cc).
Napi::Value SearchSorted(const Napi::CallbackInfo& info) {
  const char* op = "searchsorted";
  const Tensor& boundaries = tensor_arg(info, 0, op, "sortedSequence");
  const Tensor& values = tensor_arg(info, 1, op, "values");
  const bool right = bool_arg(info, 2, op, "right");
  if (values.dtype != DType::Int32) expect_dtype(values, DType::Float32, op, "values");
  expect_dtype(boundaries, values.dtype, op, "sortedSequence");
  CONVNET_CHECK(boundaries.device() == values.device(), "E_DEVICE", op, ": sortedSequence and values are on different devices");
  CONVNET_CHECK(boundaries.dim() >= 1 && boundaries.shape.back() <= 0x7FFFFFFF, "E_SHAPE", op,
                ": expected sortedSequence of at least one axis and at most 2^31 - 1 boundaries a row, got ", shape_str(boundaries.shape));
  if (boundaries.dim() > 1) {
    CONVNET_CHECK(values.dim() == boundaries.dim() && std::equal(values.shape.begin(), values.shape.end() - 1, boundaries.shape.begin()), "E_SHAPE", op,
                  ": expected values with sortedSequence's leading axes ", shape_str(boundaries.shape), ", got ", shape_str(values.shape));
  }
  Tensor out = Tensor::empty(values.shape, DType::Int32, values.device());
  return run_on(info, op, out, [boundaries, values, right, out] { cpu::searchsorted(boundaries, values, right, out); },
                CUDA_LAUNCH(cuda::searchsorted(boundaries, values, right, out)), values.numel());
}

// (x, axis): running products along `axis`, float32.
Napi::Value Cumprod(const Napi::CallbackInfo& info) {
  const char* op = "cumprod";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  expect_dtype(x, DType::Float32, op, "x");
  CONVNET_CHECK(x.dim() > 0, "E_SHAPE", op, ": expected a tensor of rank 1 or more, got a scalar");
  const int64_t axis = normalize_axis(int_arg(info, 1, op, "axis"), x.dim(), op);
  Tensor y = Tensor::empty(x.shape, x.dtype, x.device());
  return run_on(info, op, y, [x, axis, y] { cpu::cumprod(x, axis, y); }, CUDA_LAUNCH(cuda::cumprod(x, axis, y)), x.numel());
}

namespace {

// The reduced axes of vector_norm and logsumexp (argument i): sorted, unique, and adjacent (lib/
// permutes any other set into a run first); none is all of x's axes.
std::vector<int64_t> run_axes(const Napi::CallbackInfo& info, size_t i, const Tensor& x, const char* op) {
  const std::vector<int64_t> axes = reduction_axes(ints_arg(info, i, op, "axes"), x.dim(), op);
  CONVNET_CHECK(axes.empty() || axes.back() - axes.front() + 1 == static_cast<int64_t>(axes.size()), "E_ARG", op,
                ": expected adjacent axes, got ", axes.size(), " axes from ", axes.front(), " to ", axes.back());
  return axes;
}

// x's shape with `axes` set to 1 (keepdim) or removed.
Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& axes, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    const bool reduced = std::binary_search(axes.begin(), axes.end(), d);
    if (!reduced) out.push_back(shape[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

// The order of a vector norm: p >= 0, inf or -inf.
double norm_order_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  const double p = number_arg(info, i, op, "p");
  CONVNET_CHECK(p >= 0 || p == -INFINITY, "E_ARG", op, ": expected `p` >= 0, Infinity or -Infinity, got ", p);
  return p;
}

// dy, x and y of a reduction's backward: float32, one device, dy and y one value per output.
void check_reduction_backward(const Tensor& dy, const Tensor& x, const Tensor& y, const std::vector<int64_t>& axes,
                              const char* op) {
  CONVNET_CHECK(dy.device() == x.device() && y.device() == x.device(), "E_DEVICE", op,
                ": `dy`, `x` and `y` must be on one device");
  int64_t outputs = 1;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!std::binary_search(axes.begin(), axes.end(), d)) outputs *= x.shape[d];
  CONVNET_CHECK(dy.numel() == outputs && y.numel() == outputs, "E_SHAPE", op, ": expected `dy` and `y` of ", outputs,
                " elements (x ", shape_str(x.shape), " reduced), got ", shape_str(dy.shape), " and ", shape_str(y.shape));
}

}  // namespace

// (x, axes, p, keepdim) -> y: the vector p-norm over adjacent axes (vector_norm.cc).
Napi::Value VectorNorm(const Napi::CallbackInfo& info) {
  const char* op = "norm";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const std::vector<int64_t> axes = run_axes(info, 1, x, op);
  const double p = norm_order_arg(info, 2, op);
  const bool keepdim = bool_arg(info, 3, op, "keepdim");
  if (std::isinf(p)) {  // max / min of nothing: PyTorch refuses it too
    for (int64_t a : axes)
      CONVNET_CHECK(x.shape[a] > 0, "E_SHAPE", op, ": cannot take the ", p > 0 ? "" : "-",
                    "inf norm over axis ", a, " of size 0");
  }
  Tensor y = Tensor::empty(reduced_shape(x.shape, axes, keepdim), DType::Float32, x.device());
  return run_on(info, op, y, [x, axes, p, y] { cpu::vector_norm(x, axes, p, y); },
                CUDA_LAUNCH(cuda::vector_norm(x, axes, p, y)));
}

// (dy, x, y, axes, p) -> dx (vector_norm.cc): dy and y one value per output.
Napi::Value VectorNormBackward(const Napi::CallbackInfo& info) {
  const char* op = "norm backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& x = float_tensor_arg(info, 1, op, "x");
  const Tensor& y = float_tensor_arg(info, 2, op, "y");
  const std::vector<int64_t> axes = run_axes(info, 3, x, op);
  const double p = norm_order_arg(info, 4, op);
  check_reduction_backward(dy, x, y, axes, op);
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  return run_on(info, op, dx, [dy, x, y, axes, p, dx] { cpu::vector_norm_backward(dy, x, y, axes, p, dx); },
                CUDA_LAUNCH(cuda::vector_norm_backward(dy, x, y, axes, p, dx)));
}

// (x, axes, keepdim) -> y: log(sum(exp(x))) over adjacent axes, stable (logsumexp.cc).
Napi::Value Logsumexp(const Napi::CallbackInfo& info) {
  const char* op = "logsumexp";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const std::vector<int64_t> axes = run_axes(info, 1, x, op);
  const bool keepdim = bool_arg(info, 2, op, "keepdim");
  Tensor y = Tensor::empty(reduced_shape(x.shape, axes, keepdim), DType::Float32, x.device());
  return run_on(info, op, y, [x, axes, y] { cpu::logsumexp(x, axes, y); }, CUDA_LAUNCH(cuda::logsumexp(x, axes, y)));
}

// (dy, x, y, axes) -> dx = dy * exp(x - y) (logsumexp.cc).
Napi::Value LogsumexpBackward(const Napi::CallbackInfo& info) {
  const char* op = "logsumexp backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& x = float_tensor_arg(info, 1, op, "x");
  const Tensor& y = float_tensor_arg(info, 2, op, "y");
  const std::vector<int64_t> axes = run_axes(info, 3, x, op);
  check_reduction_backward(dy, x, y, axes, op);
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  return run_on(info, op, dx, [dy, x, y, axes, dx] { cpu::logsumexp_backward(dy, x, y, axes, dx); },
                CUDA_LAUNCH(cuda::logsumexp_backward(dy, x, y, axes, dx)));
}

namespace {

// var / std's `correction` (argument i): finite and >= 0 (n - correction <= 0 divides by 0).
double correction_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  const double correction = number_arg(info, i, op, "correction");
  CONVNET_CHECK(std::isfinite(correction) && correction >= 0, "E_ARG", op, ": expected `correction` >= 0, got ",
                correction);
  return correction;
}

}  // namespace

// (x, axes, correction, keepdim, takeSqrt) -> [y, mean]: the variance (the standard deviation
// with takeSqrt) over any axes, and the float32 mean for the backward (var_std.cc).
Napi::Value VarStd(const Napi::CallbackInfo& info) {
  const bool take_sqrt = bool_arg(info, 4, "var", "takeSqrt");
  const char* op = take_sqrt ? "std" : "var";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const std::vector<int64_t> axes = reduction_axes(ints_arg(info, 1, op, "axes"), x.dim(), op);
  const double correction = correction_arg(info, 2, op);
  const bool keepdim = bool_arg(info, 3, op, "keepdim");
  const Shape shape = reduced_shape(x.shape, axes, keepdim);
  Tensor y = Tensor::empty(shape, DType::Float32, x.device());
  Tensor mean = Tensor::empty(shape, DType::Float32, x.device());
  if (x.is_cuda()) {
    CONVNET_ON_CUDA(op, cuda::var_std(x, axes, correction, take_sqrt, y, mean));
  } else {
    Queue::cpu().enqueue(op, [x, axes, correction, take_sqrt, y, mean] { cpu::var_std(x, axes, correction, take_sqrt, y, mean); });
  }
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(uint32_t{0}, wrap_tensor(info.Env(), std::move(y)));
  out.Set(uint32_t{1}, wrap_tensor(info.Env(), std::move(mean)));
  return out;
}

// (dy, x, y, mean, axes, correction, takeSqrt) -> dx (var_std.cc): dy, y and mean one value
// per output, y and mean from VarStd.
Napi::Value VarStdBackward(const Napi::CallbackInfo& info) {
  const bool take_sqrt = bool_arg(info, 6, "var backward", "takeSqrt");
  const char* op = take_sqrt ? "std backward" : "var backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& x = float_tensor_arg(info, 1, op, "x");
  const Tensor& y = float_tensor_arg(info, 2, op, "y");
  const Tensor& mean = float_tensor_arg(info, 3, op, "mean");
  const std::vector<int64_t> axes = reduction_axes(ints_arg(info, 4, op, "axes"), x.dim(), op);
  const double correction = correction_arg(info, 5, op);
  check_reduction_backward(dy, x, y, axes, op);
  CONVNET_CHECK(mean.device() == x.device(), "E_DEVICE", op, ": `mean` and `x` must be on one device");
  CONVNET_CHECK(mean.numel() == y.numel(), "E_SHAPE", op, ": expected `mean` of ", y.numel(), " elements, got ",
                shape_str(mean.shape));
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  return run_on(info, op, dx,
                [dy, x, y, mean, axes, correction, take_sqrt, dx] {
                  cpu::var_std_backward(dy, x, y, mean, axes, correction, take_sqrt, dx);
                },
                CUDA_LAUNCH(cuda::var_std_backward(dy, x, y, mean, axes, correction, take_sqrt, dx)));
}

// The comparison an op code names (argument 0 of Compare and CompareScalar), and its name.
static CompareOp compare_op_arg(const Napi::CallbackInfo& info, const char** name) {
  static const char* names[] = {"eq", "ne", "lt", "le", "gt", "ge"};
  const int64_t code = int_arg(info, 0, "compare", "op");
  CONVNET_CHECK(code >= 0 && code < 6, "E_ARG", "compare: unknown op code ", code);
  *name = names[code];
  return static_cast<CompareOp>(code);
}

// (op, a, b): eq ne lt le gt ge as float32 1/0, broadcasting; a and b both float32 or both int32.
Napi::Value Compare(const Napi::CallbackInfo& info) {
  const char* op = nullptr;
  const CompareOp kind = compare_op_arg(info, &op);
  const Tensor& a = tensor_arg(info, 1, op, "a");
  const Tensor& b = tensor_arg(info, 2, op, "b");
  CONVNET_CHECK(a.dtype == b.dtype, "E_DTYPE", op, ": `a` is ", dtype_name(a.dtype), " but `b` is ", dtype_name(b.dtype));
  CONVNET_CHECK(a.device() == b.device(), "E_DEVICE", op, ": `a` and `b` are on different devices");
  Tensor y = Tensor::empty(broadcast_shapes(a.shape, b.shape, op), DType::Float32, a.device());
  return run_on(info, op, y, [kind, a, b, y] { cpu::compare(kind, a, b, y); },
                CUDA_LAUNCH(cuda::compare(kind, a, b, y)), std::max({a.numel(), b.numel(), y.numel()}));
}

// (op, x, scalar, scalarFirst): x op scalar, or scalar op x.
Napi::Value CompareScalar(const Napi::CallbackInfo& info) {
  const char* op = nullptr;
  const CompareOp kind = compare_op_arg(info, &op);
  const Tensor& x = tensor_arg(info, 1, op, "x");
  const double scalar = number_arg(info, 2, op, "scalar");
  const bool scalar_first = bool_arg(info, 3, op, "scalarFirst");
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  return run_on(info, op, y, [=] { cpu::compare_scalar(kind, x, scalar, scalar_first, y); },
                CUDA_LAUNCH(cuda::compare_scalar(kind, x, scalar, scalar_first, y)), x.numel());
}

// (x, shape): x broadcast to `shape` (torch.expand, as a copy); float32 or int32.
Napi::Value Expand(const Napi::CallbackInfo& info) {
  const char* op = "expand";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  const Shape shape = shape_arg(info, 1, op, "shape");
  CONVNET_CHECK(broadcast_shapes(x.shape, shape, op) == shape, "E_SHAPE", op, ": cannot expand ", shape_str(x.shape),
                " to ", shape_str(shape));
  Tensor y = Tensor::empty(shape, x.dtype, x.device());
  return run_on(info, op, y, [x, y] { cpu::expand(x, y); }, CUDA_LAUNCH(cuda::expand(x, y)), y.numel());
}

// (cond, a, b): cond != 0 ? a : b, broadcasting all three; cond float32 or int32; a and b one dtype.
Napi::Value Where(const Napi::CallbackInfo& info) {
  const char* op = "where";
  const Tensor& cond = tensor_arg(info, 0, op, "cond");
  const Tensor& a = tensor_arg(info, 1, op, "a");
  const Tensor& b = tensor_arg(info, 2, op, "b");
  CONVNET_CHECK(a.dtype == b.dtype, "E_DTYPE", op, ": `a` is ", dtype_name(a.dtype), " but `b` is ", dtype_name(b.dtype));
  CONVNET_CHECK(cond.device() == a.device() && a.device() == b.device(), "E_DEVICE", op,
                ": `cond`, `a` and `b` are not all on one device");
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape, a.shape, op), b.shape, op);
  Tensor y = Tensor::empty(shape, a.dtype, a.device());
  return run_on(info, op, y, [cond, a, b, y] { cpu::where(cond, a, b, y); },
                CUDA_LAUNCH(cuda::where(cond, a, b, y)), std::max({cond.numel(), a.numel(), b.numel(), y.numel()}));
}

// (x, min, max): clamp with scalar bounds in one pass; float32 or int32 x.
Napi::Value Clamp(const Napi::CallbackInfo& info) {
  const char* op = "clamp";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  CONVNET_CHECK(x.dtype == DType::Float32 || x.dtype == DType::Int32, "E_DTYPE", op, ": expected `x` of dtype float32 or int32, got ", dtype_name(x.dtype));
  const double min = number_arg(info, 1, op, "min"), max = number_arg(info, 2, op, "max");
  Tensor y = Tensor::empty(x.shape, x.dtype, x.device());
  return run_on(info, op, y, [=] { cpu::clamp(x, min, max, y); },
                CUDA_LAUNCH(cuda::clamp(x, min, max, y)), x.numel());
}

// (dy, x, min, max) -> dx: dy where min <= x <= max, else 0.
Napi::Value ClampBackward(const Napi::CallbackInfo& info) {
  const char* op = "clamp backward";
  const Tensor& dy = tensor_arg(info, 0, op, "dy");
  const Tensor& x = tensor_arg(info, 1, op, "x");
  expect_dtype(dy, DType::Float32, op, "dy");
  expect_dtype(x, DType::Float32, op, "x");
  CONVNET_CHECK(dy.shape == x.shape, "E_SHAPE", op, ": `dy` has shape ", shape_str(dy.shape), ", expected `x`'s ", shape_str(x.shape));
  CONVNET_CHECK(dy.device() == x.device(), "E_DEVICE", op, ": `dy` and `x` are on different devices");
  const double min = number_arg(info, 2, op, "min"), max = number_arg(info, 3, op, "max");
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  return run_on(info, op, dx, [=] { cpu::clamp_backward(dy, x, min, max, dx); },
                CUDA_LAUNCH(cuda::clamp_backward(dy, x, min, max, dx)), x.numel());
}

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  const Tensor& a = tensor_arg(info, 0, "matmul", "a");
  const Tensor& b = tensor_arg(info, 1, "matmul", "b");
  const bool trans_a = bool_arg(info, 2, "matmul", "transA"), trans_b = bool_arg(info, 3, "matmul", "transB");
  expect_dtype(a, DType::Float32, "matmul", "a");
  expect_dtype(b, DType::Float32, "matmul", "b");
  CONVNET_CHECK(a.dim() >= 2 && b.dim() >= 2, "E_SHAPE", "matmul: expected tensors of at least 2 dimensions, got ",
                shape_str(a.shape), " and ", shape_str(b.shape));
  const int64_t M = a.shape[a.dim() - (trans_a ? 1 : 2)], Ka = a.shape[a.dim() - (trans_a ? 2 : 1)];
  const int64_t Kb = b.shape[b.dim() - (trans_b ? 1 : 2)], N = b.shape[b.dim() - (trans_b ? 2 : 1)];
  CONVNET_CHECK(Ka == Kb, "E_SHAPE", "matmul: inner dimensions differ: ", shape_str(a.shape), " @ ", shape_str(b.shape));
  // The broadcast batch axes (none for two matrices), then M and N.
  Shape shape = a.dim() > 2 || b.dim() > 2
                    ? broadcast_shapes(Shape(a.shape.begin(), a.shape.end() - 2), Shape(b.shape.begin(), b.shape.end() - 2), "matmul")
                    : Shape{};
  shape.reserve(shape.size() + 2);
  shape.push_back(M);
  shape.push_back(N);
  Tensor y = Tensor::empty(shape, DType::Float32, a.device());
  // A small product runs here with the tensors as they are: the queued closure's copies (a shape
  // each, and their counts) were a tenth of an 8x8 product's time.
  const int64_t elements = Queue::product_elements(y.numel(), Ka, a.numel() + b.numel());
  if (!y.is_cuda() && Queue::cpu().run_now_if_small("matmul", elements, [&] { cpu::matmul(a, b, trans_a, trans_b, y); })) {
    return wrap_tensor(info.Env(), std::move(y));
  }
  return run_on(info, "matmul", y, [=] { cpu::matmul(a, b, trans_a, trans_b, y); },
                CUDA_LAUNCH(cuda::matmul(a, b, trans_a, trans_b, y)));
}

Napi::Value Permute(const Napi::CallbackInfo& info) {
  const Tensor& x = tensor_arg(info, 0, "permute", "x");
  const std::vector<int64_t> perm = ints_arg(info, 1, "permute", "perm");
  CONVNET_CHECK(static_cast<int64_t>(perm.size()) == x.dim(), "E_ARG", "permute: expected ", x.dim(), " axes, got ",
                perm.size());
  std::vector<bool> seen(perm.size(), false);
  Shape shape(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    CONVNET_CHECK(perm[i] >= 0 && perm[i] < x.dim() && !seen[perm[i]], "E_ARG", "permute: ", shape_str(perm),
                  " is not a permutation of the axes");
    seen[perm[i]] = true;
    shape[i] = x.shape[perm[i]];
  }
  const int64_t reversed = info.Length() > 2 ? int_arg(info, 2, "permute", "reversed") : 0;
  CONVNET_CHECK(reversed >= 0 && reversed < (int64_t{1} << x.dim()), "E_ARG", "permute: `reversed` ", reversed, " names axes beyond the ", x.dim());
  const auto mask = static_cast<uint32_t>(reversed);
  Tensor y = Tensor::empty(shape, x.dtype, x.device());
  return run_on(info, "permute", y, [x, perm, mask, y] { cpu::permute(x, perm, mask, y); }, CUDA_LAUNCH(cuda::permute(x, perm, mask, y)));
}

Napi::Value Concat(const Napi::CallbackInfo& info) {
  // The handles come as a Float64Array: read from a JS array one napi_get_element at a time,
  // they were a fifth of joining 64 small tensors.
  CONVNET_CHECK(info.Length() >= 2 && info[0].IsTypedArray() &&
                    info[0].As<Napi::TypedArray>().TypedArrayType() == napi_float64_array,
                "E_ARG", "concat: expected the tensors' handles in a Float64Array");
  const Napi::Float64Array list = info[0].As<Napi::Float64Array>();
  const size_t count = list.ElementLength();
  CONVNET_CHECK(count > 0, "E_ARG", "concat: expected at least one tensor");
  // The handle table's own tensors, valid for this call: copied only if the join is queued.
  std::vector<const Tensor*> xs;
  xs.reserve(count);
  for (size_t i = 0; i < count; ++i) xs.push_back(&tensor_of_handle(info.Env(), list[i], "concat", "tensors[i]"));
  const Tensor& first = *xs[0];
  const int64_t axis = normalize_axis(int_arg(info, 1, "concat", "axis"), first.dim(), "concat");
  Shape shape = first.shape;
  shape[axis] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = *xs[i];
    CONVNET_CHECK(x.dtype == first.dtype, "E_DTYPE", "concat: tensors[", i, "] is ", dtype_name(x.dtype),
                  ", tensors[0] is ", dtype_name(first.dtype));
    bool same = x.dim() == first.dim();
    for (int64_t d = 0; same && d < first.dim(); ++d) same = d == axis || x.shape[d] == first.shape[d];
    CONVNET_CHECK(same, "E_SHAPE", "concat: tensors[", i, "] ", shape_str(x.shape), " does not match tensors[0] ",
                  shape_str(first.shape), " outside axis ", axis);
    shape[axis] += x.shape[axis];
  }
  Tensor y = Tensor::empty(shape, first.dtype, first.device());
  // On the GPU the kernel launches now, in stream order; on the CPU a small join runs now when
  // the queue is idle (Note [small ops run inline]). Both read the table's own tensors: copying
  // each input into a task (a shape vector each, a malloc and a free) was a third of joining 64
  // [1, 28, 28] samples.
  if (y.is_cuda()) {
    CONVNET_ON_CUDA("concat", cuda::concat(xs, axis, y));
    return wrap_tensor(info.Env(), std::move(y));
  }
  if (Queue::cpu().run_now_if_small("concat", y.numel(), [&] { cpu::concat(xs, axis, y); })) {
    return wrap_tensor(info.Env(), std::move(y));
  }
  // Queued: the inputs copied once and shared with the closure (which the queue's
  // std::function copies again). Each input's reference count then goes to the worker's core and
  // back (the worker drops the inputs), ~0.3 us an input.
  std::vector<Tensor> copies;
  copies.reserve(count);
  for (const Tensor* x : xs) copies.push_back(*x);
  auto inputs = std::make_shared<const std::vector<Tensor>>(std::move(copies));
  Queue::cpu().enqueue("concat", [inputs, axis, y] {
    std::vector<const Tensor*> parts;
    parts.reserve(inputs->size());
    for (const Tensor& x : *inputs) parts.push_back(&x);
    cpu::concat(parts, axis, y);
  });
  return wrap_tensor(info.Env(), std::move(y));
}

Napi::Value Slice(const Napi::CallbackInfo& info) {
  const Tensor& x = tensor_arg(info, 0, "slice", "x");
  const std::vector<int64_t> begin = ints_arg(info, 1, "slice", "begin");
  const Shape size = shape_arg(info, 2, "slice", "size");
  const std::vector<int64_t> step = ints_arg(info, 3, "slice", "step");
  CONVNET_CHECK(static_cast<int64_t>(begin.size()) == x.dim() && size.size() == begin.size() && step.size() == begin.size(),
                "E_ARG", "slice: expected begin, size and step for each of the ", x.dim(), " axes");
  for (int64_t d = 0; d < x.dim(); ++d) {
    CONVNET_CHECK(step[d] >= 1, "E_ARG", "slice: step must be >= 1, got ", step[d]);
    CONVNET_CHECK(begin[d] >= 0 && (size[d] == 0 || begin[d] + (size[d] - 1) * step[d] < x.shape[d]) && begin[d] <= x.shape[d],
                  "E_ARG", "slice: axis ", d, " of size ", x.shape[d], " has no ", size[d], " elements from ", begin[d],
                  " by ", step[d]);
  }
  Tensor y = Tensor::empty(size, x.dtype, x.device());
  return run_on(info, "slice", y, [x, begin, step, y] { cpu::slice(x, begin, step, y); },
                CUDA_LAUNCH(cuda::slice(x, begin, step, y)));
}

// (x, axis, sizes, dropAxis): x cut along axis into pieces of those sizes (summing to its size
// there), one op for all; with dropAxis (every size 1: unbind) the pieces leave the axis out.
// An array of handles.
Napi::Value Split(const Napi::CallbackInfo& info) {
  const char* op = "split";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  const int64_t axis = normalize_axis(int_arg(info, 1, op, "axis"), x.dim(), op);
  const std::vector<int64_t> sizes = ints_arg(info, 2, op, "sizes");
  const bool drop_axis = bool_arg(info, 3, op, "dropAxis");
  int64_t total = 0;
  for (const int64_t s : sizes) {
    CONVNET_CHECK(s >= 0 && (!drop_axis || s == 1), "E_ARG", op, ": piece size ", s, drop_axis ? " is not 1" : " is negative");
    total += s;
  }
  CONVNET_CHECK(total == x.shape[axis], "E_ARG", op, ": the sizes add up to ", total, ", not axis ", axis, "'s ", x.shape[axis]);
  std::vector<Tensor> ys;
  ys.reserve(sizes.size());
  for (const int64_t s : sizes) {
    Shape shape;
    for (int64_t d = 0; d < x.dim(); ++d) {
      if (d != axis) shape.push_back(x.shape[d]);
      else if (!drop_axis) shape.push_back(s);
    }
    ys.push_back(Tensor::empty(shape, x.dtype, x.device()));
  }
  if (x.is_cuda()) {
    CONVNET_ON_CUDA(op, cuda::split(x, axis, sizes, ys));
  } else {
    Queue::cpu().submit(op, x.numel(), [x, axis, sizes, ys] { cpu::split(x, axis, sizes, ys); });
  }
  Napi::Array out = Napi::Array::New(info.Env(), ys.size());
  for (uint32_t i = 0; i < ys.size(); ++i) out.Set(i, wrap_tensor(info.Env(), ys[i]));
  return out;
}

Napi::Value IndexSelect(const Napi::CallbackInfo& info) {
  const Tensor& x = tensor_arg(info, 0, "indexSelect", "x");
  const int64_t axis = normalize_axis(int_arg(info, 1, "indexSelect", "axis"), x.dim(), "indexSelect");
  const Tensor& index = tensor_arg(info, 2, "indexSelect", "index");
  expect_dtype(index, DType::Int32, "indexSelect", "index");
  CONVNET_CHECK(index.dim() == 1, "E_SHAPE", "indexSelect: expected a 1-D index, got ", shape_str(index.shape));
  Shape shape = x.shape;
  shape[axis] = index.numel();
  Tensor y = Tensor::empty(shape, x.dtype, x.device());
  return run_on(info, "indexSelect", y, [x, axis, index, y] { cpu::index_select(x, axis, index, y); },
                CUDA_LAUNCH(cuda::index_select(x, axis, index, y)));
}

Napi::Value Gather(const Napi::CallbackInfo& info) {
  const Tensor& x = tensor_arg(info, 0, "gather", "x");
  const int64_t axis = normalize_axis(int_arg(info, 1, "gather", "axis"), x.dim(), "gather");
  const Tensor& index = tensor_arg(info, 2, "gather", "index");
  expect_dtype(index, DType::Int32, "gather", "index");
  CONVNET_CHECK(index.dim() == x.dim(), "E_SHAPE", "gather: index ", shape_str(index.shape), " must have as many axes as x ",
                shape_str(x.shape));
  for (int64_t d = 0; d < x.dim(); ++d)
    CONVNET_CHECK(d == axis || index.shape[d] <= x.shape[d], "E_SHAPE", "gather: index ", shape_str(index.shape),
                  " is larger than x ", shape_str(x.shape), " along axis ", d);
  Tensor y = Tensor::empty(index.shape, x.dtype, x.device());
  return run_on(info, "gather", y, [x, axis, index, y] { cpu::gather(x, axis, index, y); },
                CUDA_LAUNCH(cuda::gather(x, axis, index, y)));
}

// (x, axis, k, largest) -> [values, indices]: the k first along `axis` in sorted order (sort.cc).
Napi::Value Topk(const Napi::CallbackInfo& info) {
  const char* op = "topk";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  if (x.dtype != DType::Int32) expect_dtype(x, DType::Float32, op, "x");
  CONVNET_CHECK(x.dim() >= 1, "E_SHAPE", op, ": expected x of at least one axis, got a scalar");
  const int64_t axis = normalize_axis(int_arg(info, 1, op, "axis"), x.dim(), op);
  const int64_t k = int_arg(info, 2, op, "k");
  const bool largest = bool_arg(info, 3, op, "largest");
  const int64_t len = x.shape[axis];
  CONVNET_CHECK(k >= 0 && k <= len, "E_ARG", op, ": k = ", k, " is out of range for axis ", axis, " of size ", len);
  // Positions go in the low 32 bits of the sort keys, and come back as int32.
  CONVNET_CHECK(len <= 0x7FFFFFFF, "E_SHAPE", op, ": axis ", axis, " of size ", len, " is longer than int32 indices allow");
  Shape shape = x.shape;
  shape[axis] = k;
  Tensor values = Tensor::empty(shape, x.dtype, x.device());
  Tensor indices = Tensor::empty(shape, DType::Int32, x.device());
  if (x.is_cuda()) {
    CONVNET_ON_CUDA(op, cuda::topk(x, axis, k, largest, values, indices));
  } else {
    Queue::cpu().enqueue(op, [x, axis, k, largest, values, indices] { cpu::topk(x, axis, k, largest, values, indices); });
  }
  return pair_or_null(info.Env(), std::move(values), &indices);
}

// (x, axis, kind, k) -> int32 positions, x's shape with the axis 1 long: one order statistic per
// line (kind 0: the k-th smallest, 1: the lower median, NaN first, 2: the median of the numbers); CPU only.
Napi::Value SelectKth(const Napi::CallbackInfo& info) {
  const char* op = "selectKth";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  if (x.dtype != DType::Int32) expect_dtype(x, DType::Float32, op, "x");
  CONVNET_CHECK(x.dim() >= 1, "E_SHAPE", op, ": expected x of at least one axis, got a scalar");
  const int64_t axis = normalize_axis(int_arg(info, 1, op, "axis"), x.dim(), op);
  const int64_t kind = int_arg(info, 2, op, "kind");
  CONVNET_CHECK(kind >= 0 && kind <= 2, "E_ARG", op, ": kind = ", kind, " is not 0 (k-th), 1 (median) or 2 (nanmedian)");
  const int64_t k = int_arg(info, 3, op, "k");
  const int64_t len = x.shape[axis];
  CONVNET_CHECK(len >= 1 && len <= 0x7FFFFFFF, "E_SHAPE", op, ": axis ", axis, " of size ", len, " must hold 1 to 2^31 - 1 values");
  CONVNET_CHECK(kind != 0 || (k >= 1 && k <= len), "E_ARG", op, ": k = ", k, " is out of range for axis ", axis, " of size ", len);
  Shape shape = x.shape;
  shape[axis] = 1;
  Tensor positions = Tensor::empty(shape, DType::Int32, x.device());
  const auto select = static_cast<cpu::SelectKind>(kind);
  Queue::cpu().enqueue(op, [x, axis, select, k, positions] { cpu::select_kth(x, axis, select, k, positions); });
  return wrap_tensor(info.Env(), std::move(positions));
}

Napi::Value OneHot(const Napi::CallbackInfo& info) {
  const Tensor& labels = tensor_arg(info, 0, "oneHot", "labels");
  expect_dtype(labels, DType::Int32, "oneHot", "labels");
  const int64_t classes = int_arg(info, 1, "oneHot", "numClasses");
  CONVNET_CHECK(classes >= 1, "E_ARG", "oneHot: numClasses must be >= 1, got ", classes);
  Shape shape = labels.shape;
  shape.push_back(classes);
  Tensor y = Tensor::empty(shape, DType::Float32, labels.device());
  return run_on(info, "oneHot", y, [labels, classes, y] { cpu::one_hot(labels, classes, y); },
                CUDA_LAUNCH(cuda::one_hot(labels, classes, y)));
}

// The backward kernels of indexSelect and gather; both return a new tensor (x is not modified).
Napi::Value IndexAdd(const Napi::CallbackInfo& info) {
  const Tensor& x = tensor_arg(info, 0, "indexAdd", "x");
  const int64_t axis = normalize_axis(int_arg(info, 1, "indexAdd", "axis"), x.dim(), "indexAdd");
  const Tensor& index = tensor_arg(info, 2, "indexAdd", "index");
  const Tensor& src = tensor_arg(info, 3, "indexAdd", "src");
  expect_dtype(x, DType::Float32, "indexAdd", "x");
  expect_dtype(index, DType::Int32, "indexAdd", "index");
  expect_dtype(src, DType::Float32, "indexAdd", "src");
  CONVNET_CHECK(index.dim() == 1, "E_SHAPE", "indexAdd: expected a 1-D index, got ", shape_str(index.shape));
  Shape expected = x.shape;
  expected[axis] = index.numel();
  CONVNET_CHECK(src.shape == expected, "E_SHAPE", "indexAdd: expected src of shape ", shape_str(expected), ", got ",
                shape_str(src.shape));
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  return run_on(info, "indexAdd", y, [x, axis, index, src, y] { cpu::index_add(x, axis, index, src, y); },
                CUDA_LAUNCH(cuda::index_add(x, axis, index, src, y)));
}

namespace {
// A number as a 32-bit word of the dtype's.
uint32_t value_bits(DType dtype, double value) {
  uint32_t bits = 0;
  if (dtype == DType::Int32) {
    const int32_t v = static_cast<int32_t>(value);
    std::memcpy(&bits, &v, 4);
  } else {
    const float v = static_cast<float>(value);
    std::memcpy(&bits, &v, 4);
  }
  return bits;
}
}  // namespace

// (x, axis, index [K] int32 in range, value): x with the slices index names along axis set to the
// number (CPU only, no gradient: lib/indexing.ts checks and wraps the indices).
Napi::Value IndexFill(const Napi::CallbackInfo& info) {
  const char* op = "indexFill";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  const int64_t axis = normalize_axis(int_arg(info, 1, op, "axis"), x.dim(), op);
  const Tensor& index = tensor_arg(info, 2, op, "index");
  expect_dtype(index, DType::Int32, op, "index");
  const double value = number_arg(info, 3, op, "value");
  CONVNET_CHECK(!x.is_cuda() && !index.is_cuda(), "E_DEVICE", op, ": expected CPU tensors");
  CONVNET_CHECK(index.dim() == 1, "E_SHAPE", op, ": expected index of shape [K], got ", shape_str(index.shape));
  wait_until_computed(index);
  const int32_t* idx = index.i32();
  for (int64_t k = 0; k < index.numel(); ++k) {
    CONVNET_CHECK(idx[k] >= 0 && idx[k] < x.shape[axis], "E_INDEX", op, ": `index` holds ", idx[k], " at position ", k,
                  ", out of range for axis ", axis, " of x of size ", x.shape[axis]);
  }
  const uint32_t bits = value_bits(x.dtype, value);
  Tensor y = Tensor::empty(x.shape, x.dtype, x.device());
  Queue::cpu().enqueue(op, [x, axis, index, bits, y] { cpu::index_fill(x, axis, index, bits, y); });
  return wrap_tensor(info.Env(), std::move(y));
}

// (x, axis, index, src | null, value): x with src (or the number value, in x's dtype) written
// where index points along axis (CPU only; float32 or int32). The shapes are lib's to check; the
// indices are checked here, synchronously: this waits for the queue to compute them (throwing its
// errors, as a read does), then queues the writes.
Napi::Value Scatter(const Napi::CallbackInfo& info) {
  const char* op = "scatter";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  const int64_t axis = normalize_axis(int_arg(info, 1, op, "axis"), x.dim(), op);
  const Tensor& index = tensor_arg(info, 2, op, "index");
  expect_dtype(index, DType::Int32, op, "index");
  const bool has_src = info.Length() > 3 && !info[3].IsNull() && !info[3].IsUndefined();
  const Tensor* src = has_src ? &tensor_arg(info, 3, op, "src") : nullptr;
  const double value = number_arg(info, 4, op, "value");
  CONVNET_CHECK(!x.is_cuda() && !index.is_cuda() && (!src || !src->is_cuda()), "E_DEVICE", op, ": expected CPU tensors");
  CONVNET_CHECK(!src || src->dtype == x.dtype, "E_DTYPE", op, ": expected src of x's dtype");
  CONVNET_CHECK(index.dim() == x.dim() && (!src || src->dim() == x.dim()), "E_SHAPE", op, ": x ", shape_str(x.shape), ", index ",
                shape_str(index.shape), " must have the same number of axes", src ? " as src" : "");
  for (int64_t d = 0; d < x.dim(); ++d) {
    CONVNET_CHECK((!src || index.shape[d] <= src->shape[d]) && (d == axis || index.shape[d] <= x.shape[d]), "E_SHAPE", op, ": index ",
                  shape_str(index.shape), " is larger than src or x ", shape_str(x.shape), " along axis ", d);
  }
  const uint32_t bits = value_bits(x.dtype, value);
  wait_until_computed(index);
  cpu::scatter_check(x, axis, index);
  Tensor y = Tensor::empty(x.shape, x.dtype, x.device());
  const Tensor s = src ? *src : Tensor();
  Queue::cpu().enqueue(op, [x, axis, index, s, has_src, bits, y] { cpu::scatter(x, axis, index, has_src ? &s : nullptr, bits, y); });
  return wrap_tensor(info.Env(), std::move(y));
}

// (x): [y, count], y int32 [count, rank], the coordinates of x's nonzero entries in order (CPU only). The count
// decides the shape: this waits for the queue to compute x (throwing its errors, as a read does)
// and runs on this thread.
Napi::Value Nonzero(const Napi::CallbackInfo& info) {
  const char* op = "nonzero";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  CONVNET_CHECK(!x.is_cuda(), "E_DEVICE", op, ": expected x on the CPU");
  CONVNET_CHECK(x.numel() <= INT32_MAX, "E_SHAPE", op, ": expected at most 2^31 - 1 elements, got ", x.numel());
  wait_until_computed(x);
  const int64_t count = cpu::count_nonzero_entries(x);
  Tensor y = Tensor::empty(Shape{count, x.dim()}, DType::Int32, Device::CPU);
  cpu::nonzero(x, y);
  Napi::Array result = Napi::Array::New(info.Env(), 2);
  result.Set(0u, wrap_tensor(info.Env(), std::move(y)));
  result.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(count)));
  return result;
}

// (x, minlength): [y, length], y int32 [length], the counts of each value of the 1-D int32 x (CPU
// only). The length decides the shape: this waits for the queue to compute x (throwing its
// errors, as a read does) and scans it on this thread; the counting is queued.
Napi::Value Bincount(const Napi::CallbackInfo& info) {
  const char* op = "bincount";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  CONVNET_CHECK(!x.is_cuda(), "E_DEVICE", op, ": expected x on the CPU");
  expect_dtype(x, DType::Int32, op, "x");
  CONVNET_CHECK(x.dim() == 1, "E_SHAPE", op, ": expected a 1-D x, got ", shape_str(x.shape));
  const int64_t minlength = int_arg(info, 1, op, "minlength");
  CONVNET_CHECK(minlength >= 0 && minlength <= INT32_MAX, "E_ARG", op, ": expected minlength in [0, 2^31 - 1], got ", minlength);
  wait_until_computed(x);
  const int64_t length = cpu::bincount_length(x, minlength);
  Tensor y = Tensor::empty(Shape{length}, DType::Int32, Device::CPU);
  Queue::cpu().submit(op, x.numel() + length, [x, y] { cpu::bincount(x, y); });
  Napi::Array result = Napi::Array::New(info.Env(), 2);
  result.Set(0u, wrap_tensor(info.Env(), std::move(y)));
  result.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(length)));
  return result;
}

// (x, bins, lo, hi): y float32 [bins], torch.histc of the float32 x over [lo, hi] (CPU only).
Napi::Value Histc(const Napi::CallbackInfo& info) {
  const char* op = "histc";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  CONVNET_CHECK(!x.is_cuda(), "E_DEVICE", op, ": expected x on the CPU");
  const int64_t bins = int_arg(info, 1, op, "bins");
  CONVNET_CHECK(bins >= 1 && bins <= INT32_MAX - 1, "E_ARG", op, ": expected bins in [1, 2^31 - 2], got ", bins);
  const double lo = number_arg(info, 2, op, "lo"), hi = number_arg(info, 3, op, "hi");
  const float flo = static_cast<float>(lo), fhi = static_cast<float>(hi);
  CONVNET_CHECK(flo == lo && fhi == hi && std::isfinite(flo) && std::isfinite(fhi) && flo < fhi, "E_ARG", op,
                ": expected a finite float32 range lo < hi, got [", lo, ", ", hi, "]");
  Tensor y = Tensor::empty(Shape{bins}, DType::Float32, Device::CPU);
  Queue::cpu().submit(op, x.numel() + bins, [x, bins, flo, fhi, y] { cpu::histc(x, bins, flo, fhi, y); });
  return wrap_tensor(info.Env(), std::move(y));
}

// (x, withInverse): [values, counts, inverse or null, length], torch.unique of the whole x (CPU
// only). The length decides the shapes: this waits for the queue to compute x (throwing its
// errors, as a read does), then sorts and groups x on this thread.
Napi::Value Unique(const Napi::CallbackInfo& info) {
  const char* op = "unique";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  CONVNET_CHECK(!x.is_cuda(), "E_DEVICE", op, ": expected x on the CPU");
  CONVNET_CHECK(x.numel() <= INT32_MAX, "E_SHAPE", op, ": expected at most 2^31 - 1 elements, got ", x.numel());
  const bool with_inverse = bool_arg(info, 1, op, "withInverse");
  wait_until_computed(x);
  Tensor inverse = with_inverse ? Tensor::empty(x.shape, DType::Int32, Device::CPU) : Tensor{};
  Tensor values, counts;
  cpu::unique(x, with_inverse ? &inverse : nullptr, &values, &counts);
  const int64_t length = values.numel();
  Napi::Env env = info.Env();
  Napi::Array result = Napi::Array::New(env, 4);
  result.Set(0u, wrap_tensor(env, std::move(values)));
  result.Set(1u, wrap_tensor(env, std::move(counts)));
  result.Set(2u, with_inverse ? wrap_tensor(env, std::move(inverse)) : env.Null());
  result.Set(3u, Napi::Number::New(env, static_cast<double>(length)));
  return result;
}

Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  const Tensor& x = tensor_arg(info, 0, "scatterAdd", "x");
  const int64_t axis = normalize_axis(int_arg(info, 1, "scatterAdd", "axis"), x.dim(), "scatterAdd");
  const Tensor& index = tensor_arg(info, 2, "scatterAdd", "index");
  const Tensor& src = tensor_arg(info, 3, "scatterAdd", "src");
  expect_dtype(x, DType::Float32, "scatterAdd", "x");
  expect_dtype(index, DType::Int32, "scatterAdd", "index");
  expect_dtype(src, DType::Float32, "scatterAdd", "src");
  CONVNET_CHECK(index.dim() == x.dim() && src.dim() == x.dim(), "E_SHAPE", "scatterAdd: x ", shape_str(x.shape), ", index ",
                shape_str(index.shape), " and src ", shape_str(src.shape), " must have the same number of axes");
  for (int64_t d = 0; d < x.dim(); ++d) {
    CONVNET_CHECK(index.shape[d] <= src.shape[d] && (d == axis || index.shape[d] <= x.shape[d]), "E_SHAPE",
                  "scatterAdd: index ", shape_str(index.shape), " is larger than src ", shape_str(src.shape), " or x ",
                  shape_str(x.shape), " along axis ", d);
  }
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  return run_on(info, "scatterAdd", y, [x, axis, index, src, y] { cpu::scatter_add(x, axis, index, src, y); },
                CUDA_LAUNCH(cuda::scatter_add(x, axis, index, src, y)));
}

}  // namespace api
}  // namespace convnet
