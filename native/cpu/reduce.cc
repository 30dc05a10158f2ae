// Reductions over axes (sum, mean, max, min), argmax / argmin, and int32 sum / max / min.
//
// Every reduction first merges x's axes: size-1 axes are dropped and neighbours of one kind
// (reduced or kept) become one axis, so [N, C, H, W] over {0, 2, 3} is [N, C, H*W] over
// {0, 2}, and [N, C, H, W] over {0, 2} is [N, C, H, W] with N and H reduced. Two building
// blocks then cover every layout:
//  - runs (the last merged axis is reduced): each output reduces a contiguous run of x, in
//    fixed blocks of kBlock elements combined in order (sums by vec::sum: float32 terms of 4,
//    32 float64 lanes, then the lanes pairwise), so that even one long row uses every thread;
//  - rows (the last merged axis is kept, I wide): x is a set of contiguous rows of I elements,
//    y[o, :] = reduce over r of row(o, r). The rows are added one after another into a chunk
//    of accumulators (float64 for sums, float for max / min, which do not round), vectorised
//    across the row, four rows a pass. Few outputs over many rows split the rows into fixed
//    blocks whose partials are combined in order.
// With both (reduced axes before a kept one and a reduced last axis: a bias gradient over
// {0, 2, 3}) the runs are reduced first into float64 partials, which are then reduced as rows.
// The order of each output's arithmetic depends on the shape alone (blocks are sized from the
// shape, never from the thread count), so results are the same for any thread count.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/reduce_layout.h"
#include "cpu/simd_clones.h"
#include "cpu/vec_math.h"

