#include "api/napi_util.h"

#include <chrono>
#include <cmath>
#include <random>

namespace convnet {
namespace {

// Note [external memory]: V8 is told about CPU tensor memory so that its garbage collector
// runs sooner when forgotten tensors hold a lot of it (the FinalizationRegistry then frees
// them). Each storage is reported once, by its first JavaScript handle, not once per view
// (reshape, detach and autograd's saved tensors are views). GPU memory is not reported: it is
// not V8's to manage, and reporting it made V8 collect garbage every few AlexNet activations
// (13 us per reshape, 113 us per max-pool call on the GPU machine); GPU tensors are freed by
// dispose()/tidy(), and the allocator empties its cache and retries before E_OOM. The reports go
// out in batches (Note [external memory in batches]).
int64_t reported_bytes(const Tensor& t) {
  return t.storage() && t.storage()->device() == Device::CPU ? static_cast<int64_t>(t.storage()->bytes()) : 0;
}

// Note [external memory in batches]: V8 counts external memory allocated since its last full
// collection as old-generation allocation, and once its heap holds more than ~8 MB of objects
// (any program with a data set or a framework loaded) the intermediate tensors of one forward
// pass, reported when made and again when disposed a few microseconds later, started incremental
// marking pass after pass: ResNet-50 at batch 1 with MNIST loaded ran 20-48 full collections in
// 50 inferences (`node --trace-gc`; 2 without MNIST) and took 34.6-44.5 ms a call against
// 32.8-40.6 with this (alternated, a slow spell of the machine); in the `models` bench group,
// which loads MNIST, 40-41 ms -> 34. So changes are summed here and passed on once they reach
// kExternalBatch either way: memory that comes and goes within a pass nets to nothing, V8 never
// sees less than the truth minus one batch, and forgotten tensors still make it collect
// (test/memory.test.ts).
constexpr int64_t kExternalBatch = int64_t{32} << 20;

void report_external_memory(Napi::Env env, int64_t change) {
  int64_t& unreported = addon_data(env).unreported_bytes;
  unreported += change;
  if (unreported >= kExternalBatch || unreported <= -kExternalBatch) {
    Napi::MemoryManagement::AdjustExternalMemory(env, unreported);
    unreported = 0;
  }
}

// SplitMix64: the slots' first generations (Note [handles are numbers]).
uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

constexpr uint32_t kGenerations = 1u << 31;  // a slot's generation is in [1, kGenerations)

}  // namespace

HandleTable::HandleTable() {
  std::random_device device;
  seed_ = (static_cast<uint64_t>(device()) << 32) ^ device() ^
          static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

double HandleTable::add(Tensor tensor) {
  uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    CONVNET_CHECK(made_ < kSlots, "E_OOM", "more than ", kSlots, " tensors alive at once in one thread");
    if (made_ % kChunk == 0) chunks_.push_back(std::make_unique<Slot[]>(kChunk));
    index = made_++;
    Slot& fresh = chunks_[index / kChunk][index % kChunk];
    fresh.index = index;
    fresh.generation = 1 + static_cast<uint32_t>(next_random(seed_) % (kGenerations - 1));
  }
  Slot& slot = chunks_[index / kChunk][index % kChunk];
  slot.tensor = std::move(tensor);
  slot.released = false;
  ++live_;
  return static_cast<double>(slot.generation) * kSlots + index;
}

HandleTable::Slot* HandleTable::find(double handle) {
  // Exact below 2^53: (2^31 - 1) * 2^22 + 2^22 - 1 is the largest handle.
  if (!(handle >= kSlots && handle < static_cast<double>(kGenerations) * kSlots) || std::floor(handle) != handle) return nullptr;
  const uint64_t bits = static_cast<uint64_t>(handle);
  const uint32_t index = static_cast<uint32_t>(bits & (kSlots - 1));
  const uint32_t generation = static_cast<uint32_t>(bits >> kSlotBits);
  if (index >= made_) return nullptr;
  Slot& slot = chunks_[index / kChunk][index % kChunk];
  return slot.generation == generation ? &slot : &stale_;
}

void HandleTable::release(Slot* slot) {
  if (slot->released) return;
  slot->tensor = Tensor();
  slot->released = true;
  slot->generation = slot->generation + 1 == kGenerations ? 1 : slot->generation + 1;
  --live_;
  free_.push_back(slot->index);
}

namespace {

HandleTable::Slot* unwrap(Napi::Env env, Napi::Value value) {
  if (!value.IsNumber()) return nullptr;
  return addon_data(env).handles.find(value.As<Napi::Number>().DoubleValue());
}

void drop(Napi::Env env, HandleTable::Slot* slot) {
  if (slot->released) return;
  const std::shared_ptr<Storage> storage = slot->tensor.storage();
  addon_data(env).handles.release(slot);
  if (storage && storage->release_js_handle()) {
    Tensor t;
    t.set_storage(storage);
    const int64_t bytes = reported_bytes(t);
    if (bytes) report_external_memory(env, -bytes);
  }
}

}  // namespace

AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

Napi::Error js_error(Napi::Env env, const std::string& code, const std::string& message) {
  AddonData& data = addon_data(env);
  if (data.error_class.IsEmpty()) {
    Napi::Error error = Napi::Error::New(env, message);
    error.Set("code", Napi::String::New(env, code));
    return error;
  }
  Napi::Object error = data.error_class.New({Napi::String::New(env, message), Napi::String::New(env, code)});
  return Napi::Error(env, error);
}

Napi::Value wrap_tensor(Napi::Env env, Tensor tensor) {
  if (tensor.storage()) tensor.storage()->mark_handed_out();  // Note [failed outputs], storage.h
  const int64_t bytes = tensor.storage() && tensor.storage()->add_js_handle() ? reported_bytes(tensor) : 0;
  const double handle = addon_data(env).handles.add(std::move(tensor));
  if (bytes) report_external_memory(env, bytes);
  return Napi::Number::New(env, handle);
}

Napi::Value pair_or_null(Napi::Env env, Tensor a, const Tensor* b) {
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(uint32_t{0}, wrap_tensor(env, std::move(a)));
  out.Set(uint32_t{1}, b ? wrap_tensor(env, *b) : env.Null());
  return out;
}

const Tensor& tensor_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  return tensor_value(info.Env(), i < info.Length() ? info[i] : info.Env().Undefined(), op, name);
}

