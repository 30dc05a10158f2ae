// Tensors across the boundary: creation from JavaScript data, reading back (async and
// blocking), release, reshape, counters, threads, the seed, and what backends were built.
#include <cstring>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "api/api.h"
#include "core/philox.h"
#include "core/queue.h"
#include "core/thread_pool.h"
#include "cpu/gemm.h"
#include "cpu/prepared_weights.h"
#include "cpu/qgemm.h"
#include "cpu/vec_math.h"

namespace convnet {
namespace api {
namespace {

// A read waiting for the queue: the worker copies into `destination` (the backing store of a
// typed array created on the JS thread), then the JS thread resolves or rejects the promise.
struct PendingCompletion {
  AddonData* data;
  Napi::Promise::Deferred deferred;
  Napi::Reference<Napi::Value> result;  // the typed array, or undefined for sync()
  std::exception_ptr error;
};

void settle(Napi::Env env, PendingCompletion* pending) {
  if (pending->error) {
    try {
      std::rethrow_exception(pending->error);
    } catch (const Error& e) {  // the queue stores convnet::Error, already naming its op
      pending->deferred.Reject(js_error(env, e.code(), e.what()).Value());
    } catch (...) {
      pending->deferred.Reject(js_error(env, "E_INTERNAL", "queued work failed").Value());
    }
  } else {
    pending->deferred.Resolve(pending->result.IsEmpty() ? env.Undefined() : pending->result.Value());
  }
}

void finish_completion(Napi::Env env, Napi::Function, PendingCompletion* pending) {
  if (env != nullptr) {
    // Node calls this with no catch around it: a Napi::Error escaping would be std::terminate.
    // One comes where the environment is stopping (process.exit() in a worker, with reads
    // still queued): JavaScript can no longer run, the promise cannot settle, and nobody is
    // left to tell.
    try {
      settle(env, pending);
    } catch (const Napi::Error&) {
    }
    if (--pending->data->pending_completions == 0) {
      try {
        pending->data->completions.Unref(env);
      } catch (const Napi::Error&) {
      }
    }
  }
  delete pending;
}

// Enqueues `copy` (may be empty) then resolves the returned promise with `result`.
Napi::Value enqueue_completion(Napi::Env env, Napi::Value result, std::function<void()> copy) {
  AddonData& data = addon_data(env);
  auto* pending = new PendingCompletion{&data, Napi::Promise::Deferred::New(env), {}, nullptr};
  if (!result.IsUndefined()) pending->result = Napi::Persistent(result);
  Napi::Promise promise = pending->deferred.Promise();
  if (data.pending_completions++ == 0) data.completions.Ref(env);
  Napi::ThreadSafeFunction completions = data.completions;
  std::shared_ptr<EnvLife> life = data.life;
  Queue::cpu().enqueue_completion([pending, completions, life, copy = std::move(copy)](std::exception_ptr error) mutable {
    // Note [environment teardown] (napi_util.h): nothing of a gone environment is touched.
    std::lock_guard<std::mutex> lock(life->mutex);
    if (!life->alive) return;
    if (!error && copy) {
      try {
        copy();
      } catch (...) {  // the tensor's op failed (Note [failed outputs], storage.h)
        error = std::current_exception();
      }
    }
    pending->error = error;
    // If the environment is shutting down the call fails; `pending` is then left alone (its
    // N-API references may only be freed on the JS thread).
    completions.NonBlockingCall(pending, finish_completion);
  });
  return promise;
}

// Note [read buffers]: V8 gives a large new ArrayBuffer fresh pages (glibc maps them, zeroed
// by the kernel), and in a VM each 4 KiB page faults on first touch at ~2.5 us: dataSync() of
// 51 MB spent ~30 ms in the copy that touches them, against ~8 ms for NumPy's copy, which asks
// for huge pages. So does this, for the 2 MiB-aligned interior of a buffer of 4 MiB or more,
// before the copy: advice only (ignored where transparent huge pages are off), on memory that
// belongs to this buffer alone. (Blocks of the tensors' own cache, handed to JavaScript as
// external buffers, were faster still, but Node frees those only when the event loop turns: a
// synchronous loop of reads grew to 10 GB.)
void advise_huge_pages(void* data, size_t bytes) {
#ifdef __linux__
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  if (bytes < 2 * kHuge) return;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data, (void)bytes;
#endif
}

Napi::Value new_typed_array(Napi::Env env, const Tensor& t, void** destination) {
  const size_t n = static_cast<size_t>(t.numel());
  // V8 aborts the process on a longer typed array (v8::TypedArray::kMaxLength, 2^32 - 1 here).
  constexpr size_t kMaxTypedArrayLength = (size_t{1} << 32) - 1;
  CONVNET_CHECK(n <= kMaxTypedArrayLength, "E_ARG", "data: a tensor of ", n,
                " elements is too large for one JavaScript typed array (at most 4294967295): read it in slices");
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, n * 4);
  *destination = buffer.Data();
  advise_huge_pages(buffer.Data(), n * 4);
  if (t.dtype == DType::Int32) return Napi::Int32Array::New(env, n, buffer, 0);
  return Napi::Float32Array::New(env, n, buffer, 0);
}

}  // namespace

Napi::Value Init(const Napi::CallbackInfo& info) {
  CONVNET_CHECK(info.Length() == 1 && info[0].IsFunction(), "E_ARG", "init: expected the ConvnetError class");
  addon_data(info.Env()).error_class = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value FromData(const Napi::CallbackInfo& info) {
  const char* op = "tensor";
  const Shape shape = shape_arg(info, 1, op, "shape");
  CONVNET_CHECK(info.Length() > 0 && info[0].IsTypedArray(), "E_ARG", op, ": expected a Float32Array or Int32Array");
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  DType dtype;
  if (array.TypedArrayType() == napi_float32_array) dtype = DType::Float32;
  else if (array.TypedArrayType() == napi_int32_array) dtype = DType::Int32;
  else fail("E_DTYPE", op, ": expected a Float32Array or Int32Array");
  CONVNET_CHECK(static_cast<int64_t>(array.ElementLength()) == shape_numel(shape), "E_SHAPE", op, ": ",
                array.ElementLength(), " values cannot fill shape ", shape_str(shape));
  Tensor t = Tensor::empty(shape, dtype);
  // The copy happens now, on this thread: the caller may change its array right after.
  const uint8_t* source = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  parallel_copy(t.storage()->data(), source, array.ByteLength());
  return wrap_tensor(info.Env(), std::move(t));
}

Napi::Value Release(const Napi::CallbackInfo& info) {
  CONVNET_CHECK(info.Length() == 1, "E_ARG", "release: expected one tensor handle");
  release_handle(info.Env(), info[0]);
  return info.Env().Undefined();
}

// A GPU tensor's values on the CPU: the download is queued now, and a CPU task fills the
// result once it has arrived (cuda_ops.h: copy_to_host). A CPU tensor is itself.
Tensor on_cpu(const Tensor& t) {
  if (!t.is_cuda()) return t;
  Tensor host = Tensor::empty(t.shape, t.dtype);
  CONVNET_ON_CUDA("to('cpu')", cuda::copy_to_host(t, host));
  return host;
}

// Before a GPU op may read CPU memory that queued CPU work writes: waits for that work.
void wait_for_cpu_queue() {
  if (Queue::cpu().pending() > 0) Queue::cpu().wait(/*reads=*/false);
}

Napi::Value Read(const Napi::CallbackInfo& info) {
  const Tensor& t = tensor_arg(info, 0, "data", "tensor");
  void* destination = nullptr;
  Napi::Value array = new_typed_array(info.Env(), t, &destination);
  Tensor source = on_cpu(t);  // keeps the memory alive until the copy has run
  std::shared_ptr<Storage> computed_by_op = t.storage();
  return enqueue_completion(info.Env(), array, [source, computed_by_op, destination] {
    if (std::exception_ptr failure = computed_by_op->failure()) std::rethrow_exception(failure);
    const size_t bytes = static_cast<size_t>(source.numel()) * 4;
    parallel_copy(destination, source.storage()->data(), bytes);
  });
}

namespace {
// The tensor's values on the CPU, computed: blocks this thread until they exist; throws
// queued errors, and the error of the op that was to compute them.
Tensor computed_on_cpu(const Napi::CallbackInfo& info, const char* op) {
  const Tensor& original = tensor_arg(info, 0, op, "tensor");
  Tensor t = on_cpu(original);
  Queue::cpu().wait();
  if (std::exception_ptr failure = original.storage()->failure()) std::rethrow_exception(failure);
  return t;
}
}  // namespace

Napi::Value ReadSync(const Napi::CallbackInfo& info) {
  const Tensor t = computed_on_cpu(info, "dataSync");
  void* destination = nullptr;
  Napi::Value array = new_typed_array(info.Env(), t, &destination);
  const size_t bytes = static_cast<size_t>(t.numel()) * 4;
  parallel_copy(destination, t.storage()->data(), bytes);
  return array;
}

// A one-element tensor's value as a number: readSync without the typed array (an ArrayBuffer's
// backing store, a malloc and its sweep: a third of `loss.item()` on a computed value).
Napi::Value ItemSync(const Napi::CallbackInfo& info) {
  const Tensor t = computed_on_cpu(info, "item");
  CONVNET_CHECK(t.numel() == 1, "E_SHAPE", "item: expected a tensor with one element, got shape ", shape_str(t.shape));
  const double value = t.dtype == DType::Int32 ? static_cast<double>(*t.i32())
                                               : static_cast<double>(*t.f32());
  return Napi::Number::New(info.Env(), value);
}

// sync waits for both devices' queues: the GPU's through a CPU task, so that it resolves in
// order with the reads before it.
Napi::Value Sync(const Napi::CallbackInfo& info) {
#ifdef CONVNET_WITH_CUDA
  if (cuda::device_ready()) Queue::cpu().enqueue("sync", [] { cuda::synchronize("sync()"); });
#endif
  return enqueue_completion(info.Env(), info.Env().Undefined(), nullptr);
}

Napi::Value SyncBlocking(const Napi::CallbackInfo& info) {
  Queue::cpu().wait();
#ifdef CONVNET_WITH_CUDA
  if (cuda::device_ready()) cuda::synchronize("syncBlocking()");
#endif
  return info.Env().Undefined();
}

// The CPU queue's backpressure (Queue::drain): waits for the queued work without throwing its
// error, which the next sync still throws.
Napi::Value DrainQueue(const Napi::CallbackInfo& info) {
  Queue::cpu().drain();
  return info.Env().Undefined();
}

Napi::Value ToDevice(const Napi::CallbackInfo& info) {
  const char* op = "to";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  const int64_t code = int_arg(info, 1, op, "device");
  CONVNET_CHECK(code == 0 || code == 1, "E_ARG", op, ": expected device 0 (cpu) or 1 (cuda), got ", code);
  const Device device = static_cast<Device>(code);
  if (device == x.device()) return wrap_tensor(info.Env(), x);
  if (device == Device::CPU) return wrap_tensor(info.Env(), on_cpu(x));
  Tensor y = Tensor::empty(x.shape, x.dtype, Device::CUDA);
  // x's values may still be in the CPU queue's hands (x was just computed there); the upload
  // copies them now, so that work must be done first. This is the one place where moving data
  // waits on the JavaScript thread (as a non-pinned torch.Tensor.to('cuda') does).
  wait_for_cpu_queue();
  if (std::exception_ptr failure = x.storage()->failure()) std::rethrow_exception(failure);
  CONVNET_ON_CUDA(op, cuda::copy_to_device(x, y));
  return wrap_tensor(info.Env(), std::move(y));
}

Napi::Value Version(const Napi::CallbackInfo& info) {
  const Tensor& x = tensor_arg(info, 0, "version", "x");
  return Napi::Number::New(info.Env(), static_cast<double>(x.storage() ? x.storage()->version() : 0));
}

Napi::Value DeviceOf(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int>(tensor_arg(info, 0, "device", "x").device()));
}

Napi::Value Reshape(const Napi::CallbackInfo& info) {
  const Tensor& x = tensor_arg(info, 0, "reshape", "x");
  const Shape shape = shape_arg(info, 1, "reshape", "shape");
  CONVNET_CHECK(shape_numel(shape) == x.numel(), "E_SHAPE", "reshape: cannot view ", shape_str(x.shape), " (",
                x.numel(), " elements) as ", shape_str(shape));
  Tensor y = x;  // shares the storage
  y.shape = shape;
  return wrap_tensor(info.Env(), std::move(y));
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Queue::cpu().collect_garbage();  // finished tasks' tensors count as released
  Napi::Object out = Napi::Object::New(env);
  out.Set("tensors", Napi::Number::New(env, static_cast<double>(addon_data(env).handles.live())));
  out.Set("storages", Napi::Number::New(env, static_cast<double>(Storage::live_count(Device::CPU))));
  out.Set("bytes", Napi::Number::New(env, static_cast<double>(Storage::live_bytes(Device::CPU))));
  out.Set("queued", Napi::Number::New(env, static_cast<double>(Queue::cpu().pending())));
  out.Set("cachedBytes", Napi::Number::New(env, static_cast<double>(Storage::cached_bytes())));
  out.Set("preparedBytes", Napi::Number::New(env, static_cast<double>(cpu::prepared::bytes())));
  out.Set("cudaStorages", Napi::Number::New(env, static_cast<double>(Storage::live_count(Device::CUDA))));
  out.Set("cudaBytes", Napi::Number::New(env, static_cast<double>(Storage::live_bytes(Device::CUDA))));
  return out;
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  Queue::cpu().collect_garbage();
  cpu::prepared::clear();  // first: the kept copies' memory goes to the cache emptied next
  Storage::empty_cache();
  return info.Env().Undefined();
}

// The count the last setNumThreads call asked for (0: none yet). Only the main thread reads or
// writes it.
static int requested_threads = 0;

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  const int64_t n = int_arg(info, 0, "setNumThreads", "n");
  CONVNET_CHECK(n >= 1 && n <= 1024, "E_ARG", "setNumThreads: expected 1..1024 threads, got ", n);
  // Applied in queue order, so ops enqueued before the call keep the old count.
  Queue::cpu().enqueue("setNumThreads", [n] { set_num_threads(static_cast<int>(n)); });
  requested_threads = static_cast<int>(n);
  return info.Env().Undefined();
}