namespace convnet {
namespace cpu {
namespace {

using reduction::Axis;
using reduction::blocked_runs;
using reduction::ceil_div;
using reduction::for_each_row_chunk;
using reduction::kBlock;
using reduction::merged_axes;
using reduction::RowCursor;
using reduction::Rows;

// Long runs, vectorised (a plain loop carrying one accumulator cannot be, without
// reordering its additions): sums come from vec::sum (Note [sum order]: a fixed order, the same
// bits on every CPU path); max and min keep 16 lanes here, which gives the sequential loop's
// value exactly (max and min do not round). Sequential float64 loops ran 4-6x slower than
// PyTorch's reductions (a full sum of 12.8M floats: 3.7 ms against 0.6). The lanes are GCC
// vector types: written as arrays of 16 floats, GCC kept them in 16 scalar registers (max over
// the rows of [512, 4096] at 2 threads: 0.27 ms, PyTorch 0.29; 0.62 when the build passed
// -fno-trapping-math); as vectors 0.05 ms (`node dist/bench/tensor-ops.js`).
// Each 16 lanes are two 32-byte vectors: GCC compiles selects on 64-byte generic vectors to
// scalar code for AVX2 (simd_clones.h), and two 32-byte halves cost the AVX-512 clone nothing
// measurable on these memory-bound loops.
typedef float Floats8 __attribute__((vector_size(32)));
typedef int32_t Ints8 __attribute__((vector_size(32)));

template <bool kMax>
CONVNET_SIMD_CLONES float extremum_lanes(const float* __restrict x, int64_t n) {
  // 16 lanes of the extremum (plain compares: a NaN never wins them) and 16 of "saw a NaN".
  const float init = kMax ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  Floats8 lo = Floats8{} + init, hi = lo;
  Ints8 nan = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    Floats8 a, b;
    std::memcpy(&a, x + i, sizeof a);
    std::memcpy(&b, x + i + 8, sizeof b);
    lo = (kMax ? a > lo : a < lo) ? a : lo;
    hi = (kMax ? b > hi : b < hi) ? b : hi;
    nan |= (a != a) | (b != b);
  }
  float best = lo[0];
  int32_t any_nan = 0;
  for (int j = 0; j < 8; ++j) {  // lanes 0 to 15 in order (which of -0 and +0 wins a tie)
    best = (kMax ? lo[j] > best : lo[j] < best) ? lo[j] : best;
    any_nan |= nan[j];
  }
  for (int j = 0; j < 8; ++j) best = (kMax ? hi[j] > best : hi[j] < best) ? hi[j] : best;
  for (; i < n; ++i) {
    best = (kMax ? x[i] > best : x[i] < best) ? x[i] : best;
    any_nan |= x[i] != x[i];
  }
  if (any_nan) {  // NaN propagates, as in PyTorch: the first one, as the sequential loop returned
    for (i = 0; x[i] == x[i]; ++i) {
    }
    return x[i];
  }
  return best;
}

// The first r with x[r] == value, or x[r] NaN for a NaN value; value must be in x. Whole
// vectors of 16 are tested first (the element by element loop was half of argmax's time).
CONVNET_SIMD_CLONES int64_t first_index_of(const float* __restrict x, int64_t n, float value) {
  const bool nan = value != value;
  int64_t r = 0;
  for (; r + 16 <= n; r += 16) {
    Floats8 a, b;
    std::memcpy(&a, x + r, sizeof a);
    std::memcpy(&b, x + r + 8, sizeof b);
    const Ints8 hit = nan ? (a != a) | (b != b) : (a == value) | (b == value);
    Ints8 zero = {};
    if (std::memcmp(&hit, &zero, sizeof hit) != 0) break;
  }
  while (nan ? x[r] == x[r] : x[r] != value) ++r;
  return r;
}

// ---- what a reduction does to one more value ----------------------------------------------

// A mean is a sum, divided at the end. NanSum is a sum that reads each NaN of x as +0 (where x
// is read: partials of finite values can still be NaN, inf - inf, and add as they are), so its
// bits are those of a sum over x with its NaNs replaced by 0.
enum class Kind { Sum, NanSum, Max, Min };

constexpr bool is_sum(Kind k) { return k == Kind::Sum || k == Kind::NanSum; }

Kind kind_of(ReduceOp op) {
  switch (op) {
    case ReduceOp::Max: return Kind::Max;
    case ReduceOp::Min: return Kind::Min;
    case ReduceOp::NanSum: return Kind::NanSum;
    default: return Kind::Sum;
  }
}

// x's value as a reduction of kind K reads it: NanSum's NaN is +0. By its bits (all ones in the
// exponent and a nonzero fraction): GCC leaves `v != v ? 0 : v` as a branch, and the loop scalar.
template <Kind K, typename T>
inline T read(T v) {
  if constexpr (K == Kind::NanSum && std::is_same_v<T, float>) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    bits &= 0u - static_cast<uint32_t>((bits & 0x7fffffffu) <= 0x7f800000u);
    std::memcpy(&v, &bits, sizeof v);
    return v;
  } else {
    return v;
  }
}

// The accumulator of a reduction of T values: floats sum in float64, int32 in int64; max and
// min stay in T (they do not round).
template <Kind K, typename T>
struct AccOf {
  using type = T;
};
template <>
struct AccOf<Kind::Sum, float> {
  using type = double;
};
template <>
struct AccOf<Kind::NanSum, float> {
  using type = double;
};
template <>
struct AccOf<Kind::Sum, int32_t> {
  using type = int64_t;
};

template <Kind K, typename A>
A identity() {
  if constexpr (is_sum(K)) return A(0);
  else if constexpr (std::is_floating_point_v<A>)
    return K == Kind::Max ? -std::numeric_limits<A>::infinity() : std::numeric_limits<A>::infinity();
  else return K == Kind::Max ? std::numeric_limits<A>::lowest() : std::numeric_limits<A>::max();
}

// acc combined with v. For floats a NaN propagates through max and min, as in PyTorch (the
// first NaN stays). Bitwise & and | (no branches), so that loops over rows vectorise.
template <Kind K, typename A>
inline A step(A acc, A v) {
  if constexpr (is_sum(K)) return acc + v;
  else if constexpr (std::is_floating_point_v<A>)
    return ((acc == acc) & ((K == Kind::Max ? v > acc : v < acc) | (v != v))) ? v : acc;
  else return (K == Kind::Max ? v > acc : v < acc) ? v : acc;
}

// ---- runs: a reduced last axis ------------------------------------------------------------

// The integer runs: sums exact in int64, so a plain loop (which vectorises) gives the same
// value in any order.
template <Kind K, typename A>
CONVNET_SIMD_CLONES A int_run(const int32_t* __restrict x, int64_t n) {
  A a = identity<K, A>();
  for (int64_t i = 0; i < n; ++i) a = step<K, A>(a, x[i]);
  return a;
}

// One run (or one block of a long run) reduced alone. Float runs shorter than a vector are
// added in order inline (a call through vec::sum's dispatch per run of 2 would cost more than
// the run).
template <Kind K, typename T>
typename AccOf<K, T>::type run_value(const T* x, int64_t n) {
  using A = typename AccOf<K, T>::type;
  if constexpr (std::is_same_v<T, float>) {
    if (n < 16) {
      A a = identity<K, A>();
      for (int64_t i = 0; i < n; ++i) a = step<K, A>(a, read<K>(x[i]));
      return a;
    }
    if constexpr (K == Kind::Sum) return vec::sum(x, n);
    else if constexpr (K == Kind::NanSum) return vec::nansum(x, n);
    else return extremum_lanes<K == Kind::Max>(x, n);
  } else {
    return int_run<K, A>(x, n);
  }
}

// store(j, value of x[j * run, (j + 1) * run)) for j < runs (reduce_layout.h's blocked_runs).
template <Kind K, typename T, typename Store>
void reduce_runs(const T* x, int64_t runs, int64_t run, const Store& store) {
  using A = typename AccOf<K, T>::type;
  if constexpr (is_sum(K) && std::is_same_v<T, float>) {
    // Whole runs that need vec::sum (16 to kBlock elements), up to 64 a call of vec::sum_runs
    // (the same bits, blocked_runs' split): one call a run of 49 (a mean over [32, 512, 7, 7]'s
    // maps) took 0.50 ms at 1 thread, PyTorch 0.26 (`node dist/bench/tensor-ops.js --threads 1
    // --only 'dims 2, 3'`).
    if (run >= 16 && run <= kBlock) {
      parallel_for(runs, std::max<int64_t>(1, kBlock / run),
                   [&](int64_t begin, int64_t end) { vec::each_run_sum<K == Kind::NanSum>(x, run, begin, end, store); });
      return;
    }
  }
  blocked_runs<A>(runs, run, [&](int64_t, int64_t at, int64_t len) { return run_value<K>(x + at, len); },
                  [](A a, A b) { return step<K, A>(a, b); }, store);
}

// ---- rows: a kept last axis -----------------------------------------------------------------

// acc[i] combined with r0[i], r1[i], r2[i], r3[i]: four rows a pass, so that the accumulators
// are loaded and stored once per four rows. Float sums add the four in float32 first, as
// vec::sum's terms (Note [sum order]): (r0 + r1) + (r2 + r3), then into the float64
// accumulator, one conversion per four floats instead of four (each output's order still
// depends on the shape alone: the passes start at each block's first row); most of their rows
// go eight a pass (add_float_rows8). Int32 sums, max and min give the same value as one row a
// pass; float max / min take extremum_rows4 instead.
template <Kind K, typename A, typename T>
CONVNET_SIMD_CLONES void add_rows4(A* __restrict acc, const T* __restrict r0, const T* __restrict r1,
                                   const T* __restrict r2, const T* __restrict r3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (is_sum(K) && std::is_same_v<T, float>) {
      const float term = (read<K>(r0[i]) + read<K>(r1[i])) + (read<K>(r2[i]) + read<K>(r3[i]));
      acc[i] += term;
    } else {
      A a = acc[i];
      a = step<K, A>(a, static_cast<A>(r0[i]));
      a = step<K, A>(a, static_cast<A>(r1[i]));
      a = step<K, A>(a, static_cast<A>(r2[i]));
      a = step<K, A>(a, static_cast<A>(r3[i]));
      acc[i] = a;
    }
  }
}