namespace {
// The tensor of a slot of the handle table (null: not a handle), checked as an argument.
const Tensor& tensor_in(HandleTable::Slot* handle, const char* op, const char* name) {
  CONVNET_CHECK(handle, "E_ARG", op, ": expected `", name, "` to be a tensor");
  CONVNET_CHECK(!handle->released, "E_DISPOSED", op, ": `", name, "` has been disposed");
  CallDevices& call = call_devices();
  const Device device = handle->tensor.device();
  CONVNET_CHECK(device == Device::CPU || call.cuda_ok, "E_DEVICE", op, " does not run on the CUDA device yet: move `",
                name, "` to the CPU first (.to('cpu'))");
  if (!call.seen) {
    call.seen = true;
    call.device = device;
    call.first = name;
  } else {
    CONVNET_CHECK(device == call.device, "E_DEVICE", op, ": `", name, "` is on ", device_name(device), " but `",
                  call.first, "` is on ", device_name(call.device), ": an op's tensors must all be on one device (use .to())");
  }
  return handle->tensor;
}
}  // namespace

const Tensor& tensor_value(Napi::Env env, Napi::Value value, const char* op, const char* name) {
  return tensor_in(unwrap(env, value), op, name);
}

const Tensor& tensor_of_handle(Napi::Env env, double value, const char* op, const char* name) {
  return tensor_in(addon_data(env).handles.find(value), op, name);
}

CallDevices& call_devices() {
  thread_local CallDevices devices;
  return devices;
}

void release_handle(Napi::Env env, Napi::Value value) {
  HandleTable::Slot* handle = unwrap(env, value);
  CONVNET_CHECK(handle, "E_ARG", "release: expected a tensor handle");
  drop(env, handle);
}

int64_t int_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  const double v = number_arg(info, i, op, name);
  CONVNET_CHECK(std::floor(v) == v && std::fabs(v) < 9007199254740992.0, "E_ARG", op, ": expected `", name,
                "` to be an integer, got ", v);
  return static_cast<int64_t>(v);
}

double number_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  CONVNET_CHECK(i < info.Length() && info[i].IsNumber(), "E_ARG", op, ": expected `", name, "` to be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

bool bool_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  CONVNET_CHECK(i < info.Length() && info[i].IsBoolean(), "E_ARG", op, ": expected `", name, "` to be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::vector<int64_t> ints_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  CONVNET_CHECK(i < info.Length() && info[i].IsArray(), "E_ARG", op, ": expected `", name, "` to be an array of integers");
  Napi::Array array = info[i].As<Napi::Array>();
  std::vector<int64_t> values(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value v = array.Get(k);
    CONVNET_CHECK(v.IsNumber(), "E_ARG", op, ": expected `", name, "` to be an array of integers");
    const double d = v.As<Napi::Number>().DoubleValue();
    CONVNET_CHECK(std::floor(d) == d && std::fabs(d) < 9007199254740992.0, "E_ARG", op, ": `", name, "[", k,
                  "]` must be an integer, got ", d);
    values[k] = static_cast<int64_t>(d);
  }
  return values;
}

Shape shape_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  Shape shape = ints_arg(info, i, op, name);
  for (int64_t d : shape) CONVNET_CHECK(d >= 0, "E_SHAPE", op, ": `", name, "` ", shape_str(shape), " has a negative size");
  return shape;
}

DType dtype_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  const int64_t v = int_arg(info, i, op, name);
  CONVNET_CHECK(v == 0 || v == 1, "E_DTYPE", op, ": unknown dtype code ", v);
  return static_cast<DType>(v);
}

const Tensor& float_tensor_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  const Tensor& t = tensor_arg(info, i, op, name);
  expect_dtype(t, DType::Float32, op, name);
  return t;
}

double finite_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name, double min) {
  const double v = number_arg(info, i, op, name);
  CONVNET_CHECK(std::isfinite(v), "E_ARG", op, ": expected `", name, "` to be a finite number, got ", v);
  CONVNET_CHECK(v >= min, "E_ARG", op, ": expected `", name, "` >= ", min, ", got ", v);
  return v;
}

const Tensor* optional_tensor_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return &tensor_arg(info, i, op, name);
}

void expect_dtype(const Tensor& t, DType dtype, const char* op, const char* name) {
  CONVNET_CHECK(t.dtype == dtype, "E_DTYPE", op, ": expected `", name, "` of dtype ", dtype_name(dtype), ", got ",
                dtype_name(t.dtype));
}

int64_t normalize_axis(int64_t axis, int64_t dims, const char* op) {
  CONVNET_CHECK(axis >= -dims && axis < dims, "E_ARG", op, ": axis ", axis, " is out of range for a ", dims,
                "-D tensor");
  return axis < 0 ? axis + dims : axis;
}

}  // namespace convnet
