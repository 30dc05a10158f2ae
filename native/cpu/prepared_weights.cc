// The cache of prepared weight layouts: Note [prepared weights] (prepared_weights.h).
#include "cpu/prepared_weights.h"

#include <cstdlib>
#include <list>
#include <mutex>
#include <new>

namespace convnet {
namespace cpu {
namespace prepared {
namespace {

// A kept copy's floats. Note [kept copies]: they come from the tensors' block cache (memory the
// process already has, or fresh from the system as a tensor's is: huge pages from 2 MiB on) and
// go back to it when dropped, and are not zeroed first (a std::vector's are: ResNet-50's 107 MB
// of kept layouts were a memset of 240 ms, most of it page faults, on the second forward of a
// fresh process).
class KeptCopy {
 public:
  explicit KeptCopy(int64_t floats) : bytes_(static_cast<size_t>(floats) * sizeof(float)) {
    data_ = static_cast<float*>(allocate_host_block(bytes_));
    if (!data_) throw std::bad_alloc();
  }
  ~KeptCopy() { free_host_block(data_, bytes_); }
  KeptCopy(const KeptCopy&) = delete;
  KeptCopy& operator=(const KeptCopy&) = delete;
  float* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  size_t bytes_;
  float* data_;
};

struct Entry {
  std::weak_ptr<Storage> w, b;
  bool has_b;
  uint64_t w_version, b_version;
  std::vector<int64_t> recipe;
  std::shared_ptr<KeptCopy> copy;  // null: seen once, not made yet
};

// Whether two pointers share one owner: unlike comparing addresses, never true of a new storage
// made where a freed one was (the weak pointer keeps the old one's control block).
bool same_owner(const std::weak_ptr<Storage>& a, const std::shared_ptr<Storage>& b) {
  return !a.owner_before(b) && !b.owner_before(a);
}

int64_t budget_bytes() {
  static const int64_t budget = [] {
    const char* env = std::getenv("CONVNET_PREPARED_MB");
    const long long mb = env && *env ? std::atoll(env) : 256;
    return static_cast<int64_t>(mb < 0 ? 0 : mb) << 20;
  }();
  return budget;
}

struct Cache {
  std::mutex mutex;          // lookups run on the queue's thread, clear() on JavaScript's
  std::list<Entry> entries;  // most recently used first
  int64_t kept_bytes = 0;
};

// Never destroyed: the queue's thread may still look up while the process exits (process.exit()
// with convolutions queued), after static destructors would have freed the list.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

int64_t bytes_of(const Entry& e) { return e.copy ? static_cast<int64_t>(e.copy->bytes()) : 0; }

void drop(std::list<Entry>::iterator it) {
  cache().kept_bytes -= bytes_of(*it);
  cache().entries.erase(it);
}

}  // namespace

Layout get(const Source* source, std::vector<int64_t> recipe, int64_t floats, float* scratch,
           const std::function<void(float*)>& make) {
  const int64_t size = floats * static_cast<int64_t>(sizeof(float));
  if (!source || !source->w || size > budget_bytes()) {
    make(scratch);
    return {scratch, nullptr};
  }
  recipe.push_back(floats);
  std::shared_ptr<KeptCopy> copy;
  Cache& c = cache();
  std::list<Entry>& entries = c.entries;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    bool seen = false;
    for (auto it = entries.begin(); it != entries.end();) {
      Entry& e = *it;
      if (e.w.expired() || (e.has_b && e.b.expired())) {
        drop(it++);
        continue;
      }
      if (same_owner(e.w, source->w) && e.recipe == recipe) {
        const bool bias_same = source->b ? e.has_b && same_owner(e.b, source->b) && e.b_version == source->b_version : !e.has_b;
        if (e.w_version == source->w_version && bias_same) {
          if (e.copy) {
            entries.splice(entries.begin(), entries, it);  // most recently used
            return {e.copy->data(), e.copy};
          }
          seen = true;
        }
        drop(it++);  // an older version of these weights (or this key, noted again below)
        continue;
      }
      ++it;
    }
    if (seen) {
      // Room for the copy: the least recently used go first.
      while (c.kept_bytes + size > budget_bytes() && !entries.empty()) drop(std::prev(entries.end()));
      copy = std::make_shared<KeptCopy>(floats);
      c.kept_bytes += size;
    }
    entries.push_front(Entry{source->w, source->b, source->b != nullptr, source->w_version, source->b_version,
                             std::move(recipe), copy});
  }
  // Made outside the lock (a parallel loop). Lookups come from the queue's tasks, one at a time,
  // so no lookup sees the copy before it is whole; a copy whose making failed is dropped.
  float* out = copy ? copy->data() : scratch;
  try {
    make(out);
  } catch (...) {
    if (copy) {
      std::lock_guard<std::mutex> lock(c.mutex);
      for (auto it = entries.begin(); it != entries.end(); ++it)
        if (it->copy == copy) {
          drop(it);
          break;
        }
    }
    throw;
  }
  return {out, copy};
}

int64_t bytes() {
  std::lock_guard<std::mutex> lock(cache().mutex);
  return cache().kept_bytes;
}

void clear() {
  std::lock_guard<std::mutex> lock(cache().mutex);
  cache().entries.clear();
  cache().kept_bytes = 0;
}

}  // namespace prepared
}  // namespace cpu
}  // namespace convnet