// Float sums take eight rows a pass: ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)) in
// float32, then into the float64 accumulator (the last rows four and then one a pass). With four
// a pass the accumulators' loads and stores bound the loop: [64, 256, 784] over dim 1 read x at
// 22 GB/s at 1 thread against a whole sum's 33 (`perf annotate`: the loop waiting on its
// loads); eight 30-33 GB/s, and 1.03 -> 0.65 ms at 2 threads (/tmp loops, builds alternated).
// A term rounds three times in float32, an error within ~3 * 2^-24 of its eight floats'
// magnitudes (PyTorch's float32 cascade rounds more); equal floats still add exactly (x + x), so
// the mean of a constant stays that constant.
template <Kind K>
CONVNET_SIMD_CLONES void add_float_rows8(double* __restrict acc, const float* const* __restrict r, int64_t n) {
  const float *__restrict r0 = r[0], *__restrict r1 = r[1], *__restrict r2 = r[2], *__restrict r3 = r[3];
  const float *__restrict r4 = r[4], *__restrict r5 = r[5], *__restrict r6 = r[6], *__restrict r7 = r[7];
  for (int64_t i = 0; i < n; ++i) {
    const float term = ((read<K>(r0[i]) + read<K>(r1[i])) + (read<K>(r2[i]) + read<K>(r3[i]))) +
                       ((read<K>(r4[i]) + read<K>(r5[i])) + (read<K>(r6[i]) + read<K>(r7[i])));
    acc[i] += term;
  }
}

template <Kind K, typename A, typename T>
CONVNET_SIMD_CLONES void add_row(A* __restrict acc, const T* __restrict r0, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] = step<K, A>(acc[i], static_cast<A>(read<K>(r0[i])));
}

// Float max / min over rows: acc[i] keeps the extremum of the numbers by a plain compare and
// select (v > a ? v : a, which GCC makes a vmaxps: it keeps a where either is NaN) and nan[i]
// notes a NaN, folded into acc at the end. With step()'s NaN test inside the select, GCC left
// a chain of four such selects scalar, compares and branches (max over dim 0 of [64, 256, 28,
// 28] then ran no faster than the per-element walk it replaced; GCC vector types did no
// better), and one row a pass reads rows far apart more slowly than four streams at once.
template <bool kMax>
CONVNET_SIMD_CLONES void extremum_rows4(float* __restrict acc, int32_t* __restrict nan, const float* __restrict r0,
                                        const float* __restrict r1, const float* __restrict r2,
                                        const float* __restrict r3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v0 = r0[i], v1 = r1[i], v2 = r2[i], v3 = r3[i];
    float a = acc[i];
    a = (kMax ? v0 > a : v0 < a) ? v0 : a;
    a = (kMax ? v1 > a : v1 < a) ? v1 : a;
    a = (kMax ? v2 > a : v2 < a) ? v2 : a;
    a = (kMax ? v3 > a : v3 < a) ? v3 : a;
    acc[i] = a;
    nan[i] |= (v0 != v0) | (v1 != v1) | (v2 != v2) | (v3 != v3);
  }
}

