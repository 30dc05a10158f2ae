// conv2d on cuDNN: forward, backward-data, backward-filter (the formula is cpu/nn_ops.h's), the
// depthwise three (the same calls: cuDNN's group count covers groups == C), and bias_backward.
//
// Two paths. The backend (graph) API with an execution plan cached per problem (conv_graph.cc),
// opt-in for now (CONVNET_CUDNN_GRAPH=1: it has not run on a GPU yet, see conv_graph.h): in
// cuDNN 9 the legacy calls redo the graph API's planning at every call
// (~100 us of host time per convolution on the GPU run, more than the GPU time of small layers),
// a cached plan only executes. It takes the problem as it is: the bottom/right padding is the
// convolution's POST_PADDINGS (run_graph, post_padding), no padded copies. When the graph API
// cannot run a problem (nothing builds or an execution failed: remembered per problem), or the
// post padding would have to be negative, the legacy API below runs it as before (its copies
// first try the graph API once more, on cuDNN's symmetric problem). Without CONVNET_CUDNN_GRAPH=1
// (read at each call) only the legacy path runs: the one the GPU runs of this session tested.
//
// The legacy path:
//
// Asymmetric padding. cuDNN pads both sides of a dimension alike (pad_top on the bottom too),
// and checks that y's size is the one that padding gives. Our kernels take Ho, Wo from the
// tensors instead (the bottom/right padding only sized them, and may differ from the top/left
// one, even be negative for conv_transpose2d's outputPadding). So each dimension is mapped to a
// problem cuDNN accepts whose first Ho rows of output are ours:
//   - the input gets H' = max(H, (Ho - 1) * stride + dilation * (kh - 1) + 1 - 2 * pad_top, 1)
//     rows: zero rows appended at the bottom (a padded copy) when the last output row would read
//     below what cuDNN's symmetric padding covers (a larger bottom padding);
//   - cuDNN's output then has Ho' = (H' + 2 * pad_top - dilation * (kh - 1) - 1) / stride + 1
//     >= Ho rows (more when the bottom padding is smaller than the top one): the forward writes
//     a larger temporary and crops it; the backward ones read dy padded with zero rows (the
//     extra outputs have no gradient) and, when the input was padded, write a larger dx and
//     crop it. Output row oh reads input rows oh * stride - pad_top + i * dilation in both
//     problems, so the rows kept are exactly ours. Likewise for the columns.
//
// Algorithms. Per problem (every shape, the geometry, groups, the math type, the direction,
// determinism and the benchmark switch) a list of algorithms is computed once and cached:
// cuDNN's heuristic order (cudnnGet*Algorithm_v7), or with cuda.setOptions({ benchmark: true })
// the measured order of a timed search (cudnnFind*AlgorithmEx, which waits for the device: it
// runs once per problem). Entries whose status is not success are dropped, and the
// non-deterministic ones when settings().deterministic. Each entry keeps its workspace size,
// queried once at search time (cuDNN 9's cudnnGet*WorkspaceSize costs ~60 us of host time per
// call, GPU run), so a call makes no query. A call tries the list in order: an
// algorithm whose workspace cannot be had (E_OOM) or whose call fails is skipped for the next.
//
// Math: CUDNN_DEFAULT_MATH when TF32 is allowed (settings().tf32_cudnn, PyTorch's
// cudnn.allow_tf32; cuDNN may then use TF32 tensor cores, and the math type of the chosen
// result is set as PyTorch does), CUDNN_FMA_MATH (plain float32) otherwise.
#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "cuda/conv_graph.h"
#include "cuda/conv_kernels.h"
#include "cuda/context.h"
#include "cuda/cuda_ops.h"
#include "cuda/cudnn_util.h"

namespace convnet {
namespace cuda {
namespace {

using decl::cudnnMathType_t;
using decl::cudnnStatus_t;

class FilterDesc {
 public:
  FilterDesc(const char* op, const Shape& w) {
    const decl::CudnnFunctions& f = dnn();
    CONVNET_CUDNN_CHECK(f.cudnnCreateFilterDescriptor(&desc_));
    CONVNET_CUDNN_CHECK(f.cudnnSetFilter4dDescriptor(desc_, decl::CUDNN_DATA_FLOAT, decl::CUDNN_TENSOR_NCHW,
                                                     checked_int(w[0], op), checked_int(w[1], op),
                                                     checked_int(w[2], op), checked_int(w[3], op)));
  }
  ~FilterDesc() {
    if (desc_) dnn().cudnnDestroyFilterDescriptor(desc_);
  }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
  operator decl::cudnnFilterDescriptor_t() const { return desc_; }

