// The device's ordered queue (design decision 2). On the CPU: one native worker thread runs
// the queued work in the order it was enqueued; the JavaScript thread only validates,
// allocates outputs and enqueues, so it returns at once and the event loop keeps turning.
//
// Tasks run one at a time, in order, on the worker, or on a thread blocked in wait(): one that
// finds the next task not yet started runs it itself (see Note [waiter runs tasks] in queue.cc).
//
// Errors in queued work (say, an index out of range that only the data reveals) cannot be
// thrown at the call site, which has long returned. The first one is kept, named after its
// op, and thrown by the next wait: Queue::wait(), or delivered to the next completion.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "error.h"

namespace convnet {

class Queue {
 public:
  // The CPU device's queue (created on first use, never destroyed: see queue.cc).
  static Queue& cpu();

  // Runs `work` after everything enqueued before it. `op` names it in error messages.
  void enqueue(const char* op, std::function<void()> work);

  // Runs `work` now, on the calling thread, if nothing is queued or running (Note [small ops run
  // inline], queue.cc); returns false, having done nothing, otherwise. An error it throws is
  // kept and thrown by the next wait, as a queued task's.
  bool run_if_idle(const char* op, const std::function<void()>& work);

  // Ops on at most this many elements are small (Note [small ops run inline]).
  static constexpr int64_t kInlineElements = 65536;

  // A matrix product's size for submit(): `outputs` sums of `terms` products each, reading
  // `operand_elements`. Small (0) when it does at most 2^17 multiply-adds (50^3) and reads at
  // most 2^13 elements, else never small (Note [small ops run inline], queue.cc).
  static int64_t product_elements(int64_t outputs, int64_t terms, int64_t operand_elements) {
    const double multiply_adds = static_cast<double>(outputs) * static_cast<double>(terms);
    return multiply_adds <= double(1 << 17) && operand_elements <= (1 << 13) ? 0 : INT64_MAX;
  }

  // Runs `work` now when its op touches at most kInlineElements elements and the queue is idle
  // (no closure made for it); returns false, having done nothing, otherwise.
  template <typename Work>
  bool run_now_if_small(const char* op, int64_t elements, const Work& work) {
    return elements <= kInlineElements && run_if_idle(op, std::cref(work));
  }

  // Runs `kernel` now when small and the queue idle (run_now_if_small), else enqueues it.
  template <typename Kernel>
  void submit(const char* op, int64_t elements, Kernel kernel) {
    if (!run_now_if_small(op, elements, kernel)) enqueue(op, std::move(kernel));
  }

  // Runs `done(error)` on the worker after everything enqueued before it; `error` is the
  // pending error of earlier work (now cleared), or null. `done` must not throw.
  void enqueue_completion(std::function<void(std::exception_ptr)> done);

  // Blocks the calling thread until everything enqueued so far has run, then throws the
  // pending error, if any (and clears it). Runs queued tasks itself while the worker is not
  // running one.
  // `reads`: false for the library's own sync points (a GPU op reading CPU memory), which
  // say nothing about how the program reads its results (wake_policy.h).
  void wait(bool reads = true);

  // Blocks until everything enqueued so far has run, as wait(false), but leaves a pending error
  // for the next wait: the backpressure of a JavaScript loop that never yields (lib/engine.ts,
  // Note [loops that never yield]), which must not throw an earlier op's error at a later op.
  void drain();

  // Work enqueued and not yet finished.
  int64_t pending() const;

  // Drops, on the calling thread, what the worker kept of small finished tasks (Note [freed
  // where allocated], queue.cc). enqueue(), wait() and completions do it; so does memory().
  void collect_garbage();

