// Shared by the pooling kernels (the GPU twin of cpu/pool_window.h): where an output's window
// lies along one axis, which outputs' windows cover an input position (the backward passes
// gather instead of scatter: one thread per input element, no atomics), the ordered scatter
// of the backward passes that follow indices, and the cuDNN pooling calls.
//
// Along an axis of input size `in`, output o's window has taps at start + t * dilation
// (t < k), start = o * stride - padding; only the in-bounds taps take part (cpu/pool_window.h).
#pragma once
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>

#include "cuda/cuda_ops.h"
#include "cuda/cudnn_util.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {
namespace pool {

__host__ __device__ __forceinline__ int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
__host__ __device__ __forceinline__ int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

struct AxisWindow {
  int64_t first;   // the first in-bounds tap (PyTorch steps `start` by the dilation)
  int64_t taps;    // how many taps are in bounds (0: an empty window)
  int64_t padded;  // avg_pool2d's extent: min(start + k, in + padding) - start
};

// cpu::axis_windows for one output position.
__host__ __device__ __forceinline__ AxisWindow axis_window(int64_t o, int64_t in, int64_t k, int64_t stride, int64_t pad,
                                                           int64_t dilation) {
  const int64_t start = o * stride - pad;
  const int64_t end = imin(start + (k - 1) * dilation + 1, in);
  int64_t first = start;
  if (first < 0) first += (-first + dilation - 1) / dilation * dilation;  // `while (first < 0) first += dilation`
  AxisWindow a;
  a.first = first;
  a.taps = first < end ? (end - first + dilation - 1) / dilation : 0;
  a.padded = imin(start + k, in + pad) - start;
  return a;
}

// The outputs [*lo, *hi] (empty when lo > hi) whose windows may hold input position h; a
// candidate o holds it when (h + pad - o * stride) is a multiple of the dilation.
__host__ __device__ __forceinline__ void covering_outputs(int64_t h, int64_t out, int64_t k, int64_t stride, int64_t pad,
                                                 int64_t dilation, int64_t* lo, int64_t* hi) {
  const int64_t num = h + pad - (k - 1) * dilation;  // o * stride >= num
  *lo = num <= 0 ? 0 : (num + stride - 1) / stride;
  *hi = imin(out - 1, (h + pad) / stride);
}
__host__ __device__ __forceinline__ bool holds(int64_t h, int64_t o, int64_t stride, int64_t pad, int64_t dilation) {
  return (h + pad - o * stride) % dilation == 0;
}

// PyTorch's adaptive window of output o: [floor(o * in / out), ceil((o + 1) * in / out)).
__host__ __device__ __forceinline__ void adaptive_window(int64_t o, int64_t in, int64_t out, int64_t* start, int64_t* end) {
  *start = (o * in) / out;
  *end = ((o + 1) * in + out - 1) / out;
}
// The outputs [*lo, *hi] whose adaptive windows may hold input position h (each candidate is
// checked against its window by the caller).
__host__ __device__ __forceinline__ void adaptive_covering(int64_t h, int64_t in, int64_t out, int64_t* lo, int64_t* hi) {
  *lo = (h * out) / in;
  *hi = imin(out - 1, ((h + 1) * out + in - 1) / in - 1);
}

// Note [ordered scatter]: the backward passes that follow indices (max pooling's argmax, RoI
// pooling's) add dy[o] to dx[key(o)] for o in order. Instead of atomics (whose float sums
// change with the schedule), one warp walks a plane's items 32 at a time; lanes that share a
// key (__match_any_sync) are summed by the lowest of them, in lane order, onto the value the
// earlier items left. So every element gets exactly the CPU's sum, in the CPU's order: the
// result is deterministic and bitwise the CPU's. All 32 lanes must call it (a key < 0 is
// skipped); lane_values is the warp's 32 floats of shared memory.
__device__ __forceinline__ void warp_ordered_add(float* dst, int key, float value, float* lane_values) {
  const unsigned lane = threadIdx.x & 31u;
  lane_values[lane] = value;
  const unsigned same = __match_any_sync(0xffffffffu, key);
  __syncwarp();
  if (key >= 0 && (same & ((1u << lane) - 1u)) == 0) {  // the lowest lane holding this key
    float acc = dst[key];
    for (unsigned m = same; m != 0; m &= m - 1) acc += lane_values[__ffs(m) - 1];
    dst[key] = acc;
  }
  __syncwarp();  // the next chunk's leader may read what this one wrote
}

// Warp-per-plane kernels: 4 warps per block, a grid-stride loop over the planes (uniform per
// warp, as warp_ordered_add needs).
constexpr int kWarpsPerBlock = 4;
inline unsigned warp_blocks(int64_t planes) { return blocks_for(planes, kWarpsPerBlock); }

// dx[p][indices[p][o]] += dy[p][o] for every plane p, o in order (Note [ordered scatter]): max
// pooling's backward and stochastic pooling's. An index outside [0, in_plane) reports `site`,
// except -1 where kNoneAllowed (a window that picked nothing).
template <bool kNoneAllowed>
__global__ void ordered_scatter_kernel(const float* dy, const int32_t* indices, float* dx, int64_t planes,
                                       int64_t out_plane, int64_t in_plane, int* error_word, int site) {
  __shared__ float lane_values[kWarpsPerBlock][32];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  for (int64_t p = blockIdx.x * static_cast<int64_t>(kWarpsPerBlock) + warp; p < planes;
       p += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {
    const float* d = dy + p * out_plane;
    const int32_t* ip = indices + p * out_plane;
    float* g = dx + p * in_plane;
    for (int64_t base = 0; base < out_plane; base += 32) {
      const int64_t o = base + lane;
      int key = -1;
      float v = 0.0f;
      if (o < out_plane) {
        key = ip[o];
        v = d[o];
        if (key >= in_plane || key < (kNoneAllowed ? -1 : 0)) {
          report_error(error_word, site);
          key = -1;
        }
      }
      warp_ordered_add(g, key, v, lane_values[warp]);
    }
  }
}

// Zeroes dx ([..., H, W]) and scatters dy ([..., oh, ow]) into it by `indices` (dy's shape).
template <bool kNoneAllowed>
void ordered_scatter(const char* op, const Tensor& dy, const Tensor& indices, const Tensor& dx) {
  const int64_t out_plane = dy.shape[dy.dim() - 2] * dy.shape[dy.dim() - 1];
  const int64_t in_plane = dx.shape[dx.dim() - 2] * dx.shape[dx.dim() - 1];
  const int64_t planes = in_plane ? dx.numel() / in_plane : 0;
  if (dx.numel() == 0) return;
  cudaStream_t s = stream();
  CONVNET_CUDA_CHECK(cudaMemsetAsync(dx.f32(), 0, dx.numel() * sizeof(float), s));
  if (out_plane == 0 || planes == 0) return;
  const int site = error_site(op, "an index is out of range for the input plane");
  set_last_op(op);
  ordered_scatter_kernel<kNoneAllowed><<<warp_blocks(planes), kWarpsPerBlock * 32, 0, s>>>(
      dy.f32(), indices.i32(), dx.f32(), planes, out_plane, in_plane, device_error_word(), site);
  check_launch(op);
}

// ---- cuDNN -------------------------------------------------------------------------------------

// PyTorch's floor-mode output size with dilation 1: cuDNN's windows are exactly PyTorch's when
// the output has this size (a ceil_mode that adds no window changes nothing).
inline int64_t floor_size(int64_t in, int64_t k, int64_t pad, int64_t stride) { return (in + 2 * pad - k) / stride + 1; }

// Whether cuDNN's 2-D pooling computes PyTorch's windows for g: no dilation, no extra
// ceil_mode window, sizes that fit cuDNN's ints.
inline bool cudnn_windows_match(const Tensor& x, const Pool2dGeometry& g) {
  return g.dh == 1 && g.dw == 1 && g.oh == floor_size(g.h, g.kh, g.ph, g.sh) && g.ow == floor_size(g.w, g.kw, g.pw, g.sw) &&
         x.numel() <= INT_MAX && g.planes * g.oh * g.ow <= INT_MAX;
}

class PoolingDesc {
 public:
  PoolingDesc(const char* op, decl::cudnnPoolingMode_t mode, const Pool2dGeometry& g) {
    const decl::CudnnFunctions& f = dnn();
    CONVNET_CUDNN_CHECK(f.cudnnCreatePoolingDescriptor(&desc_));
    // Note [cuDNN max NaN]: PROPAGATE_NAN makes a window holding a NaN give NaN, as PyTorch.
    CONVNET_CUDNN_CHECK(f.cudnnSetPooling2dDescriptor(desc_, mode, decl::CUDNN_PROPAGATE_NAN, checked_int(g.kh, op),
                                                      checked_int(g.kw, op), checked_int(g.ph, op), checked_int(g.pw, op),
                                                      checked_int(g.sh, op), checked_int(g.sw, op)));
  }
  ~PoolingDesc() {
    if (desc_) dnn().cudnnDestroyPoolingDescriptor(desc_);
  }
  PoolingDesc(const PoolingDesc&) = delete;
  PoolingDesc& operator=(const PoolingDesc&) = delete;
  operator decl::cudnnPoolingDescriptor_t() const { return desc_; }

 private:
  decl::cudnnPoolingDescriptor_t desc_ = nullptr;
};

// [N, C, H, W] or [C, H, W] (as N = 1) with the spatial sizes h x w.
inline void nc_of(const Shape& s, int64_t* n, int64_t* c) {
  *n = s.size() == 4 ? s[0] : 1;
  *c = s[s.size() - 3];
}

inline void cudnn_pool_forward(const char* op, decl::cudnnPoolingMode_t mode, const Pool2dGeometry& g, const Tensor& x,
                               const Tensor& y) {
  int64_t n, c;
  nc_of(x.shape, &n, &c);
  PoolingDesc pd(op, mode, g);
  TensorDesc xd(op, n, c, g.h, g.w), yd(op, n, c, g.oh, g.ow);
  CONVNET_CUDNN_CHECK(dnn().cudnnPoolingForward(cudnn_handle(), pd, &kOne, xd, x.f32(), &kZero, yd, y.f32()));
}

}  // namespace pool
}  // namespace cuda
}  // namespace convnet
