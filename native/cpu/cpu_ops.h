// The CPU backend's kernels. Each takes its inputs and a preallocated output of the right
// shape (the API layer checks shapes and allocates), runs on the queue's worker thread and may
// split its work with parallel_for. Results never depend on the thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "core/philox.h"
#include "core/storage.h"

namespace convnet {
namespace cpu {

// fill.cc
void fill(const Tensor& y, double value);                               // y[i] = value
void arange(const Tensor& y, double start, double step);                // y[i] = start + i * step
void cast(const Tensor& x, const Tensor& y);                            // float32 <-> int32 (truncation)

// random.cc: element i uses Philox block first_block + i / 4, lane i % 4 (see core/philox.h)
void random_uniform(const Tensor& y, uint64_t seed, uint64_t first_block, float low, float high);
void random_normal(const Tensor& y, uint64_t seed, uint64_t first_block, float mean, float stddev);
void random_bernoulli(const Tensor& y, uint64_t seed, uint64_t first_block, float p);  // 1 with probability p

// elementwise.cc
enum class BinaryOp : int32_t { Add = 0, Sub, Mul, Div, Pow, Maximum, Minimum };
enum class UnaryOp : int32_t { Neg = 0, Abs, Exp, Log, Sqrt, Square, Reciprocal, Sign, Floor, Ceil };
// y = a (op) b with NumPy/PyTorch broadcasting; y has the broadcast shape.
void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& y);
// y = x (op) scalar, or scalar (op) x when scalar_first: the same results as a one-element b.
void binary_scalar(BinaryOp op, const Tensor& x, float scalar, bool scalar_first, const Tensor& y);
void unary(UnaryOp op, const Tensor& x, const Tensor& y);
void affine(const Tensor& x, float alpha, float beta, const Tensor& y);   // y = alpha * x + beta
void pow_scalar(const Tensor& x, float exponent, const Tensor& y);      // y = x ^ exponent

// reduce.cc (float64 accumulation, one output element per thread: exact for any thread count)
enum class ReduceOp : int32_t { Sum = 0, Mean, Max, Min };
// Reduces x over `axes` (sorted, unique); y's shape is x's with those axes set to 1 (keepdim),
// which holds the same elements in the same order as without them.
void reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes, const Tensor& y);
// Index of the largest element along `axis` (the first one on ties, NaN counts as largest).
void argmax(const Tensor& x, int64_t axis, const Tensor& y);

// matmul.cc: y[b] = op(a[b]) @ op(b[b]) with broadcast batch dimensions (a, b at least 2-D).
void matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, const Tensor& y);

// layout.cc
void permute(const Tensor& x, const std::vector<int64_t>& perm, const Tensor& y);  // y.shape[i] = x.shape[perm[i]]
void concat(const std::vector<Tensor>& xs, int64_t axis, const Tensor& y);
// y = x[begin_0 : begin_0 + y.shape[0]*step_0 : step_0, ...] (steps >= 1)
void slice(const Tensor& x, const std::vector<int64_t>& begin, const std::vector<int64_t>& step, const Tensor& y);

// indexing.cc (indices are int32, checked when the kernel runs: E_INDEX)
void index_select(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& y);  // y = x.take(index, axis)
void gather(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& y);        // torch.gather
void one_hot(const Tensor& labels, int64_t num_classes, const Tensor& y);                // float32 [..., C]
// Backward of the two above (float32, deterministic for any thread count; y may be x):
void index_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src, const Tensor& y);    // y = x; y.index_add_(axis, index, src)
void scatter_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src, const Tensor& y);  // y = x; y.scatter_add_(axis, index, src)

}  // namespace cpu
}  // namespace convnet
