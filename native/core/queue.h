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
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "error.h"

namespace convnet {

class Queue {
 public:
  // The CPU device's queue (created on first use, never destroyed: see queue.cc).
  static Queue& cpu();

  // Runs `work` after everything enqueued before it. `op` names it in error messages.
  void enqueue(const char* op, std::function<void()> work);

  // Runs `done(error)` on the worker after everything enqueued before it; `error` is the
  // pending error of earlier work (now cleared), or null. `done` must not throw.
  void enqueue_completion(std::function<void(std::exception_ptr)> done);

  // Blocks the calling thread until everything enqueued so far has run, then throws the
  // pending error, if any (and clears it). Runs queued tasks itself while the worker is not
  // running one.
  // `reads`: false for the library's own sync points (a GPU op reading CPU memory), which
  // say nothing about how the program reads its results (wake_policy.h).
  void wait(bool reads = true);

  // Work enqueued and not yet finished.
  int64_t pending() const;

  // Tasks enqueued so far (a task's ticket is the count just after it was enqueued).
  uint64_t enqueued_count() const { return enqueued_count_.load(std::memory_order_acquire); }
  // The failure of the first task among tickets (after, upto] that failed, or null; *settled
  // tells whether all of them have run (Note [failed outputs], storage.h).
  std::exception_ptr failure_in(uint64_t after, uint64_t upto, bool* settled) const;
  // The ticket of the latest failed task (0: none yet), readable without the lock.
  uint64_t last_failure() const { return last_failure_.load(std::memory_order_acquire); }

 private:
  Queue();
  void worker_loop();
  // Runs the front task; called with `lock` held, `running_` false and tasks_ not empty.
  // Unlocks while the task runs and locks again before returning.
  void run_front(std::unique_lock<std::mutex>& lock);
  void record_error(const char* op, uint64_t ticket, std::exception_ptr error);

  struct Task {
    const char* op;
    std::function<void()> work;
  };

  mutable std::mutex mutex_;
  std::condition_variable has_work_;
  std::condition_variable progressed_;
  std::deque<Task> tasks_;
  uint64_t enqueued_ = 0;
  uint64_t finished_ = 0;
  std::atomic<uint64_t> finished_count_{0};  // finished_, readable without the lock (wait's spin)
  std::atomic<uint64_t> enqueued_count_{0};  // enqueued_, readable without the lock (spinning)
  std::atomic<uint64_t> taken_count_{0};     // tasks taken (by any thread), written under mutex_
  bool running_ = false;                     // a task is running (guarded by mutex_)
  int waiters_asleep_ = 0;                   // threads asleep in wait() (guarded by mutex_)
  std::atomic<bool> waiter_running_{false};  // a thread in wait() is running one (for spinning)
  std::exception_ptr pending_error_;  // guarded by mutex_
  std::map<uint64_t, std::exception_ptr> failures_;  // failed tasks by ticket (guarded by mutex_)
  std::atomic<uint64_t> last_failure_{0};            // the largest key of failures_
  std::thread worker_;
};

// Turns whatever a task threw into a convnet::Error whose message starts with the op's name.
Error error_from_task(const char* op, std::exception_ptr error);

}  // namespace convnet
