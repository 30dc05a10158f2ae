#include "queue.h"

#include <chrono>
#include <new>
#include <string>

#include "storage.h"
#include "thread_pool.h"
#include "wake_policy.h"

namespace convnet {

Queue& Queue::cpu() {
  // Never destroyed: a joinable std::thread destroyed at exit would terminate the process,
  // and Node may exit while work is still queued.
  static Queue* queue = new Queue();
  return *queue;
}

// Note [freed where allocated]: a task's closure (the Tensors it copied: their shape vectors,
// their shared_ptrs) is allocated by the thread that enqueued it, and the last reference to an
// output JavaScript disposed at once is often the closure's. Dropped on the worker, all of it was
// freed into the JavaScript thread's malloc arena while that thread allocated the next op's, and
// the two threads queued up on glibc's arena lock: a [64, 10] loss forward and backward read back
// at once made 2.5 futex system calls a run, most of them on that lock, and took 13-15 us on two
// cores against 6 with both threads on one (`perf stat -e syscalls:sys_enter_futex`). So the
// worker keeps the closures of tasks that ran under kSmallTask, up to kGraveyardSize of them, and
// the next enqueue(), wait() or completion drops them, on the enqueuing thread as a rule. Only
// small tasks are kept so that the memory they hold (a small op touches little) stays small;
// wait() and completions drop them so that what is released by the time results are read is
// released, as memory() reports it.
namespace {
constexpr auto kSmallTask = std::chrono::microseconds(20);
constexpr size_t kGraveyardSize = 16;
// The enqueuing threads' scratch for the closures they drop (keeps its capacity: no malloc),
// and whether this thread is dropping them now: a closure whose destructor enqueued (none does
// today) must not swap dead_tasks in the middle of its clear().
thread_local std::vector<std::function<void()>> dead_tasks;
thread_local bool dropping_dead_tasks = false;

void drop_dead_tasks() {
  if (dropping_dead_tasks || dead_tasks.empty()) return;
  dropping_dead_tasks = true;
  dead_tasks.clear();
  dropping_dead_tasks = false;
}

// Note [queue lock spins]: the JavaScript thread (enqueue) and the worker (taking a task, then
// counting it finished) take mutex_ several times a task, and in this VM each holder may stall a
// microsecond on a cache line the other core wrote. A plain std::mutex then went to the kernel:
// a pipeline of 64^3 products made 0.6 futex system calls a product (`perf stat -e
// syscalls:sys_enter_futex`), all of them this lock's waits and wakes (3,600 in 3 s after this
// change against 353,000). The hot sites spin a little on try_lock first; the lock is only ever
// held for a few lines, so it is almost always free within the spin, and a holder descheduled
// on a shared core costs the spin (~10 us at most) before the waiter sleeps as before. Back-to-
// back 64^3 products, alternating processes: 4.4-6.4 us a product before, 4.2-5.4 after.
void lock_spinning(std::unique_lock<std::mutex>& lock) {
  for (int i = 0; i < 64; ++i) {  // ~10 us: a pause is ~18 ns on this VM's Zen 5
    if (lock.try_lock()) return;
    for (int j = 0; j < 8; ++j) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  }
  lock.lock();
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

Queue::Queue() : worker_([this] { worker_loop(); }) { graveyard_.reserve(kGraveyardSize); }

void Queue::take_garbage(std::vector<std::function<void()>>& dead) {
  if (graveyard_.empty() || (&dead == &dead_tasks && dropping_dead_tasks)) return;
  if (dead.capacity() < kGraveyardSize) dead.reserve(kGraveyardSize);
  dead.swap(graveyard_);  // capacities trade places: neither side allocates again
}

void Queue::collect_garbage() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    take_garbage(dead_tasks);
  }
  drop_dead_tasks();
}

void Queue::enqueue(const char* op, std::function<void()> work) {
  {
    std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
    lock_spinning(lock);
    const int64_t now = now_ns();
    if (tasks_.empty()) front_enqueued_ns_.store(now, std::memory_order_relaxed);
    tasks_.push_back(Task{op, std::move(work), now});
    ++enqueued_;
    enqueued_count_.store(enqueued_, std::memory_order_release);
    take_garbage(dead_tasks);
  }
  has_work_.notify_one();
  drop_dead_tasks();
}

// Note [small ops run inline]: an op on a few thousand elements computes in about a
// microsecond; handing it to the worker costs more than that (its closure made and copied, a
// second thread touching the tensors' counts and memory, the worker's spin or wake-up): a
// [64, 10] add took ~4.2 us a call in a loop against PyTorch's 1.2. When the queue is idle, such
// an op runs at once on the thread that calls it, which is where it would have run if that
// thread had waited (Note [waiter runs tasks]): in order (nothing is queued before it, and
// `running_` keeps later tasks of other threads back until it is done), its error kept for the
// next wait as a queued task's. The entry points say how many elements an op touches
// (Queue::submit; `run_on` in api/ops_api.cc); at most kInlineElements (64K: a few tens of
// microseconds at most, nothing to the event loop; a [64, 1, 28, 28] add took 11 us queued
// against 6 inline, PyTorch's 7.5-9); anything larger, or queued behind other work, goes
// through the queue. A matrix product is small up to 2^17 multiply-adds over 2^13 operand
// elements (Queue::product_elements). Back-to-back products on 2 vCPUs, queued and inline
// alternated in one process (session 51): 16^3 3.7-5.5 us queued against 3.1-3.3 inline, 32^3
// 2.5-7.2 against 2.4-4.3, and after the entry point stopped copying the tensors for a product it
// runs at once, 48^3 5.0-6.7 against 2.6-4.1 while the two vCPUs' round trip for a cache line
// was ~0.5 us. While it was ~0.08 us, queued 48^3 read 3.05 against 3.40 inline (before that
// change). At 64^3 inline lost then (5.2 us against 4.0: queued, the worker's GEMM overlaps the
// next call's JavaScript), and won at ~0.5 us (4.0-5.5 against 4.5-6.8): left queued. nn.Linear's
// products run inline by the same rule made LeNet-5 inference at batch 1, between training
// steps, 5-12 us slower (not understood), so linear always queues.
bool Queue::run_if_idle(const char* op, const std::function<void()>& work) {
  std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
  lock_spinning(lock);
  if (running_ || !tasks_.empty()) return false;
  const uint64_t ticket = enqueued_ + 1;
  // Taken before it is counted as enqueued, so that a spinning worker never sees it pending.
  taken_count_.store(ticket, std::memory_order_release);
  enqueued_ = ticket;
  enqueued_count_.store(ticket, std::memory_order_release);
  running_ = true;
  take_garbage(dead_tasks);
  lock.unlock();
  drop_dead_tasks();
  try {
    work();
  } catch (...) {
    record_error(op, ticket, std::current_exception());
  }
  lock_spinning(lock);
  running_ = false;
  ++finished_;
  finished_count_.store(finished_, std::memory_order_release);
  if (!tasks_.empty()) has_work_.notify_one();  // enqueued meanwhile by another thread
  progressed_.notify_all();
  return true;
}

void Queue::enqueue_completion(std::function<void(std::exception_ptr)> done) {
  wake_policy::reader_waiting();  // only the worker will run what comes before `done`
  reads_at_once_.store(false, std::memory_order_relaxed);
  enqueue(nullptr, [this, done = std::move(done)] {
    std::exception_ptr error;
    std::vector<std::function<void()>> dead;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      std::swap(error, pending_error_);
      take_garbage(dead);
    }
    dead.clear();  // before `done`: what its reader sees released is (Note [freed where allocated])
    done(error);
  });
}