// What the last setNumThreads asked for, as torch.get_num_threads: the queue may still be
// running ops with the previous count (num_threads() is the count of the op running now).
Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), requested_threads > 0 ? requested_threads : num_threads());
}

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  const double seed = number_arg(info, 0, "manualSeed", "seed");
  CONVNET_CHECK(seed >= 0 && seed <= 9007199254740991.0 && static_cast<double>(static_cast<uint64_t>(seed)) == seed,
                "E_ARG", "manualSeed: expected an integer in [0, 2^53), got ", seed);
  cpu_generator(info.Env()) = Generator{static_cast<uint64_t>(seed), 0};
  return info.Env().Undefined();
}

Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("threads", Napi::Number::New(env, num_threads()));
  cpu.Set("gemmKernel", Napi::String::New(env, sgemm_kernel_name()));
  cpu.Set("vecMathKernel", Napi::String::New(env, cpu::vec::path()));
  cpu.Set("int8Kernel", Napi::String::New(env, cpu::qgemm_kernel_name()));
  cpu.Set("avx512FmaHalved", Napi::Boolean::New(env, avx512_fma_halved()));
  out.Set("cpu", cpu);
  out.Set("cuda", cuda_probe(env));
  return out;
}

// Philox-4x32-10 of one block, for the tests against the published known-answer vectors.
Napi::Value PhiloxBlock(const Napi::CallbackInfo& info) {
  const std::vector<int64_t> words = ints_arg(info, 0, "philoxBlock", "words");
  CONVNET_CHECK(words.size() == 6, "E_ARG", "philoxBlock: expected [k0, k1, c0, c1, c2, c3]");
  auto w = [&](int i) { return static_cast<uint64_t>(static_cast<uint32_t>(words[i])); };
  const Philox4x32 r = Philox4x32::generate(w(0) | (w(1) << 32), w(2) | (w(3) << 32), w(4) | (w(5) << 32));
  Napi::Array out = Napi::Array::New(info.Env(), 4);
  for (uint32_t i = 0; i < 4; ++i) out.Set(i, Napi::Number::New(info.Env(), r.out[i]));
  return out;
}