template <bool kMax>
CONVNET_SIMD_CLONES void extremum_row(float* __restrict acc, int32_t* __restrict nan, const float* __restrict r0,
                                      int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = r0[i];
    acc[i] = (kMax ? v > acc[i] : v < acc[i]) ? v : acc[i];
    nan[i] |= v != v;
  }
}

// store(o * inner + i, the reduction of x's rows for it), every output once.
template <Kind K, typename T, typename Store>
void reduce_rows(const Rows& rows, const T* x, const Store& store) {
  using A = typename AccOf<K, T>::type;
  const int64_t per_block = rows.rows_per_block(), blocks = ceil_div(rows.rows, per_block);
  const int64_t chunk = rows.chunk_width(blocks), out_n = rows.outer * rows.inner;
  std::vector<A> partial(static_cast<size_t>(blocks > 1 ? blocks * out_n : 0));
  for_each_row_chunk(rows, per_block, chunk, [&](int64_t o, int64_t i0, int64_t width, int64_t r0, int64_t r1,
                                                 RowCursor& cursor, int64_t block) {
    A* acc = blocks > 1 ? partial.data() + block * out_n + o * rows.inner + i0 : nullptr;
    thread_local std::vector<A> local;
    if (!acc) {
      if (static_cast<int64_t>(local.size()) < width) local.resize(static_cast<size_t>(width));
      acc = local.data();
    }
    std::fill(acc, acc + width, identity<K, A>());
    constexpr bool kFloatExtremum = !is_sum(K) && std::is_same_v<A, float>;
    thread_local std::vector<int32_t> nan;  // float max / min: which accumulators saw a NaN
    if constexpr (kFloatExtremum) {
      if (static_cast<int64_t>(nan.size()) < width) nan.resize(static_cast<size_t>(width));
      std::fill(nan.begin(), nan.begin() + width, 0);
    }
    const T* base = x + rows.outer_offset(o) + i0;
    int64_t r = r0;
    // Whole rows follow one another in x (the innermost reduced axis's stride is the row), so
    // they are read as one stream; chunks of longer rows lie a row apart, and four streams at
    // once read them faster (fastest of 15 runs at 2 threads on a busy machine: [64, 256, 784]
    // over dim 1 1.5 ms one row a pass, 3.8 four; [64, 200704] over dim 0 2.7 ms four rows a
    // pass, 5 or more one). Float sums take four rows a pass even so: it is what adds them in
    // float32 first (add_rows4), and [64, 256, 784] over dim 1 then ran 3.6-4.2 -> 3.2-3.6 ms
    // (session 48, both builds alternated).
    const bool one_stream = width == rows.inner && !(is_sum(K) && std::is_same_v<T, float>);
    if constexpr (is_sum(K) && std::is_same_v<T, float>) {
      for (; r + 8 <= r1; r += 8) {
        const float* p[8];
        cursor.take(base, p, 8);
        add_float_rows8<K>(acc, p, width);
      }
    }
    for (; !one_stream && r + 4 <= r1; r += 4) {
      const T* p[4];
      cursor.take(base, p, 4);
      if constexpr (kFloatExtremum) extremum_rows4<K == Kind::Max>(acc, nan.data(), p[0], p[1], p[2], p[3], width);
      else add_rows4<K, A, T>(acc, p[0], p[1], p[2], p[3], width);
    }
    for (; r < r1; ++r, cursor.next()) {
      if constexpr (kFloatExtremum) extremum_row<K == Kind::Max>(acc, nan.data(), base + cursor.offset(), width);
      else add_row<K, A, T>(acc, base + cursor.offset(), width);
    }
    if constexpr (kFloatExtremum) {
      for (int64_t i = 0; i < width; ++i)
        if (nan[i]) acc[i] = std::numeric_limits<float>::quiet_NaN();
    }
    if (blocks == 1)
      for (int64_t i = 0; i < width; ++i) store(o * rows.inner + i0 + i, acc[i]);
  });
  if (blocks == 1) return;
  parallel_for(out_n, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      A a = partial[j];
      for (int64_t b = 1; b < blocks; ++b) a = step<K, A>(a, partial[b * out_n + j]);
      store(j, a);
    }
  });
}

// Any reduction of x over `axes`: runs, rows, or runs into float64 partials then rows.
template <Kind K, typename T, typename Store>
void reduce_axes(const T* x, const Shape& shape, const std::vector<int64_t>& axes, const Store& store) {
  using A = typename AccOf<K, T>::type;
  std::vector<Axis> merged = merged_axes(shape, axes);
  if (merged.empty() || !merged.back().reduced) return reduce_rows<K>(Rows(merged), x, store);
  const int64_t run = merged.back().size;
  int64_t runs = 1;
  merged.pop_back();
  bool more_reduced = false;
  for (Axis& a : merged) {
    runs *= a.size;
    more_reduced |= a.reduced;
    a.stride /= run;  // the partials' strides: one partial per run
  }
  if (!more_reduced) return reduce_runs<K>(x, runs, run, store);
  // Reduced axes before a kept one too ([N, C, H, W] over {0, 2, 3}: the runs of H * W into
  // partials [N, C], reduced as rows over N). The per-element walk this replaced ran 0.19x
  // PyTorch's speed there.
  std::vector<A> partial(static_cast<size_t>(runs));
  reduce_runs<K>(x, runs, run, [&](int64_t j, A a) { partial[j] = a; });
  // The partials are sums already (a NaN among them is inf - inf, which stays): NanSum adds them as Sum.
  reduce_rows<K == Kind::NanSum ? Kind::Sum : K>(Rows(merged), partial.data(), store);
}