// Note [waiter spin]: when the worker is running the task a waiter waits for, the waiter used
// to sleep and pay a futex wake-up (~20 us in this VM) when it finished: the medians of small
// ops read back one at a time (dropout, max-pool and softmax backward at 1 thread) were ~20 us
// over their minimums. So the waiter watches the finished counter for up to 50 us first, but
// only while the pool leaves a core free (fewer CPU threads than cores): with every core busy
// with the op, a spinning waiter would take one from it (see the end of the next note).
namespace {
bool waiter_may_spin() {
  static const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return cores > 1 && num_threads() < cores;
}
}  // namespace

// Note [waiter runs tasks]: a thread blocked in wait() runs the tasks it waits for itself,
// one at a time and in order, whenever the worker is not running one. When the JavaScript
// thread and the worker share a core (a loaded machine, or a VM with few vCPUs), handing each
// small op to the worker and back costs two context switches: a [64,10] loss forward and
// backward read back at once took 12 us that way against 4 us on two free cores, slower than
// PyTorch, which runs small ops on the calling thread. The waiter is blocked anyway, so running
// the work itself costs nothing. `running_` keeps tasks from overlapping, so they still run in
// enqueue order, and errors are recorded and delivered exactly as on the worker. (Spinning
// in wait instead made it worse: the spinning waiter kept the worker off a shared core.)
// Cost: the waiting thread grows its own per-thread kernel scratch (conv2d's col buffers, the
// GEMM's packing buffers), as a pool helper does, at most a few MiB more.
void Queue::wait(bool reads) { wait_for(reads, /*take_error=*/true); }