 private:
  decl::cudnnFilterDescriptor_t desc_ = nullptr;
};

class ConvDesc {
 public:
  ConvDesc(const char* op, const Conv2dGeometry& g, cudnnMathType_t math) {
    const decl::CudnnFunctions& f = dnn();
    CONVNET_CUDNN_CHECK(f.cudnnCreateConvolutionDescriptor(&desc_));
    CONVNET_CUDNN_CHECK(f.cudnnSetConvolution2dDescriptor(
        desc_, checked_int(g.pad_top, op), checked_int(g.pad_left, op), checked_int(g.stride_h, op),
        checked_int(g.stride_w, op), checked_int(g.dilation_h, op), checked_int(g.dilation_w, op),
        decl::CUDNN_CROSS_CORRELATION, decl::CUDNN_DATA_FLOAT));
    CONVNET_CUDNN_CHECK(f.cudnnSetConvolutionGroupCount(desc_, checked_int(g.groups, op)));
    CONVNET_CUDNN_CHECK(f.cudnnSetConvolutionMathType(desc_, math));
  }
  ~ConvDesc() {
    if (desc_) dnn().cudnnDestroyConvolutionDescriptor(desc_);
  }
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
  operator decl::cudnnConvolutionDescriptor_t() const { return desc_; }

 private:
  decl::cudnnConvolutionDescriptor_t desc_ = nullptr;
};

enum Direction : int64_t { kForward = 0, kBackwardData = 1, kBackwardFilter = 2 };

// The problem handed to cuDNN (see the file comment): x [N, C, H', W'], y [N, K, Ho', Wo'].
struct Plan {
  int64_t N, C, H, W, K, Cg, kh, kw, Ho, Wo;  // ours
  int64_t Hc, Wc, Hoc, Woc;                    // cuDNN's
  bool pad_x() const { return Hc != H || Wc != W; }
  bool pad_y() const { return Hoc != Ho || Woc != Wo; }
};

int64_t cudnn_output(int64_t in, int64_t pad, int64_t dilation, int64_t k, int64_t stride) {
  return (in + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
}

Plan make_plan(const Shape& x, const Shape& w, const Shape& y, const Conv2dGeometry& g) {
  Plan p;
  p.N = x[0], p.C = x[1], p.H = x[2], p.W = x[3];
  p.K = w[0], p.Cg = w[1], p.kh = w[2], p.kw = w[3];
  p.Ho = y[2], p.Wo = y[3];
  p.Hc = std::max({p.H, (p.Ho - 1) * g.stride_h + g.dilation_h * (p.kh - 1) + 1 - 2 * g.pad_top, int64_t{1}});
  p.Wc = std::max({p.W, (p.Wo - 1) * g.stride_w + g.dilation_w * (p.kw - 1) + 1 - 2 * g.pad_left, int64_t{1}});
  p.Hoc = cudnn_output(p.Hc, g.pad_top, g.dilation_h, p.kh, g.stride_h);
  p.Woc = cudnn_output(p.Wc, g.pad_left, g.dilation_w, p.kw, g.stride_w);
  return p;
}

cudnnMathType_t requested_math() { return settings().tf32_cudnn ? decl::CUDNN_DEFAULT_MATH : decl::CUDNN_FMA_MATH; }

// Descriptors and device pointers of one call, in cuDNN's shapes. x/y/w are the forward's
// names: for backward-data x is dx and y is dy; for backward-filter w is dw.
struct Call {
  const char* op;
  Plan plan;
  const Conv2dGeometry& g;
  TensorDesc x_desc, y_desc;
  FilterDesc w_desc;
  ConvDesc conv;
  const float* x;
  const float* y;
  const float* w;
  float* out;  // y (forward), x (backward-data) or w (backward-filter)

  Call(const char* op_, const Plan& p, const Conv2dGeometry& geo)
      : op(op_),
        plan(p),
        g(geo),
        x_desc(op_, p.N, p.C, p.Hc, p.Wc),
        y_desc(op_, p.N, p.K, p.Hoc, p.Woc),
        w_desc(op_, Shape{p.K, p.Cg, p.kh, p.kw}),
        conv(op_, geo, requested_math()) {}
};

// ---- the three directions' cuDNN calls, behind one interface ----------------------------------
struct Forward {
  using Perf = decl::cudnnConvolutionFwdAlgoPerf_t;
  using Algo = decl::cudnnConvolutionFwdAlgo_t;
  static constexpr Direction kDirection = kForward;
  static constexpr int kAlgoCount = decl::CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
  static bool lossy(Algo a) {
    return a == decl::CUDNN_CONVOLUTION_FWD_ALGO_FFT || a == decl::CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
           a == decl::CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
  }
  static cudnnStatus_t max_count(int* n) { return dnn().cudnnGetConvolutionForwardAlgorithmMaxCount(cudnn_handle(), n); }
  static cudnnStatus_t heuristic(const Call& c, int n, int* got, Perf* perf) {
    return dnn().cudnnGetConvolutionForwardAlgorithm_v7(cudnn_handle(), c.x_desc, c.w_desc, c.conv, c.y_desc, n, got, perf);
  }
  static cudnnStatus_t find(const Call& c, int n, int* got, Perf* perf, void* ws, size_t bytes) {
    return dnn().cudnnFindConvolutionForwardAlgorithmEx(cudnn_handle(), c.x_desc, c.x, c.w_desc, c.w, c.conv, c.y_desc,
                                                        c.out, n, got, perf, ws, bytes);
  }
  static cudnnStatus_t workspace(const Call& c, Algo a, size_t* bytes) {
    return dnn().cudnnGetConvolutionForwardWorkspaceSize(cudnn_handle(), c.x_desc, c.w_desc, c.conv, c.y_desc, a, bytes);
  }
  static cudnnStatus_t run(const Call& c, Algo a, void* ws, size_t bytes) {
    return dnn().cudnnConvolutionForward(cudnn_handle(), &kOne, c.x_desc, c.x, c.w_desc, c.w, c.conv, a, ws, bytes, &kZero,
                                         c.y_desc, c.out);
  }
};

struct BackwardData {
  using Perf = decl::cudnnConvolutionBwdDataAlgoPerf_t;
  using Algo = decl::cudnnConvolutionBwdDataAlgo_t;
  static constexpr Direction kDirection = kBackwardData;
  static constexpr int kAlgoCount = decl::CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
  static bool lossy(Algo a) {
    return a == decl::CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT || a == decl::CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
           a == decl::CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
  }
  static cudnnStatus_t max_count(int* n) { return dnn().cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnn_handle(), n); }
  static cudnnStatus_t heuristic(const Call& c, int n, int* got, Perf* perf) {
    return dnn().cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnn_handle(), c.w_desc, c.y_desc, c.conv, c.x_desc, n, got,
                                                             perf);
  }
  static cudnnStatus_t find(const Call& c, int n, int* got, Perf* perf, void* ws, size_t bytes) {
    return dnn().cudnnFindConvolutionBackwardDataAlgorithmEx(cudnn_handle(), c.w_desc, c.w, c.y_desc, c.y, c.conv,
                                                             c.x_desc, c.out, n, got, perf, ws, bytes);
  }
  static cudnnStatus_t workspace(const Call& c, Algo a, size_t* bytes) {
    return dnn().cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn_handle(), c.w_desc, c.y_desc, c.conv, c.x_desc, a,
                                                              bytes);
  }
  static cudnnStatus_t run(const Call& c, Algo a, void* ws, size_t bytes) {
    return dnn().cudnnConvolutionBackwardData(cudnn_handle(), &kOne, c.w_desc, c.w, c.y_desc, c.y, c.conv, a, ws, bytes,
                                              &kZero, c.x_desc, c.out);
  }
};

struct BackwardFilter {
  using Perf = decl::cudnnConvolutionBwdFilterAlgoPerf_t;
  using Algo = decl::cudnnConvolutionBwdFilterAlgo_t;
  static constexpr Direction kDirection = kBackwardFilter;
  static constexpr int kAlgoCount = decl::CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
  static bool lossy(Algo a) {
    return a == decl::CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT || a == decl::CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING ||
           a == decl::CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED;
  }
  static cudnnStatus_t max_count(int* n) {
    return dnn().cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnn_handle(), n);
  }
  static cudnnStatus_t heuristic(const Call& c, int n, int* got, Perf* perf) {
    return dnn().cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnn_handle(), c.x_desc, c.y_desc, c.conv, c.w_desc, n,
                                                               got, perf);
  }
  static cudnnStatus_t find(const Call& c, int n, int* got, Perf* perf, void* ws, size_t bytes) {
    return dnn().cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnn_handle(), c.x_desc, c.x, c.y_desc, c.y, c.conv,
                                                               c.w_desc, c.out, n, got, perf, ws, bytes);
  }
  static cudnnStatus_t workspace(const Call& c, Algo a, size_t* bytes) {
    return dnn().cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnn_handle(), c.x_desc, c.y_desc, c.conv, c.w_desc, a,
                                                                bytes);
  }
  static cudnnStatus_t run(const Call& c, Algo a, void* ws, size_t bytes) {
    return dnn().cudnnConvolutionBackwardFilter(cudnn_handle(), &kOne, c.x_desc, c.x, c.y_desc, c.y, c.conv, a, ws, bytes,
                                                &kZero, c.w_desc, c.out);
  }
};