double finish(ReduceOp op, double acc, int64_t count) {
  return op == ReduceOp::Mean ? (count ? acc / static_cast<double>(count) : std::nan("")) : acc;
}

}  // namespace

void reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes, const Tensor& y) {
  const float* px = x.f32();
  float* py = y.f32();
  const int64_t out_n = y.numel();
  const int64_t count = out_n ? x.numel() / out_n : 0;
  if (out_n == 0) return;
  if (count == 0) {
    CONVNET_CHECK(op == ReduceOp::Sum || op == ReduceOp::NanSum || op == ReduceOp::Mean, "E_SHAPE",
                  "max/min of an empty tensor has no identity");
    for (int64_t i = 0; i < out_n; ++i) py[i] = static_cast<float>(finish(op, 0.0, 0));
    return;
  }
  const auto store = [op, py, count](int64_t j, auto a) { py[j] = static_cast<float>(finish(op, a, count)); };
  if (out_n == 1) {
    // Everything into one value (a loss, a metric): the one run reduce_axes would find, without
    // its vectors (a malloc each, 7% of a small reduction read back: bench/op-overhead.ts).
    switch (kind_of(op)) {
      case Kind::Sum: return reduce_runs<Kind::Sum>(px, 1, count, store);
      case Kind::NanSum: return reduce_runs<Kind::NanSum>(px, 1, count, store);
      case Kind::Max: return reduce_runs<Kind::Max>(px, 1, count, store);
      case Kind::Min: return reduce_runs<Kind::Min>(px, 1, count, store);
    }
  }
  switch (kind_of(op)) {
    case Kind::Sum: return reduce_axes<Kind::Sum>(px, x.shape, axes, store);
    case Kind::NanSum: return reduce_axes<Kind::NanSum>(px, x.shape, axes, store);
    case Kind::Max: return reduce_axes<Kind::Max>(px, x.shape, axes, store);
    case Kind::Min: return reduce_axes<Kind::Min>(px, x.shape, axes, store);
  }
}

// ---- int32 --------------------------------------------------------------------------------
// Sum, max and min of int32 values, through the same runs and rows (sums in int64: exact, so
// the order does not matter). PyTorch sums int32 to int64; this library has no int64, so a sum
// outside int32 is an E_RANGE error rather than a silently wrapped value (the output then holds
// the wrapped sum, never seen without it).
void reduce_int32(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes, const Tensor& y) {
  CONVNET_CHECK(op == ReduceOp::Sum || op == ReduceOp::Max || op == ReduceOp::Min, "E_DTYPE",
                "mean: expected a float32 tensor, got int32 (cast it first)");
  const int32_t* px = x.i32();
  int32_t* py = y.i32();
  const int64_t out_n = y.numel();
  if (out_n == 0) return;
  const int64_t count = x.numel() / out_n;
  CONVNET_CHECK(count > 0 || op == ReduceOp::Sum, "E_SHAPE", "max/min of an empty tensor has no identity");
  if (count == 0) {
    std::fill(py, py + out_n, 0);
    return;
  }
  std::atomic<int64_t> bad{-1};
  const auto store = [&bad, py](int64_t j, int64_t a) {
    if (a > INT32_MAX || a < INT32_MIN) {
      int64_t none = -1;
      bad.compare_exchange_strong(none, j);
    }
    py[j] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(a)));
  };
  switch (kind_of(op)) {
    case Kind::Sum:
    case Kind::NanSum: reduce_axes<Kind::Sum>(px, x.shape, axes, store); break;  // no NaN in int32
    case Kind::Max: reduce_axes<Kind::Max>(px, x.shape, axes, store); break;
    case Kind::Min: reduce_axes<Kind::Min>(px, x.shape, axes, store); break;
  }
  // The first position found by a thread, not necessarily the first in y: for the message only.
  CONVNET_CHECK(bad.load() < 0, "E_RANGE", "sum: the int32 sum at output position ", bad.load(),
                " is outside the int32 range [-2147483648, 2147483647] (cast to float32 first)");
}

