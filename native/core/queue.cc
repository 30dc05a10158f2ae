#include "queue.h"

#include <chrono>
#include <new>
#include <string>

namespace convnet {

Queue& Queue::cpu() {
  // Never destroyed: a joinable std::thread destroyed at exit would terminate the process,
  // and Node may exit while work is still queued.
  static Queue* queue = new Queue();
  return *queue;
}

Queue::Queue() : worker_([this] { worker_loop(); }) {}

void Queue::enqueue(const char* op, std::function<void()> work) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back(Task{op, std::move(work)});
    ++enqueued_;
    enqueued_count_.store(enqueued_, std::memory_order_release);
  }
  has_work_.notify_one();
}

void Queue::enqueue_completion(std::function<void(std::exception_ptr)> done) {
  enqueue(nullptr, [this, done = std::move(done)] {
    std::exception_ptr error;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      std::swap(error, pending_error_);
    }
    done(error);
  });
}

void Queue::wait() {
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    const uint64_t ticket = enqueued_;
    progressed_.wait(lock, [&] { return finished_ >= ticket; });
    std::swap(error, pending_error_);
  }
  if (error) std::rethrow_exception(error);
}

int64_t Queue::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(enqueued_ - finished_);
}

void Queue::record_error(const char* op, std::exception_ptr error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!pending_error_) pending_error_ = std::make_exception_ptr(error_from_task(op, error));
}

void Queue::worker_loop() {
  for (;;) {
    Task task;
    // Note [worker spin]: JavaScript enqueues ops a few microseconds apart; a worker that went
    // to sleep after each one would pay a wake-up (~30 us in a VM) per op. So spin briefly on
    // the lock-free counter before sleeping.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(100);
    for (int i = 0; enqueued_count_.load(std::memory_order_acquire) == taken_; ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) break;
    }
    {
      std::unique_lock<std::mutex> lock(mutex_);
      has_work_.wait(lock, [&] { return !tasks_.empty(); });
      task = std::move(tasks_.front());
      tasks_.pop_front();
      ++taken_;
    }
    try {
      task.work();
    } catch (...) {
      record_error(task.op, std::current_exception());
    }
    task.work = nullptr;  // drop the tensors it held before signalling progress
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++finished_;
    }
    progressed_.notify_all();
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