// ---- the algorithm cache ------------------------------------------------------------------------
struct Choice {
  int algo;
  cudnnMathType_t math;  // the math type to run it with
  size_t workspace;      // its workspace in bytes, queried once by search()
};

std::mutex& cache_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::vector<int64_t>, std::vector<Choice>>& cache() {
  static auto* c = new std::map<std::vector<int64_t>, std::vector<Choice>>();  // lives until the process exits
  return *c;
}

std::vector<int64_t> cache_key(Direction dir, const Plan& p, const Conv2dGeometry& g) {
  const Settings& s = settings();
  return {dir,        p.N,        p.C,          p.Hc,         p.Wc,       p.K,        p.Cg,
          p.kh,       p.kw,       p.Hoc,        p.Woc,        g.pad_top,  g.pad_left, g.stride_h,
          g.stride_w, g.dilation_h, g.dilation_w, g.groups,   s.tf32_cudnn, s.deterministic, s.benchmark};
}

// Clears a non-sticky CUDA error that a failed library call may have left, so that the next
// check_launch does not blame another op for it.
void clear_cuda_error() { cudaGetLastError(); }

template <typename D>
std::vector<Choice> search(const Call& c) {
  const char* op = c.op;
  int max_count = 0;
  CONVNET_CUDNN_CHECK(D::max_count(&max_count));
  max_count = std::max(max_count, static_cast<int>(D::kAlgoCount));
  std::vector<typename D::Perf> perf(max_count);
  int got = 0;
  if (!settings().benchmark) {
    CONVNET_CUDNN_CHECK(D::heuristic(c, max_count, &got, perf.data()));
  } else {
    // The timed search needs a workspace: as large as the hungriest algorithm wants (the
    // search only tries those that fit), or none when that cannot be had.
    size_t most = 0;
    for (int a = 0; a < D::kAlgoCount; ++a) {
      size_t bytes = 0;
      if (D::workspace(c, static_cast<typename D::Algo>(a), &bytes) == decl::CUDNN_STATUS_SUCCESS)
        most = std::max(most, bytes);
    }
    DeviceBuffer ws;
    try {
      ws = DeviceBuffer(most);
    } catch (const Error& e) {
      if (e.code() != "E_OOM") throw;
    }
    CONVNET_CUDNN_CHECK(D::find(c, max_count, &got, perf.data(), ws.data(), ws.bytes()));
  }
  const bool tf32 = settings().tf32_cudnn, deterministic = settings().deterministic;
  std::vector<Choice> list;
  for (int i = 0; i < got && i < max_count; ++i) {
    const typename D::Perf& r = perf[i];
    if (r.status != decl::CUDNN_STATUS_SUCCESS) continue;
    if (deterministic && r.determinism != decl::CUDNN_DETERMINISTIC) continue;
    // Plain float32 asked for (TF32 off): leave out the FFT and non-fused Winograd algorithms.
    // They round in the transformed domain: on AlexNet conv2's weight gradient (5x5, 1458-term
    // sums) cuDNN's heuristic pick gave 9.4e-4 of the largest value against float64, where the
    // GEMM-based ones give 5e-7 (GPU run, scripts/gpu/diag-conv.js). With TF32 allowed they stay:
    // TF32 itself is about that coarse.
    if (!tf32 && D::lossy(r.algo)) continue;
    // With TF32 allowed, run each algorithm with the math type it was rated for (as PyTorch
    // does); without, always with FMA math, so that nothing can use TF32.
    const cudnnMathType_t math = tf32 ? r.mathType : decl::CUDNN_FMA_MATH;
    // The workspace size, asked once here (with the math type it will run with): in cuDNN 9
    // each cudnnGet*WorkspaceSize call costs ~60 us of host time (GPU run), too much per call.
    size_t bytes = 0;
    if (dnn().cudnnSetConvolutionMathType(c.conv, math) != decl::CUDNN_STATUS_SUCCESS) continue;
    if (D::workspace(c, r.algo, &bytes) != decl::CUDNN_STATUS_SUCCESS) continue;
    list.push_back({static_cast<int>(r.algo), math, bytes});
  }
  CONVNET_CHECK(!list.empty(), "E_CUDNN", op, ": cuDNN offers no ", deterministic ? "deterministic " : "",
                "algorithm for this convolution (x [", c.plan.N, ", ", c.plan.C, ", ", c.plan.Hc, ", ", c.plan.Wc,
                "], w [", c.plan.K, ", ", c.plan.Cg, ", ", c.plan.kh, ", ", c.plan.kw, "], groups ", c.g.groups, ")");
  return list;
}