// ---- aminmax: the smallest and the largest value in one pass --------------------------------
// torch.aminmax over one axis or all of x: min's and max's values (the same bits as reduce()'s
// Min and Max: the same lanes, the same order of ties, NaN propagating) from one read of x.
namespace {

template <typename T>
struct Bounds {
  T lo, hi;
};

// extremum_lanes for both at once.
CONVNET_SIMD_CLONES Bounds<float> bounds_lanes(const float* __restrict x, int64_t n) {
  const float inf = std::numeric_limits<float>::infinity();
  Floats8 lo0 = Floats8{} + inf, lo1 = lo0, hi0 = Floats8{} - inf, hi1 = hi0;
  Ints8 nan = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    Floats8 a, b;
    std::memcpy(&a, x + i, sizeof a);
    std::memcpy(&b, x + i + 8, sizeof b);
    lo0 = a < lo0 ? a : lo0;
    lo1 = b < lo1 ? b : lo1;
    hi0 = a > hi0 ? a : hi0;
    hi1 = b > hi1 ? b : hi1;
    nan |= (a != a) | (b != b);
  }
  float lo = lo0[0], hi = hi0[0];
  int32_t any_nan = 0;
  for (int j = 0; j < 8; ++j) {  // lanes 0 to 15 in order, as extremum_lanes
    lo = lo0[j] < lo ? lo0[j] : lo;
    hi = hi0[j] > hi ? hi0[j] : hi;
    any_nan |= nan[j];
  }
  for (int j = 0; j < 8; ++j) {
    lo = lo1[j] < lo ? lo1[j] : lo;
    hi = hi1[j] > hi ? hi1[j] : hi;
  }
  for (; i < n; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
    any_nan |= x[i] != x[i];
  }
  if (any_nan) {
    for (i = 0; x[i] == x[i]; ++i) {
    }
    return {x[i], x[i]};
  }
  return {lo, hi};
}

CONVNET_SIMD_CLONES Bounds<int32_t> bounds_lanes(const int32_t* __restrict x, int64_t n) {
  int32_t lo = std::numeric_limits<int32_t>::max(), hi = std::numeric_limits<int32_t>::lowest();
  for (int64_t i = 0; i < n; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  return {lo, hi};
}

// lo[i], hi[i] over rows r0 .. r3 (extremum_rows4 for both; nan unused for int32).
template <typename T>
CONVNET_SIMD_CLONES void bounds_rows4(T* __restrict lo, T* __restrict hi, int32_t* __restrict nan, const T* __restrict r0,
                                      const T* __restrict r1, const T* __restrict r2, const T* __restrict r3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T v0 = r0[i], v1 = r1[i], v2 = r2[i], v3 = r3[i];
    T l = lo[i], h = hi[i];
    l = v0 < l ? v0 : l;
    h = v0 > h ? v0 : h;
    l = v1 < l ? v1 : l;
    h = v1 > h ? v1 : h;
    l = v2 < l ? v2 : l;
    h = v2 > h ? v2 : h;
    l = v3 < l ? v3 : l;
    h = v3 > h ? v3 : h;
    lo[i] = l;
    hi[i] = h;
    if constexpr (std::is_floating_point_v<T>) nan[i] |= (v0 != v0) | (v1 != v1) | (v2 != v2) | (v3 != v3);
  }
}

template <typename T>
CONVNET_SIMD_CLONES void bounds_row(T* __restrict lo, T* __restrict hi, int32_t* __restrict nan, const T* __restrict r0,
                                    int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T v = r0[i];
    lo[i] = v < lo[i] ? v : lo[i];
    hi[i] = v > hi[i] ? v : hi[i];
    if constexpr (std::is_floating_point_v<T>) nan[i] |= v != v;
  }
}

// reduce_rows for both bounds: store(j, {lo, hi}) for every output j once.
template <typename T, typename Store>
void bounds_rows(const Rows& rows, const T* x, const Store& store) {
  const int64_t per_block = rows.rows_per_block(), blocks = ceil_div(rows.rows, per_block);
  const int64_t chunk = rows.chunk_width(blocks), out_n = rows.outer * rows.inner;
  std::vector<T> partial(static_cast<size_t>(blocks > 1 ? 2 * blocks * out_n : 0));
  for_each_row_chunk(rows, per_block, chunk, [&](int64_t o, int64_t i0, int64_t width, int64_t r0, int64_t r1,
                                                 RowCursor& cursor, int64_t block) {
    thread_local std::vector<T> local;
    thread_local std::vector<int32_t> nan;
    if (static_cast<int64_t>(local.size()) < 2 * width) local.resize(static_cast<size_t>(2 * width));
    if (static_cast<int64_t>(nan.size()) < width) nan.resize(static_cast<size_t>(width));
    T* lo = blocks > 1 ? partial.data() + (2 * block) * out_n + o * rows.inner + i0 : local.data();
    T* hi = blocks > 1 ? partial.data() + (2 * block + 1) * out_n + o * rows.inner + i0 : local.data() + width;
    std::fill(lo, lo + width, identity<Kind::Min, T>());
    std::fill(hi, hi + width, identity<Kind::Max, T>());
    std::fill(nan.begin(), nan.begin() + width, 0);
    const T* base = x + rows.outer_offset(o) + i0;
    int64_t r = r0;
    const bool one_stream = width == rows.inner;  // as in reduce_rows
    for (; !one_stream && r + 4 <= r1; r += 4) {
      const T* p[4];
      cursor.take(base, p, 4);
      bounds_rows4<T>(lo, hi, nan.data(), p[0], p[1], p[2], p[3], width);
    }
    for (; r < r1; ++r, cursor.next()) bounds_row<T>(lo, hi, nan.data(), base + cursor.offset(), width);
    if constexpr (std::is_floating_point_v<T>) {
      for (int64_t i = 0; i < width; ++i)
        if (nan[i]) lo[i] = hi[i] = std::numeric_limits<T>::quiet_NaN();
    }
    if (blocks == 1)
      for (int64_t i = 0; i < width; ++i) store(o * rows.inner + i0 + i, Bounds<T>{lo[i], hi[i]});
  });
  if (blocks == 1) return;
  parallel_for(out_n, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      T lo = partial[j], hi = partial[out_n + j];
      for (int64_t b = 1; b < blocks; ++b) {
        lo = step<Kind::Min, T>(lo, partial[2 * b * out_n + j]);
        hi = step<Kind::Max, T>(hi, partial[(2 * b + 1) * out_n + j]);
      }
      store(j, Bounds<T>{lo, hi});
    }
  });
}

