// The types in the ops' signatures (native/ops/*.inc), shared by the CPU and CUDA backends.
#pragma once
#include <cstdint>

namespace convnet {

// A convolution's geometry (the shapes say the rest): see conv2d in nn_ops.inc and native/api/conv_api.cc.
struct Conv2dGeometry {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
};

// A 2-D pooling's geometry: planes = N * C, input h x w, output oh x ow, then the window.
struct Pool2dGeometry {
  int64_t planes, h, w, oh, ow;  // planes = N * C; input h x w; output oh x ow
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;  // kernel, stride, padding, dilation
};

// Mixed pooling's lambda_mode: 0 = every lambda is `fixed` (evaluation), 1 = Bernoulli(0.5), 2 = uniform [0, 1),

// drawn from Philox(seed) blocks from first_block on (see mixed_pool.cc).
enum MixedLambdaMode : int64_t { kMixedFixed = 0, kMixedBernoulli = 1, kMixedUniform = 2 };

// The reduction of a loss: none, mean, sum, or batchmean (kl_div).
enum class Reduction : int32_t { None = 0, Mean, Sum, BatchMean };

// anchor, positive, negative [N, D]; p = 1 or 2; squared: the survey's squared Euclidean form.
struct TripletOptions {
  double margin;
  int p;
  double eps;
  bool swap;
  bool squared;
};

// torch.optim.SGD's options for one step.
struct SgdOptions {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first_step;  // the momentum buffer is initialised to the gradient on the first step
};

// torch.optim.Adam / AdamW's options for one step.
struct AdamOptions {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;    // 1 on the first step
  bool decoupled;  // AdamW's weight decay
};

// torch.optim.RMSprop's options for one step.
struct RmspropOptions {
  double lr, alpha, eps, weight_decay, momentum;
  bool centered;  // divide by the variance estimate (square_avg - grad_avg^2) instead of square_avg
};

// torch.optim.Adagrad's options for one step.
struct AdagradOptions {
  double lr, lr_decay, weight_decay, eps;
  int64_t step;  // 1 on the first step (for lr_decay)
};

// elementwise ops (elementwise.cc)
enum class BinaryOp : int32_t { Add = 0, Sub, Mul, Div, Pow, Maximum, Minimum, Remainder, Fmod, Atan2, Copysign, Hypot, LogAddExp, LogAddExp2,
                                LogicalAnd, LogicalOr, LogicalXor, Xlogy };
enum class UnaryOp : int32_t {
  Neg = 0, Abs, Exp, Log, Sqrt, Square, Reciprocal, Sign, Floor, Ceil, Erf,
  Sin, Cos, Tan, Atan, Log1p, Expm1, Log2, Log10, Rsqrt, Round, Trunc,
  Asin, Acos, Sinh, Cosh, Asinh, Acosh, Atanh, Erfc, Erfinv, Exp2, Lgamma, Frac,
};

// addcmul, addcdiv and lerp (addc_lerp.cc); LerpScalar: lerp with a number for its weight
enum class TernaryOp : int32_t { Addcmul = 0, Addcdiv, Lerp, LerpScalar };

// reductions (reduce.cc)
enum class ReduceOp : int32_t { Sum = 0, Mean, Max, Min, NanSum };

// comparisons (compare.cc): float32 1/0 results
enum class CompareOp : int32_t { Eq = 0, Ne, Lt, Le, Gt, Ge };

}  // namespace convnet