// The cached list (a reference into the map: its nodes stay put, nothing is ever erased).
template <typename D>
const std::vector<Choice>& algorithms(const Call& c) {
  const std::vector<int64_t> key = cache_key(D::kDirection, c.plan, c.g);
  {
    std::lock_guard<std::mutex> lock(cache_mutex());
    auto it = cache().find(key);
    if (it != cache().end()) return it->second;
  }
  std::vector<Choice> list = search<D>(c);
  std::lock_guard<std::mutex> lock(cache_mutex());
  return cache().emplace(key, std::move(list)).first->second;
}

// ---- the graph API first ---------------------------------------------------------------------
// The bottom/right padding that gives exactly `out` outputs from `in` inputs with the top/left
// padding `pre`: any value in [lo, lo + stride - 1] does. The symmetric one (post == pre) when it
// fits, which every engine supports; else the smallest that is not negative. False when every
// fitting value is negative (the input's last rows are never read and outputPadding >= stride:
// only the legacy path's copies handle that).
bool post_padding(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t dilation, int64_t pre, int64_t* post) {
  const int64_t lo = (out - 1) * stride + dilation * (k - 1) + 1 - in - pre;
  const int64_t hi = lo + stride - 1;
  if (pre >= lo && pre <= hi) {
    *post = pre;
  } else if (lo >= 0) {
    *post = lo;
  } else if (hi >= 0) {
    *post = 0;
  } else {
    return false;
  }
  return true;
}