// Tests and benchmarks: forces the vectorised-math path (cpu/vec_math.h) in queue order, as
// setNumThreads, so that ops enqueued before keep the old one; null goes back to the detected.
Napi::Value SetVecMathPath(const Napi::CallbackInfo& info) {
  const char* op = "setVecMathPath";
  std::string name;
  const bool detected = info.Length() == 0 || info[0].IsNull() || info[0].IsUndefined();
  if (!detected) {
    CONVNET_CHECK(info[0].IsString(), "E_ARG", op, ": expected a path name or null");
    name = info[0].As<Napi::String>().Utf8Value();
    // Checked here, so that a bad name throws at the call site and not in the queue.
    CONVNET_CHECK(cpu::vec::can_run(name.c_str()), "E_ARG", op, ": '", name,
                  "' is not a path this CPU can run (avx512, avx2, portable)");
  }
  Queue::cpu().enqueue(op, [detected, name] { cpu::vec::force_path(detected ? nullptr : name.c_str()); });
  return info.Env().Undefined();
}

// Tests: waits for the queue, then runs one vec_math function on the JS thread under the
// active path. fn: "exp", "log", "sigmoid", "expShift" (y = exp(x - shift)) -> Float32Array; "max",
// "expSum" (the float64 sum of exp(x - shift)), "sum", "dot" (of x with itself) -> number.
Napi::Value VecMathEval(const Napi::CallbackInfo& info) {
  const char* op = "vecMathEval";
  CONVNET_CHECK(info.Length() >= 2 && info[0].IsString() && info[1].IsTypedArray() &&
                    info[1].As<Napi::TypedArray>().TypedArrayType() == napi_float32_array,
                "E_ARG", op, ": expected (fn, Float32Array, shift?)");
  const std::string fn = info[0].As<Napi::String>().Utf8Value();
  const Napi::Float32Array x = info[1].As<Napi::Float32Array>();
  const float shift = info.Length() > 2 ? static_cast<float>(number_arg(info, 2, op, "shift")) : 0.0f;
  const int64_t n = static_cast<int64_t>(x.ElementLength());
  Queue::cpu().wait();
  if (fn == "max") return Napi::Number::New(info.Env(), cpu::vec::max(x.Data(), n));
  if (fn == "expSum") return Napi::Number::New(info.Env(), cpu::vec::exp_sum(x.Data(), shift, nullptr, n));
  if (fn == "sum") return Napi::Number::New(info.Env(), cpu::vec::sum(x.Data(), n));
  if (fn == "dot") return Napi::Number::New(info.Env(), cpu::vec::dot(x.Data(), x.Data(), n));
  Napi::Float32Array y = Napi::Float32Array::New(info.Env(), static_cast<size_t>(n));
  if (fn == "exp") {
    cpu::vec::exp(x.Data(), y.Data(), n);
  } else if (fn == "log") {
    cpu::vec::log(x.Data(), y.Data(), n);
  } else if (fn == "sigmoid") {
    cpu::vec::sigmoid(x.Data(), y.Data(), n);
  } else if (fn == "sin") {
    cpu::vec::sin(x.Data(), y.Data(), n);
  } else if (fn == "cos") {
    cpu::vec::cos(x.Data(), y.Data(), n);
  } else if (fn == "expm1") {
    cpu::vec::expm1(x.Data(), y.Data(), n);
  } else {
    CONVNET_CHECK(fn == "expShift", "E_ARG", op, ": unknown function '", fn, "'");
    cpu::vec::exp_sum(x.Data(), shift, y.Data(), n);
  }
  return y;
}

}  // namespace api
}  // namespace convnet
