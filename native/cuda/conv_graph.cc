// conv2d on cuDNN's backend (graph) API, with execution plans cached per problem.
//
// Why: in cuDNN 9 the legacy calls (cudnnConvolutionForward and friends) are built on the graph
// API and redo its planning at every call: ~40 us of host time per convolution on the GPU run
// (H200, cuDNN 9.19), several times the GPU time of the small layers of LeNet and AlexNet.
// PyTorch keeps a finalized execution plan per problem and only executes it; so does this file.
//
// Per problem (the shapes, the paddings before and after, strides, dilations, groups, the
// direction, and settings() tf32_cudnn / deterministic / benchmark), once:
//   tensor descriptors x, w, y (float32, NCHW strides, unique ids kUidX/W/Y, 16-byte alignment),
//   a convolution descriptor (float compute, cross-correlation, 2 spatial dims, PRE_PADDINGS and
//   POST_PADDINGS: asymmetric padding is expressed directly, no padded copies), the operation
//   (alpha 1, beta 0, as CUDNN_TYPE_FLOAT for float data), an operation graph, then the engine
//   configurations of heuristics mode A, then mode FALLBACK's (and with settings().benchmark one
//   per engine cuDNN has for the graph: all_engine_configs), filtered by their numerical notes:
//     - always leave out DOWN_CONVERT_INPUTS (as PyTorch does);
//     - TF32 off (settings().tf32_cudnn false): also TENSOR_CORE (TF32 for float data),
//       REDUCED_PRECISION_REDUCTION, FFT and WINOGRAD* (they gave ~1e-3 relative error in
//       float32 on AlexNet conv2's weight gradient: see conv2d.cc's search()), and the engines
//       measured to lose precision without a note (lossy_in_float32);
//     - settings().deterministic: also NONDETERMINISTIC.
//   The first configuration whose execution plan finalizes is kept (those whose kernel is compiled
//   at run time only when no other one finalizes); with settings().benchmark every allowed plan
//   (kMaxTimed at most) is timed on the call's own tensors (CUDA events on stream(), the GPU held
//   by a busy kernel while the runs are enqueued; this waits for the device a few times per
//   problem, as cudnnFind*AlgorithmEx does; the output is overwritten by the real run right after,
//   the inputs are only read), the front-runners timed again in interleaved rounds, and the
//   fastest kept (cuda/fastest.h says why one sample each is not enough).
// Every descriptor the plan was made from stays alive with it (the plan may refer to them).
//
// A call: one map lookup, a variant pack (ids, pointers, workspace from the caching allocator),
// cudnnBackendExecute on the handle (bound to stream()).
//
// Safety: any failure while building (a status that is not success anywhere, no configuration
// that finalizes) or a failed execution marks the problem "legacy", remembered, and run()
// returns false: conv2d.cc then uses the legacy API, so the worst case is the old behaviour.
// This is conv2d's default path since the session-7 GPU runs (H200, cuDNN 9.19): AlexNet-64's
// training step took 2.9 ms of wall time against 4.8 on the legacy API
// (scripts/gpu/profile-model.js); CONVNET_CUDNN_GRAPH=0 turns it off (conv_graph.h).
#include "cuda/conv_graph.h"

#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "core/error.h"
#include "cuda/context.h"
#include "cuda/fastest.h"
#include "cuda/timing.h"