template <typename T>
void aminmax_of(const T* x, const Shape& shape, const std::vector<int64_t>& axes, T* lo, T* hi) {
  const auto store = [lo, hi](int64_t j, Bounds<T> b) {
    lo[j] = b.lo;
    hi[j] = b.hi;
  };
  std::vector<Axis> merged = merged_axes(shape, axes);
  if (merged.empty() || !merged.back().reduced) return bounds_rows<T>(Rows(merged), x, store);
  const int64_t run = merged.back().size;
  int64_t runs = 1;
  for (size_t d = 0; d + 1 < merged.size(); ++d) {
    CONVNET_CHECK(!merged[d].reduced, "E_ARG", "aminmax: expected one axis or all of them");
    runs *= merged[d].size;
  }
  blocked_runs<Bounds<T>>(
      runs, run, [&](int64_t, int64_t at, int64_t len) { return bounds_lanes(x + at, len); },
      [](Bounds<T> a, Bounds<T> b) { return Bounds<T>{step<Kind::Min, T>(a.lo, b.lo), step<Kind::Max, T>(a.hi, b.hi)}; },
      store);
}

}  // namespace

void aminmax(const Tensor& x, const std::vector<int64_t>& axes, const Tensor& ymin, const Tensor& ymax) {
  if (ymin.numel() == 0) return;
  CONVNET_CHECK(x.numel() > 0, "E_SHAPE", "aminmax: an empty reduction has no identity");
  if (x.dtype == DType::Int32) aminmax_of(x.i32(), x.shape, axes, ymin.i32(), ymax.i32());
  else aminmax_of(x.f32(), x.shape, axes, ymin.f32(), ymax.f32());
}

// ---- argmax / argmin ----------------------------------------------------------------------
// The first index of the extremum along the axis; the first NaN wins for argmax and argmin
// alike (as PyTorch). No rounding: any split of the axis gives the same index.
namespace {

// A row's first extremum: the extremum by vectors, then the first index holding it. -0 == 0, so
// the first zero of either sign wins, as in the sequential loop. [512, 4096] over rows, 2
// threads: 0.59 -> 0.08 ms (`node dist/bench/tensor-ops.js`).
template <bool kLargest>
int64_t first_extremum(const float* row, int64_t len) {
  return first_index_of(row, len, extremum_lanes<kLargest>(row, len));
}

template <bool kLargest>
CONVNET_SIMD_CLONES int64_t first_extremum(const int32_t* __restrict row, int64_t len) {
  int32_t best = row[0];
  for (int64_t r = 1; r < len; ++r) best = kLargest ? std::max(best, row[r]) : std::min(best, row[r]);
  int64_t r = 0;
  while (row[r] != best) ++r;
  return r;
}

// Whether v replaces best (found at an earlier index): a strictly better value, or the first
// NaN (a NaN best is never replaced).
template <bool kLargest, typename T>
inline bool replaces(T best, T v) {
  return (best == best) & ((kLargest ? v > best : v < best) | (v != v));
}

// best / index over rows r, r + 1, ... across the row: a strictly better number replaces the
// best (so the first of ties stays; a NaN never replaces, nor is replaced), and nan[i] notes a
// NaN, whose first index the caller then looks up (NaNs are rare). With the NaN rule inside
// the selects, GCC kept four rows a pass scalar; one row a pass read rows far apart slowly
// (argmax over dim 0 of [64, 256, 28, 28]: twice max's time).
template <bool kLargest, typename T>
CONVNET_SIMD_CLONES void arg_rows4(T* __restrict best, int32_t* __restrict index, int32_t* __restrict nan,
                                   const T* __restrict r0, const T* __restrict r1, const T* __restrict r2,
                                   const T* __restrict r3, int32_t r, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T v0 = r0[i], v1 = r1[i], v2 = r2[i], v3 = r3[i];
    T b = best[i];
    int32_t at = index[i];
    bool take = kLargest ? v0 > b : v0 < b;
    b = take ? v0 : b;
    at = take ? r : at;
    take = kLargest ? v1 > b : v1 < b;
    b = take ? v1 : b;
    at = take ? r + 1 : at;
    take = kLargest ? v2 > b : v2 < b;
    b = take ? v2 : b;
    at = take ? r + 2 : at;
    take = kLargest ? v3 > b : v3 < b;
    b = take ? v3 : b;
    at = take ? r + 3 : at;
    best[i] = b;
    index[i] = at;
    nan[i] |= (v0 != v0) | (v1 != v1) | (v2 != v2) | (v3 != v3);
  }
}