// Our problem as it is (x, w, y in the forward's names and shapes), through the graph API: no
// padded copies, the asymmetric padding is the convolution's own. False: use the legacy path.
bool run_graph(const char* op, Direction dir, const Shape& x, const Shape& w, const Shape& y, const Conv2dGeometry& g,
               const float* xp, const float* wp, const float* yp) {
  if (!conv_graph::enabled()) return false;
  conv_graph::Problem p;
  p.direction = static_cast<conv_graph::Direction>(dir);
  for (int i = 0; i < 4; ++i) p.x[i] = x[i], p.w[i] = w[i], p.y[i] = y[i];
  p.pre[0] = g.pad_top, p.pre[1] = g.pad_left;
  p.stride[0] = g.stride_h, p.stride[1] = g.stride_w;
  p.dilation[0] = g.dilation_h, p.dilation[1] = g.dilation_w;
  p.groups = g.groups;
  if (!post_padding(x[2], y[2], w[2], g.stride_h, g.dilation_h, g.pad_top, &p.post[0])) return false;
  if (!post_padding(x[3], y[3], w[3], g.stride_w, g.dilation_w, g.pad_left, &p.post[1])) return false;
  return conv_graph::run(op, p, const_cast<float*>(xp), const_cast<float*>(wp), const_cast<float*>(yp));
}

