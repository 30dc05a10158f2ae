// The N-API boundary: tensor handles, argument readers, and the conversion of convnet::Error
// into the JavaScript ConvnetError class (handed to the addon once, by lib/native.ts).
#pragma once
#include <napi.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/philox.h"
#include "core/storage.h"

namespace convnet {

// Note [handles are numbers]: a JavaScript tensor holds a number that names a slot of its
// environment's HandleTable: (generation << kSlotBits) + slot. It was a tagged External with a
// finalizer, which cost ~1.1 us to make (a weak global handle and node's reference tracking,
// a type tag) and more in every scavenge that had to process the weak handles: as much as
// the rest of a small op. A number costs ~30 ns. The FinalizationRegistry of lib/engine.ts
// frees the slots of tensors collected without dispose(), and the table frees what is left
// when its environment ends.
//
// Each slot's generation starts at a random value and moves on when the slot is released, so
// that a handle outlives its tensor harmlessly: a released (stale) handle finds a slot of
// another generation and reads as released (E_DISPOSED; releasing it again does nothing) for
// 2^31 reuses of that slot, and a number that was never a handle (an integer below 2^22, a
// fraction, a negative, a handle of another environment) is not one.
class HandleTable {
 public:
  static constexpr int kSlotBits = 22;  // 4M live tensors per environment
  static constexpr uint32_t kSlots = 1u << kSlotBits;

  struct Slot {
    Tensor tensor;
    uint32_t generation = 0;  // in [1, 2^31)
    uint32_t index = 0;       // its place in the table
    bool released = true;
  };

  HandleTable();

  // A new handle for `tensor` (E_OOM when every slot is taken).
  double add(Tensor tensor);
  // The slot a number names: a live slot, the released stand-in for a stale handle (a slot of
  // another generation), or nullptr when the number is not a handle at all.
  Slot* find(double handle);
  // Releases a live slot (its handle goes stale).
  void release(Slot* slot);
  // Slots in use.
  int64_t live() const { return live_; }

 private:
  static constexpr uint32_t kChunk = 4096;  // slots are made in chunks that never move
  std::vector<std::unique_ptr<Slot[]>> chunks_;
  std::vector<uint32_t> free_;  // released slots, reused last in first out
  uint32_t made_ = 0;           // slots made so far
  int64_t live_ = 0;
  uint64_t seed_;               // for the slots' first generations
  Slot stale_;                  // what a stale handle finds (always released)
};

// Note [environment teardown]: a worker_thread's environment may end (worker.terminate(), or
// the worker returning) while the queue still holds its reads. Such a read copies into the
// backing store of a typed array of that environment's heap and wakes its thread through a
// thread-safe function; once the environment is gone both are freed memory (a segfault in the
// copy, found by terminating a worker in the middle of its convolutions). So every read holds
// its environment's EnvLife, whose `alive` a cleanup hook clears (addon.cc: registered after
// the thread-safe function, so it runs before that is torn down), and the queue does the copy
// and the call under its mutex only while `alive`: the hook waits for a copy in progress, and
// reads left behind do nothing (their N-API references died with the environment).
struct EnvLife {
  std::mutex mutex;
  bool alive = true;
};

// Per-environment state (main thread, or one per worker_thread that loads the addon).
struct AddonData {
  std::shared_ptr<EnvLife> life = std::make_shared<EnvLife>();
  Napi::FunctionReference error_class;   // ConvnetError
  Napi::ThreadSafeFunction completions;  // wakes the JS thread when queued reads finish
  int64_t pending_completions = 0;       // the TSFN keeps the event loop alive while > 0
  HandleTable handles;                   // tensors JavaScript has not released (Note [handles are numbers])
  Generator generator;                   // cpu_generator(env) (api.h): one per environment
  int64_t unreported_bytes = 0;          // tensor memory V8 has not been told of yet (napi_util.cc)
};

AddonData& addon_data(Napi::Env env);

// A JavaScript ConvnetError with .code set.
Napi::Error js_error(Napi::Env env, const std::string& code, const std::string& message);

// The devices of one native call's tensor arguments, checked as tensor_arg reads them: all on
// one device, and on the GPU only for entry points registered as able to run there (addon.cc:
// add_gpu). Reset by guarded() at the start of each call; per thread (worker_threads).
struct CallDevices {
  bool cuda_ok = false;  // the entry point has a CUDA path
  bool seen = false;     // a tensor argument was read
  Device device = Device::CPU;
  const char* first = nullptr;  // the name of the first tensor argument read
};
CallDevices& call_devices();
// The device of the current call's tensor arguments (CPU when it had none).
inline Device call_device() { return call_devices().seen ? call_devices().device : Device::CPU; }

// Wraps an N-API function so that C++ errors become ConvnetError (never a crash). CudaOk: the
// function accepts GPU tensors (otherwise one is an E_DEVICE error naming the op).
template <Napi::Value (*Fn)(const Napi::CallbackInfo&), bool CudaOk = false>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  call_devices() = CallDevices{CudaOk};
  try {
    return Fn(info);
  } catch (const Error& e) {
    throw js_error(info.Env(), e.code(), e.what());
  } catch (const std::bad_alloc&) {
    throw js_error(info.Env(), "E_OOM", "out of memory");
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw js_error(info.Env(), "E_INTERNAL", e.what());
  }
}

// A new JavaScript handle owning (a reference to) the tensor.
Napi::Value wrap_tensor(Napi::Env env, Tensor tensor);
// [a, b or null]: an op's output with an optional second one (indices, a mask), as one array.
Napi::Value pair_or_null(Napi::Env env, Tensor a, const Tensor* b);
// The tensor behind argument i; throws E_ARG / E_DISPOSED with the op and argument named.
const Tensor& tensor_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
// The same for a value that is not a direct argument (an element of an array argument).
const Tensor& tensor_value(Napi::Env env, Napi::Value value, const char* op, const char* name);
// The same from a handle already read as a number (a list of handles passed as a Float64Array).
const Tensor& tensor_of_handle(Napi::Env env, double handle, const char* op, const char* name);
// Drops JavaScript's reference now (dispose); queued work keeps its own.
void release_handle(Napi::Env env, Napi::Value value);

Shape shape_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
std::vector<int64_t> ints_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
int64_t int_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
double number_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
bool bool_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
DType dtype_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);

// Argument i as a float32 tensor (E_ARG / E_DISPOSED / E_DTYPE otherwise).
const Tensor& float_tensor_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
// A finite number >= min (E_ARG otherwise).
double finite_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name,
                  double min = -std::numeric_limits<double>::infinity());
// An optional tensor argument: the tensor, or nullptr when the argument is null or undefined.
const Tensor* optional_tensor_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
// *t, or an empty Tensor (no storage) for an absent optional input, for capture by queued work.
inline Tensor or_empty(const Tensor* t) { return t ? *t : Tensor(); }

// Checks a tensor's dtype: "op: expected `name` of dtype float32, got int32".
void expect_dtype(const Tensor& t, DType dtype, const char* op, const char* name);
// An axis in [-dims, dims) made non-negative, or E_ARG.
int64_t normalize_axis(int64_t axis, int64_t dims, const char* op);

}  // namespace convnet