namespace convnet {
namespace cuda {
namespace conv_graph {
namespace {

using decl::cudnnBackendDescriptor_t;
using decl::cudnnStatus_t;

constexpr int64_t kUidX = 1, kUidW = 2, kUidY = 3;
constexpr int64_t kAlignment = 16;  // the tensors' declared byte alignment; run() checks the pointers
constexpr int kMaxTimed = 160;      // benchmark: plans timed per problem (all there are, in practice)
constexpr int kTimedRuns = 5;       // benchmark: runs per sample of a plan (after one warm-up run)
constexpr long long kHoldCycles = 2000000;  // benchmark: ~1 ms of GPU clock, to enqueue the timed runs
// benchmark: the GPU is kept busy ~20 ms (at 2 GHz; longer at idle clocks) before a search's first
// sample: an idle H200 sat at 345 MHz, and samples taken while its clocks ramp read slow.
constexpr long long kWarmUpCycles = 40000000;

// Thrown inside build() when a backend call fails: the problem then goes to the legacy API.
struct Unsupported {
  cudnnStatus_t status;
};

void check(cudnnStatus_t status) {
  if (status != decl::CUDNN_STATUS_SUCCESS) throw Unsupported{status};
}

// Clears a non-sticky CUDA error a failed library call may have left (see conv2d.cc).
void clear_cuda_error() { cudaGetLastError(); }

// An owned backend descriptor (destroyed with cudnnBackendDestroyDescriptor).
class Desc {
 public:
  Desc() = default;
  explicit Desc(decl::cudnnBackendDescriptorType_t type) {
    cudnnBackendDescriptor_t d = nullptr;
    check(dnn().cudnnBackendCreateDescriptor(type, &d));
    d_ = d;
  }
  ~Desc() { reset(); }
  Desc(Desc&& o) noexcept : d_(o.d_) { o.d_ = nullptr; }
  Desc& operator=(Desc&& o) noexcept {
    if (this != &o) {
      reset();
      d_ = o.d_;
      o.d_ = nullptr;
    }
    return *this;
  }
  Desc(const Desc&) = delete;
  Desc& operator=(const Desc&) = delete;
  cudnnBackendDescriptor_t get() const { return d_; }
  // The address of the descriptor value, for attributes of type CUDNN_TYPE_BACKEND_DESCRIPTOR.
  const cudnnBackendDescriptor_t* ptr() const { return &d_; }

  template <typename T>
  void set(decl::cudnnBackendAttributeName_t name, decl::cudnnBackendAttributeType_t type, int64_t count,
           const T* values) const {
    check(dnn().cudnnBackendSetAttribute(d_, name, type, count, values));
  }
  void set_int64s(decl::cudnnBackendAttributeName_t name, int64_t count, const int64_t* values) const {
    set(name, decl::CUDNN_TYPE_INT64, count, values);
  }
  void set_desc(decl::cudnnBackendAttributeName_t name, const Desc& other) const {
    set(name, decl::CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, other.ptr());
  }
  void finalize() const { check(dnn().cudnnBackendFinalize(d_)); }