// Runs the first algorithm of the list that works (see the file comment); first, the graph API
// on cuDNN's problem (symmetric padding, the padded copies), for when it would not take ours.
template <typename D>
void run_convolution(const Call& c) {
  const char* op = c.op;
  {
    const Plan& p = c.plan;
    const float* x = D::kDirection == kBackwardData ? c.out : c.x;
    const float* w = D::kDirection == kBackwardFilter ? c.out : c.w;
    const float* y = D::kDirection == kForward ? c.out : c.y;
    // For cuDNN's sizes (Hc, Hoc) the post padding run_graph picks is the pre padding.
    if (run_graph(op, D::kDirection, Shape{p.N, p.C, p.Hc, p.Wc}, Shape{p.K, p.Cg, p.kh, p.kw},
                  Shape{p.N, p.K, p.Hoc, p.Woc}, c.g, x, w, y))
      return;
  }
  set_last_op(op);
  const std::vector<Choice>& list = algorithms<D>(c);
  cudnnStatus_t last = decl::CUDNN_STATUS_SUCCESS;
  bool out_of_memory = false;
  for (const Choice& choice : list) {
    const auto algo = static_cast<typename D::Algo>(choice.algo);
    if (dnn().cudnnSetConvolutionMathType(c.conv, choice.math) != decl::CUDNN_STATUS_SUCCESS) continue;
    const size_t bytes = choice.workspace;
    DeviceBuffer ws;
    try {
      ws = DeviceBuffer(bytes);
    } catch (const Error& e) {
      if (e.code() != "E_OOM") throw;
      out_of_memory = true;
      continue;
    }
    const cudnnStatus_t status = D::run(c, algo, ws.data(), bytes);
    if (status == decl::CUDNN_STATUS_SUCCESS) return;
    clear_cuda_error();
    last = status;
  }
  if (last != decl::CUDNN_STATUS_SUCCESS) check_cudnn(last, op, "every cuDNN algorithm offered");
  CONVNET_CHECK(!out_of_memory, "E_OOM", op, ": no convolution algorithm's workspace fits in the GPU memory left");
  fail("E_CUDNN", op, ": no cuDNN algorithm could run this convolution");
}

// dy padded with zero rows/columns to cuDNN's output size, or dy itself.
const float* padded_or_same(const char* op, const float* src, int64_t planes, int64_t h, int64_t w, int64_t hc,
                            int64_t wc, DeviceBuffer& scratch) {
  if (h == hc && w == wc) return src;
  scratch = DeviceBuffer(static_cast<size_t>(planes * hc * wc) * sizeof(float));
  copy_window(op, src, h, w, scratch.as<float>(), planes, hc, wc);
  return scratch.as<float>();
}

// out[n, c, ...] += b[c]: our kernel (cudnnAddTensor costs several microseconds more of host
// time per call in cuDNN 9, for the same work).
void add_channel_bias(const char* op, const Tensor& b, const Tensor& out) {
  int64_t inner = 1;
  for (int64_t a = 2; a < out.dim(); ++a) inner *= out.shape[a];
  cuda::add_channel_bias(op, out.f32(), b.f32(), out.shape[0], out.shape[1], inner);
}

void fill_zero(const char* op, const Tensor& t) {
  if (t.numel() > 0) CONVNET_CUDA_CHECK(cudaMemsetAsync(t.f32(), 0, static_cast<size_t>(t.numel()) * sizeof(float), stream()));
}

}  // namespace

void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* b, const Conv2dGeometry& g, const Tensor& y) {
  const char* op = "conv2d";
  if (y.numel() == 0) return;
  if (run_graph(op, kForward, x.shape, w.shape, y.shape, g, x.f32(), w.f32(), y.f32())) {
    if (b) add_channel_bias(op, *b, y);
    return;
  }
  const Plan p = make_plan(x.shape, w.shape, y.shape, g);
  DeviceBuffer x_pad, y_big;
  const float* xp = padded_or_same(op, x.f32(), p.N * p.C, p.H, p.W, p.Hc, p.Wc, x_pad);
  if (p.pad_y()) y_big = DeviceBuffer(static_cast<size_t>(p.N * p.K * p.Hoc * p.Woc) * sizeof(float));
  Call c(op, p, g);
  c.x = xp;
  c.w = w.f32();
  c.y = nullptr;
  c.out = p.pad_y() ? y_big.as<float>() : y.f32();
  run_convolution<Forward>(c);
  if (p.pad_y()) copy_window(op, y_big.as<float>(), p.Hoc, p.Woc, y.f32(), p.N * p.K, p.Ho, p.Wo);
  if (b) add_channel_bias(op, *b, y);
}

