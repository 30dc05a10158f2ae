// topk / sort along an axis on the GPU (cpu/sort.cc has the same semantics and the same keys):
// each element becomes the uint64 (order key << 32) | position, whose ascending order is the
// wanted one (NaN largest, -0 == +0, ties by position), so any correct sort of the keys gives
// the CPU's result bit for bit.
//
// Note [bitonic rows]: one block per row (a grid-stride loop over rows), sorting the row's keys
// with a bitonic network padded to a power of two P with keys that sort last (UINT64_MAX: a real
// key never has all 32 low bits set, positions being < 2^31). Rows with P <= 4096 sort in shared
// memory (32 KiB). Longer rows sort the same way in a global scratch buffer, one row-sized slice
// per block, with fewer blocks so the scratch stays near 128 MiB: O(P log^2 P) per row, correct
// for any length but slower than a radix select would be for a small k of a very long row (a
// retrieval gallery of tens of thousands is still well under a second). The k first keys are
// then turned back into values (read from x, so a NaN's payload and -0 survive) and positions.
#include <cstdint>

#include "core/error.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {
namespace {

constexpr int64_t kSharedKeys = 4096;              // 32 KiB of uint64 keys per block
constexpr int64_t kScratchBytes = int64_t{1} << 27;  // the long rows' scratch, about 128 MiB

__device__ __forceinline__ uint32_t order_key(float v) {
  if (v != v) return 0xFFFFFFFFu;
  if (v == 0.0f) v = 0.0f;  // -0 -> +0
  const uint32_t bits = __float_as_uint(v);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}
__device__ __forceinline__ uint32_t order_key(int32_t v) { return static_cast<uint32_t>(v) ^ 0x80000000u; }

// Sorts keys[0, P) ascending (P a power of two) with the whole block; ends synchronised.
__device__ void bitonic_sort(uint64_t* keys, int64_t P) {
  for (int64_t size = 2; size <= P; size <<= 1) {
    for (int64_t stride = size >> 1; stride > 0; stride >>= 1) {
      for (int64_t i = threadIdx.x; i < P; i += blockDim.x) {
        const int64_t j = i ^ stride;
        if (j > i) {
          const bool ascending = (i & size) == 0;
          const uint64_t a = keys[i], b = keys[j];
          if ((a > b) == ascending) {
            keys[i] = b;
            keys[j] = a;
          }
        }
      }
      __syncthreads();
    }
  }
}

// One row per block (grid-stride): keys into `keys` (shared, or this block's scratch slice when
// scratch is set), sort, write the k first.
template <typename T>
__global__ void topk_kernel(const T* px, int64_t rows, int64_t len, int64_t inner, int64_t k, bool largest, int64_t P,
                            uint64_t* scratch, T* pv, int32_t* pi) {
  extern __shared__ uint64_t shared_keys[];
  uint64_t* keys = scratch ? scratch + blockIdx.x * P : shared_keys;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t o = row / inner, i = row % inner;
    const T* x = px + o * len * inner + i;
    for (int64_t r = threadIdx.x; r < P; r += blockDim.x) {
      if (r < len) {
        const uint32_t key = largest ? ~order_key(x[r * inner]) : order_key(x[r * inner]);
        keys[r] = (static_cast<uint64_t>(key) << 32) | static_cast<uint64_t>(r);
      } else {
        keys[r] = ~uint64_t{0};
      }
    }
    __syncthreads();
    bitonic_sort(keys, P);
    T* v = pv + o * k * inner + i;
    int32_t* idx = pi + o * k * inner + i;
    for (int64_t r = threadIdx.x; r < k; r += blockDim.x) {
      const int64_t at = static_cast<int64_t>(keys[r] & 0xFFFFFFFFu);
      v[r * inner] = x[at * inner];
      idx[r * inner] = static_cast<int32_t>(at);
    }
    __syncthreads();  // keys[] is rewritten for the next row
  }
}

template <typename T>
void topk_launch(const T* px, int64_t outer, int64_t len, int64_t inner, int64_t k, bool largest, T* pv, int32_t* pi) {
  const char* op = "topk";
  const int64_t rows = outer * inner;
  int64_t P = 1;
  while (P < len) P <<= 1;
  const int threads = static_cast<int>(std::min<int64_t>(1024, std::max<int64_t>(32, P / 2)));
  set_last_op(op);
  if (P <= kSharedKeys) {
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(rows, 65535LL * 8));
    topk_kernel<T><<<blocks, threads, static_cast<size_t>(P) * sizeof(uint64_t), stream()>>>(
        px, rows, len, inner, k, largest, P, nullptr, pv, pi);
    check_launch(op);
    return;
  }
  const int64_t blocks = std::max<int64_t>(1, std::min<int64_t>(rows, kScratchBytes / (P * int64_t{8})));
  DeviceBuffer scratch(static_cast<size_t>(blocks * P) * sizeof(uint64_t));  // freed in stream order
  topk_kernel<T><<<static_cast<unsigned>(blocks), threads, 0, stream()>>>(px, rows, len, inner, k, largest, P,
                                                                          scratch.as<uint64_t>(), pv, pi);
  check_launch(op);
}

}  // namespace

void topk(const Tensor& x, int64_t axis, int64_t k, bool largest, const Tensor& values, const Tensor& indices) {
  int64_t outer = 1, inner = 1;
  const int64_t len = x.shape[axis];
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  if (k == 0 || outer * inner == 0) return;
  if (x.dtype == DType::Int32) topk_launch(x.i32(), outer, len, inner, k, largest, values.i32(), indices.i32());
  else topk_launch(x.f32(), outer, len, inner, k, largest, values.f32(), indices.i32());
}

}  // namespace cuda
}  // namespace convnet