  // Tasks enqueued so far (a task's ticket is the count just after it was enqueued).
  uint64_t enqueued_count() const { return enqueued_count_.load(std::memory_order_acquire); }
  // The failure of the first task among tickets (after, upto] that failed, or null; *settled
  // tells whether all of them have run (Note [failed outputs], storage.h).
  std::exception_ptr failure_in(uint64_t after, uint64_t upto, bool* settled) const;
  // The ticket of the latest failed task (0: none yet), readable without the lock.
  uint64_t last_failure() const { return last_failure_.load(std::memory_order_acquire); }

 private:
  // wait() and drain(): `take_error` throws (and clears) the pending error.
  void wait_for(bool reads, bool take_error);
  Queue();
  void worker_loop();
  // Runs the front task; called with `lock` held, `running_` false and tasks_ not empty.
  // Unlocks while the task runs and locks again before returning.
  void run_front(std::unique_lock<std::mutex>& lock, bool on_worker);
  // Moves the kept tasks into `dead` (called with the mutex held; `dead` is destroyed after).
  void take_garbage(std::vector<std::function<void()>>& dead);
  void record_error(const char* op, uint64_t ticket, std::exception_ptr error);

  struct Task {
    const char* op = nullptr;
    std::function<void()> work;
    int64_t enqueued_ns = 0;  // steady clock
  };

  // The queued tasks, first in first out, in slots that are reused and never freed (Note [freed
  // where allocated], queue.cc: a std::deque freed a block every dozen tasks on the worker, into
  // the enqueuing thread's malloc arena).
  class TaskRing {
   public:
    bool empty() const { return count_ == 0; }
    const Task& front() const { return slots_[head_]; }
    void push_back(Task task) {
      if (count_ == slots_.size()) grow();
      slots_[(head_ + count_) % slots_.size()] = std::move(task);
      ++count_;
    }
    Task pop_front() {
      Task task = std::move(slots_[head_]);
      slots_[head_].work = nullptr;
      head_ = (head_ + 1) % slots_.size();
      --count_;
      return task;
    }

   private:
    void grow() {
      std::vector<Task> bigger(slots_.empty() ? 64 : slots_.size() * 2);
      for (size_t i = 0; i < count_; ++i) bigger[i] = std::move(slots_[(head_ + i) % slots_.size()]);
      slots_.swap(bigger);
      head_ = 0;
    }
    std::vector<Task> slots_;
    size_t head_ = 0;
    size_t count_ = 0;
  };

  mutable std::mutex mutex_;
  std::condition_variable has_work_;
  std::condition_variable progressed_;
  TaskRing tasks_;
  uint64_t enqueued_ = 0;
  uint64_t finished_ = 0;
  std::atomic<uint64_t> finished_count_{0};  // finished_, readable without the lock (wait's spin)
  std::atomic<uint64_t> enqueued_count_{0};  // enqueued_, readable without the lock (spinning)
  std::atomic<uint64_t> taken_count_{0};     // tasks taken (by any thread), written under mutex_
  bool running_ = false;                     // a task is running (guarded by mutex_)
  int waiters_asleep_ = 0;                   // threads asleep in wait() (guarded by mutex_)
  std::atomic<bool> waiter_running_{false};  // a thread in wait() is running one (for spinning)
  // Whether results are read back at once (the latest read blocked in wait(); an awaited read
  // clears it), and when the oldest task not yet taken was enqueued (written under mutex_):
  // Note [grace for the reader] (queue.cc).
  std::atomic<bool> reads_at_once_{false};
  std::atomic<int64_t> front_enqueued_ns_{0};
  std::vector<std::function<void()>> graveyard_;  // small finished tasks, not yet dropped (guarded by mutex_)
  std::exception_ptr pending_error_;  // guarded by mutex_
  std::map<uint64_t, std::exception_ptr> failures_;  // failed tasks by ticket (guarded by mutex_)
  std::atomic<uint64_t> last_failure_{0};            // the largest key of failures_
  std::thread worker_;
};

// Turns whatever a task threw into a convnet::Error whose message starts with the op's name.
Error error_from_task(const char* op, std::exception_ptr error);

}  // namespace convnet