void conv2d_backward_data(const Tensor& dy, const Tensor& w, const Tensor* b, const Conv2dGeometry& g, const Tensor& dx) {
  const char* op = "conv2d backward-data";
  if (dx.numel() == 0) return;
  if (run_graph(op, kBackwardData, dx.shape, w.shape, dy.shape, g, dx.f32(), w.f32(), dy.f32())) {
    if (b) add_channel_bias(op, *b, dx);
    return;
  }
  const Plan p = make_plan(dx.shape, w.shape, dy.shape, g);
  DeviceBuffer dy_pad, dx_big;
  const float* dyp = padded_or_same(op, dy.f32(), p.N * p.K, p.Ho, p.Wo, p.Hoc, p.Woc, dy_pad);
  if (p.pad_x()) dx_big = DeviceBuffer(static_cast<size_t>(p.N * p.C * p.Hc * p.Wc) * sizeof(float));
  Call c(op, p, g);
  c.x = nullptr;
  c.w = w.f32();
  c.y = dyp;
  c.out = p.pad_x() ? dx_big.as<float>() : dx.f32();
  run_convolution<BackwardData>(c);
  if (p.pad_x()) copy_window(op, dx_big.as<float>(), p.Hc, p.Wc, dx.f32(), p.N * p.C, p.H, p.W);
  if (b) add_channel_bias(op, *b, dx);
}

void conv2d_backward_filter(const Tensor& dy, const Tensor& x, const Conv2dGeometry& g, const Tensor& dw) {
  const char* op = "conv2d backward-filter";
  if (dw.numel() == 0) return;
  if (x.shape[0] == 0) return fill_zero(op, dw);  // no images: nothing to sum
  if (run_graph(op, kBackwardFilter, x.shape, dw.shape, dy.shape, g, x.f32(), dw.f32(), dy.f32())) return;
  const Plan p = make_plan(x.shape, dw.shape, dy.shape, g);
  DeviceBuffer x_pad, dy_pad;
  const float* xp = padded_or_same(op, x.f32(), p.N * p.C, p.H, p.W, p.Hc, p.Wc, x_pad);
  const float* dyp = padded_or_same(op, dy.f32(), p.N * p.K, p.Ho, p.Wo, p.Hoc, p.Woc, dy_pad);
  Call c(op, p, g);
  c.x = xp;
  c.w = nullptr;
  c.y = dyp;
  c.out = dw.f32();
  run_convolution<BackwardFilter>(c);
}

// cuDNN's grouped convolution covers groups == C (one channel per group) itself.
void depthwise_conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* b, const Conv2dGeometry& g, const Tensor& y) {
  cuda::conv2d_forward(x, w, b, g, y);
}
void depthwise_conv2d_backward_data(const Tensor& dy, const Tensor& w, const Tensor* b, const Conv2dGeometry& g,
                                    const Tensor& dx) {
  cuda::conv2d_backward_data(dy, w, b, g, dx);
}
void depthwise_conv2d_backward_filter(const Tensor& dy, const Tensor& x, const Conv2dGeometry& g, const Tensor& dw) {
  cuda::conv2d_backward_filter(dy, x, g, dw);
}

void bias_backward(const Tensor& dy, int64_t axis, const Tensor& db) {
  const char* op = "bias backward";
  if (db.numel() == 0) return;
  if (dy.numel() == 0) return fill_zero(op, db);
  set_last_op(op);
  if (dy.dim() == 4 && axis == 1) {
    TensorDesc dy_desc(op, dy.shape);
    TensorDesc db_desc(op, 1, dy.shape[1], 1, 1);
    CONVNET_CUDNN_CHECK(dnn().cudnnConvolutionBackwardBias(cudnn_handle(), &kOne, dy_desc, dy.f32(), &kZero, db_desc, db.f32()));
    return;
  }
  int64_t outer = 1, inner = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= dy.shape[a];
  for (int64_t a = axis + 1; a < dy.dim(); ++a) inner *= dy.shape[a];
  bias_backward_sum(op, dy.f32(), outer, dy.shape[axis], inner, db.f32());
}

}  // namespace cuda
}  // namespace convnet
