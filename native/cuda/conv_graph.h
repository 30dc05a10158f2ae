// conv2d's fast path on cuDNN's backend (graph) API: one convolution (forward, backward-data or
// backward-filter) per operation graph, with an execution plan built once per problem and
// cached. See conv_graph.cc's comment; conv2d.cc calls it first and falls back to the legacy
// API when it returns false.
#pragma once
#include <cstdint>

namespace convnet {
namespace cuda {
namespace conv_graph {

enum Direction : int64_t { kForward = 0, kBackwardData = 1, kBackwardFilter = 2 };

// One float32 NCHW convolution, in the forward's names: x [N, C, H, W], w [K, C / groups, kh, kw],
// y [N, K, Ho, Wo] with Ho = (H + pre + post - dilation * (kh - 1) - 1) / stride + 1 exactly.
// Backward-data writes x (dx) from y (dy); backward-filter writes w (dw) from x and y (dy).
struct Problem {
  Direction direction = kForward;
  int64_t x[4] = {}, w[4] = {}, y[4] = {};
  int64_t pre[2] = {}, post[2] = {}, stride[2] = {1, 1}, dilation[2] = {1, 1};
  int64_t groups = 1;
};

// Whether conv2d tries this path first: yes, unless CONVNET_CUDNN_GRAPH=0 is in the environment
// (the legacy API only; read at each call, so that a test or a benchmark can switch paths with
// process.env between calls).
bool enabled();

// Runs the problem with the cached plan for it (built at the first call: that one may take
// milliseconds, or longer with settings().benchmark, which times the candidate plans). The
// three pointers are x, w, y in the forward's names; the one the direction writes is
// overwritten (beta 0). Returns false, having written nothing useful, when the graph API cannot
// run this problem (nothing builds, an execution failed: remembered per problem, the caller
// then uses the legacy API) or cannot run this call (a pointer not 16-byte aligned, no memory
// for the workspace). Throws only for errors that are not about cuDNN's support (E_CUDA).
bool run(const char* op, const Problem& p, void* x, void* w, void* y);

}  // namespace conv_graph
}  // namespace cuda
}  // namespace convnet
