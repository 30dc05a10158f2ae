// A fork-join pool: the caller publishes one job (a range split into chunks), helpers
// and the caller take chunks by index from an atomic counter, the caller waits until
// every chunk is done. Between jobs, helpers spin for a short while and then sleep on a
// condition variable: ops come in quick succession, and waking a sleeping thread costs tens
// of microseconds (about 30 us measured on a 2-vCPU VM), as much as a small op's whole work.
#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "wake_policy.h"

namespace convnet {
namespace {

thread_local bool inside_parallel_region = false;

// How long a thread spins before it sleeps (helpers between jobs, the caller on the last chunk).
constexpr std::chrono::microseconds kSpin{100};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until done() or kSpin has passed; returns done().
template <typename Done>
bool spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    if (done()) return true;
    cpu_relax();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return done();
  }
}

class ThreadPool {
 public:
  ThreadPool() : wanted_threads_(std::max(1u, std::thread::hardware_concurrency())) {}

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_.store(true);
    }
    wake_helpers_.notify_all();
    for (auto& helper : helpers_) helper.join();
  }

  int num_threads() const { return wanted_threads_.load(); }
  void set_num_threads(int n) { wanted_threads_.store(std::max(1, n)); }

  void run(int64_t n, int64_t grain, const RangeFn& fn) {
    if (n <= 0) return;
    grain = std::max<int64_t>(grain, 1);
    const int threads = num_threads();
    const int64_t max_chunks = (n + grain - 1) / grain;
    const int64_t chunks = std::min<int64_t>(threads, max_chunks);
    if (chunks <= 1 || inside_parallel_region) {
      fn(0, n);
      return;
    }
    std::lock_guard<std::mutex> one_job_at_a_time(job_mutex_);
    ensure_helpers(static_cast<int>(chunks) - 1);
    Job job;
    job.fn = &fn;
    job.n = n;
    job.chunks = chunks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &job;
      generation_.fetch_add(1);
    }
    wake_helpers_.notify_all();
    work_on(job);
    // Wait for the chunks, and for every helper to let go of `job`, which lives on this stack.
    auto all_done = [&] { return job.finished.load() == job.chunks && job.attached_helpers.load() == 0; };
    spin_until(all_done);
    {
      std::unique_lock<std::mutex> lock(mutex_);
      job_done_.wait(lock, all_done);
      job_ = nullptr;
    }
    if (job.error) std::rethrow_exception(job.error);
  }

 private:
  struct Job {
    const RangeFn* fn;
    int64_t n;
    int64_t chunks;
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> finished{0};      // written under mutex_, read by the spinning caller
    std::atomic<int> attached_helpers{0};  // written under mutex_, read by the spinning caller
    std::exception_ptr error;  // guarded by mutex_
  };

  // Takes chunks until none is left. Chunk c covers [c*n/chunks, (c+1)*n/chunks).
  void work_on(Job& job) {
    inside_parallel_region = true;
    int64_t done_here = 0;
    std::exception_ptr error;
    for (int64_t c; (c = job.next.fetch_add(1)) < job.chunks;) {
      const int64_t begin = c * job.n / job.chunks;
      const int64_t end = (c + 1) * job.n / job.chunks;
      try {
        (*job.fn)(begin, end);
      } catch (...) {
        if (!error) error = std::current_exception();
      }
      ++done_here;
    }
    inside_parallel_region = false;
    if (done_here == 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (error && !job.error) job.error = error;
    if (job.finished.fetch_add(done_here) + done_here == job.chunks) job_done_.notify_all();
  }

  void ensure_helpers(int count) {
    while (static_cast<int>(helpers_.size()) < count) {
      helpers_.emplace_back([this] { helper_loop(); });
    }
  }

  void helper_loop() {
    wake_policy::helper_started();
    uint64_t seen_generation = 0;
    for (;;) {
      Job* job;
      spin_until([&] { return generation_.load() != seen_generation || stopping_.load(); });
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_helpers_.wait(lock, [&] { return stopping_ || (job_ && generation_ != seen_generation); });
        if (stopping_) return;
        seen_generation = generation_;
        job = job_;
        job->attached_helpers.fetch_add(1);
      }
      work_on(*job);
      std::lock_guard<std::mutex> lock(mutex_);
      if (job->attached_helpers.fetch_sub(1) == 1) job_done_.notify_all();
    }
  }

  std::atomic<int> wanted_threads_;
  std::mutex job_mutex_;  // one parallel job at a time (one queue thread per device)
  std::mutex mutex_;
  std::condition_variable wake_helpers_;
  std::condition_variable job_done_;
  std::vector<std::thread> helpers_;
  Job* job_ = nullptr;                     // guarded by mutex_
  std::atomic<uint64_t> generation_{0};    // written under mutex_, read by spinning helpers
  std::atomic<bool> stopping_{false};
};

ThreadPool& pool() {
  // Never destroyed: helper threads must not be joined during static destruction at exit,
  // when the runtime may already have torn down what they use.
  static ThreadPool* instance = new ThreadPool();
  return *instance;
}

}  // namespace

int num_threads() { return pool().num_threads(); }
void set_num_threads(int n) { pool().set_num_threads(n); }

void parallel_for(int64_t n, int64_t grain, RangeFn fn) {
  pool().run(n, grain, fn);
}

// Note [pieces of whole vectors]
// A loop compiled for 16-lane vectors runs its body 16 elements at a time and its last n % 16
// elements through remainder loops, and those may round differently: GCC's AVX-512 clones
// (target "avx512f", simd_clones.h) do an 8-element remainder with 256-bit vectors, which that
// target gives no FMA, so a * b + c is rounded twice there and once in the body. parallel_for's
// pieces start anywhere ([c n / chunks, (c + 1) n / chunks)), so an element near a piece's end
// was computed one way at one thread count and the other way at another (SiLU, Mish, tanh, ELU,
// ...: one element in 8 of those near a boundary changed its last bit). Pieces that start at
// multiples of 16 leave the remainder at the tensor's end, whatever the thread count.
void parallel_for_elements(int64_t n, int64_t grain, RangeFn fn) {
  constexpr int64_t kVector = 16;
  parallel_for((n + kVector - 1) / kVector, std::max<int64_t>(1, grain / kVector),
               [&](int64_t begin, int64_t end) { fn(begin * kVector, std::min(end * kVector, n)); });
}

void parallel_copy(void* destination, const void* source, size_t bytes) {
  // Pieces end where the destination's 2 MiB pages do, so that no two threads fault in (and wait
  // for the kernel to zero) the same huge page.
  constexpr size_t kPiece = size_t{2} << 20;
  if (bytes <= kPiece) {  // small reads (a loss, a row of metrics) stay a plain memcpy
    if (bytes) std::memcpy(destination, source, bytes);
    return;
  }
  const size_t shift = reinterpret_cast<uintptr_t>(destination) % kPiece;
  const auto start = [&](int64_t k) { return std::min(bytes, std::max(k * kPiece, shift) - shift); };
  parallel_for(static_cast<int64_t>((bytes + shift + kPiece - 1) / kPiece), 1, [&](int64_t begin, int64_t end) {
    std::memcpy(static_cast<char*>(destination) + start(begin), static_cast<const char*>(source) + start(begin),
                start(end) - start(begin));
  });
}

}  // namespace convnet