void Queue::drain() { wait_for(/*reads=*/false, /*take_error=*/false); }

void Queue::wait_for(bool reads, bool take_error) {
  if (reads) {
    wake_policy::reader_blocking();
    reads_at_once_.store(true, std::memory_order_relaxed);
  }
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    const uint64_t ticket = enqueued_;
    const bool may_spin = waiter_may_spin();
    const auto spin_deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
    while (finished_ < ticket) {
      if (!running_ && !tasks_.empty()) {
        waiter_running_.store(true, std::memory_order_release);
        run_front(lock, false);
        waiter_running_.store(false, std::memory_order_release);
      } else if (may_spin && std::chrono::steady_clock::now() < spin_deadline) {
        // Note [waiter spin]: the worker is running a task; watch it finish instead of sleeping.
        const uint64_t seen = finished_count_.load(std::memory_order_acquire);
        lock.unlock();
        for (int i = 0; finished_count_.load(std::memory_order_acquire) == seen; ++i) {
#if defined(__x86_64__) || defined(__i386__)
          __builtin_ia32_pause();
#endif
          if ((i & 63) == 63 && std::chrono::steady_clock::now() > spin_deadline) break;
        }
        lock.lock();
      } else {
        ++waiters_asleep_;
        progressed_.wait(lock);
        --waiters_asleep_;
      }
    }
    // Tasks enqueued after the ticket (by another thread) are the worker's again.
    if (!tasks_.empty() && !running_) has_work_.notify_one();
    if (take_error) std::swap(error, pending_error_);
    take_garbage(dead_tasks);
  }
  drop_dead_tasks();
  if (error) std::rethrow_exception(error);
}

int64_t Queue::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(enqueued_ - finished_);
}

void Queue::record_error(const char* op, uint64_t ticket, std::exception_ptr error) {
  std::exception_ptr named = std::make_exception_ptr(error_from_task(op, error));
  std::lock_guard<std::mutex> lock(mutex_);
  if (!pending_error_) pending_error_ = named;
  // Kept for the reads of what the task was to compute (Note [failed outputs], storage.h): an
  // entry per failure for the life of the process (failures are rare; each is a message).
  failures_[ticket] = named;
  last_failure_.store(ticket, std::memory_order_release);
  Tensor::queued_failures.store(true, std::memory_order_release);
}

std::exception_ptr Queue::failure_in(uint64_t after, uint64_t upto, bool* settled) const {
  std::lock_guard<std::mutex> lock(mutex_);
  *settled = finished_ >= upto;
  auto it = failures_.upper_bound(after);
  return it != failures_.end() && it->first <= upto ? it->second : nullptr;
}