template <bool kLargest, typename T>
CONVNET_SIMD_CLONES void arg_row(T* __restrict best, int32_t* __restrict index, int32_t* __restrict nan,
                                 const T* __restrict row, int32_t r, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T v = row[i], b = best[i];
    const bool take = kLargest ? v > b : v < b;
    best[i] = take ? v : b;
    index[i] = take ? r : index[i];
    nan[i] |= v != v;
  }
}

template <bool kLargest, typename T>
void arg_extremum_of(const T* px, int64_t outer, int64_t len, int64_t inner, int32_t* py) {
  if (inner == 1) {
    parallel_for(outer, std::max<int64_t>(1, 4096 / len), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) py[o] = static_cast<int32_t>(first_extremum<kLargest>(px + o * len, len));
    });
    return;
  }
  // A kept last axis: rows of `inner` scanned in order, best values and indices across the
  // row (the per-output walk down the axis read one element per cache line: argmax over dim 0
  // of [64, 256, 28, 28] ran 0.8x PyTorch's speed).
  const Rows rows(merged_axes({outer, len, inner}, {1}));
  const int64_t per_block = rows.rows_per_block(), blocks = ceil_div(rows.rows, per_block);
  const int64_t chunk = rows.chunk_width(blocks), out_n = outer * inner;
  std::vector<T> best(static_cast<size_t>(blocks * out_n));
  std::vector<int32_t> index(static_cast<size_t>(blocks * out_n));
  for_each_row_chunk(rows, per_block, chunk, [&](int64_t o, int64_t i0, int64_t width, int64_t r0, int64_t r1,
                                                 RowCursor& cursor, int64_t block) {
    T* b = best.data() + block * out_n + o * rows.inner + i0;
    int32_t* at = (blocks > 1 ? index.data() + block * out_n : py) + o * rows.inner + i0;
    thread_local std::vector<int32_t> nan;
    if (static_cast<int64_t>(nan.size()) < width) nan.resize(static_cast<size_t>(width));
    const T* base = px + rows.outer_offset(o) + i0;
    const T* first = base + cursor.offset();
    for (int64_t i = 0; i < width; ++i) {
      b[i] = first[i];
      at[i] = static_cast<int32_t>(r0);
      nan[i] = first[i] != first[i];
    }
    cursor.next();
    int64_t r = r0 + 1;
    const bool one_stream = width == rows.inner;  // as in reduce_rows
    for (; !one_stream && r + 4 <= r1; r += 4) {
      const T* p[4];
      cursor.take(base, p, 4);
      arg_rows4<kLargest>(b, at, nan.data(), p[0], p[1], p[2], p[3], static_cast<int32_t>(r), width);
    }
    for (; r < r1; ++r, cursor.next()) arg_row<kLargest>(b, at, nan.data(), base + cursor.offset(), static_cast<int32_t>(r), width);
    // A NaN wins from its first index on: find it where one was seen.
    if constexpr (std::is_floating_point_v<T>) {
      for (int64_t i = 0; i < width; ++i) {
        if (!nan[i]) continue;
        cursor.seek(r0);
        for (r = r0; base[cursor.offset() + i] == base[cursor.offset() + i]; ++r) cursor.next();
        b[i] = base[cursor.offset() + i];
        at[i] = static_cast<int32_t>(r);
      }
    }
  });
  if (blocks == 1) return;
  parallel_for(out_n, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      T b = best[j];
      int32_t at = index[j];
      for (int64_t k = 1; k < blocks; ++k) {
        if (replaces<kLargest>(b, best[k * out_n + j])) {
          b = best[k * out_n + j];
          at = index[k * out_n + j];
        }
      }
      py[j] = at;
    }
  });
}

template <typename T>
void arg_extremum_typed(const T* px, int64_t outer, int64_t len, int64_t inner, bool largest, int32_t* py) {
  if (largest) arg_extremum_of<true>(px, outer, len, inner, py);
  else arg_extremum_of<false>(px, outer, len, inner, py);
}

}  // namespace

void arg_extremum(const Tensor& x, int64_t axis, bool largest, const Tensor& y) {
  int64_t outer = 1, inner = 1;
  const int64_t len = x.shape[axis];
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  if (len == 0 || outer * inner == 0) return;
  if (x.dtype == DType::Int32) arg_extremum_typed(x.i32(), outer, len, inner, largest, y.i32());
  else arg_extremum_typed(x.f32(), outer, len, inner, largest, y.i32());
}

}  // namespace cpu
}  // namespace convnet
