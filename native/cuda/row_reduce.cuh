// What the GPU twins of vector_norm, logsumexp, normalize and cosine_similarity share (the CPU's
// row_lanes.h): x viewed as [outer, len, inner] around a run of adjacent axes, and one float64
// value per output reduced over the run, deterministically:
//  - inner == 1 (contiguous runs): each run is cut into chunks of kChunk elements (the CPU's
//    16384); one block of kReduceThreads threads per chunk, each thread a fixed stride, the
//    block's values combined in a fixed tree; then one thread per output combines its chunks'
//    partials in order;
//  - inner > 1: one thread per output walks the run (neighbouring threads read neighbouring
//    columns), in order.
// No atomics, so every run gives the same bits (the CPU adds in another order: the tests allow
// float32 rounding between the two). term(out, e) gives the value of element e (its index in
// the [outer, len, inner] tensors, so a term may read several of them; out = o * inner + i, the
// output it belongs to), combine(a, b) adds two (a sum, or a max that lets NaN win).
#pragma once
#include <cstdint>
#include <vector>

#include "core/storage.h"
#include "cuda/context.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {
namespace rows {

struct RunLayout {
  int64_t outer = 1, len = 1, inner = 1;
  int64_t outputs() const { return outer * inner; }
};

inline RunLayout run_layout(const Shape& shape, const std::vector<int64_t>& axes) {
  RunLayout l;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (!axes.empty() && d < axes.front()) l.outer *= shape[d];
    else if (!axes.empty() && d <= axes.back()) l.len *= shape[d];
    else l.inner *= shape[d];
  }
  return l;
}

constexpr int64_t kChunk = int64_t{1} << 14;
constexpr int kReduceThreads = 256;

inline int64_t chunks_of(int64_t len) { return std::max<int64_t>(1, (len + kChunk - 1) / kChunk); }

// Element (o, r, i)'s position in x and its output.
__device__ __forceinline__ int64_t output_of(int64_t element, int64_t len, int64_t inner) {
  return (element / (len * inner)) * inner + element % inner;
}

template <typename Term, typename Combine>
__global__ void chunk_partials(int64_t len, int64_t chunks, int64_t tasks, double init, Term term, Combine combine,
                               double* partial) {
  __shared__ double values[kReduceThreads];
  const int t = threadIdx.x;
  for (int64_t task = blockIdx.x; task < tasks; task += gridDim.x) {
    const int64_t row = task / chunks, r0 = (task % chunks) * kChunk;
    const int64_t r1 = len < r0 + kChunk ? len : r0 + kChunk;
    double acc = init;
    for (int64_t r = r0 + t; r < r1; r += kReduceThreads) acc = combine(acc, term(row, row * len + r));
    values[t] = acc;
    __syncthreads();
    for (int s = kReduceThreads / 2; s > 0; s >>= 1) {
      if (t < s) values[t] = combine(values[t], values[t + s]);
      __syncthreads();
    }
    if (t == 0) partial[task] = values[0];
    __syncthreads();
  }
}

template <typename Combine>
__global__ void combine_chunks(const double* partial, int64_t rows, int64_t chunks, Combine combine, double* out) {
  for (int64_t row = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; row < rows;
       row += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double acc = partial[row * chunks];
    for (int64_t c = 1; c < chunks; ++c) acc = combine(acc, partial[row * chunks + c]);
    out[row] = acc;
  }
}

template <typename Term, typename Combine>
__global__ void column_totals(RunLayout l, double init, Term term, Combine combine, double* out) {
  const int64_t outputs = l.outer * l.inner;
  for (int64_t out_i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; out_i < outputs;
       out_i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = out_i / l.inner, i = out_i % l.inner;
    const int64_t base = o * l.len * l.inner + i;
    double acc = init;
    for (int64_t r = 0; r < l.len; ++r) acc = combine(acc, term(out_i, base + r * l.inner));
    out[out_i] = acc;
  }
}

// out[o * inner + i] = the combination of term(out, e) over the elements e = (o, r, i) of the
// run, in order of r, starting from init. out is a device array of l.outputs() doubles.
template <typename Term, typename Combine>
void reduce_runs(const char* op, const RunLayout& l, double init, Term term, Combine combine, double* out) {
  const int64_t outputs = l.outputs();
  if (outputs == 0) return;
  cudaStream_t s = stream();
  set_last_op(op);
  if (l.inner > 1 || l.len == 0) {
    column_totals<<<blocks_for(outputs), kThreads, 0, s>>>(l, init, term, combine, out);
    check_launch(op);
    return;
  }
  const int64_t chunks = chunks_of(l.len), tasks = outputs * chunks;
  if (chunks == 1) {
    chunk_partials<<<static_cast<unsigned>(std::min<int64_t>(tasks, int64_t{1} << 20)), kReduceThreads, 0, s>>>(
        l.len, chunks, tasks, init, term, combine, out);
    check_launch(op);
    return;
  }
  DeviceBuffer partial(static_cast<size_t>(tasks) * sizeof(double));  // freed in stream order
  chunk_partials<<<static_cast<unsigned>(std::min<int64_t>(tasks, int64_t{1} << 20)), kReduceThreads, 0, s>>>(
      l.len, chunks, tasks, init, term, combine, partial.as<double>());
  check_launch(op);
  combine_chunks<<<blocks_for(outputs), kThreads, 0, s>>>(partial.as<double>(), outputs, chunks, combine, out);
  check_launch(op);
}

// Combinations: a float64 sum, and a max / min in which NaN wins.
struct Add {
  __device__ __forceinline__ double operator()(double a, double b) const { return a + b; }
};
struct MaxNan {
  __device__ __forceinline__ double operator()(double a, double b) const { return (a != a || b != b) ? NAN : fmax(a, b); }
};
struct MinNan {
  __device__ __forceinline__ double operator()(double a, double b) const { return (a != a || b != b) ? NAN : fmin(a, b); }
};

}  // namespace rows
}  // namespace cuda
}  // namespace convnet
