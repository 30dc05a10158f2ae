#include "wake_policy.h"

#ifdef __linux__
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>
#endif

namespace convnet {
namespace wake_policy {

#ifdef __linux__
namespace {

enum class Mode { kOff, kAdaptive, kLazy, kPrompt };

// Read once, by whichever of our threads comes first (the worker at its start, a helper, or
// JavaScript's at its first read): each still has the process's own policy then.
Mode mode() {
  static const Mode m = [] {
    if (sched_getscheduler(0) != SCHED_OTHER) return Mode::kOff;  // the user's choice: kept
    const char* env = std::getenv("CONVNET_WAKE_POLICY");
    if (env && std::strcmp(env, "lazy") == 0) return Mode::kLazy;
    if (env && std::strcmp(env, "prompt") == 0) return Mode::kPrompt;
    return Mode::kAdaptive;
  }();
  return m;
}

int this_thread_id() {
  thread_local const int tid = static_cast<int>(syscall(SYS_gettid));
  return tid;
}

void set_policy(int tid, int policy) {
  sched_param param{};
  sched_setscheduler(tid, policy, &param);  // best effort: a refusal leaves the policy as it was
}

// Adaptive mode's state: whether the workers are lazy now, and who they are (one a queue).
// Changes are rare (when a program switches between reading results back at once and awaiting
// them), so they take a lock; the checks before do not.
std::atomic<bool> lazy{false};
std::mutex workers_lock;
// Never destroyed (the workers outlive static destructors at exit, as prepared_weights.cc's cache).
std::vector<int>& workers = *new std::vector<int>();  // thread ids

void register_worker() {
  std::lock_guard<std::mutex> hold(workers_lock);
  workers.push_back(this_thread_id());
  set_policy(0, lazy.load() ? SCHED_BATCH : SCHED_OTHER);
}

// Every change happens under the lock, so the workers' policies always match `lazy` once it
// is released.
void become(bool want_lazy) {
  if (mode() != Mode::kAdaptive || lazy.load(std::memory_order_relaxed) == want_lazy) return;
  std::lock_guard<std::mutex> hold(workers_lock);
  if (lazy.load() == want_lazy) return;
  lazy.store(want_lazy);
  for (const int tid : workers) set_policy(tid, want_lazy ? SCHED_BATCH : SCHED_OTHER);
}

}  // namespace

void worker_started() {
  pthread_setname_np(pthread_self(), "convnet queue");
  if (mode() == Mode::kLazy) set_policy(0, SCHED_BATCH);
  else if (mode() == Mode::kAdaptive) register_worker();
}

void reader_blocking() { become(true); }

void reader_waiting() { become(false); }

void helper_started() {
  pthread_setname_np(pthread_self(), "convnet pool");
  // Prompt unless always lazy, whatever it inherited from the thread that started it (maybe a
  // lazy worker).
  if (mode() != Mode::kOff) set_policy(0, mode() == Mode::kLazy ? SCHED_BATCH : SCHED_OTHER);
}
#else
void worker_started() {}
void reader_blocking() {}
void reader_waiting() {}
void helper_started() {}
#endif

}  // namespace wake_policy
}  // namespace convnet