 private:
  void reset() {
    if (d_) dnn().cudnnBackendDestroyDescriptor(d_);
    d_ = nullptr;
  }
  cudnnBackendDescriptor_t d_ = nullptr;
};

Desc make_tensor(int64_t uid, const int64_t* dims) {
  Desc t(decl::CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  const int64_t strides[4] = {dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1};
  const decl::cudnnDataType_t type = decl::CUDNN_DATA_FLOAT;
  t.set(decl::CUDNN_ATTR_TENSOR_DATA_TYPE, decl::CUDNN_TYPE_DATA_TYPE, 1, &type);
  t.set_int64s(decl::CUDNN_ATTR_TENSOR_DIMENSIONS, 4, dims);
  t.set_int64s(decl::CUDNN_ATTR_TENSOR_STRIDES, 4, strides);
  t.set_int64s(decl::CUDNN_ATTR_TENSOR_UNIQUE_ID, 1, &uid);
  t.set_int64s(decl::CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, 1, &kAlignment);
  t.finalize();
  return t;
}

Desc make_convolution(const Problem& p) {
  Desc c(decl::CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  const decl::cudnnDataType_t compute = decl::CUDNN_DATA_FLOAT;
  const decl::cudnnConvolutionMode_t mode = decl::CUDNN_CROSS_CORRELATION;
  const int64_t spatial = 2;
  c.set(decl::CUDNN_ATTR_CONVOLUTION_COMP_TYPE, decl::CUDNN_TYPE_DATA_TYPE, 1, &compute);
  c.set(decl::CUDNN_ATTR_CONVOLUTION_CONV_MODE, decl::CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
  c.set_int64s(decl::CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, 1, &spatial);
  c.set_int64s(decl::CUDNN_ATTR_CONVOLUTION_DILATIONS, 2, p.dilation);
  c.set_int64s(decl::CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, 2, p.stride);
  c.set_int64s(decl::CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, 2, p.pre);
  c.set_int64s(decl::CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, 2, p.post);
  c.finalize();
  return c;
}

// The operation of each direction and its attributes: the same six, named per direction. x, w
// and y are the forward's tensors (backward-data's dx, backward-filter's dw are x and w).
struct OperationNames {
  decl::cudnnBackendDescriptorType_t type;
  decl::cudnnBackendAttributeName_t x, w, y, conv, alpha, beta;
};

const OperationNames* operation_names(int direction) {
  static const OperationNames forward = {
      decl::CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR,   decl::CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X,
      decl::CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,               decl::CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y,
      decl::CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,       decl::CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA,
      decl::CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA};
  static const OperationNames backward_data = {
      decl::CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR, decl::CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX,
      decl::CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W,                  decl::CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY,
      decl::CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC,          decl::CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA,
      decl::CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA};
  static const OperationNames backward_filter = {
      decl::CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR, decl::CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X,
      decl::CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW,                 decl::CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY,
      decl::CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC,          decl::CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA,
      decl::CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA};
  switch (direction) {
    case kForward: return &forward;
    case kBackwardData: return &backward_data;
    case kBackwardFilter: return &backward_filter;
  }
  return nullptr;
}

Desc make_operation(const Problem& p, const Desc& x, const Desc& w, const Desc& y, const Desc& conv) {
  const OperationNames* names = operation_names(p.direction);
  if (!names) throw Unsupported{decl::CUDNN_STATUS_BAD_PARAM};
  const float alpha = 1.0f, beta = 0.0f;
  Desc op(names->type);
  op.set_desc(names->x, x);
  op.set_desc(names->w, w);
  op.set_desc(names->y, y);
  op.set_desc(names->conv, conv);
  op.set(names->alpha, decl::CUDNN_TYPE_FLOAT, 1, &alpha);
  op.set(names->beta, decl::CUDNN_TYPE_FLOAT, 1, &beta);
  op.finalize();
  return op;
}

// The handle attributes of the operation graph and of the plan are marked deprecated in 9.x
// (they remain accepted, and required by older 9.x releases): a failure to set one is ignored;
// should the handle be needed, the finalize that follows fails and says so.
void set_handle(const Desc& d, decl::cudnnBackendAttributeName_t name) {
  decl::cudnnHandle_t handle = cudnn_handle();
  if (dnn().cudnnBackendSetAttribute(d.get(), name, decl::CUDNN_TYPE_HANDLE, 1, &handle) != decl::CUDNN_STATUS_SUCCESS)
    clear_cuda_error();
}

// The engine configurations heuristics `mode` proposes, best first (none when it fails).
std::vector<Desc> engine_configs(const Desc& graph, decl::cudnnBackendHeurMode_t mode) {
  std::vector<Desc> configs;
  try {
    Desc heur(decl::CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    heur.set_desc(decl::CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph);
    heur.set(decl::CUDNN_ATTR_ENGINEHEUR_MODE, decl::CUDNN_TYPE_HEUR_MODE, 1, &mode);
    heur.finalize();
    int64_t count = 0;
    check(dnn().cudnnBackendGetAttribute(heur.get(), decl::CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                         decl::CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr));
    if (count <= 0) return configs;
    // cuDNN fills descriptors the caller created.
    for (int64_t i = 0; i < count; ++i) configs.emplace_back(decl::CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    std::vector<cudnnBackendDescriptor_t> raw(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) raw[i] = configs[i].get();
    int64_t got = 0;
    check(dnn().cudnnBackendGetAttribute(heur.get(), decl::CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                         decl::CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &got, raw.data()));
    if (got < 0) got = 0;
    if (got < count) configs.resize(static_cast<size_t>(got));
  } catch (const Unsupported&) {
    configs.clear();
  }
  return configs;
}

// One configuration per engine cuDNN has for the graph (every global index whose engine
// finalizes, default knobs): what benchmark mode times beyond the heuristics' lists, as the
// legacy cudnnFind* calls try every algorithm (AlexNet conv2's grouped backward-data: the
// heuristics offered 4 configurations, the fastest 0.17 ms; the legacy search found 0.07).
// The engines go to *engines, to live as long as the configurations made from them.
std::vector<Desc> all_engine_configs(const Desc& graph, std::vector<Desc>* engines) {
  std::vector<Desc> configs;
  int64_t count = 0, n = 0;
  if (dnn().cudnnBackendGetAttribute(graph.get(), decl::CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT,
                                     decl::CUDNN_TYPE_INT64, 1, &n, &count) != decl::CUDNN_STATUS_SUCCESS)
    return configs;
  for (int64_t i = 0; i < count && i < 1000; ++i) {
    try {
      Desc engine(decl::CUDNN_BACKEND_ENGINE_DESCRIPTOR);
      engine.set_desc(decl::CUDNN_ATTR_ENGINE_OPERATION_GRAPH, graph);
      engine.set_int64s(decl::CUDNN_ATTR_ENGINE_GLOBAL_INDEX, 1, &i);
      engine.finalize();  // Unsupported where the engine cannot run this graph
      Desc config(decl::CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
      config.set_desc(decl::CUDNN_ATTR_ENGINECFG_ENGINE, engine);
      config.finalize();
      configs.push_back(std::move(config));
      engines->push_back(std::move(engine));
    } catch (const Unsupported&) {
      clear_cuda_error();
    }
  }
  return configs;
}

// What a configuration's engine says of itself: its global index (for logs), its numerical notes
// and whether it compiles its kernel when finalized (behaviour note RUNTIME_COMPILATION).
struct EngineInfo {
  int64_t index = -1;
  std::vector<int> notes;
  bool runtime_compiled = false;
};

EngineInfo engine_info(const Desc& config) {
  Desc engine(decl::CUDNN_BACKEND_ENGINE_DESCRIPTOR);
  cudnnBackendDescriptor_t raw = engine.get();
  int64_t n = 0;
  check(dnn().cudnnBackendGetAttribute(config.get(), decl::CUDNN_ATTR_ENGINECFG_ENGINE,
                                       decl::CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &raw));
  EngineInfo info;
  if (dnn().cudnnBackendGetAttribute(engine.get(), decl::CUDNN_ATTR_ENGINE_GLOBAL_INDEX, decl::CUDNN_TYPE_INT64, 1, &n,
                                     &info.index) != decl::CUDNN_STATUS_SUCCESS)
    info.index = -1;
  decl::cudnnBackendNumericalNote_t notes[decl::CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
  n = 0;
  check(dnn().cudnnBackendGetAttribute(engine.get(), decl::CUDNN_ATTR_ENGINE_NUMERICAL_NOTE,
                                       decl::CUDNN_TYPE_NUMERICAL_NOTE, decl::CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &n,
                                       notes));
  for (int64_t i = 0; i < n && i < decl::CUDNN_NUMERICAL_NOTE_TYPE_COUNT; ++i) info.notes.push_back(notes[i]);
  decl::cudnnBackendBehaviorNote_t behaviour[decl::CUDNN_BEHAVIOR_NOTE_TYPE_COUNT];
  int64_t nb = 0;
  if (dnn().cudnnBackendGetAttribute(engine.get(), decl::CUDNN_ATTR_ENGINE_BEHAVIOR_NOTE, decl::CUDNN_TYPE_BEHAVIOR_NOTE,
                                     decl::CUDNN_BEHAVIOR_NOTE_TYPE_COUNT, &nb, behaviour) == decl::CUDNN_STATUS_SUCCESS) {
    for (int64_t i = 0; i < nb && i < decl::CUDNN_BEHAVIOR_NOTE_TYPE_COUNT; ++i)
      if (behaviour[i] == decl::CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION) info.runtime_compiled = true;
  }
  return info;
}

// Engines that lose precision in plain float32 though their notes do not say so, by direction.
// Measured with scripts/gpu/diag-graph.js (cuDNN 9.19, H200): backward-filter engine 17, cuDNN's
// first choice for AlexNet conv2's grouped weight gradient, was 2.5e-3 off (normalised, against
// the CPU) where the other engines without the TENSOR_CORE note were 3e-6 off and TF32 ones 3e-4.
// Left out only when TF32 is off: with TF32 allowed its error is of TF32's order and PyTorch uses
// it too.
bool lossy_in_float32(int direction, int64_t engine) { return direction == kBackwardFilter && engine == 17; }

// Whether an engine's numerical notes allow it under the settings (see the file comment).
bool allowed(const EngineInfo& info, int direction, bool tf32, bool deterministic) {
  if (!tf32 && lossy_in_float32(direction, info.index)) return false;
  for (const int note : info.notes) {
    if (note == decl::CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS) return false;
    if (deterministic && note == decl::CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC) return false;
    if (!tf32 && (note == decl::CUDNN_NUMERICAL_NOTE_TENSOR_CORE ||
                  note == decl::CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION ||
                  note == decl::CUDNN_NUMERICAL_NOTE_FFT || note == decl::CUDNN_NUMERICAL_NOTE_WINOGRAD ||
                  note == decl::CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_4x4 ||
                  note == decl::CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_6x6 ||
                  note == decl::CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_13x13))
      return false;
  }
  return true;
}

// Diagnostics, read when a problem's plan is built: CONVNET_CUDNN_GRAPH_LOG=1 prints every
// configuration considered (engine, notes, verdict, time) to stderr; CONVNET_CUDNN_GRAPH_PICK=k
// uses heuristics mode A's k-th configuration alone, whatever its notes (scripts/gpu/diag-conv.js
// measures each engine's error that way).
bool log_enabled() {
  const char* v = std::getenv("CONVNET_CUDNN_GRAPH_LOG");
  return v != nullptr && v[0] == '1';
}
int forced_pick() {
  const char* v = std::getenv("CONVNET_CUDNN_GRAPH_PICK");
  return v != nullptr && v[0] != '\0' ? std::atoi(v) : -1;
}

// A finalized execution plan with what it was made from.
struct Plan {
  Desc config;
  Desc plan;
  int64_t workspace = 0;
};

// The plan of a configuration, or none when it does not finalize.
std::unique_ptr<Plan> make_plan(Desc config) {
  try {
    auto p = std::make_unique<Plan>();
    p->plan = Desc(decl::CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    set_handle(p->plan, decl::CUDNN_ATTR_EXECUTION_PLAN_HANDLE);
    p->plan.set_desc(decl::CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, config);
    p->plan.finalize();
    int64_t n = 0, bytes = 0;
    check(dnn().cudnnBackendGetAttribute(p->plan.get(), decl::CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                         decl::CUDNN_TYPE_INT64, 1, &n, &bytes));
    if (n != 1 || bytes < 0) return nullptr;
    p->workspace = bytes;
    p->config = std::move(config);
    return p;
  } catch (const Unsupported&) {
    clear_cuda_error();
    return nullptr;
  }
}

// One execution: the variant pack binds the pointers to the tensors' unique ids.
cudnnStatus_t execute(const Plan& plan, void* x, void* w, void* y, void* workspace) {
  try {
    Desc pack(decl::CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    const int64_t uids[3] = {kUidX, kUidW, kUidY};
    void* const pointers[3] = {x, w, y};
    pack.set_int64s(decl::CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, 3, uids);
    pack.set(decl::CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, decl::CUDNN_TYPE_VOID_PTR, 3, pointers);
    pack.set(decl::CUDNN_ATTR_VARIANT_PACK_WORKSPACE, decl::CUDNN_TYPE_VOID_PTR, 1, &workspace);
    pack.finalize();
    return dnn().cudnnBackendExecute(cudnn_handle(), plan.plan.get(), pack.get());
  } catch (const Unsupported& u) {
    return u.status;
  }
}

// The GPU time of one execution of a plan on the call's tensors in ms, or a negative value when it
// cannot run: kTimedRuns executions back to back between two events, per execution (what
// bench/conv.ts's gpuTimePerCall measures of a call), after a warm-up execution. The GPU is held
// by a busy kernel while the runs are enqueued, so that they run back to back: a small layer's
// kernel (~10 us) takes less GPU time than one execute takes on the host, and without the hold
// every plan would be timed at the host's pace (a random pick). Should the start event have passed
// before the last run was enqueued (the hold was too short), the hold is doubled and the sample
// taken again (twice at most; then that slower sample stands).
float time_plan(const Plan& plan, void* x, void* w, void* y) {
  DeviceBuffer ws;
  try {
    ws = DeviceBuffer(static_cast<size_t>(plan.workspace));
  } catch (const Error& e) {
    if (e.code() != "E_OOM") throw;
    return -1;
  }
  if (execute(plan, x, w, y, ws.data()) != decl::CUDNN_STATUS_SUCCESS) {  // warm-up
    clear_cuda_error();
    return -1;
  }
  cudaEvent_t start = nullptr, end = nullptr;
  bool ok = cudaEventCreate(&start) == cudaSuccess && cudaEventCreate(&end) == cudaSuccess;
  float ms = -1, unheld = -1;  // unheld: a sample the GPU caught up in (an upper bound), if no other
  long long hold = kHoldCycles;
  for (int attempt = 0; ok && ms < 0 && attempt < 3; ++attempt, hold *= 2) {
    sleep_cycles(hold);
    ok = cudaEventRecord(start, stream()) == cudaSuccess;
    for (int i = 0; ok && i < kTimedRuns; ++i) ok = execute(plan, x, w, y, ws.data()) == decl::CUDNN_STATUS_SUCCESS;
    ok = ok && cudaEventRecord(end, stream()) == cudaSuccess;
    const cudaError_t started = ok ? cudaEventQuery(start) : cudaErrorUnknown;
    const bool held = started == cudaErrorNotReady;
    ok = ok && (started == cudaSuccess || held) && cudaEventSynchronize(end) == cudaSuccess;
    float total = 0;
    if (ok && cudaEventElapsedTime(&total, start, end) == cudaSuccess) (held ? ms : unheld) = total / kTimedRuns;
  }
  if (start) cudaEventDestroy(start);
  if (end) cudaEventDestroy(end);
  clear_cuda_error();  // cudaEventQuery's "not ready", or a failure
  return !ok ? -1 : ms >= 0 ? ms : unheld;
}

// What is cached per problem: the plan and everything it was made from, or "legacy".
struct Entry {
  bool legacy = true;
  std::vector<Desc> keep;  // tensors, convolution, operation, graph (alive as long as the plan)
  std::unique_ptr<Plan> plan;
};

std::unique_ptr<Entry> build(const Problem& p, void* x, void* w, void* y) {
  auto entry = std::make_unique<Entry>();
  try {
    Desc xd = make_tensor(kUidX, p.x), wd = make_tensor(kUidW, p.w), yd = make_tensor(kUidY, p.y);
    Desc conv = make_convolution(p);
    Desc operation = make_operation(p, xd, wd, yd, conv);
    Desc graph(decl::CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    graph.set(decl::CUDNN_ATTR_OPERATIONGRAPH_OPS, decl::CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, operation.ptr());
    set_handle(graph, decl::CUDNN_ATTR_OPERATIONGRAPH_HANDLE);
    graph.finalize();

    const Settings& s = settings();
    const bool log = log_enabled();
    const int pick = forced_pick();
    if (log) {
      std::fprintf(stderr, "[conv_graph] direction %d x [%lld %lld %lld %lld] w [%lld %lld %lld %lld] tf32 %d deterministic %d benchmark %d pick %d\n",
                   static_cast<int>(p.direction), (long long)p.x[0], (long long)p.x[1], (long long)p.x[2], (long long)p.x[3],
                   (long long)p.w[0], (long long)p.w[1], (long long)p.w[2], (long long)p.w[3], s.tf32_cudnn, s.deterministic,
                   s.benchmark, pick);
    }
    // The configurations of heuristics mode A, best first, then mode FALLBACK's (benchmark mode
    // times both lists, as PyTorch's does; otherwise the first that builds is kept).
    struct Candidate {
      Desc config;
      EngineInfo info;
      bool ok = false;
      int mode = 0, rank = 0;
    };
    std::vector<Desc> engines;  // all_engine_configs' engines, kept with the plan (and outliving the configs here)
    std::vector<Candidate> candidates;
    // mode -1: every engine (all_engine_configs), for benchmark mode only
    for (int mode : {static_cast<int>(decl::CUDNN_HEUR_MODE_A), static_cast<int>(decl::CUDNN_HEUR_MODE_FALLBACK), -1}) {
      if (pick >= 0 && mode != decl::CUDNN_HEUR_MODE_A) break;
      if (mode == -1 && !s.benchmark) break;
      std::vector<Desc> configs =
          mode == -1 ? all_engine_configs(graph, &engines) : engine_configs(graph, static_cast<decl::cudnnBackendHeurMode_t>(mode));
      for (size_t i = 0; i < configs.size(); ++i) {
        Candidate c;
        c.mode = mode, c.rank = static_cast<int>(i);
        try {
          c.info = engine_info(configs[i]);
          c.ok = allowed(c.info, p.direction, s.tf32_cudnn, s.deterministic);
        } catch (const Unsupported&) {
          c.ok = false;  // notes unreadable: leave this one out
        }
        if (pick >= 0) c.ok = static_cast<int>(i) == pick;
        c.config = std::move(configs[i]);
        candidates.push_back(std::move(c));
      }
    }
    // Engines that compile their kernel at finalize (NVRTC: slow, and absent from some installs)
    // only when no precompiled one builds.
    std::vector<std::unique_ptr<Plan>> plans;
    std::vector<const Candidate*> made;
    for (bool compiled : {false, true}) {
      for (Candidate& c : candidates) {
        if (!c.ok || c.info.runtime_compiled != compiled) continue;
        std::unique_ptr<Plan> plan = make_plan(std::move(c.config));
        if (log) {
          std::string notes;
          for (int n : c.info.notes) notes += " " + std::to_string(n);
          std::fprintf(stderr, "[conv_graph]   mode %d #%d engine %lld notes [%s ] rtc %d: %s\n", c.mode, c.rank,
                       (long long)c.info.index, notes.c_str(), c.info.runtime_compiled,
                       plan ? "finalized" : "does not finalize");
        }
        if (!plan) continue;
        plans.push_back(std::move(plan));
        made.push_back(&c);
        if (!s.benchmark || static_cast<int>(plans.size()) >= kMaxTimed) break;
      }
      if (!plans.empty()) break;
    }
    if (log && pick < 0) {
      for (const Candidate& c : candidates) {
        if (c.ok) continue;
        std::string notes;
        for (int n : c.info.notes) notes += " " + std::to_string(n);
        std::fprintf(stderr, "[conv_graph]   mode %d #%d engine %lld notes [%s ]: left out by its notes\n", c.mode, c.rank,
                     (long long)c.info.index, notes.c_str());
      }
    }
    if (!plans.empty()) {
      size_t best = 0;
      if (s.benchmark && plans.size() > 1) {
        sleep_cycles(kWarmUpCycles);  // clocks up before the first sample (see kWarmUpCycles)
        const auto sample = [&](int i) {
          const float ms = time_plan(*plans[i], x, w, y);
          if (log) std::fprintf(stderr, "[conv_graph]   timed mode %d #%d engine %lld: %.4f ms\n", made[i]->mode, made[i]->rank, (long long)made[i]->info.index, ms);
          return ms;
        };
        const int winner = fastest(static_cast<int>(plans.size()), sample);
        if (winner >= 0) best = static_cast<size_t>(winner);  // none ran: the heuristics' first, as without benchmark
      }
      if (log) std::fprintf(stderr, "[conv_graph]   chosen: mode %d #%d engine %lld\n", made[best]->mode, made[best]->rank, (long long)made[best]->info.index);
      entry->plan = std::move(plans[best]);
    }
    if (!entry->plan) return entry;  // legacy
    entry->keep.push_back(std::move(xd));
    entry->keep.push_back(std::move(wd));
    entry->keep.push_back(std::move(yd));
    entry->keep.push_back(std::move(conv));
    entry->keep.push_back(std::move(operation));
    entry->keep.push_back(std::move(graph));
    for (Desc& e : engines) entry->keep.push_back(std::move(e));
    entry->legacy = false;
  } catch (const Unsupported&) {
    clear_cuda_error();
    entry->plan.reset();
    entry->legacy = true;
  }
  return entry;
}

std::vector<int64_t> key_of(const Problem& p) {
  const Settings& s = settings();
  std::vector<int64_t> k;
  k.reserve(32);
  k.push_back(p.direction);
  for (const int64_t* a : {p.x, p.w, p.y}) k.insert(k.end(), a, a + 4);
  for (const int64_t* a : {p.pre, p.post, p.stride, p.dilation}) k.insert(k.end(), a, a + 2);
  k.push_back(p.groups);
  k.push_back(s.tf32_cudnn);
  k.push_back(s.deterministic);
  k.push_back(s.benchmark);
  k.push_back(forced_pick());
  return k;
}

std::mutex& plans_mutex() {
  static std::mutex m;
  return m;
}
// Lives until the process exits and is never destroyed: cuDNN may be gone by then.
std::map<std::vector<int64_t>, std::unique_ptr<Entry>>& plans() {
  static auto* m = new std::map<std::vector<int64_t>, std::unique_ptr<Entry>>();
  return *m;
}

bool aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % kAlignment == 0; }

}  // namespace

bool enabled() {
  const char* v = std::getenv("CONVNET_CUDNN_GRAPH");
  return !(v != nullptr && v[0] == '0' && v[1] == '\0');
}

bool run(const char* op, const Problem& p, void* x, void* w, void* y) {
  if (!enabled()) return false;
  const decl::CudnnFunctions& f = dnn();
  if (!f.cudnnBackendCreateDescriptor || !f.cudnnBackendExecute) return false;
  if (!aligned(x) || !aligned(w) || !aligned(y)) return false;
  set_last_op(op);
  const std::vector<int64_t> key = key_of(p);
  Entry* entry = nullptr;
  {
    std::lock_guard<std::mutex> lock(plans_mutex());
    auto it = plans().find(key);
    if (it != plans().end()) entry = it->second.get();
  }
  if (!entry) {
    std::unique_ptr<Entry> built = build(p, x, w, y);
    std::lock_guard<std::mutex> lock(plans_mutex());
    entry = plans().emplace(key, std::move(built)).first->second.get();
  }
  if (entry->legacy) return false;
  DeviceBuffer ws;
  try {
    ws = DeviceBuffer(static_cast<size_t>(entry->plan->workspace));
  } catch (const Error& e) {
    if (e.code() != "E_OOM") throw;
    return false;  // this call only: the legacy API may find an algorithm with a smaller workspace
  }
  if (execute(*entry->plan, x, w, y, ws.data()) == decl::CUDNN_STATUS_SUCCESS) return true;
  clear_cuda_error();
  std::lock_guard<std::mutex> lock(plans_mutex());
  entry->legacy = true;  // never again for this problem (the plan stays: nothing refers to it)
  return false;
}

}  // namespace conv_graph
}  // namespace cuda
}  // namespace convnet