void Queue::run_front(std::unique_lock<std::mutex>& lock, bool on_worker) {
  Task task = tasks_.pop_front();
  if (!tasks_.empty()) front_enqueued_ns_.store(tasks_.front().enqueued_ns, std::memory_order_relaxed);
  const uint64_t ticket = taken_count_.load(std::memory_order_relaxed) + 1;  // tasks run in enqueue order
  taken_count_.store(ticket, std::memory_order_release);
  running_ = true;
  lock.unlock();
  const auto start = on_worker ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  try {
    task.work();
  } catch (...) {
    record_error(task.op, ticket, std::current_exception());
  }
  // Drop the tensors it held before signalling progress, unless the worker keeps them for the
  // enqueuing thread to drop (Note [freed where allocated]).
  const bool keep = on_worker && std::chrono::steady_clock::now() - start < kSmallTask;
  if (!keep) task.work = nullptr;
  lock_spinning(lock);
  if (keep) {
    if (graveyard_.size() < kGraveyardSize) graveyard_.push_back(std::move(task.work));
    task.work = nullptr;  // kept, or dropped here when the graveyard is full (rarely)
  }
  running_ = false;
  ++finished_;
  finished_count_.store(finished_, std::memory_order_release);
  progressed_.notify_all();
}

// Note [grace for the reader]: while results are read back at once, the thread that enqueued
// an op is about to wait for it, and runs it best itself (Note [waiter runs tasks]). A worker
// spinning on another core took it first whenever it could, 1-2 us after the enqueue, and the
// reader then slept until the worker finished and woke it, ~15 us in this VM: a [64, 10] log
// softmax read back at once took 20 us against 3.5, and a process stayed in one mode or the
// other for seconds (`node dist/bench/run.js layers`: 0.69x PyTorch one run, 2x another). So
// in that mode the worker leaves a task alone until it is kGrace old. In a burst of ops the
// worker then runs about kGrace behind the enqueuing thread, which is no loss: the reader runs
// what is left when it waits.
constexpr int64_t kGraceNs = 10000;

void Queue::worker_loop() {
  // Lazy while results are read back at once: Note [lazy and prompt wake-ups] (wake_policy.h).
  wake_policy::worker_started();
  // Note [worker spin]: JavaScript enqueues ops a few microseconds apart; a worker that went
  // to sleep after each one would pay a wake-up (~30 us in a VM) per op. So it spins briefly on
  // the lock-free counters before sleeping, counting from its last task. It also keeps spinning
  // (instead of sleeping) while a waiter runs the tasks (Note [waiter runs tasks]): asleep, each
  // later op would pay a futex wake and a race between the two threads for the next task.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(100);
  for (;;) {
    bool expired = false;
    for (int i = 0;; ++i) {
      const bool pending = enqueued_count_.load(std::memory_order_acquire) != taken_count_.load(std::memory_order_acquire) &&
                           !waiter_running_.load(std::memory_order_acquire);
      // Note [grace for the reader]: a young task is left to its reader (no deadline meanwhile).
      if (pending && (!reads_at_once_.load(std::memory_order_relaxed) ||
                      now_ns() - front_enqueued_ns_.load(std::memory_order_relaxed) >= kGraceNs)) {
        break;
      }
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if (!pending && (i & 63) == 63 && std::chrono::steady_clock::now() > deadline) {
        expired = true;
        break;
      }
    }
    std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
    lock_spinning(lock);
    if (tasks_.empty() || running_) {
      if (!expired) continue;  // a waiter took it: spin on until the deadline
      has_work_.wait(lock, [&] { return !tasks_.empty() && !running_; });
      if (reads_at_once_.load(std::memory_order_relaxed)) {
        // Woken for a new task: its reader gets its grace (Note [grace for the reader]).
        deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(100);
        continue;
      }
    }
    run_front(lock, true);
    // Note [worker steps aside]: a waiter asleep for this task is being woken, and nothing else
    // is queued: the next op is most likely enqueued by that waiter and waited for at once, and
    // the waiter runs it best itself (Note [waiter runs tasks]). A spinning worker would take it
    // first and send the waiter back to sleep, a futex wake-up per op, op after op.
    const bool step_aside = waiters_asleep_ > 0 && tasks_.empty();
    deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(step_aside ? 0 : 100);
  }
}

Error error_from_task(const char* op, std::exception_ptr error) {
  const std::string prefix = std::string(op ? op : "queued work") + " (queued): ";
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return Error(e.code(), prefix + e.what());
  } catch (const std::bad_alloc&) {
    return Error("E_OOM", prefix + "out of memory");
  } catch (const std::exception& e) {
    return Error("E_INTERNAL", prefix + e.what());
  } catch (...) {
    return Error("E_INTERNAL", prefix + "unknown error");
  }
}

}  // namespace convnet
